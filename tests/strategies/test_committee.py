"""Committee / MC scorers, checked against hand-computed values."""

from math import log

import numpy as np
import pytest

from labelwise.strategies import bald, mean_kl, vote_entropy

# 2 members x 4 texts x 2 classes
S = np.array(
    [
        [[1.0, 0.0], [0.5, 0.5], [0.8, 0.2], [1.0, 0.0]],
        [[0.0, 1.0], [0.5, 0.5], [0.8, 0.2], [0.5, 0.5]],
    ]
)


def h(*p):
    return -sum(x * log(x) for x in p if x > 0)


def test_bald_by_hand():
    expected = [
        log(2) - 0.0,  # members certain and opposite: H(0.5, 0.5) - mean(0, 0)
        log(2) - log(2),  # both unsure the same way: no disagreement
        h(0.8, 0.2) - h(0.8, 0.2),  # identical members
        h(0.75, 0.25) - (0 + log(2)) / 2,  # 0.562335 - 0.346574 = 0.215762
    ]
    np.testing.assert_allclose(bald(S), expected, atol=1e-14)


def test_mean_kl_by_hand():
    # text 3: KL([1,0] || [.75,.25]) = ln(4/3); KL([.5,.5] || [.75,.25]) = .5 ln(2/3) + .5 ln 2
    kl3 = (log(4 / 3) + 0.5 * log(2 / 3) + 0.5 * log(2)) / 2
    # text 0: each member vs consensus [.5,.5]: KL = ln 2
    np.testing.assert_allclose(mean_kl(S), [log(2), 0.0, 0.0, kl3], atol=1e-14)
    assert kl3 == pytest.approx(0.215762, abs=1e-6)


def test_mean_kl_equals_bald_for_equal_weights():
    rng = np.random.default_rng(0)
    samples = rng.dirichlet(np.full(5, 0.5), size=(7, 300))
    samples[:, ::5, 0] = 0.0  # zeros in some columns
    samples /= samples.sum(axis=2, keepdims=True)
    np.testing.assert_allclose(mean_kl(samples), bald(samples), atol=1e-12)


def test_vote_entropy_by_hand():
    # 3 members, 2 texts, 3 classes. Text 0: all vote class 0 -> 0.
    # Text 1: votes 0, 1, 1 -> -(1/3 ln 1/3 + 2/3 ln 2/3) = ln 3 - (2/3) ln 2 = 0.636514
    votes = np.array(
        [
            [[0.6, 0.3, 0.1], [0.5, 0.4, 0.1]],
            [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1]],
            [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]],
        ]
    )
    np.testing.assert_allclose(vote_entropy(votes), [0.0, log(3) - 2 / 3 * log(2)], atol=1e-14)


@pytest.mark.parametrize("fn", [bald, mean_kl, vote_entropy])
def test_committee_shape_errors(fn):
    with pytest.raises(ValueError, match=r"shape \(n_members, n_samples, n_classes\).*\(4, 2\)"):
        fn(np.zeros((4, 2)))
    bad = S.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fn(bad)

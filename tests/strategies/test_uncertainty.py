"""Hand-computed cases and naive-recipe equivalence for the probability scorers."""

from math import log

import numpy as np
import pytest

from labelwise.strategies import (
    entropy,
    interval_window,
    least_confidence,
    margin,
    probability_interval,
    top_probability,
)
from labelwise.strategies._arrays import block_rows

P = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.4, 0.4, 0.2],
        [1.0, 0.0, 0.0],
        [0.5, 0.25, 0.25],
    ]
)


def test_least_confidence_by_hand():
    # 1 - max p: 1 - 0.7, 1 - 0.4, 1 - 1, 1 - 0.5
    np.testing.assert_allclose(least_confidence(P), [0.3, 0.6, 0.0, 0.5], atol=1e-15)


def test_margin_by_hand():
    # -(p1 - p2): -(0.7 - 0.2), -(0.4 - 0.4) (a tie scores highest), -(1 - 0), -(0.5 - 0.25)
    np.testing.assert_allclose(margin(P), [-0.5, 0.0, -1.0, -0.25], atol=1e-15)


def test_entropy_by_hand():
    expected = [
        -(0.7 * log(0.7) + 0.2 * log(0.2) + 0.1 * log(0.1)),  # 0.801819
        -(2 * 0.4 * log(0.4) + 0.2 * log(0.2)),  # 1.054920
        0.0,  # one-hot: 1 log 1 + 0 log 0 + 0 log 0 = 0
        1.5 * log(2),  # 0.5 ln 2 + 2 * 0.25 ln 4
    ]
    np.testing.assert_allclose(entropy(P), expected, rtol=1e-14, atol=1e-15)
    assert entropy(P)[2] == 0.0 and not np.signbit(entropy(P)[2])  # +0.0, not -0.0


def test_top_probability_by_hand():
    np.testing.assert_array_equal(top_probability(P), [0.7, 0.4, 1.0, 0.5])


def test_probability_interval_by_hand():
    # top probabilities 0.7, 0.4, 1.0, 0.5 against the window [0.45, 0.55]:
    # 0.15 above, 0.05 below, 0.45 above, inside -> scores -0.15, -0.05, -0.45, 0
    np.testing.assert_allclose(
        probability_interval(P, lo=0.45, hi=0.55), [-0.15, -0.05, -0.45, 0.0], atol=1e-15
    )
    # a wide window holds every row: all score 0 (select then picks among them at random)
    np.testing.assert_array_equal(probability_interval(P, lo=0.0, hi=1.0), np.zeros(4))


def test_interval_window_widens_per_round():
    assert interval_window(0) == (0.4, 0.6)
    lo, hi = interval_window(2)  # 0.4 - 2 * 0.05, 0.6 + 2 * 0.05
    assert lo == pytest.approx(0.3) and hi == pytest.approx(0.7)
    assert interval_window(10) == (0.0, 1.0)  # clipped to [0, 1]
    assert interval_window(1, start=(0.5, 0.5), step=0.1) == pytest.approx((0.4, 0.6))
    with pytest.raises(ValueError, match="round must be >= 0"):
        interval_window(-1)
    with pytest.raises(ValueError, match="start"):
        interval_window(0, start=(0.7, 0.3))


def _naive(P):
    part = np.partition(P, -2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.nan_to_num(P * np.log(P))
    return 1 - P.max(axis=1), -(part[:, -1] - part[:, -2]), -plogp.sum(axis=1)


@pytest.mark.parametrize("C", [2, 3, 10, 57])
def test_matches_naive_recipes_across_block_boundaries(C):
    rng = np.random.default_rng(C)
    n = 2 * block_rows(C) + 37  # two full blocks and a ragged one
    P = rng.dirichlet(np.full(C, 0.3), size=n)
    P[rng.random(P.shape) < 0.2] = 0.0  # exact zeros
    P[::11] = np.eye(C)[rng.integers(C, size=P[::11].shape[0])]  # exact one-hot rows
    lc, mg, en = _naive(P)
    np.testing.assert_allclose(least_confidence(P), lc, rtol=0, atol=1e-15)
    np.testing.assert_allclose(margin(P), mg, rtol=0, atol=1e-15)
    np.testing.assert_allclose(entropy(P), en, rtol=1e-12, atol=1e-14)


def test_fortran_order_float32_and_int_inputs():
    F = np.asfortranarray(P)
    np.testing.assert_allclose(margin(F), margin(P))
    np.testing.assert_allclose(entropy(P.astype(np.float32)), entropy(P), rtol=1e-6)
    onehot = np.array([[1, 0], [0, 1]])
    np.testing.assert_array_equal(least_confidence(onehot), [0.0, 0.0])
    assert least_confidence(onehot).dtype == np.float64


def test_empty_pool_gives_empty_scores():
    for fn in (least_confidence, margin, entropy):
        out = fn(np.zeros((0, 3)))
        assert out.shape == (0,) and out.dtype == np.float64


@pytest.mark.parametrize("fn", [least_confidence, margin, entropy, top_probability])
def test_wrong_shape_is_a_clear_error(fn):
    with pytest.raises(ValueError, match=r"expected probabilities of shape \(n_samples, n_classes\).*\(3,\)"):
        fn(np.array([0.2, 0.3, 0.5]))


@pytest.mark.parametrize("fn", [least_confidence, margin, entropy])
def test_nan_and_out_of_range_are_errors(fn):
    bad = P.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fn(bad)
    bad[1, 2] = 1.5
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        fn(bad)
    bad[1, 2] = -0.1
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        fn(bad)


def test_margin_needs_two_classes_and_strings_are_rejected():
    with pytest.raises(ValueError, match="at least 2 classes"):
        margin(np.ones((3, 1)))
    with pytest.raises(ValueError, match="real-valued"):
        entropy(np.array([["a", "b"]]))


def test_probability_interval_validates_window():
    with pytest.raises(ValueError, match="lo <= hi"):
        probability_interval(P, lo=0.6, hi=0.4)


def test_rounding_noise_just_outside_zero_and_one_is_accepted():
    noisy = np.array([[1.0 + 1e-9, -1e-9, 0.0], [0.5, 0.5 - 1e-12, 1e-12]])
    for fn in (least_confidence, margin, entropy):
        assert np.isfinite(fn(noisy)).all()
    np.testing.assert_allclose(entropy(noisy), [0.0, log(2)], atol=1e-8)


@pytest.mark.parametrize("fn", [least_confidence, margin, entropy])
def test_bad_value_in_a_late_block_is_caught(fn):
    P = np.full((3 * block_rows(4), 4), 0.25)
    P[-5, 2] = np.nan  # not the row maximum, in the last block
    with pytest.raises(ValueError, match="NaN"):
        fn(P)
    P[-5, 2] = 1.01
    with pytest.raises(ValueError, match=r"found values in \[0.25, 1.01\]"):
        fn(P)


def test_entropy_when_zeros_appear_only_in_a_late_block():
    rng = np.random.default_rng(5)
    rows = block_rows(4)
    P = rng.dirichlet(np.ones(4), size=3 * rows)  # no exact zeros ...
    P[2 * rows + 3] = [0.5, 0.5, 0.0, 0.0]  # ... until the third block
    P[-1] = [1.0, 0.0, 0.0, 0.0]
    _, _, expected = _naive(P)
    got = entropy(P)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert got[2 * rows + 3] == pytest.approx(log(2)) and got[-1] == 0.0

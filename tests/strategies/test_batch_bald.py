"""BatchBALD against a brute-force joint entropy and on a hand-built redundancy case."""

import itertools
from math import log

import numpy as np
import pytest

from labelwise.strategies import bald, batch_bald


def brute_force_greedy(S, n):
    """Greedy BatchBALD with the joint entropy from enumerating every label configuration."""
    k, N, C = S.shape
    cond = np.array(
        [np.mean([-(S[m, i] * np.log(S[m, i] + 1e-300)).sum() for m in range(k)]) for i in range(N)]
    )
    picks = []
    for _ in range(n):
        best, best_val = None, -np.inf
        for x in range(N):
            if x in picks:
                continue
            batch = picks + [x]
            H = 0.0
            for config in itertools.product(range(C), repeat=len(batch)):
                p = np.mean(
                    [np.prod([S[m, i, c] for i, c in zip(batch, config, strict=True)]) for m in range(k)]
                )
                if p > 0:
                    H -= p * log(p)
            val = H - cond[batch].sum()
            if val > best_val:
                best, best_val = x, val
        picks.append(best)
    return picks


def test_matches_brute_force_when_exact():
    rng = np.random.default_rng(3)
    S = rng.dirichlet(np.full(3, 0.4), size=(4, 8))  # 4 members, 8 texts, 3 classes
    expected = brute_force_greedy(S, 3)
    np.testing.assert_array_equal(batch_bald(S, 3, seed=0, max_exact=10_000), expected)
    # the first pick is BALD's best
    assert expected[0] == int(np.argmax(bald(S)))


def test_sampled_configurations_agree_with_exact_on_clear_gaps():
    rng = np.random.default_rng(3)
    S = rng.dirichlet(np.full(3, 0.4), size=(4, 8))
    sampled = batch_bald(S, 3, seed=0, max_exact=1, num_samples=20_000)
    np.testing.assert_array_equal(sampled, brute_force_greedy(S, 3))


# 4 members, 2 classes. A and A2 split members {1,2} vs {3,4}; B splits {1,3} vs {2,4}, a bit softer.
A = [[1, 0], [1, 0], [0, 1], [0, 1]]
B = [[0.95, 0.05], [0.05, 0.95], [0.95, 0.05], [0.05, 0.95]]
DULL = [[0.6, 0.4]] * 4
REDUNDANT = np.transpose(np.array([A, A, B, DULL], dtype=float), (1, 0, 2))  # (4 members, 4 texts, 2)


@pytest.mark.parametrize("max_exact", [1, 1024])
def test_redundant_copy_is_skipped(max_exact):
    # BALD: A = A2 = ln 2 = 0.693, B = ln 2 - H(.95) = 0.494, DULL = 0 -> top-2 BALD asks A and its copy.
    np.testing.assert_allclose(bald(REDUNDANT)[:3], [log(2), log(2), log(2) - 0.198515], atol=1e-5)
    # After A, its copy adds nothing (I = ln 2 either way) while B adds 0.494: BatchBALD asks A (or A2), then B.
    for seed in range(5):
        picks = batch_bald(REDUNDANT, 2, seed=seed, max_exact=max_exact, num_samples=4000)
        assert picks[0] in (0, 1) and picks[1] == 2


def test_candidates_and_edge_cases():
    picks = batch_bald(REDUNDANT, 2, seed=0, candidates=1)  # only the top-2 by BALD: A and A2
    assert sorted(picks.tolist()) == [0, 1]
    assert batch_bald(REDUNDANT, 0).shape == (0,)
    assert sorted(batch_bald(REDUNDANT, 10, seed=0).tolist()) == [0, 1, 2, 3]


def test_seeded_determinism_in_sampling_mode():
    rng = np.random.default_rng(1)
    S = rng.dirichlet(np.ones(4), size=(5, 40))
    a = batch_bald(S, 6, seed=11, max_exact=16, num_samples=200)
    np.testing.assert_array_equal(a, batch_bald(S, 6, seed=11, max_exact=16, num_samples=200))
    assert len(set(a.tolist())) == 6


def test_errors():
    with pytest.raises(ValueError, match="n_members, n_samples, n_classes"):
        batch_bald(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match="max_exact"):
        batch_bald(REDUNDANT, 1, max_exact=0)

"""select(): top-n order, seeded tie-breaking, edge cases."""

import numpy as np
import pytest

from labelwise.strategies import select


def test_top_n_in_descending_order():
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    # highest first: 0.9 (pos 1), 0.7 (pos 3), 0.5 (pos 2)
    np.testing.assert_array_equal(select(scores, 3, seed=0), [1, 3, 2])
    assert select(scores, 3).dtype == np.int64


def test_ties_inside_the_selection_are_ordered_randomly_but_reproducibly():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.3])
    seen = {tuple(select(scores, 3, seed=s)) for s in range(30)}
    # positions 1 and 3 tie at 0.9: both orders occur, position 2 (0.5) is always last
    assert seen == {(1, 3, 2), (3, 1, 2)}


def test_ties_at_the_boundary_draw_from_all_tied_positions():
    scores = np.array([1.0, 0.5, 0.5, 0.5, 0.0])
    picks = [tuple(select(scores, 2, seed=s)) for s in range(60)]
    assert {p[0] for p in picks} == {0}  # the unique best always comes first
    assert {p[1] for p in picks} == {1, 2, 3}  # any of the three tied 0.5s, never 4


def test_all_equal_scores_depend_on_seed_only():
    scores = np.zeros(1000)
    a = select(scores, 10, seed=1)
    b = select(scores, 10, seed=2)
    np.testing.assert_array_equal(a, select(scores, 10, seed=1))
    assert not np.array_equal(np.sort(a), np.sort(b))
    assert len(set(a.tolist())) == 10


def test_generator_seed_is_used_as_is():
    scores = np.zeros(50)
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(select(scores, 5, g1), select(scores, 5, g2))


def test_n_edge_cases():
    scores = np.array([0.2, 0.8, 0.5])
    assert select(scores, 0).shape == (0,)
    assert select(scores, -3).shape == (0,)
    np.testing.assert_array_equal(select(scores, 10, seed=0), [1, 2, 0])  # n > len: all, best first
    assert select(np.array([]), 5).shape == (0,)


def test_infinite_scores_are_allowed():
    scores = np.array([-np.inf, 1.0, np.inf, 0.0])
    np.testing.assert_array_equal(select(scores, 4, seed=0), [2, 1, 3, 0])


def test_integer_scores():
    np.testing.assert_array_equal(select(np.array([3, 1, 2]), 2, seed=0), [0, 2])


def test_errors():
    with pytest.raises(ValueError, match="NaN at positions \\[1\\]"):
        select(np.array([0.1, np.nan, 0.3]), 1)
    with pytest.raises(ValueError, match=r"expected scores of shape \(n_samples,\)"):
        select(np.zeros((2, 2)), 1)
    with pytest.raises(TypeError, match="n must be an integer"):
        select(np.zeros(3), 1.5)
    with pytest.raises(ValueError, match="real-valued"):
        select(np.array(["a", "b"]), 1)


@pytest.mark.parametrize("n", [0, 1, 3, 999, 1000, 2000])
@pytest.mark.parametrize("where", [0, 500, 999])
def test_nan_anywhere_is_caught_whatever_n(n, where):
    # select checks NaN only among the n values argpartition takes; NaN must always land there
    scores = np.random.default_rng(where).random(1000)
    scores[where] = np.nan
    with pytest.raises(ValueError, match=f"NaN at positions \\[{where}\\]"):
        select(scores, n)


@pytest.mark.parametrize("kind", ["uniform", "sorted", "sample_positions_top", "few_values", "all_equal"])
def test_large_pools_use_an_exact_prefilter(kind, monkeypatch):
    import labelwise.strategies.selection as sel

    N, n = 200_000, 100
    rng = np.random.default_rng(0)
    scores = {
        "uniform": rng.random(N),
        "sorted": np.sort(rng.random(N)),
        # the strided sample sees only the top values: its threshold keeps too few, so select falls back
        "sample_positions_top": np.where(np.arange(N) % sel._STRIDE == 0, 2.0 + rng.random(N), rng.random(N)),
        "few_values": rng.integers(0, 5, N).astype(float),  # massive ties at the boundary
        "all_equal": np.zeros(N),
    }[kind]
    picks = select(scores, n, seed=3)
    assert len(set(picks.tolist())) == n
    rest = np.setdiff1d(np.arange(N), picks)
    assert scores[picks].min() >= scores[rest].max()
    assert np.all(np.diff(scores[picks]) <= 0)
    monkeypatch.setattr(sel, "_PREFILTER_MIN", 10**9)  # force the plain path
    plain = select(scores, n, seed=3)
    if kind in ("uniform", "sorted", "sample_positions_top"):  # no ties: identical picks
        np.testing.assert_array_equal(picks, plain)
    else:  # ties: the same tied positions compete and the same seed draws the same ones
        assert set(picks.tolist()) == set(plain.tolist())


@pytest.mark.parametrize("where", [0, 64, 77_777, 199_999])
def test_nan_is_caught_on_large_pools(where):
    scores = np.random.default_rng(1).random(200_000)
    scores[where] = np.nan
    with pytest.raises(ValueError, match=f"NaN at positions \\[{where}\\]"):
        select(scores, 100)

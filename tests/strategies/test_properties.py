"""Hypothesis properties: permutation equivariance, finite scores at 0 and 1, seeded determinism, top-n."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelwise.strategies import (
    bald,
    batch_bald,
    coreset,
    diverse_top,
    entropy,
    kmeans_cold_start,
    least_confidence,
    margin,
    mean_kl,
    multilabel_cardinality,
    multilabel_uncertainty,
    probability_interval,
    select,
    vote_entropy,
)

# probabilities with plenty of exact zeros and ones
unit = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))


@st.composite
def proba(draw, min_classes=2):
    n = draw(st.integers(1, 30))
    C = draw(st.integers(min_classes, 6))
    P = draw(arrays(np.float64, (n, C), elements=unit))
    sums = P.sum(axis=1, keepdims=True)
    return np.where(sums > 0, P / np.where(sums > 0, sums, 1), 1.0 / C)


@st.composite
def samples(draw):
    k = draw(st.integers(1, 4))
    P = draw(proba())
    n, C = P.shape
    more = [draw(arrays(np.float64, (n, C), elements=unit)) for _ in range(k - 1)]
    S = np.stack([P] + more)
    sums = S.sum(axis=2, keepdims=True)
    return np.where(sums > 0, S / np.where(sums > 0, sums, 1), 1.0 / C)


ROW_SCORERS = {
    "least_confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
    "probability_interval": lambda P: probability_interval(P, lo=0.3, hi=0.6),
    "ml_mean": lambda P: multilabel_uncertainty(P, aggregate="mean"),
    "ml_max": lambda P: multilabel_uncertainty(P, aggregate="max"),
    "ml_cardinality": lambda P: multilabel_cardinality(P, labeled_cardinality=1.0),
}
COMMITTEE_SCORERS = {"vote_entropy": vote_entropy, "mean_kl": mean_kl, "bald": bald}


@settings(deadline=None)  # the machine is shared; timing is not what these test
@given(proba(), st.randoms(use_true_random=False))
def test_row_scorers_are_permutation_equivariant_and_finite(P, random):
    perm = np.array(random.sample(range(P.shape[0]), P.shape[0]))
    for name, fn in ROW_SCORERS.items():
        s = fn(P)
        assert s.shape == (P.shape[0],) and s.dtype == np.float64, name
        assert np.isfinite(s).all(), name
        np.testing.assert_allclose(fn(P[perm]), s[perm], rtol=0, atol=1e-12, err_msg=name)


@settings(deadline=None)
@given(proba(), st.randoms(use_true_random=False))
def test_multiclass_scorers_ignore_class_order(P, random):
    cols = np.array(random.sample(range(P.shape[1]), P.shape[1]))
    for fn in (least_confidence, margin, entropy):
        np.testing.assert_allclose(fn(P[:, cols]), fn(P), atol=1e-12)


@settings(deadline=None)
@given(samples(), st.randoms(use_true_random=False))
def test_committee_scorers_are_permutation_equivariant_and_finite(S, random):
    perm = np.array(random.sample(range(S.shape[1]), S.shape[1]))
    members = np.array(random.sample(range(S.shape[0]), S.shape[0]))
    for name, fn in COMMITTEE_SCORERS.items():
        s = fn(S)
        assert s.shape == (S.shape[1],) and np.isfinite(s).all() and (s >= 0).all(), name
        np.testing.assert_allclose(fn(S[:, perm]), s[perm], atol=1e-12, err_msg=name)
        np.testing.assert_allclose(fn(S[members]), s, atol=1e-12, err_msg=name)  # member order is irrelevant


scores_arrays = arrays(
    np.float64,
    st.integers(0, 60),
    elements=st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(-1e6, 1e6)),  # many ties
)


@settings(deadline=None)
@given(scores_arrays, st.integers(-2, 70), st.integers(0, 2**32 - 1))
def test_select_returns_distinct_top_scores_in_order(s, n, seed):
    picks = select(s, n, seed=seed)
    k = max(0, min(n, s.shape[0]))
    assert picks.shape == (k,) and picks.dtype == np.int64
    assert len(set(picks.tolist())) == k
    np.testing.assert_array_equal(picks, select(s, n, seed=seed))  # seeded determinism
    if k:
        assert np.all(np.diff(s[picks]) <= 0)  # descending
        rest = np.setdiff1d(np.arange(s.shape[0]), picks)
        if rest.size:
            assert s[picks].min() >= s[rest].max()  # nothing left out beats anything taken


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_randomised_selectors_are_deterministic_under_a_seed(seed, n):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    s = np.round(rng.random(40), 1)  # ties
    S = rng.dirichlet(np.ones(3), size=(3, 40))
    runs = [
        lambda: kmeans_cold_start(X, n, seed=seed),
        lambda: coreset(X, None, n, seed=seed),
        lambda: diverse_top(s, X, n, candidates=3, seed=seed),
        lambda: batch_bald(S, n, seed=seed, max_exact=8, num_samples=50),
    ]
    for run in runs:
        a, b = run(), run()
        np.testing.assert_array_equal(a, b)
        assert a.shape == (n,) and len(set(a.tolist())) == n

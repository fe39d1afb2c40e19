"""CAL's contrastive KL score on hand-computed cases."""

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.strategies import QueryContext, get_strategy, margin
from labelwise.strategies.contrastive import contrastive_kl


def kl(p, q):
    p, q = np.asarray(p), np.asarray(q)
    return float(np.sum(p * np.log(p / q)))


def test_contrastive_kl_by_hand():
    # labeled texts at x = 0 (predicted [0.9, 0.1]) and x = 10 (predicted [0.2, 0.8])
    XL = np.array([[0.0], [10.0]])
    PL = np.array([[0.9, 0.1], [0.2, 0.8]])
    X = np.array([[1.0], [9.0], [4.0]])
    P = np.array([[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]])
    # k = 1: text 0 agrees with its neighbour (KL 0); text 1 disagrees with the one at 10; text 2's nearest is 0
    np.testing.assert_allclose(contrastive_kl(P, X, PL, XL, k=1),
                               [0.0, kl([0.2, 0.8], [0.6, 0.4]), kl([0.9, 0.1], [0.5, 0.5])])
    # k = 2 (= all labeled): the mean over both neighbours
    expected = [np.mean([kl(pl, p) for pl in PL]) for p in P]
    np.testing.assert_allclose(contrastive_kl(P, X, PL, XL, k=2), expected)
    # k above the number of labeled texts is capped
    np.testing.assert_allclose(contrastive_kl(P, X, PL, XL, k=50), expected)


def test_contrastive_kl_blocks_sparse_and_zeros(monkeypatch):
    import labelwise.strategies.contrastive as con

    rng = np.random.default_rng(1)
    X, XL = rng.normal(size=(200, 5)), rng.normal(size=(30, 5))
    P, PL = rng.dirichlet(np.ones(3), size=200), rng.dirichlet(np.ones(3), size=30)
    P[0] = [1.0, 0.0, 0.0]  # a zero probability stays finite
    whole = contrastive_kl(P, X, PL, XL, k=4)
    assert np.isfinite(whole).all() and (whole >= 0).all()
    monkeypatch.setattr(con, "_DIST_BLOCK", 7)  # many tiny blocks
    np.testing.assert_allclose(contrastive_kl(P, sp.csr_matrix(X), PL, sp.csr_matrix(XL), k=4), whole)
    # permuting the pool permutes the scores
    perm = rng.permutation(200)
    np.testing.assert_allclose(contrastive_kl(P[perm], X[perm], PL, XL, k=4), whole[perm])


def test_contrastive_kl_errors():
    P, X = np.full((3, 2), 0.5), np.zeros((3, 4))
    with pytest.raises(ValueError, match="at least one labeled"):
        contrastive_kl(P, X, np.empty((0, 2)), np.empty((0, 4)))
    with pytest.raises(ValueError, match="classes 2 vs 3"):
        contrastive_kl(P, X, np.full((1, 3), 1 / 3), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="2 pool embeddings"):
        contrastive_kl(P, X[:2], P[:1], X[:1])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        contrastive_kl(P, X, P[:1], X[:1], k=0)


def test_cal_strategy_falls_back_to_margin_without_labeled_predictions():
    rng = np.random.default_rng(2)
    P, X = rng.dirichlet(np.ones(3), size=50), rng.normal(size=(50, 4))
    strategy = get_strategy("cal")
    assert {"labeled_proba", "labeled_embeddings"} <= strategy.needs
    strategy(QueryContext(proba=P, embeddings=X, seed=0), 5)
    np.testing.assert_allclose(strategy.last_scores, margin(P))
    strategy(QueryContext(proba=P, embeddings=X, labeled_proba=P[:5], labeled_embeddings=X[:5], seed=0), 5)
    np.testing.assert_allclose(strategy.last_scores, contrastive_kl(P, X, P[:5], X[:5], k=10))

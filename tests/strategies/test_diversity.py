"""k-means cold start, core-set and the diversity wrapper on hand-built geometry."""

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.strategies import coreset, diverse_top, kmeans_cold_start, representatives_and_top, select


def test_coreset_by_hand():
    pool = np.array([[0.0], [1.0], [2.0], [10.0]])
    labeled = np.array([[0.0]])
    # distances to {0}: 0, 1, 2, 10 -> pick 10 (pos 3); to {0, 10}: 0, 1, 2, 0 -> pick 2 (pos 2);
    # to {0, 10, 2}: 0, 1, 0, 0 -> pick 1 (pos 1); the duplicate of the labeled point (pos 0) comes last
    np.testing.assert_array_equal(coreset(pool, labeled, 3), [3, 2, 1])
    np.testing.assert_array_equal(coreset(pool, labeled, 4), [3, 2, 1, 0])


def test_coreset_without_labels_starts_at_random_and_is_seeded():
    pool = np.array([[0.0], [1.0], [2.0], [10.0]])
    a = coreset(pool, None, 2, seed=5)
    np.testing.assert_array_equal(a, coreset(pool, None, 2, seed=5))
    # whatever the random first pick, the second is the farthest from it
    far = np.abs(pool[:, 0] - pool[a[0], 0]).argmax()
    assert a[1] == far


def test_coreset_sparse_and_blocked_distances_match_dense(monkeypatch):
    import labelwise.strategies.diversity as div

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    L = rng.normal(size=(40, 5))
    dense = coreset(X, L, 10)
    monkeypatch.setattr(div, "_DIST_BLOCK", 7)  # force many tiny blocks
    np.testing.assert_array_equal(coreset(sp.csr_matrix(X), sp.csr_matrix(L), 10), dense)


def test_coreset_feature_mismatch():
    with pytest.raises(ValueError, match="3 features, pool embeddings 2"):
        coreset(np.zeros((4, 2)), np.zeros((1, 3)), 1)


def blobs():
    """Three blobs: 5 points around (0,0), 3 around (10,0), 2 around (0,10); each blob's first point is
    its centre (its centroid), so that point is the one nearest the centroid."""
    a = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    b = [(10, 0), (11, 0), (9, 0)]
    c = [(0, 10.5), (0, 9.5)]  # centroid (0, 10): both at 0.5, the tie goes to either
    return np.array(a + b + c, dtype=float)


def test_kmeans_cold_start_one_representative_per_cluster_biggest_first():
    X = blobs()
    picks = kmeans_cold_start(X, 3, seed=0)
    assert picks[0] == 0  # centre of the 5-point blob
    assert picks[1] == 5  # centre of the 3-point blob
    assert picks[2] in (8, 9)  # the 2-point blob
    np.testing.assert_array_equal(picks, kmeans_cold_start(X, 3, seed=0))


def test_kmeans_cold_start_minibatch_sparse_and_edges():
    X = blobs()
    picks = kmeans_cold_start(sp.csr_matrix(X), 3, seed=0, minibatch_above=5)  # MiniBatchKMeans path
    assert sorted(set(picks.tolist()) & {0, 5}) == [0, 5] and len(set(picks.tolist())) == 3
    assert kmeans_cold_start(X, 0).shape == (0,)
    whole = kmeans_cold_start(X, 50)
    assert sorted(whole.tolist()) == list(range(10))


def test_kmeans_cold_start_orders_a_pool_it_returns_whole():
    """Asked for at least the pool, every text comes back typical first and spread out (not in file order): the
    first three cover the three blobs."""
    X = blobs()[::-1].copy()  # file order would now start in the 2-point blob
    whole = kmeans_cold_start(X, 10)
    assert sorted(whole.tolist()) == list(range(10))
    blob_of = np.array([2] * 2 + [1] * 3 + [0] * 5)  # reversed blobs()
    assert set(blob_of[whole[:3]].tolist()) == {0, 1, 2}
    assert blob_of[whole[0]] == 0  # the big blob holds the text nearest the mean
    np.testing.assert_array_equal(whole, kmeans_cold_start(sp.csr_matrix(X), 12))


def test_kmeans_cold_start_whole_large_pool_orders_a_head(monkeypatch):
    import labelwise.strategies.diversity as div

    monkeypatch.setattr(div, "_WHOLE_POOL_ORDERED", 3)
    X = blobs()
    whole = kmeans_cold_start(X, 10, seed=0)
    assert sorted(whole.tolist()) == list(range(10))
    np.testing.assert_array_equal(whole[:3], kmeans_cold_start(X, 3, seed=0))  # one per blob, biggest first
    assert whole[3:].tolist() == sorted(set(range(10)) - set(whole[:3].tolist()))


def test_kmeans_cold_start_fills_up_when_duplicates_leave_too_few_clusters():
    X = np.array([[0.0, 0.0]] * 6 + [[5.0, 5.0]] * 2)  # only 2 distinct points, ask 3
    picks = kmeans_cold_start(X, 3, seed=0)
    assert len(set(picks.tolist())) == 3


def test_diverse_top_by_hand():
    scores = np.array([0.9, 0.89, 0.88, 0.5, 0.4, 0.1])
    X = np.array([[0, 0], [0, 0.01], [0.01, 0], [10, 10], [20, 20], [30, 30]], dtype=float)
    # plain top-2 would ask the two near-duplicates 0 and 1; with candidates=2 the top-4 {0,1,2,3} form two
    # clusters {0,1,2} and {3}, whose best members are 0 and 3
    np.testing.assert_array_equal(diverse_top(scores, X, 2, candidates=2, seed=0), [0, 3])
    # candidates=1 is plain select
    np.testing.assert_array_equal(diverse_top(scores, X, 2, candidates=1, seed=0), [0, 1])


def test_diverse_top_errors_and_determinism():
    rng = np.random.default_rng(2)
    s, X = rng.random(200), rng.normal(size=(200, 4))
    a = diverse_top(s, X, 8, seed=3)
    np.testing.assert_array_equal(a, diverse_top(s, X, 8, seed=3))
    assert len(set(a.tolist())) == 8
    assert np.all(np.diff(s[a]) <= 0)  # descending score
    with pytest.raises(ValueError, match="200 scores but 199 embedding rows"):
        diverse_top(s, X[:199], 3)
    with pytest.raises(ValueError, match="NaN or infinite"):
        diverse_top(s, np.full((200, 4), np.nan), 3)


def test_representatives_and_top_splits_the_batch_by_share():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 4))
    scores = rng.random(60)
    scores[:3] = 2.0  # the three clear top scorers
    picks = representatives_and_top(scores, X, 10, top_share=0.3, seed=1)
    stream = np.random.default_rng(1)
    reps = kmeans_cold_start(X, 7, seed=stream)
    np.testing.assert_array_equal(picks[:7], reps)
    assert len(set(picks.tolist())) == 10
    assert set(picks[7:].tolist()) <= set(select(scores, 10, seed=0).tolist())  # best scorers not already taken
    assert set(range(3)) - set(reps.tolist()) <= set(picks[7:].tolist())
    np.testing.assert_array_equal(representatives_and_top(scores, X, 10, top_share=0.0, seed=1),
                                  kmeans_cold_start(X, 10, seed=1))
    np.testing.assert_array_equal(representatives_and_top(scores, X, 10, top_share=1.0, seed=1),
                                  select(scores, 10, seed=1))
    with pytest.raises(ValueError, match="top_share must be in"):
        representatives_and_top(scores, X, 10, top_share=-0.1)


def test_badge_by_hand():
    from labelwise.strategies.diversity import badge

    # a = p - e_argmax, |g|^2 = |a|^2 |x|^2: row 0 = 0.5 * 4 = 2 (the largest), row 1 its duplicate, row 2
    # a = (-0.4, 0.4), |g|^2 = 0.32 * 1
    P = np.array([[0.5, 0.5], [0.5, 0.5], [0.6, 0.4]])
    X = np.array([[0.0, 2.0], [0.0, 2.0], [1.0, 0.0]])
    # after row 0 the duplicate is at distance 0 and row 2 at 2 + 0.32 - 2 (a0 . a2)(x0 . x2) = 2.32 > 0, so
    # k-means++ must draw row 2; the other duplicate (distance 0 to everything chosen) only comes last.
    # Rows 0 and 1 tie for the largest norm: the seed breaks the tie.
    firsts = set()
    for seed in range(8):
        first, second, third = badge(P, X, 3, seed=seed)
        assert {first, third} == {0, 1} and second == 2
        firsts.add(int(first))
    assert firsts == {0, 1}


def test_badge_matches_explicit_gradient_embeddings_and_is_seeded():
    from labelwise.strategies.diversity import badge

    rng = np.random.default_rng(3)
    P, X = rng.dirichlet(np.ones(3), size=80), rng.normal(size=(80, 4))
    picks = badge(P, X, 12, seed=9)
    np.testing.assert_array_equal(picks, badge(P, X, 12, seed=9))
    np.testing.assert_array_equal(picks, badge(P, sp.csr_matrix(X), 12, seed=9))
    assert len(set(picks.tolist())) == 12
    # first pick = the largest explicit gradient embedding (p - e_yhat) outer x
    A = P.copy()
    A[np.arange(80), P.argmax(1)] -= 1
    G = (A[:, :, None] * X[:, None, :]).reshape(80, -1)
    assert picks[0] == np.argmax((G**2).sum(1))
    # the implicit distance formula equals the explicit one
    from sklearn.metrics.pairwise import euclidean_distances

    D = euclidean_distances(G, G[picks[:1]], squared=True).ravel()
    g_sq = (G**2).sum(1)
    implicit = g_sq + g_sq[picks[0]] - 2 * (A @ A[picks[0]]) * (X @ X[picks[0]])
    np.testing.assert_allclose(implicit, D, atol=1e-10)


def test_badge_all_certain_falls_back_to_random_and_checks_shapes():
    from labelwise.strategies.diversity import badge

    P = np.tile([1.0, 0.0], (10, 1))
    picks = badge(P, np.ones((10, 2)), 4, seed=1)
    assert len(set(picks.tolist())) == 4
    with pytest.raises(ValueError, match="10 probability rows but 9"):
        badge(P, np.ones((9, 2)), 2)
    assert badge(P, np.ones((10, 2)), 0).shape == (0,)

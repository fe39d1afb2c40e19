"""Selectors that use embedding geometry: k-means cold start, core-set, and a diversity wrapper.

``X`` arguments are (n, d) embeddings: a dense array or a SciPy sparse matrix (e.g. TF-IDF rows).
All return distinct int64 positions, ask-first order, and are deterministic under ``seed``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils.extmath import row_norms

from ._arrays import as_proba
from .selection import Seed, as_count, as_rng, as_scores, select

__all__ = ["badge", "coreset", "diverse_top", "kmeans_cold_start", "representatives_and_top"]

#: Entries of a distance block computed at once (8 MiB of float64): no N x N matrix is ever built.
_DIST_BLOCK = 1 << 20


def as_embeddings(X: object, *, name: str) -> np.ndarray | sp.csr_matrix:
    """(n, d) float embeddings as a dense float64 array or CSR matrix; a clear ValueError otherwise."""
    if sp.issparse(X):
        M = sp.csr_matrix(X, dtype=np.float64)
        data = M.data
    else:
        M = np.asarray(X)
        if M.dtype.kind not in "fiub":
            raise ValueError(f"{name}: expected numeric embeddings, got dtype {M.dtype}")
        M = M.astype(np.float64, copy=False)
        data = M
    if M.ndim != 2:
        raise ValueError(f"{name}: expected embeddings of shape (n_samples, n_features), got shape {M.shape}")
    if data.size and not np.isfinite(data).all():
        raise ValueError(f"{name}: embeddings contain NaN or infinite values")
    return M


def _fit_predict(km: KMeans | MiniBatchKMeans, X: np.ndarray | sp.csr_matrix) -> np.ndarray:
    """Cluster labels; sklearn's warning about fewer distinct points than clusters is handled by callers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return km.fit_predict(X)


def _sklearn_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _min_sq_dist(
    X: np.ndarray | sp.csr_matrix, X_sq: np.ndarray, Y: np.ndarray | sp.csr_matrix, out: np.ndarray
) -> None:
    """``out[i] = min(out[i], min_j ||X_i - Y_j||^2)``, in blocks of Y rows so memory stays bounded."""
    N = X.shape[0]
    Y_sq = row_norms(Y, squared=True)
    step = max(1, _DIST_BLOCK // max(N, 1))
    for start in range(0, Y.shape[0], step):
        stop = min(Y.shape[0], start + step)
        d = euclidean_distances(
            X,
            Y[start:stop],
            X_norm_squared=X_sq[:, None],
            Y_norm_squared=Y_sq[None, start:stop],
            squared=True,
        )
        np.minimum(out, d.min(axis=1), out=out)


def coreset(
    X_pool: np.ndarray | sp.spmatrix,
    X_labeled: np.ndarray | sp.spmatrix | None,
    n: int,
    *,
    seed: Seed = None,
) -> np.ndarray:
    """Greedy k-center core-set: repeatedly ask the pool text farthest from everything labeled or picked.

    ``pick = argmax_i min_{j in labeled + picked} ||x_i - x_j||_2``, n times (a 2-approximation of the
    k-center problem). Shapes: ``X_pool`` (N, d), ``X_labeled`` (L, d) or None -> (min(n, N),) int64.
    Distances are computed in blocks (memory O(N + block), never N x N). With no labeled texts the first
    pick is a random pool text (``seed``).

    Paper: Sener & Savarese 2018, "Active learning for convolutional neural networks: a core-set approach"
    (ICLR).
    """
    X = as_embeddings(X_pool, name="coreset")
    N = X.shape[0]
    n = min(as_count(n, name="coreset"), N)
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    X_sq = row_norms(X, squared=True)
    min_d = np.full(N, np.inf)
    picks: list[int] = []
    if X_labeled is not None and X_labeled.shape[0] > 0:
        Y = as_embeddings(X_labeled, name="coreset")
        if Y.shape[1] != X.shape[1]:
            raise ValueError(
                f"coreset: labeled embeddings have {Y.shape[1]} features, pool embeddings {X.shape[1]}"
            )
        _min_sq_dist(X, X_sq, Y, min_d)
    else:
        picks.append(int(as_rng(seed).integers(N)))
    taken = np.zeros(N, dtype=bool)
    while True:
        for p in picks[int(taken.sum()) :]:
            taken[p] = True
            _min_sq_dist(X, X_sq, X[p : p + 1], min_d)
        if len(picks) == n:
            break
        min_d[taken] = -1.0  # duplicates of picked texts (distance 0) still outrank picked ones
        picks.append(int(np.argmax(min_d)))
    return np.asarray(picks, dtype=np.int64)


def kmeans_cold_start(
    X: np.ndarray | sp.spmatrix, n: int, *, seed: Seed = None, minibatch_above: int = 20_000
) -> np.ndarray:
    """Cold start without labels: k-means with k = n, then the pool text nearest each centroid.

    Representatives are returned for the largest clusters first. Pools larger than ``minibatch_above`` use
    ``MiniBatchKMeans``; if a cluster ends up empty (possible there) or duplicates leave fewer clusters, the
    remaining places are filled by :func:`coreset` from the representatives already chosen. When ``n`` covers the
    whole pool every text is returned, still in a useful order (an app asking for a 100-text queue from a smaller
    pool labels its prefix first): the text nearest the pool's mean, then farthest-first (:func:`coreset`); above
    ``_WHOLE_POOL_ORDERED`` texts (farthest-first is quadratic) that many representatives, then the rest in pool
    order.
    Shapes: ``X`` (N, d) dense or sparse -> (min(n, N),) int64.

    Papers: Zhu, Wang, Yao & Tsou 2008, "Active learning with sampling by uncertainty and density for word
    sense disambiguation and text classification" (COLING); Yuan, Lin & Boyd-Graber 2020, "Cold-start active
    learning through self-supervised language modeling" (EMNLP) cluster embeddings for the first batch.
    """
    M = as_embeddings(X, name="kmeans_cold_start")
    N = M.shape[0]
    n = min(as_count(n, name="kmeans_cold_start"), N)
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    rng = as_rng(seed)
    if n == N and N <= _WHOLE_POOL_ORDERED:
        return _typical_then_spread(M)
    if n == N:  # farthest-first over all of a large pool is quadratic: order a head, the rest as given
        head = kmeans_cold_start(M, _WHOLE_POOL_ORDERED, seed=rng, minibatch_above=minibatch_above)
        rest = np.setdiff1d(np.arange(N), head, assume_unique=True)
        return np.concatenate([head, rest]).astype(np.int64, copy=False)
    if minibatch_above < N:
        km = MiniBatchKMeans(n_clusters=n, random_state=_sklearn_seed(rng), n_init=3, batch_size=4096)
    else:
        km = KMeans(n_clusters=n, random_state=_sklearn_seed(rng), n_init=1)
    labels = _fit_predict(km, M)
    centers = km.cluster_centers_
    X_sq = row_norms(M, squared=True)
    c_sq = row_norms(centers, squared=True)
    own = np.empty(N, dtype=np.float64)  # squared distance of each point to its own centroid
    step = max(1, _DIST_BLOCK // n)
    for start in range(0, N, step):
        stop = min(N, start + step)
        d = euclidean_distances(
            M[start:stop],
            centers,
            X_norm_squared=X_sq[start:stop, None],
            Y_norm_squared=c_sq[None, :],
            squared=True,
        )
        own[start:stop] = d[np.arange(stop - start), labels[start:stop]]
    order = np.lexsort((own, labels))  # by cluster, nearest first
    first = order[np.r_[0, np.flatnonzero(np.diff(labels[order])) + 1]]  # nearest member of each cluster
    sizes = np.bincount(labels, minlength=n)[labels[first]]
    reps = first[np.lexsort((labels[first], -sizes))]
    if reps.shape[0] < n:
        rest = np.setdiff1d(np.arange(N), reps)
        extra = rest[coreset(M[rest], M[reps], n - reps.shape[0], seed=rng)]
        reps = np.concatenate([reps, extra])
    return reps.astype(np.int64, copy=False)


#: the largest pool :func:`kmeans_cold_start` orders whole when asked for all of it (farthest-first, O(N²))
_WHOLE_POOL_ORDERED = 1_000


def _typical_then_spread(M: np.ndarray | sp.spmatrix) -> np.ndarray:
    """Every row of ``M``: the one nearest the mean first, then greedy k-center order from it."""
    N = M.shape[0]
    mean = np.asarray(M.mean(axis=0)).reshape(1, -1)
    first = int(np.argmin(euclidean_distances(M, mean, squared=True)[:, 0]))
    rest = np.delete(np.arange(N), first)
    if rest.shape[0] == 0:
        return np.array([first], dtype=np.int64)
    order = rest[coreset(M[rest], M[[first]], rest.shape[0], seed=0)]
    return np.concatenate([[first], order]).astype(np.int64, copy=False)


def representatives_and_top(
    scores: np.ndarray, X: np.ndarray | sp.spmatrix, n: int, *, top_share: float, seed: Seed = None
) -> np.ndarray:
    """A cold-start batch once a model exists: ``n - int(top_share * n)`` :func:`kmeans_cold_start`
    representatives of the pool, then the ``int(top_share * n)`` best-scoring other texts (:func:`select`).

    Coverage from the clusters, plus the texts a model trained on a few labels already finds hardest.
    One random stream ``seed`` feeds k-means and then the tie-breaks, in that order.
    Shapes: ``scores`` (N,), ``X`` (N, d) dense or sparse -> (n,) int64, representatives first.
    """
    if not 0.0 <= top_share <= 1.0:
        raise ValueError(f"representatives_and_top: top_share must be in [0, 1], got {top_share}")
    s = as_scores(scores, name="representatives_and_top")
    rng = as_rng(seed)
    n_top = int(top_share * n)
    reps = kmeans_cold_start(X, n - n_top, seed=rng) if n_top < n else np.empty(0, dtype=np.int64)
    others = s.astype(np.float64, copy=True)
    others[reps] = -np.inf
    return np.concatenate([reps, select(others, n_top, rng)])


def diverse_top(
    scores: np.ndarray,
    X: np.ndarray | sp.spmatrix,
    n: int,
    *,
    candidates: int = 10,
    seed: Seed = None,
) -> np.ndarray:
    """A spread-out batch of high scorers: the top ``candidates * n`` by score, k-means'd into n clusters,
    the highest-scoring text of each cluster.

    Avoids spending a whole batch on near-duplicates that sit in the same uncertain region. Output is in
    descending score order; if duplicates leave fewer than n clusters, the next best candidates fill up.
    ``candidates=1`` is plain :func:`labelwise.strategies.select`.
    Shapes: ``scores`` (N,), ``X`` (N, d) dense or sparse -> (min(n, N),) int64.

    Paper: Zhdanov 2019, "Diverse mini-batch active learning" (arXiv 1901.05954) pre-filters the top
    ``beta * k`` informative points and clusters them; it picks the point nearest each centroid, here the
    highest-scoring member is picked so the batch stays as informative as possible.
    """
    s = as_scores(scores, name="diverse_top")
    M = as_embeddings(X, name="diverse_top")
    if M.shape[0] != s.shape[0]:
        raise ValueError(f"diverse_top: {s.shape[0]} scores but {M.shape[0]} embedding rows")
    if candidates < 1:
        raise ValueError(f"diverse_top: candidates must be >= 1, got {candidates}")
    N = s.shape[0]
    n = min(as_count(n, name="diverse_top"), N)
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    rng = as_rng(seed)
    top = select(s, candidates * n, rng)  # descending score
    if top.shape[0] <= n or n == 1:
        return top[:n]
    km = KMeans(n_clusters=n, random_state=_sklearn_seed(rng), n_init=1)
    labels = _fit_predict(km, M[top])
    _, first = np.unique(labels, return_index=True)  # first = best-scoring member of each cluster
    chosen = np.zeros(top.shape[0], dtype=bool)
    chosen[first] = True
    if first.shape[0] < n:
        chosen[np.flatnonzero(~chosen)[: n - first.shape[0]]] = True
    return top[chosen]


def badge(
    proba: np.ndarray,
    X: np.ndarray | sp.spmatrix,
    n: int,
    *,
    seed: Seed = None,
) -> np.ndarray:
    """BADGE: k-means++ seeding over the gradient embeddings of a softmax output layer.

    A text's gradient embedding is the loss gradient of the last layer at the model's own guess
    ``y_hat = argmax p``: ``g_i = (p_i - e_{y_hat_i}) ⊗ x_i`` (C·d values). Its norm grows with uncertainty
    and its direction says where the text lies and which classes it hesitates between, so k-means++ seeding
    (first the largest norm, then each next text drawn with probability proportional to its squared distance
    to the nearest one chosen) gives a batch that is uncertain and diverse without a tuning knob.
    ``||g_i - g_j||^2 = |a_i|^2 |x_i|^2 + |a_j|^2 |x_j|^2 - 2 (a_i·a_j)(x_i·x_j)`` with ``a = p - e_y_hat``,
    so the C·d-dimensional embeddings are never built: each pick costs O(N (C + d)).
    Shapes: ``proba`` (N, C), ``X`` (N, d) dense or sparse -> (min(n, N),) int64, in pick order. If every
    remaining text is at distance 0 (all certain, or duplicates), the rest are drawn uniformly.

    Paper: Ash, Zhang, Krishnamurthy, Langford & Agarwal 2020, "Deep batch active learning by diverse,
    uncertain gradient lower bounds" (ICLR).
    """
    P = as_proba(proba, name="badge")
    M = as_embeddings(X, name="badge")
    N = P.shape[0]
    if M.shape[0] != N:
        raise ValueError(f"badge: {N} probability rows but {M.shape[0]} embedding rows")
    n = min(as_count(n, name="badge"), N)
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    rng = as_rng(seed)
    A = P.copy()
    A[np.arange(N), P.argmax(axis=1)] -= 1.0
    g_sq = row_norms(A, squared=True) * row_norms(M, squared=True)  # |g_i|^2
    picks = [int(select(g_sq, 1, rng)[0])]
    min_d = np.full(N, np.inf)
    while True:
        c = picks[-1]
        x_dot = M @ M[c].T
        x_dot = np.asarray(x_dot.todense()).ravel() if sp.issparse(x_dot) else np.ravel(x_dot)
        d = g_sq + g_sq[c] - 2.0 * (A @ A[c]) * x_dot
        np.minimum(min_d, np.maximum(d, 0.0), out=min_d)
        min_d[picks] = 0.0
        if len(picks) == n:
            break
        total = min_d.sum()
        if total > 0 and np.isfinite(total):
            picks.append(int(rng.choice(N, p=min_d / total)))
        else:
            rest = np.setdiff1d(np.arange(N), picks)
            picks.extend(int(i) for i in rng.choice(rest, size=n - len(picks), replace=False))
            break
    return np.asarray(picks, dtype=np.int64)

"""Contrastive scoring: ask the texts whose prediction differs most from their labeled neighbours'.

A text that sits among labeled texts in embedding space but is predicted differently from them lies where the
model's decision changes fast: a "contrastive" example (Margatina et al. 2021).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils.extmath import row_norms

from ._arrays import _TINY, as_proba
from .diversity import _DIST_BLOCK, as_embeddings

__all__ = ["contrastive_kl"]


def contrastive_kl(
    proba: np.ndarray,
    embeddings: np.ndarray | sp.spmatrix,
    labeled_proba: np.ndarray,
    labeled_embeddings: np.ndarray | sp.spmatrix,
    *,
    k: int = 10,
) -> np.ndarray:
    """Mean KL divergence from the ``k`` nearest labeled neighbours' predictions to the text's own.

    ``score_i = (1/k) sum_{l in kNN_L(x_i)} KL(p(x_l) || p(x_i))``, ``KL(p || q) = sum_c p_c log(p_c / q_c)``
    with ``0 log 0 = 0``; neighbours by Euclidean distance between embeddings, ``p(x_l)`` the model's own
    prediction for the labeled text (not its label), as in the paper. ``k`` is capped at the number of
    labeled texts. Shapes: ``proba`` (N, C), ``embeddings`` (N, d), ``labeled_proba`` (L, C),
    ``labeled_embeddings`` (L, d) with L >= 1 -> (N,) float64 >= 0. Distances are computed in blocks of pool
    rows (memory O(block), never N x L at once for large pools).

    Paper: Margatina, Vernikos, Barrault & Aletras 2021, "Active learning by acquiring contrastive examples"
    (EMNLP), "CAL".
    """
    P = as_proba(proba, name="contrastive_kl")
    PL = as_proba(labeled_proba, name="contrastive_kl (labeled)")
    X = as_embeddings(embeddings, name="contrastive_kl")
    XL = as_embeddings(labeled_embeddings, name="contrastive_kl (labeled)")
    N, L = P.shape[0], PL.shape[0]
    if X.shape[0] != N or XL.shape[0] != L:
        raise ValueError(
            f"contrastive_kl: {N} pool probabilities but {X.shape[0]} pool embeddings, "
            f"{L} labeled probabilities but {XL.shape[0]} labeled embeddings"
        )
    if P.shape[1] != PL.shape[1] or X.shape[1] != XL.shape[1]:
        raise ValueError(
            f"contrastive_kl: pool and labeled arrays disagree: classes {P.shape[1]} vs {PL.shape[1]}, "
            f"embedding dimensions {X.shape[1]} vs {XL.shape[1]}"
        )
    if L == 0:
        raise ValueError("contrastive_kl: needs at least one labeled text")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"contrastive_kl: k must be a positive integer, got {k!r}")
    k = min(int(k), L)
    out = np.empty(N, dtype=np.float64)
    if N == 0:
        return out
    log_P = np.log(P + _TINY)
    log_PL = np.log(PL + _TINY)
    # sum_c p_l,c log p_l,c, once per labeled text; the cross term needs the pool's log-probabilities.
    neg_entropy_l = np.einsum("lc,lc->l", PL, log_PL)
    XL_sq = row_norms(XL, squared=True)
    X_sq = row_norms(X, squared=True)
    step = max(1, _DIST_BLOCK // L)
    for start in range(0, N, step):
        stop = min(N, start + step)
        d = euclidean_distances(X[start:stop], XL, X_norm_squared=X_sq[start:stop, None],
                                Y_norm_squared=XL_sq[None, :], squared=True)
        nn = np.argpartition(d, k - 1, axis=1)[:, :k] if k < L else np.broadcast_to(np.arange(L), d.shape)
        # KL(p_l || p_i) = sum_c p_l,c log p_l,c - sum_c p_l,c log p_i,c
        cross = np.einsum("bkc,bc->bk", PL[nn], log_P[start:stop])
        kl = neg_entropy_l[nn] - cross
        out[start:stop] = np.maximum(kl, 0.0).mean(axis=1)  # clip rounding below 0
    return out

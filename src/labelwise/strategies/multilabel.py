"""Multi-label scorers: ``P`` (n, L) holds independent per-label probabilities ``P[i, j] = p(label j | text i)``.

Rows need not sum to 1. Scores are float64 (n,), higher = ask first.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._arrays import as_proba, check_range

__all__ = ["label_uncertainty", "multilabel_cardinality", "multilabel_uncertainty"]


def label_uncertainty(P: np.ndarray) -> np.ndarray:
    """Per-label binary uncertainty ``u_ij = 1 - |2 P[i, j] - 1|`` (= ``2 min(p, 1 - p)``).

    Shapes: ``P`` (n, L) -> (n, L) float64 in [0, 1]: 1 at p = 0.5, 0 at p in {0, 1}. This is the binary
    least-confidence / margin uncertainty rescaled to [0, 1] (linear in p, unlike the binary entropy, so a
    label at p = 0.9 counts 0.2, not 0.47).
    """
    P = as_proba(P, name="label_uncertainty")
    return _label_uncertainty(P, name="label_uncertainty")


def _label_uncertainty(P: np.ndarray, *, name: str) -> np.ndarray:
    if P.size:
        check_range(P, name=name)
    u = np.multiply(P, 2.0)
    u -= 1.0
    np.abs(u, out=u)
    np.subtract(1.0, u, out=u)
    return u


def multilabel_uncertainty(P: np.ndarray, *, aggregate: Literal["mean", "max"] = "mean") -> np.ndarray:
    """Per-label uncertainty (see :func:`label_uncertainty`) aggregated over the L labels.

    ``aggregate="mean"``: ``(1/L) sum_j u_ij`` (the whole label vector is uncertain);
    ``aggregate="max"``: ``max_j u_ij`` (at least one label is a coin flip).
    Shapes: ``P`` (n, L) -> (n,) float64 in [0, 1].

    Papers: Brinker 2006, "On active learning in multi-label classification" (one-vs-rest uncertainty
    aggregated over labels); Esuli & Sebastiani 2009, "Active learning strategies for multi-label text
    classification" (ECIR) compare the mean ("average") and max aggregations.
    """
    if aggregate not in ("mean", "max"):
        raise ValueError(f"multilabel_uncertainty: aggregate must be 'mean' or 'max', got {aggregate!r}")
    P = as_proba(P, name="multilabel_uncertainty")
    u = _label_uncertainty(P, name="multilabel_uncertainty")
    if P.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    return u.mean(axis=1) if aggregate == "mean" else u.max(axis=1)


def multilabel_cardinality(P: np.ndarray, *, labeled_cardinality: float, weight: float = 0.5) -> np.ndarray:
    """Uncertainty plus label-cardinality inconsistency.

    ``score_i = weight * mean_j u_ij + (1 - weight) * |sum_j P[i, j] - c| / max(c, L - c)``

    where ``u`` is :func:`label_uncertainty`, ``sum_j P[i, j]`` is the expected number of labels the model
    predicts for text i and ``c`` = ``labeled_cardinality``, the mean number of labels per already-labeled
    text. The second term (in [0, 1]) is high when the model predicts far more or far fewer labels than texts
    usually carry, a sign that it has not learned this region yet.
    Shapes: ``P`` (n, L) -> (n,) float64 in [0, 1].

    Paper: Li & Guo 2013, "Active learning with multi-label SVM classification" (IJCAI) combine max-margin
    uncertainty with this label-cardinality inconsistency; Yang et al. 2009 (KDD, "MMC") also use the
    predicted number of labels. Li & Guo combine the two by a weighted *product*; the weighted sum here keeps
    ranking rows by uncertainty when their cardinality matches exactly (where a product would be 0), and the
    expected count ``sum_j p_ij`` replaces the thresholded count so the score is smooth in p.
    """
    if not (0.0 <= weight <= 1.0):
        raise ValueError(f"multilabel_cardinality: weight must be in [0, 1], got {weight!r}")
    P = as_proba(P, name="multilabel_cardinality")
    L = P.shape[1]
    c = float(labeled_cardinality)
    if not (0.0 <= c <= L):
        raise ValueError(
            f"multilabel_cardinality: labeled_cardinality must be in [0, {L}] (the number of labels), got {c!r}"
        )
    u = _label_uncertainty(P, name="multilabel_cardinality")
    if P.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    mismatch = np.abs(P.sum(axis=1) - c) / max(c, L - c)
    return weight * u.mean(axis=1) + (1.0 - weight) * mismatch


def predicted_cardinality(P: np.ndarray, *, threshold: float = 0.5) -> float:
    """Mean number of labels per row a multi-label model predicts: ``mean_i #{j : P[i, j] > threshold}``.

    P: (n, L) per-label probabilities. 0.0 for an empty pool. Used by the multi-label ``default`` strategy's
    readiness gate (:func:`labelwise.strategies.registry.make_default_strategy`).
    """
    P = np.asarray(P)
    return float(np.count_nonzero(threshold < P) / P.shape[0]) if P.shape[0] else 0.0

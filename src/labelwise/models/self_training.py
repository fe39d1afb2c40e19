"""Confident pseudo-labels from the unlabeled pool, added to the labeled rows at a lower weight.

Cost-effective active learning (CEAL; Wang, Zhang, Li, Zhang & Lin 2016, "Cost-Effective Active Learning for
Deep Image Classification", IEEE TCSVT) asks people about the texts the model is least sure of and, in the same
round, trains on the texts it is most sure of with the model's own labels. Uncertainty sampling leaves the
labeled set short of plain, typical texts (its picks crowd the decision boundary); the confident pseudo-labels
put them back, so the boundary is fitted against the whole pool's shape and not only against its edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from labelwise.models.linear import ArrayLike, LinearModel


@dataclass(frozen=True)
class PseudoLabelling:
    """Train on labeled rows plus unlabeled rows whose top predicted probability is at least ``threshold``,
    labeled with that class and weighted ``weight`` each (the answers weigh 1). With ``max_ratio`` the
    pseudo-labels together weigh at most ``max_ratio`` × the number of answers (each then weighs less than
    ``weight``), so a model fitted on a few answers cannot be outvoted by thousands of its own guesses. Below
    ``min_answers`` answers no pseudo-labels are added. At most ``max_rows`` of them are used (a seeded random
    subset of the confident texts), so a pool of millions keeps the fit small, and a learner predicts at most
    ``max_candidates`` unlabeled texts (a seeded random subset) to find them. With ``max_classes`` only tasks
    with at most that many classes get pseudo-labels. The defaults are the recipe measured for ``default``
    (docs/label-efficiency.md, "Pseudo-labels"), ``labelwise.loop.pipeline.BINARY_PSEUDO_LABELS`` without its
    binary-only ``max_classes``."""

    threshold: float = 0.8
    weight: float = 1.0
    max_ratio: float | None = 1.0
    min_answers: int = 200
    max_rows: int = 20_000
    max_classes: int | None = None
    max_candidates: int = 100_000

    def __post_init__(self) -> None:
        if not 0.5 <= self.threshold <= 1.0:
            raise ValueError(f"pseudo-label threshold must be in [0.5, 1], got {self.threshold}")
        if not 0.0 < self.weight <= 1.0:
            raise ValueError(f"pseudo-label weight must be in (0, 1], got {self.weight}")
        if self.max_ratio is not None and self.max_ratio <= 0:
            raise ValueError(f"pseudo-label max_ratio must be > 0 or None, got {self.max_ratio}")
        if self.min_answers < 0:
            raise ValueError(f"pseudo-label min_answers must be >= 0, got {self.min_answers}")
        if self.max_rows < 1:
            raise ValueError(f"pseudo-label max_rows must be >= 1, got {self.max_rows}")
        if self.max_candidates < 1:
            raise ValueError(f"pseudo-label max_candidates must be >= 1, got {self.max_candidates}")
        if self.max_classes is not None and self.max_classes < 2:
            raise ValueError(f"pseudo-label max_classes must be >= 2 or None, got {self.max_classes}")

    def applies_to(self, task: str, n_classes: int) -> bool:
        """Whether a model for ``task`` with ``n_classes`` classes gets pseudo-labels (single-label only)."""
        return task == "multiclass" and (self.max_classes is None or n_classes <= self.max_classes)

    def row_weight(self, n_answers: int, n_pseudo: int) -> float:
        """The weight of each of ``n_pseudo`` pseudo-labels next to ``n_answers`` answers."""
        if self.max_ratio is None or n_pseudo == 0:
            return self.weight
        return min(self.weight, self.max_ratio * n_answers / n_pseudo)


def at_most(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """``rows`` when there are at most ``limit`` of them, else a random subset of ``limit`` (drawn from ``rng``),
    ascending: where a pool too large to use whole is sampled (candidates, pseudo-labels, estimate folds)."""
    rows = np.asarray(rows)
    if rows.size <= limit:
        return rows
    return np.sort(rng.choice(rows, size=limit, replace=False))


def confident_pseudo_labels(proba: np.ndarray, *, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, classes) of the rows of ``proba`` (n, C; single-label probabilities) whose largest probability is
    at least ``threshold``, with that class. Both int64, rows ascending."""
    proba = np.asarray(proba)
    if proba.ndim != 2:
        raise ValueError(f"proba must be (n, classes), got shape {proba.shape}")
    rows = np.flatnonzero(proba.max(axis=1) >= threshold)
    return rows.astype(np.int64), proba[rows].argmax(axis=1).astype(np.int64)


def fit_with_pseudo_labels(model: LinearModel, X_labeled: ArrayLike, y: np.ndarray, X_unlabeled: ArrayLike,
                           recipe: PseudoLabelling, *, seed: int = 0) -> int:
    """Fit ``model`` (single-label) on the answers, then again on the answers plus the confident pseudo-labels
    of ``X_unlabeled`` by that first fit (:func:`confident_pseudo_labels`; ``seed`` draws the subset when
    there are more than ``recipe.max_rows``). Returns how many were added (0: the first fit is kept)."""
    if model.task != "multiclass":
        raise ValueError(f"pseudo-labels are for single-label tasks; got task {model.task!r}")
    model.fit(X_labeled, y)
    if (X_unlabeled.shape[0] == 0 or X_labeled.shape[0] < recipe.min_answers
            or not recipe.applies_to(model.task, model.n_classes)):
        return 0
    rows, classes = confident_pseudo_labels(model.predict_proba(X_unlabeled), threshold=recipe.threshold)
    if rows.size == 0:
        return 0
    keep = at_most(np.arange(rows.size), recipe.max_rows, np.random.default_rng(seed))
    rows, classes = rows[keep], classes[keep]
    stack = sparse.vstack if sparse.issparse(X_labeled) else np.vstack
    X = stack([X_labeled, X_unlabeled[rows]])
    if sparse.issparse(X):
        X = X.tocsr()
    n_answers = X_labeled.shape[0]
    weights = np.concatenate([np.ones(n_answers), np.full(rows.size, recipe.row_weight(n_answers, rows.size))])
    model.fit(X, np.concatenate([np.asarray(y), classes]), sample_weight=weights)
    return int(rows.size)

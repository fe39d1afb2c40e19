"""Out-of-fold predicted probabilities: every row is predicted by a model that never saw it.

Model-agnostic: ``model_factory()`` returns a fresh scikit-learn-style estimator with ``fit(X, y)`` and
``predict_proba(X)``. Estimators that only know the classes present in their training fold (plain scikit-learn,
which exposes ``classes_``) are mapped back onto the full class set; missing classes get probability 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

ModelFactory = Callable[[], Any]
Progress = Callable[[int, int], None]


def fold_assignments(y: np.ndarray, *, folds: int, seed: int = 0, stratify: bool = True) -> np.ndarray:
    """Assign each row to one of ``folds`` folds, stratified by class: shape (n,) ints in [0, folds).

    Each class's members are shuffled and dealt round-robin starting at a random fold, so a class with fewer
    members than folds lands in as many folds as it has members (its members are then always predicted by
    models that saw the other members) instead of raising like scikit-learn's ``StratifiedKFold``.
    ``y`` may be (n,) class indices, or (n, L) 0/1 rows (multi-label: stratified by each row's rarest label).
    """
    y = np.asarray(y)
    n = len(y)
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    if n < folds:
        raise ValueError(f"need at least as many rows as folds ({folds}), got {n} rows")
    rng = np.random.default_rng(seed)
    if not stratify:
        return rng.permutation(np.arange(n) % folds)
    if y.ndim == 2:
        counts = y.sum(axis=0)
        masked = np.where(y > 0, counts[None, :], np.inf)
        strata = np.where(np.isfinite(masked.min(axis=1)), masked.argmin(axis=1), -1)
    else:
        strata = y
    out = np.empty(n, dtype=np.int64)
    next_fold = int(rng.integers(folds))
    for value in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == value))
        # continue the deal where the previous class stopped: fold sizes stay within one of each other
        out[members] = (next_fold + np.arange(len(members))) % folds
        next_fold = (next_fold + len(members)) % folds
    return out


def take_rows(X: Any, idx: np.ndarray) -> Any:
    """The rows ``idx`` of a dense or sparse matrix, a DataFrame or a list (what a model's ``fit`` accepts)."""
    if isinstance(X, np.ndarray) or sp.issparse(X):
        return X[idx]
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    return [X[int(i)] for i in idx]


def proba_for_all_classes(model: Any, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Map ``predict_proba`` columns onto all ``n_classes`` classes using ``model.classes_`` if needed."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 2 and proba.shape[1] == n_classes:
        return proba
    classes = getattr(model, "classes_", None)
    if classes is None or proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(
            f"model returned probabilities of shape {proba.shape}; expected (n, {n_classes}) or one column "
            "per entry of model.classes_"
        )
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(classes, dtype=np.int64)] = proba
    return full


def out_of_fold_proba(
    X: Any,
    y: np.ndarray,
    *,
    model_factory: ModelFactory,
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    n_classes: int | None = None,
    train_mask: np.ndarray | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities by stratified K-fold cross-validation, averaged over ``repeats`` splits.

    X: (n, d) array or sparse matrix, or any list-like the model accepts (rows taken by position).
    y: (n,) class indices in [0, n_classes) (multiclass) or (n, L) 0/1 (multi-label; the model's
    ``predict_proba`` must then return (n, L) per-label probabilities).
    Returns (n, C) float64: row i comes only from models whose training folds excluded row i.
    ``train_mask``: (n,) bool; rows where it is False are predicted but never trained on (e.g. suspected label
    errors in a second, cleaner round).
    ``progress(done, total)`` is called after each fitted fold (total = folds * repeats).
    """
    y = np.asarray(y)
    n = len(y)
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be (n,) class indices or an (n, L) indicator matrix, got shape {y.shape}")
    multilabel = y.ndim == 2
    if multilabel:
        n_cols = y.shape[1]
    else:
        if n and y.min() < 0:
            raise ValueError("class indices must be non-negative")
        n_cols = int(n_classes if n_classes is not None else (y.max() + 1 if n else 0))
        if n and y.max() >= n_cols:
            raise ValueError(f"class index {int(y.max())} out of range for n_classes={n_cols}")
    if train_mask is not None:
        train_mask = np.asarray(train_mask, dtype=bool)
        if train_mask.shape != (n,):
            raise ValueError(f"train_mask must have shape ({n},), got {train_mask.shape}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    total = folds * repeats
    sums = np.zeros((n, n_cols))
    done = 0
    for r in range(repeats):
        assign = fold_assignments(y, folds=folds, seed=seed + r)
        for k in range(folds):
            test = np.flatnonzero(assign == k)
            train = np.flatnonzero((assign != k) if train_mask is None else (assign != k) & train_mask)
            y_train = y[train]
            if len(train) == 0:
                raise ValueError(f"fold {k} has no training rows")
            if not multilabel and len(np.unique(y_train)) == 1:
                # a one-class training fold: no estimator can be fitted; predict that class
                proba = np.zeros((len(test), n_cols))
                proba[:, int(y_train[0])] = 1.0
            else:
                model = model_factory()
                model.fit(take_rows(X, train), y_train)
                proba = proba_for_all_classes(model, model.predict_proba(take_rows(X, test)), n_cols)
            sums[test] += proba
            done += 1
            if progress is not None:
                progress(done, total)
    return sums / repeats


def out_of_fold_token_proba(
    sequences: Sequence[Any],
    tags: Sequence[Sequence[Any]],
    *,
    model_factory: ModelFactory,
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[np.ndarray]:
    """Out-of-fold per-token marginals for sequence labeling (NER).

    The model's ``fit(sequences, tags)`` takes lists (tags as the model wants them: indices or BIO strings),
    and ``predict_marginals(sequences)`` (or ``predict_proba``) returns, per sequence, a (T_i, K) array of tag
    probabilities whose K columns are the same for every fitted model (e.g. ``CRFTagger(types=...)``).
    Folds are plain shuffled K-fold over sentences. Returns a list of (T_i, K) arrays aligned with ``sequences``.
    """
    n = len(sequences)
    if len(tags) != n:
        raise ValueError(f"{len(tags)} tag sequences for {n} sequences")
    assign = fold_assignments(np.zeros(n, dtype=np.int64), folds=folds, seed=seed, stratify=False)
    out: list[np.ndarray | None] = [None] * n
    width = None
    for k in range(folds):
        test = np.flatnonzero(assign == k)
        train = np.flatnonzero(assign != k)
        model = model_factory()
        model.fit([sequences[i] for i in train], [list(tags[i]) for i in train])
        predict = getattr(model, "predict_marginals", None) or model.predict_proba
        predicted = predict([sequences[i] for i in test])
        for i, p in zip(test, predicted, strict=True):
            p = np.asarray(p, dtype=np.float64)
            if p.ndim != 2 or p.shape[0] != len(tags[i]) or (width is not None and p.shape[1] != width):
                raise ValueError(f"sequence {int(i)}: expected ({len(tags[i])}, K) marginals, got {p.shape}")
            width = p.shape[1]
            out[int(i)] = p
        if progress is not None:
            progress(k + 1, folds)
    return out  # type: ignore[return-value]

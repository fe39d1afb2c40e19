"""Linear classifiers over feature vectors: the fast default model of labelwise.

Columns of ``predict_proba`` always follow the full label set (``n_classes``), even when some classes have no
labeled example yet — an active learner starts with few labels, and strategies need a fixed column order.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

ArrayLike = np.ndarray | sparse.spmatrix


def _check_xy(X: ArrayLike, y: np.ndarray, task: str, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    if task == "multiclass":
        if y.ndim != 1:
            raise ValueError(f"multiclass y must be 1-d class indices, got shape {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"class indices must lie in [0, {n_classes}), got {y.min()}..{y.max()}")
    elif task == "multilabel":
        if y.ndim != 2 or y.shape[1] != n_classes:
            raise ValueError(f"multilabel y must have shape (n, {n_classes}), got {y.shape}")
    else:
        raise ValueError(f"task must be 'multiclass' or 'multilabel', got {task!r}")
    return y


class LinearModel:
    """Logistic regression: multinomial for multiclass, one-vs-rest binary for multi-label.

    Parameters
    ----------
    task: "multiclass" or "multilabel".
    n_classes: size of the label set; ``predict_proba`` returns (n, n_classes).
    C: inverse L2 strength (scikit-learn's meaning).
    warm_start: keep training from the previous weights on the next ``fit`` (when the set of seen classes is
        unchanged); otherwise every ``fit`` starts from scratch.
    class_weight: None or "balanced".
    smoothing: pseudo-count for classes/labels the model cannot fit yet (a class never seen gets a small
        probability instead of exactly zero, a label never positive gets its smoothed frequency).
    solver: scikit-learn's solver, or "auto": newton-cg for sparse input (TF-IDF, stacked views), where it
        converges in a few Newton steps where lbfgs needs tens of cheap ones over ~10^5 columns (the same optimum
        up to ``tol``: tests/models/test_linear.py), and lbfgs for dense embeddings.
    """

    def __init__(self, task: str = "multiclass", n_classes: int = 2, *, C: float = 1.0, warm_start: bool = False,
                 class_weight: str | None = None, max_iter: int = 300, smoothing: float = 1.0,
                 temperature: float = 1.0, seed: int = 0, solver: str = "auto"):
        self.task, self.n_classes, self.C, self.warm_start = task, n_classes, C, warm_start
        self.class_weight, self.max_iter, self.smoothing = class_weight, max_iter, smoothing
        self.temperature, self.seed, self.solver = temperature, seed, solver
        self._estimators: dict[int, LogisticRegression] | LogisticRegression | None = None
        self._constant: np.ndarray | None = None
        self.classes_ = np.arange(n_classes)

    def _new_lr(self, X: ArrayLike) -> LogisticRegression:
        solver = getattr(self, "solver", "auto")  # models pickled before the option existed
        if solver == "auto":
            solver = "newton-cg" if sparse.issparse(X) else "lbfgs"
        return LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight=self.class_weight,
                                  warm_start=self.warm_start, random_state=self.seed, solver=solver)

    def fit(self, X: ArrayLike, y: np.ndarray, *, sample_weight: np.ndarray | None = None) -> LinearModel:
        """Fit on (X, y); ``sample_weight`` (n,) scales each row's loss (e.g. pseudo-labels below 1)."""
        y = _check_xy(X, y, self.task, self.n_classes)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
            if sample_weight.shape != (X.shape[0],):
                raise ValueError(f"sample_weight must have shape ({X.shape[0]},), got {sample_weight.shape}")
            if not np.all(np.isfinite(sample_weight)) or (sample_weight < 0).any():
                raise ValueError("sample_weight must be finite and >= 0")
        # One BLAS thread: these problems are small, and OpenBLAS threads on 2 busy cores made lbfgs ~50x
        # slower here (6 s instead of 0.12 s for 1,000 × 384).
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            if self.task == "multiclass":
                self._fit_multiclass(X, y, sample_weight)
            else:
                self._fit_multilabel(X, y, sample_weight)
        return self

    def _fit_multiclass(self, X: ArrayLike, y: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        counts = np.bincount(y, weights=sample_weight, minlength=self.n_classes).astype(float)
        self._constant = (counts + self.smoothing) / (counts.sum() + self.smoothing * self.n_classes)
        seen = np.flatnonzero(counts)
        if seen.size < 2:
            self._estimators = None  # one class (or none) seen: predict the smoothed prior
            return
        lr = self._estimators if isinstance(self._estimators, LogisticRegression) else None
        if lr is None or not self.warm_start or not np.array_equal(getattr(lr, "classes_", []), seen):
            lr = self._new_lr(X)
        lr.fit(X, y, sample_weight=sample_weight)
        self._estimators = lr

    def _fit_multilabel(self, X: ArrayLike, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        weights = np.ones(Y.shape[0]) if sample_weight is None else sample_weight
        n = weights.sum()
        positives = weights @ Y.astype(float)
        self._constant = (positives + self.smoothing) / (n + 2 * self.smoothing)
        previous = self._estimators if isinstance(self._estimators, dict) else {}
        estimators: dict[int, LogisticRegression] = {}
        for j in np.flatnonzero((positives > 0) & (positives < n)):
            lr = previous.get(int(j)) if self.warm_start else None
            lr = lr or self._new_lr(X)
            lr.fit(X, Y[:, j], sample_weight=sample_weight)
            estimators[int(j)] = lr
        self._estimators = estimators

    def decision_logits(self, X: ArrayLike) -> np.ndarray:
        """Multiclass log-probabilities (n, C) before temperature; unseen classes get the smoothed prior."""
        n = X.shape[0]
        if self._constant is None:
            raise RuntimeError("LinearModel is not fitted; call fit(X, y) first")
        logp = np.tile(np.log(self._constant), (n, 1))
        if isinstance(self._estimators, LogisticRegression):
            lr = self._estimators
            # Unseen classes keep a prior-sized share; seen classes split the rest by the model.
            seen_mass = self._constant[lr.classes_].sum()
            logp[:, lr.classes_] = lr.predict_log_proba(X) + np.log(seen_mass)
        return logp

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """(n, n_classes) probabilities: rows sum to 1 (multiclass) or per-label P(label) (multilabel)."""
        if self._constant is None:
            raise RuntimeError("LinearModel is not fitted; call fit(X, y) first")
        n = X.shape[0]
        if self.task == "multiclass":
            with threadpool_limits(limits=1, user_api="blas"):
                logits = self.decision_logits(X) / self.temperature
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            return p / p.sum(axis=1, keepdims=True)
        out = np.tile(self._constant, (n, 1))
        for j, lr in (self._estimators or {}).items():
            out[:, j] = lr.predict_proba(X)[:, 1]
        return out

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class indices (multiclass) or a 0/1 matrix at threshold 0.5 (multilabel)."""
        p = self.predict_proba(X)
        if self.task == "multiclass":
            return p.argmax(axis=1)
        return (p >= 0.5).astype(np.int8)


class BootstrapCommittee:
    """A committee of models, each fit on a bootstrap resample of the labeled data (Breiman 1996 bagging),
    for query-by-committee and BALD over linear models (Houlsby et al. 2011 approximate the posterior; a
    bootstrap ensemble is the cheap stand-in for MC dropout in non-neural models).
    """

    def __init__(self, member_factory: Callable[[], LinearModel], *, n_members: int = 5, seed: int = 0):
        if n_members < 2:
            raise ValueError(f"a committee needs at least 2 members, got {n_members}")
        self.member_factory, self.n_members, self.seed = member_factory, n_members, seed
        self.members_: list[LinearModel] = []

    def fit(self, X: ArrayLike, y: np.ndarray) -> BootstrapCommittee:
        rng = np.random.default_rng(self.seed)
        n = X.shape[0]
        self.members_ = []
        for _ in range(self.n_members):
            rows = rng.integers(0, n, size=n)
            self.members_.append(self.member_factory().fit(X[rows], np.asarray(y)[rows]))
        return self

    def predict_proba_samples(self, X: ArrayLike) -> np.ndarray:
        """(k, n, C) probabilities, one slice per member."""
        if not self.members_:
            raise RuntimeError("BootstrapCommittee is not fitted; call fit(X, y) first")
        return np.stack([m.predict_proba(X) for m in self.members_])

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        return self.predict_proba_samples(X).mean(axis=0)

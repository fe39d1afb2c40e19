"""Choosing between feature views of the same texts from the labels given so far (model selection by
cross-validation), used to pick multilingual-e5's input prefix per task.

e5 reads every text behind a prefix, ``"passage: "`` or ``"query: "``. On the shared datasets ``"query: "``
gave the better model on sentiment and subjectivity labels and the worse one on topic, spam and question labels,
whatever the number of classes (docs/label-efficiency.md, "The e5 prefix"), and labelwise cannot tell the kind
of labels from the texts. The labels can: with 100 random labels, 5-fold cross-validated log-loss chose, in most
of 20 draws, the prefix with the larger area under random picking's learning curve on eleven of the twelve sets
measured (all seven where "passage: " was better, in 14 to 20 draws of 20); on subj, where "query: " was ahead by
0.4 points of that area, it chose "passage: " in 14 of 20 (benchmarks/prefix_choice.py, RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from labelwise.models import LinearModel

#: labels at which an ``"auto"`` prefix is chosen (see :class:`~labelwise.loop.ActiveLearner`)
PREFIX_CHOICE_AT = 100


def cross_validated_log_loss(X: Any, y: np.ndarray, *, n_classes: int, classifier_options: Mapping[str, Any],
                             folds: int = 5, seed: int = 0, threads: int | None = 1) -> float:
    """Mean out-of-fold log-loss of single-label logistic regression on ``X`` (n × d) with labels ``y``
    (n ints in ``[0, n_classes)``); probabilities are clipped at 1e-9. ``folds`` shuffled K folds, seeded."""
    y = np.asarray(y)
    if len(y) < folds:
        raise ValueError(f"{folds}-fold cross-validation needs at least {folds} labels, got {len(y)}")
    proba_of_label = np.empty(len(y))
    with threadpool_limits(limits=threads):
        for train, held_out in KFold(folds, shuffle=True, random_state=seed).split(y):
            model = LinearModel("multiclass", n_classes, **classifier_options).fit(X[train], y[train])
            proba_of_label[held_out] = model.predict_proba(X[held_out])[np.arange(len(held_out)), y[held_out]]
    return float(-np.log(np.clip(proba_of_label, 1e-9, 1.0)).mean())


def choose_view(views: Mapping[str, Any], y: np.ndarray, *, n_classes: int, classifier_options: Mapping[str, Any],
                folds: int = 5, seed: int = 0, threads: int | None = 1) -> tuple[str, dict[str, float]]:
    """The name of the view (rows aligned with ``y``) whose :func:`cross_validated_log_loss` is lowest, the
    first named on a tie, and every view's loss. All views use the same folds."""
    losses = {name: cross_validated_log_loss(X, y, n_classes=n_classes, classifier_options=classifier_options,
                                             folds=folds, seed=seed, threads=threads)
              for name, X in views.items()}
    return min(losses, key=lambda name: losses[name]), losses

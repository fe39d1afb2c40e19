"""What to (re-)label next when texts carry answers from several annotators: ActiveLab over a whole pool.

Follows cleanlab's ActiveLab recipe (Goh & Mueller 2023, arXiv 2301.11856; ``cleanlab.multiannotator.
get_active_learning_scores``): texts with one or more answers form the (n, m) annotation matrix (NaN where an
annotator did not answer); a model is trained on their consensus (majority vote) and gives out-of-fold
probabilities for them; the same model fitted on all of them predicts the texts nobody has labeled yet. ActiveLab
turns both into scores on one scale (lower = one more answer for that text helps most): a text answered once
whose label the model doubts, or one whose annotators disagree, ranks above an unlabeled text the model is sure
about, and an unlabeled text the model cannot place ranks above a text three annotators agree on.

:func:`rank_to_relabel` is what the app's review queue calls (``labelwise.server.review``) and what a library
user calls with their own pool.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from labelwise.noise.multiannotator import active_learning_scores, annotation_matrix, majority_vote
from labelwise.noise.oof import proba_for_all_classes, take_rows
from labelwise.noise.pipeline import (
    MIN_TWO_ROUNDS,
    StageProgress,
    centered_views,
    ensemble_out_of_fold_proba,
    featurize_views,
    model_factory,
    parse_model,
)


@dataclass
class RelabelRanking:
    """``records``: every text of the pool, best to (re-)label first, each ``{"id", "text", "score",
    "num_annotations", "consensus_label"}`` (consensus None for unlabeled texts). ``pred_probs``: (n labeled, C)
    out-of-fold probabilities of the consensus model, rows follow ``labeled_ids``; ``consensus``: their
    majority-vote labels (what a label check over these texts should use as the given labels)."""

    model: str
    records: list[dict[str, Any]]
    labeled_ids: list[Any]
    consensus: list[str]
    pred_probs: np.ndarray


def _predict_unlabeled(views: Mapping[str, Any], components: Sequence[tuple[str, str]], y: np.ndarray,
                       labeled: np.ndarray, unlabeled: np.ndarray, n_classes: int) -> np.ndarray:
    """Average over the components of a model fitted on every labeled row, predicting the unlabeled rows."""
    acc = np.zeros((len(unlabeled), n_classes))
    for feat, est in components:
        model = model_factory(feat, est, task="multiclass", n_classes=n_classes)()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(take_rows(views[feat], labeled), y)
        acc += proba_for_all_classes(model, model.predict_proba(take_rows(views[feat], unlabeled)), n_classes)
    return acc / len(components)


def rank_to_relabel(
    ids: Sequence[Any],
    texts: Sequence[str],
    annotations: Iterable[tuple[Any, Any, str]],
    label_set: Sequence[str],
    *,
    model: str = "ensemble",
    folds: int = 5,
    rounds: int | None = None,
    seed: int = 0,
    views: Mapping[str, Any] | None = None,
    featurizer_options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: StageProgress | None = None,
) -> RelabelRanking:
    """ActiveLab ranking of a pool of multiclass texts (see the module docstring).

    ids, texts: the whole pool, labeled or not. annotations: (text id, annotator, label) triples; a later answer
    by the same annotator for the same text replaces the earlier one. model, folds, rounds (None: 2 from
    ``MIN_TWO_ROUNDS`` labeled texts on), seed, featurizer_options: as in :func:`labelwise.noise.check_labels`;
    ``views`` may give precomputed feature matrices by featurizer name (rows follow ``ids``).
    Needs at least ``folds`` labeled texts whose consensus uses two or more labels.
    """
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    annotations = list(annotations)
    answered = {item for item, _, _ in annotations}
    unknown = answered - set(ids)
    if unknown:
        raise ValueError(f"annotations for unknown text ids {sorted(map(str, unknown))[:5]}")
    labeled = np.array([i for i, item in enumerate(ids) if item in answered], dtype=np.int64)
    unlabeled = np.array([i for i, item in enumerate(ids) if item not in answered], dtype=np.int64)
    if len(labeled) < folds:
        raise ValueError(f"need at least {folds} labeled texts for {folds}-fold cross-validation, got {len(labeled)}")
    labeled_ids = [ids[i] for i in labeled]
    matrix = annotation_matrix(annotations, labeled_ids, label_set)
    y = majority_vote(matrix)
    if len(set(y.tolist())) < 2:
        raise ValueError("need labeled texts with at least two different (consensus) labels")
    n_classes = len(label_set)
    components = parse_model(model, [texts[i] for i in labeled])
    spec = "+".join(f"{f}-{e}" for f, e in components)
    given = dict(views or {})
    missing = [f for f, _ in components if f not in given]
    if missing:
        from labelwise.data import Corpus

        pool = Corpus(ids=list(ids), texts=list(texts), task="multiclass", labels=None, label_set=list(label_set))
        given.update(featurize_views(pool, missing, featurizer_options, progress))
    given = centered_views(given)  # as check_labels trains on them (e5 centered on the pool's mean vector)
    labeled_views = {f: take_rows(given[f], labeled) for f, _ in components}
    rounds = (2 if len(labeled) >= MIN_TWO_ROUNDS else 1) if rounds is None else rounds
    P = ensemble_out_of_fold_proba(labeled_views, components, y, n_classes=n_classes, folds=folds, rounds=rounds,
                                   seed=seed, progress=progress)
    P_unlabeled = None
    if len(unlabeled):
        if progress is not None:
            progress("unlabeled texts", 0, 1)
        P_unlabeled = _predict_unlabeled(given, components, y, labeled, unlabeled, n_classes)
    scores, scores_unlabeled = active_learning_scores(matrix, P, P_unlabeled)
    counts = matrix.notna().sum(axis=1).to_numpy()
    records = [{"id": ids[i], "text": texts[i], "score": float(s), "num_annotations": int(c),
                "consensus_label": label_set[int(k)]}
               for i, s, c, k in zip(labeled, scores, counts, y, strict=True)]
    records += [{"id": ids[i], "text": texts[i], "score": float(s), "num_annotations": 0, "consensus_label": None}
                for i, s in zip(unlabeled, scores_unlabeled, strict=True)]
    position = {item: k for k, item in enumerate(ids)}
    records.sort(key=lambda r: (r["score"], position[r["id"]]))
    return RelabelRanking(spec, records, labeled_ids, [label_set[int(k)] for k in y], P)

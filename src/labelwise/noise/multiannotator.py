"""Several annotators per text: consensus labels, annotator quality, and what to re-label next.

Thin wrappers of ``cleanlab.multiannotator`` (CROWDLAB, Goh et al. 2022, arXiv 2210.06812; ActiveLab, Goh &
Mueller 2023, arXiv 2301.11856) that take labelwise's shapes: an annotation list is turned into the
(n items, m annotators) matrix cleanlab expects, with NaN where an annotator did not label an item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd


def annotation_matrix(
    annotations: Iterable[tuple[Any, Any, str]], item_ids: Sequence[Any], label_set: Sequence[str]
) -> pd.DataFrame:
    """(item id, annotator, label) triples -> DataFrame (len(item_ids), annotators) of class indices, NaN where
    missing; rows follow ``item_ids``, columns are annotators in first-seen order. A later answer by the same
    annotator for the same item replaces the earlier one."""
    row_of = {item: i for i, item in enumerate(item_ids)}
    class_of = {label: j for j, label in enumerate(label_set)}
    columns: dict[Any, np.ndarray] = {}
    for item, annotator, label in annotations:
        if item not in row_of:
            raise ValueError(f"annotation for unknown item id {item!r}")
        if label not in class_of:
            raise ValueError(f"label {label!r} (item {item!r}, annotator {annotator!r}) is not in {list(label_set)}")
        col = columns.setdefault(annotator, np.full(len(item_ids), np.nan))
        col[row_of[item]] = class_of[label]
    return pd.DataFrame(columns, index=list(range(len(item_ids))))


def _matrix(labels_multiannotator: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    df = labels_multiannotator if isinstance(labels_multiannotator, pd.DataFrame) else pd.DataFrame(
        np.asarray(labels_multiannotator, dtype=np.float64))
    if df.shape[1] == 0:
        raise ValueError("need at least one annotator column")
    if df.notna().sum(axis=1).min() == 0:
        raise ValueError("every item needs at least one annotation")
    return df


def label_quality_multiannotator(
    labels_multiannotator: pd.DataFrame | np.ndarray, pred_probs: np.ndarray
) -> dict[str, Any]:
    """CROWDLAB over (n, m) class indices (NaN = not annotated) and (n, C) out-of-fold model probabilities.

    Returns ``consensus_label`` (n,) ints, ``consensus_quality`` (n,), ``annotator_agreement`` (n,),
    ``num_annotations`` (n,), and ``annotator_stats``: a DataFrame indexed by annotator with
    ``annotator_quality`` (higher = more reliable), ``agreement_with_consensus``, ``num_examples_labeled``,
    ``worst_class``.
    """
    from cleanlab.multiannotator import get_label_quality_multiannotator

    df = _matrix(labels_multiannotator)
    out = get_label_quality_multiannotator(df, np.asarray(pred_probs, dtype=np.float64), verbose=False)
    q = out["label_quality"]
    return {
        "consensus_label": q["consensus_label"].to_numpy(dtype=np.int64),
        "consensus_quality": q["consensus_quality_score"].to_numpy(dtype=np.float64),
        "annotator_agreement": q["annotator_agreement"].to_numpy(dtype=np.float64),
        "num_annotations": q["num_annotations"].to_numpy(dtype=np.int64),
        "annotator_stats": out["annotator_stats"],
    }


def krippendorff_alpha_nominal(units: Any, values: Any, counts: Any) -> float:
    """Krippendorff's alpha for nominal answers, from sparse value counts; NaN where it is undefined.

    ``units``, ``values``, ``counts``: (r,) integer arrays: text ``units[i]`` got answer ``values[i]`` from
    ``counts[i]`` annotators (as ``GROUP BY text, answer`` returns them; rows repeating a pair add up). Texts
    with fewer than two answers are not pairable and are ignored. With ``m_u`` answers on text ``u``, ``n_uc``
    of them equal to ``c``, ``n_c = Σ_u n_uc`` and ``n = Σ_c n_c`` over pairable texts (Krippendorff 2011,
    "Computing Krippendorff's Alpha-Reliability", nominal metric):

        alpha = 1 - (n - 1) · Σ_u (m_u² - Σ_c n_uc²) / (m_u - 1)  /  (n² - Σ_c n_c²)

    1 is perfect agreement, 0 what chance alone gives, below 0 systematic disagreement. It corrects the share of
    texts everybody answered alike for the answers' spread (two annotators answering "pos" on 95 % of the texts
    agree often by chance alone) and takes any number of answers per text. NaN with fewer than two pairable
    answers or when every answer is the same value (no expected disagreement to compare with). Sparse, so it
    costs O(r) however many distinct answers there are (NER tag sequences, label sets).
    """
    units = np.asarray(units, dtype=np.int64).ravel()
    values = np.asarray(values, dtype=np.int64).ravel()
    counts = np.asarray(counts, dtype=np.float64).ravel()
    if not units.shape == values.shape == counts.shape:
        raise ValueError(f"units, values and counts must have one length, got {units.shape[0]}, {values.shape[0]} "
                         f"and {counts.shape[0]}")
    if counts.size and (counts < 0).any():
        raise ValueError("counts must be >= 0")
    if units.size:  # one row per (text, answer) pair: n_uc must be the pair's total before it is squared
        pairs, pair_index = np.unique(np.stack([units, values], axis=1), axis=0, return_inverse=True)
        units, values = pairs[:, 0], pairs[:, 1]
        counts = np.bincount(pair_index.ravel(), weights=counts, minlength=len(pairs))
    _, unit_index = np.unique(units, return_inverse=True)
    m = np.bincount(unit_index, weights=counts)  # answers per text
    pairable = m[unit_index] >= 2
    if not pairable.any():
        return float("nan")
    u, v, c = unit_index[pairable], values[pairable], counts[pairable]
    m_u = m[m >= 2]
    squares = np.bincount(u, weights=c * c, minlength=m.size)[m >= 2]  # Σ_c n_uc² per pairable text
    observed = float(np.sum((m_u * m_u - squares) / (m_u - 1)))
    _, value_index = np.unique(v, return_inverse=True)
    n_c = np.bincount(value_index, weights=c)
    n = float(n_c.sum())
    expected = n * n - float(np.sum(n_c * n_c))
    if expected <= 0:
        return float("nan")
    return 1.0 - (n - 1.0) * observed / expected


def majority_vote(labels_multiannotator: pd.DataFrame | np.ndarray, pred_probs: np.ndarray | None = None) -> np.ndarray:
    """(n,) majority-vote consensus; ties broken by ``pred_probs`` when given (cleanlab's rules)."""
    from cleanlab.multiannotator import get_majority_vote_label

    return np.asarray(get_majority_vote_label(_matrix(labels_multiannotator), pred_probs, verbose=False),
                      dtype=np.int64)


def active_learning_scores(
    labels_multiannotator: pd.DataFrame | np.ndarray | None,
    pred_probs: np.ndarray | None,
    pred_probs_unlabeled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ActiveLab scores: lower = collecting one more label for that item helps most.

    Returns (scores for the annotated items (n,), scores for the unlabeled items (u,)); either side may be empty.
    """
    from cleanlab.multiannotator import get_active_learning_scores

    df = None if labels_multiannotator is None else _matrix(labels_multiannotator)
    labeled, unlabeled = get_active_learning_scores(df, pred_probs, pred_probs_unlabeled)
    return np.asarray(labeled, dtype=np.float64), np.asarray(unlabeled, dtype=np.float64)


def choose_to_relabel(
    labels_multiannotator: pd.DataFrame | np.ndarray | None,
    pred_probs: np.ndarray | None,
    n: int,
    pred_probs_unlabeled: np.ndarray | None = None,
) -> list[tuple[str, int]]:
    """The ``n`` items to send to an annotator next, best first, as ("labeled" | "unlabeled", position) pairs:
    the lowest ActiveLab scores over both pools together."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    labeled, unlabeled = active_learning_scores(labels_multiannotator, pred_probs, pred_probs_unlabeled)
    scores = np.concatenate([labeled, unlabeled])
    order = np.argsort(scores, kind="stable")[:n]
    return [("labeled", int(i)) if i < len(labeled) else ("unlabeled", int(i - len(labeled))) for i in order]

"""Finding likely label errors from out-of-fold probabilities (confident learning, via cleanlab).

Pure functions over ``(labels, pred_probs)`` in cleanlab's conventions: ``get_*`` returns scores, ``find_*`` returns
masks or indices. Multiclass ``labels`` are (n,) class indices; ``pred_probs`` is (n, C) out-of-fold probabilities
(rows sum to 1, columns in label-set order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: cleanlab's filters run in this process: its default forks a multiprocessing pool for "both" and
#: "prune_by_noise_rate", which fails inside a daemon process (the app's trainer) and can deadlock when forked
#: from a threaded one; on the two cores labelwise targets the pool gains nothing measurable.
CLEANLAB_JOBS = 1

#: cleanlab's filters (``cleanlab.filter.find_label_issues``)
CLEANLAB_FILTERS: tuple[str, ...] = (
    "low_self_confidence",
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
)
#: what ``filter_by`` accepts: labelwise's default ``"auto"`` (see :func:`resolve_filter`), then cleanlab's
FILTERS: tuple[str, ...] = ("auto", *CLEANLAB_FILTERS)
#: ``filter_by="auto"`` uses ``"both"`` from this :func:`largest_flip_rate` on
STRUCTURED_FLIP_RATE = 0.2


def _check(labels: np.ndarray, pred_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    if pred_probs.ndim != 2:
        raise ValueError(f"pred_probs must be (n, C), got shape {pred_probs.shape}")
    if labels.shape != (pred_probs.shape[0],):
        raise ValueError(f"labels must be ({pred_probs.shape[0]},) class indices, got shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= pred_probs.shape[1]):
        raise ValueError(f"class indices must lie in [0, {pred_probs.shape[1]})")
    return labels.astype(np.int64), pred_probs


def get_label_quality_scores(
    labels: np.ndarray, pred_probs: np.ndarray, *, method: str = "self_confidence"
) -> np.ndarray:
    """(n,) label quality in [0, 1], lower = more likely wrong (cleanlab.rank: self_confidence,
    normalized_margin or confidence_weighted_entropy)."""
    from cleanlab.rank import get_label_quality_scores as _scores

    labels, pred_probs = _check(labels, pred_probs)
    return np.asarray(_scores(labels, pred_probs, method=method), dtype=np.float64)


def confident_joint(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """(C, C) calibrated confident joint: entry [i, j] estimates how many examples have given label i and true
    label j (Northcutt et al. 2021, "Confident Learning", JAIR 70); rows sum to the given-label counts."""
    from cleanlab.count import compute_confident_joint

    labels, pred_probs = _check(labels, pred_probs)
    return np.asarray(compute_confident_joint(labels, pred_probs, calibrate=True), dtype=np.float64)


def estimated_num_issues(labels: np.ndarray, pred_probs: np.ndarray) -> int:
    """The estimated number of label errors (cleanlab.count.num_label_issues: off-diagonal of the confident
    joint)."""
    from cleanlab.count import num_label_issues

    labels, pred_probs = _check(labels, pred_probs)
    return int(num_label_issues(labels, pred_probs))


def largest_flip_rate(labels: np.ndarray, pred_probs: np.ndarray) -> float:
    """The largest estimated share of one given class's labels that truly belong to one other class:
    ``max over i != j of joint[i, j] / joint[i].sum()`` of the :func:`confident_joint` (0 for a clean-looking set).

    Shapes: ``labels`` (n,) class indices, ``pred_probs`` (n, C) out-of-fold probabilities.
    """
    joint = confident_joint(labels, pred_probs)
    row = joint.sum(axis=1, keepdims=True)
    rates = np.divide(joint, row, out=np.zeros_like(joint), where=row > 0)
    np.fill_diagonal(rates, 0.0)
    return float(rates.max()) if rates.size else 0.0


def resolve_filter(labels: np.ndarray, pred_probs: np.ndarray, filter_by: str = "auto") -> str:
    """The cleanlab filter that ``filter_by`` stands for on these labels (itself unless ``"auto"``).

    ``"auto"``: ``"low_self_confidence"`` (the examples with the lowest p(given label), as many as the confident
    joint estimates there are errors), unless :func:`largest_flip_rate` is at least ``STRUCTURED_FLIP_RATE``
    (0.2): then ``"both"`` (that count, pruned per (given, true) cell by margin, and also low in self-confidence).
    Why: with spread-out noise the per-cell pruning flags correctly labeled hard examples (ag_news, 10 % uniform
    flips: F1 0.810 with low self-confidence against 0.775 with ``both``), but when one class pair carries much
    of the noise the model learns that confusion, the flipped examples' self-confidence rises, and the per-cell
    margin ranks them better (thucnews_titles, 30 % flips between similar classes: 0.797 against 0.831). Over
    five draws per setting the largest estimated flip rate stayed ≤ 0.186 with 10 % or uniform flips and was
    ≥ 0.232 with 30 % similar-class flips, on ag_news and thucnews_titles; 0.2 was set on those same draws
    (benchmarks/noise.py, RESULTS.md "Label noise": the per-filter F1 table of each entry).
    """
    if filter_by not in FILTERS:
        raise ValueError(f"unknown filter_by {filter_by!r}; expected one of {', '.join(FILTERS)}")
    if filter_by != "auto":
        return filter_by
    return "both" if largest_flip_rate(labels, pred_probs) >= STRUCTURED_FLIP_RATE else "low_self_confidence"


def find_label_issues(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    filter_by: str = "auto",
    num_issues: int | None = None,
) -> np.ndarray:
    """(n,) bool mask of likely label errors (cleanlab.filter.find_label_issues with the filter that
    :func:`resolve_filter` picks; default ``"auto"``).

    ``num_issues``: flag exactly this many lowest self-confidence examples instead (any ``filter_by`` ignored).
    """
    labels, pred_probs = _check(labels, pred_probs)
    if num_issues is not None:
        if num_issues < 0:
            raise ValueError(f"num_issues must be >= 0, got {num_issues}")
        q = get_label_quality_scores(labels, pred_probs)
        mask = np.zeros(len(labels), dtype=bool)
        mask[np.argsort(q, kind="stable")[: int(num_issues)]] = True
        return mask
    from cleanlab.filter import find_label_issues as _find

    chosen = resolve_filter(labels, pred_probs, filter_by)
    return np.asarray(_find(labels, pred_probs, filter_by=chosen, n_jobs=CLEANLAB_JOBS), dtype=bool)


@dataclass
class NoiseSummary:
    """What the confident joint says about a label set.

    - ``joint``: (C, C) estimated counts, rows = given label, columns = true label.
    - ``noise_rate``: per given class, the estimated fraction of its examples whose true label is another class.
    - ``confused_pairs``: off-diagonal cells, largest first: (given label, true label, estimated count).
    """

    label_set: list[str]
    joint: np.ndarray
    noise_rate: dict[str, float]
    estimated_issues: dict[str, int]
    confused_pairs: list[tuple[str, str, int]]

    def to_dict(self) -> dict:
        return {
            "label_set": list(self.label_set),
            "confident_joint": np.round(self.joint).astype(int).tolist(),
            "noise_rate": self.noise_rate,
            "estimated_issues": self.estimated_issues,
            "confused_pairs": [
                {"given": g, "true": t, "estimated_count": c} for g, t, c in self.confused_pairs
            ],
        }


def noise_summary(
    labels: np.ndarray, pred_probs: np.ndarray, label_set: Sequence[str], *, top_pairs: int = 10
) -> NoiseSummary:
    """Estimated noise rate per class and the most confused (given, true) class pairs."""
    labels, pred_probs = _check(labels, pred_probs)
    if len(label_set) != pred_probs.shape[1]:
        raise ValueError(f"{len(label_set)} label names for {pred_probs.shape[1]} probability columns")
    joint = confident_joint(labels, pred_probs)
    row = joint.sum(axis=1)
    off = row - np.diag(joint)
    noise_rate = {
        name: float(off[i] / row[i]) if row[i] > 0 else 0.0 for i, name in enumerate(label_set)
    }
    issues = {name: int(round(off[i])) for i, name in enumerate(label_set)}
    cells = [
        (label_set[i], label_set[j], int(round(joint[i, j])))
        for i in range(len(label_set))
        for j in range(len(label_set))
        if i != j and round(joint[i, j]) > 0
    ]
    cells.sort(key=lambda cell: (-cell[2], cell[0], cell[1]))
    return NoiseSummary(list(label_set), joint, noise_rate, issues, cells[:top_pairs])


# ---------------------------------------------------------------------------------------------- multi-label


def _multilabel_lists(labels: np.ndarray | Sequence[Sequence[int]], n_labels: int) -> list[list[int]]:
    arr = labels
    if isinstance(arr, np.ndarray) and arr.ndim == 2:
        if arr.shape[1] != n_labels:
            raise ValueError(f"label matrix has {arr.shape[1]} columns, pred_probs {n_labels}")
        return [list(np.flatnonzero(row)) for row in arr]
    return [list(map(int, row)) for row in arr]


def get_multilabel_quality_scores(labels: np.ndarray | Sequence[Sequence[int]], pred_probs: np.ndarray) -> np.ndarray:
    """(n,) per-example quality for multi-label data (cleanlab.multilabel_classification.rank): per-label
    self-confidence aggregated by an exponential moving average that weights the worst labels most.

    labels: (n, L) 0/1 matrix or per-row lists of label indices; pred_probs: (n, L) per-label probabilities.
    """
    from cleanlab.multilabel_classification.rank import get_label_quality_scores as _scores

    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    return np.asarray(_scores(_multilabel_lists(labels, pred_probs.shape[1]), pred_probs), dtype=np.float64)


def find_multilabel_issues(
    labels: np.ndarray | Sequence[Sequence[int]], pred_probs: np.ndarray, *, filter_by: str = "prune_by_noise_rate"
) -> np.ndarray:
    """(n,) bool mask of examples whose label set is likely wrong (cleanlab.multilabel_classification.filter,
    one confident-learning problem per label)."""
    from cleanlab.multilabel_classification.filter import find_label_issues as _find

    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    lists = _multilabel_lists(labels, pred_probs.shape[1])
    return np.asarray(_find(lists, pred_probs, filter_by=filter_by, n_jobs=CLEANLAB_JOBS), dtype=bool)


def multilabel_flag_summary(
    labels: np.ndarray, pred_probs: np.ndarray, label_set: Sequence[str], is_issue: np.ndarray, *, top_pairs: int = 10,
) -> dict:
    """What the flagged records of a multi-label check say per label, and which labels they swap.

    labels: (n, L) 0/1 matrix; pred_probs: (n, L) out-of-fold per-label probabilities; is_issue: (n,) flagged
    records. Per label: given and predicted (p >= 0.5) counts, ``flagged_missing`` (flagged records whose
    suggested set (:func:`multilabel_suggestions`) adds the label), ``flagged_spurious`` (... drops it) and
    ``flagged_rate`` (their sum over n). Why the flagged records and not each label's own confident joint: with
    many rare labels a weak model's per-label thresholds are tiny, and the joint then counted more "missing"
    labels than there are records (a 300-text goemotions slice); the flagged set is cleanlab's own answer and
    what a reviewer sees. ``swaps`` (L, L): entry [j, k] counts flagged records given j but not k whose
    suggestion has k but not j; its diagonal holds each label's other given records, so a row sums to the
    label's given count.
    """
    Y = np.asarray(labels).astype(bool)
    P = np.asarray(pred_probs, dtype=np.float64)
    flagged = np.asarray(is_issue, dtype=bool)
    if Y.shape != P.shape or Y.ndim != 2 or Y.shape[1] != len(label_set) or flagged.shape != (Y.shape[0],):
        raise ValueError(f"labels {Y.shape}, pred_probs {P.shape}, is_issue {flagged.shape} and {len(label_set)} "
                         "label names do not match")
    n, L = Y.shape
    suggested = np.zeros_like(Y)
    for i, chosen in enumerate(multilabel_suggestions(P)):
        suggested[i, chosen] = True
    dropped = (Y & ~suggested & flagged[:, None]).astype(np.int64)  # (n, L) given, not suggested
    added = (suggested & ~Y & flagged[:, None]).astype(np.int64)  # (n, L) suggested, not given
    per_label = {
        name: {
            "given_positive": int(Y[:, j].sum()), "predicted_positive": int((P[:, j] >= 0.5).sum()),
            "disagreements": int(((P[:, j] >= 0.5) != Y[:, j]).sum()),
            "flagged_missing": int(added[:, j].sum()), "flagged_spurious": int(dropped[:, j].sum()),
            "flagged_rate": float((added[:, j].sum() + dropped[:, j].sum()) / n) if n else 0.0,
        }
        for j, name in enumerate(label_set)
    }
    swaps = dropped.T @ added
    np.fill_diagonal(swaps, 0)
    np.fill_diagonal(swaps, Y.sum(axis=0) - swaps.sum(axis=1))
    pairs = sorted(((label_set[j], label_set[k], int(swaps[j, k])) for j in range(L) for k in range(L)
                    if j != k and swaps[j, k] > 0), key=lambda c: (-c[2], c[0], c[1]))
    return {"per_label": per_label, "swaps": swaps.tolist(), "label_set": list(label_set),
            "confused_pairs": [{"given": g, "true": t, "estimated_count": c} for g, t, c in pairs[:top_pairs]]}


def flagged_class_summary(
    given: np.ndarray, suggested: np.ndarray, is_issue: np.ndarray, label_set: Sequence[str], *, top_pairs: int = 10,
) -> dict:
    """Per class of single-label items (e.g. NER's pooled tokens): how many of its items were flagged and what
    they were suggested as. given / suggested: (m,) class indices; is_issue: (m,) bool.

    Returns the keys of a level in a check's summary: ``label_set``, ``matrix`` (rows given, columns suggested,
    over the flagged items; the diagonal holds the unflagged items, so a row sums to the class's count),
    ``noise_rate`` (flagged share per given class), ``estimated_issues`` (flagged count), ``confused_pairs``.
    Why not the confident joint: pooled over tokens, a tag seen once gets a tiny threshold and the joint then
    moved dozens of ``O`` tokens into it (80 conll2003 sentences); the flagged tokens are cleanlab's own answer.
    """
    given = np.asarray(given, dtype=np.int64)
    suggested = np.asarray(suggested, dtype=np.int64)
    flagged = np.asarray(is_issue, dtype=bool)
    C = len(label_set)
    matrix = np.zeros((C, C), dtype=np.int64)
    np.add.at(matrix, (given[flagged], suggested[flagged]), 1)
    np.fill_diagonal(matrix, 0)
    counts = np.bincount(given, minlength=C)
    np.fill_diagonal(matrix, counts - matrix.sum(axis=1))
    flagged_per = np.bincount(given[flagged], minlength=C)
    pairs = sorted(((label_set[i], label_set[j], int(matrix[i, j])) for i in range(C) for j in range(C)
                    if i != j and matrix[i, j] > 0), key=lambda c: (-c[2], c[0], c[1]))
    return {
        "label_set": list(label_set), "matrix": matrix.tolist(),
        "noise_rate": {name: float(flagged_per[i] / counts[i]) if counts[i] else 0.0 for i, name in enumerate(label_set)},
        "estimated_issues": {name: int(flagged_per[i]) for i, name in enumerate(label_set)},
        "confused_pairs": [{"given": g, "true": t, "estimated_count": c} for g, t, c in pairs[:top_pairs]],
    }


def multilabel_suggestions(pred_probs: np.ndarray, *, threshold: float = 0.5) -> list[list[int]]:
    """Suggested label sets: labels with probability >= threshold, else the single most probable label."""
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    out = []
    for row in pred_probs:
        chosen = list(np.flatnonzero(row >= threshold))
        out.append(chosen if chosen else [int(row.argmax())])
    return out


# ---------------------------------------------------------------------------------------------- token level


def get_token_label_quality_scores(
    labels: Sequence[Sequence[int]], pred_probs: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sentence quality (n,) = the worst token's self-confidence, and per-token qualities (list of (T_i,)).

    labels: per sentence, per-token tag indices; pred_probs: per sentence a (T_i, K) array of tag probabilities
    (cleanlab.token_classification.rank).
    """
    from cleanlab.token_classification.rank import get_label_quality_scores as _scores

    labels_l, probs_l = _token_inputs(labels, pred_probs)
    sentence, token = _scores(labels_l, probs_l)
    return np.asarray(sentence, dtype=np.float64), [np.asarray(t, dtype=np.float64) for t in token]


def find_token_label_issues(
    labels: Sequence[Sequence[int]], pred_probs: Sequence[np.ndarray]
) -> list[tuple[int, int]]:
    """(sentence index, token index) pairs of likely mislabeled tokens, worst first
    (cleanlab.token_classification.filter: confident learning over all tokens pooled)."""
    from cleanlab.token_classification.filter import find_label_issues as _find

    labels_l, probs_l = _token_inputs(labels, pred_probs)
    return [(int(s), int(t)) for s, t in _find(labels_l, probs_l, n_jobs=CLEANLAB_JOBS)]


def _token_inputs(
    labels: Sequence[Sequence[int]], pred_probs: Sequence[np.ndarray]
) -> tuple[list[list[int]], list[np.ndarray]]:
    if len(labels) != len(pred_probs):
        raise ValueError(f"{len(labels)} label sequences for {len(pred_probs)} probability arrays")
    labels_l = [list(map(int, row)) for row in labels]
    probs_l = [np.asarray(p, dtype=np.float64) for p in pred_probs]
    widths = {p.shape[1] for p in probs_l if p.ndim == 2}
    for i, (lab, p) in enumerate(zip(labels_l, probs_l, strict=True)):
        if p.ndim != 2 or p.shape[0] != len(lab):
            raise ValueError(f"sentence {i}: {len(lab)} tags but pred_probs of shape {p.shape}")
    if len(widths) > 1:
        raise ValueError(f"all pred_probs arrays must have the same number of tag columns, got {sorted(widths)}")
    return labels_l, probs_l

"""Two-level labels such as ``sports/football``: the parent is the part before the first separator.

A model is trained on the leaf labels; the top level's probabilities are the sums of its children's columns, so
both levels come from the same out-of-fold predictions. A label without the separator is its own parent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SEPARATOR = "/"


def parent_of(label: str, sep: str = SEPARATOR) -> str:
    """``"sports/football"`` -> ``"sports"``; ``"sports"`` -> ``"sports"``."""
    return label.split(sep, 1)[0]


def is_hierarchical(label_set: Sequence[str], sep: str = SEPARATOR) -> bool:
    """True when some parent has at least two distinct leaves written with ``sep`` (``sports/football`` and
    ``sports/tennis``). A lone ``Sci/Tech`` is a flat label that happens to contain the separator."""
    children: dict[str, int] = {}
    for label in set(label_set):
        if sep in label:
            parent = parent_of(label, sep)
            children[parent] = children.get(parent, 0) + 1
    return any(count >= 2 for count in children.values())


def parents(label_set: Sequence[str], sep: str = SEPARATOR) -> tuple[list[str], np.ndarray]:
    """The sorted parent labels and, per leaf column, the index of its parent: ((P,) names, (C,) ints)."""
    names = sorted({parent_of(label, sep) for label in label_set})
    index = {name: i for i, name in enumerate(names)}
    return names, np.array([index[parent_of(label, sep)] for label in label_set], dtype=np.int64)


def top_level_proba(pred_probs: np.ndarray, label_set: Sequence[str], sep: str = SEPARATOR) -> np.ndarray:
    """(n, P) parent probabilities: each parent's column is the sum of its leaves' columns of (n, C) input."""
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    if pred_probs.ndim != 2 or pred_probs.shape[1] != len(label_set):
        raise ValueError(f"pred_probs must be (n, {len(label_set)}), got {pred_probs.shape}")
    names, leaf_parent = parents(label_set, sep)
    out = np.zeros((pred_probs.shape[0], len(names)))
    np.add.at(out.T, leaf_parent, pred_probs.T)
    return out


def rank_order(quality: np.ndarray, is_issue: np.ndarray, top_level_issue: np.ndarray | None = None) -> np.ndarray:
    """Positions worst first: detected issues before the rest; among issues, those whose suggested label has a
    different parent (``top_level_issue``) before those inside the same parent; then by quality ascending
    (ties by position)."""
    quality = np.asarray(quality, dtype=np.float64)
    is_issue = np.asarray(is_issue, dtype=bool)
    top = np.zeros_like(is_issue) if top_level_issue is None else np.asarray(top_level_issue, dtype=bool)
    if not (quality.shape == is_issue.shape == top.shape) or quality.ndim != 1:
        raise ValueError("quality, is_issue and top_level_issue must be (n,) arrays of one length")
    return np.lexsort((np.arange(len(quality)), quality, ~(top & is_issue), ~is_issue))

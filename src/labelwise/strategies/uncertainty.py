"""Uncertainty scorers over one model's class probabilities: ``(n, C) -> (n,)``, higher = ask first.

All scorers accept exact zeros and ones, return float64 and raise a ValueError for NaN, values outside
[0, 1] or a wrong shape. They are cache-blocked (see ``_arrays``) and match the plain NumPy recipes to
floating-point rounding while running several times faster on large pools.
"""

from __future__ import annotations

import numpy as np

from ._arrays import as_proba, block_rows, check_bounds, column_blocks, neg_entropy_rows

__all__ = [
    "entropy",
    "interval_window",
    "least_confidence",
    "margin",
    "probability_interval",
    "top_probability",
]


def top_probability(P: np.ndarray) -> np.ndarray:
    """Largest class probability of each row, ``max_c P[i, c]``.

    Shapes: ``P`` (n, C) -> (n,) float64. The building block of :func:`least_confidence` and
    :func:`probability_interval`.
    """
    P = as_proba(P, name="top_probability")
    return _top_probability(P, name="top_probability")


def _top_probability(P: np.ndarray, *, name: str) -> np.ndarray:
    out = np.empty(P.shape[0], dtype=np.float64)
    for start, stop, T, lo in column_blocks(P, name=name):
        np.max(T, axis=0, out=out[start:stop])
        check_bounds(lo, out[start:stop].max(), name=name)
    return out


def least_confidence(P: np.ndarray) -> np.ndarray:
    """Least-confidence score ``1 - max_c P[i, c]``.

    Shapes: ``P`` (n, C) class probabilities -> (n,) float64 in [0, 1 - 1/C] for normalised rows.

    The text whose most likely label the model believes least is asked first.
    Papers: Lewis & Gale 1994, "A sequential algorithm for training text classifiers" (SIGIR);
    Culotta & McCallum 2005, "Reducing labeling effort for structured prediction tasks" (AAAI).
    """
    P = as_proba(P, name="least_confidence")
    out = _top_probability(P, name="least_confidence")
    np.subtract(1.0, out, out=out)
    return out


def margin(P: np.ndarray) -> np.ndarray:
    """Margin score ``-(p_(1) - p_(2))`` with ``p_(1) >= p_(2)`` the two largest probabilities of a row.

    Shapes: ``P`` (n, C) class probabilities, C >= 2 -> (n,) float64 in [-1, 0]; 0 means a tie between the
    two best classes ("breaking ties"), so small margins score high.

    Papers: Scheffer, Decomain & Wrobel 2001, "Active hidden Markov models for information extraction" (IDA);
    Luo et al. 2005 call it "breaking ties".

    The two largest values are tracked column by column (``m2 = max(m2, min(m1, p_c)); m1 = max(m1, p_c)``) on
    cache-sized blocks instead of sorting each row.
    """
    P = as_proba(P, name="margin", min_classes=2)
    n, C = P.shape
    out = np.empty(n, dtype=np.float64)
    scratch = np.empty((3, min(n, block_rows(C))), dtype=np.float64)
    for start, stop, T, lo in column_blocks(P, name="margin"):
        k = stop - start
        m1, m2, tmp = scratch[0, :k], scratch[1, :k], scratch[2, :k]
        np.maximum(T[0], T[1], out=m1)
        np.minimum(T[0], T[1], out=m2)
        for c in range(2, C):
            col = T[c]
            np.minimum(m1, col, out=tmp)
            np.maximum(m2, tmp, out=m2)
            np.maximum(m1, col, out=m1)
        check_bounds(lo, m1.max(), name="margin")  # m1 holds the row maxima
        np.subtract(m2, m1, out=out[start:stop])
    return out


def entropy(P: np.ndarray) -> np.ndarray:
    """Predictive entropy ``H(p_i) = -sum_c P[i, c] * log P[i, c]`` in nats, with ``0 * log 0 = 0``.

    Shapes: ``P`` (n, C) class probabilities -> (n,) float64 in [0, log C] for normalised rows.

    Papers: Shannon 1948, "A mathematical theory of communication"; as a query strategy see
    Settles 2009, "Active Learning Literature Survey" (Univ. of Wisconsin TR 1648), section 3.1.
    """
    P = as_proba(P, name="entropy")
    out = np.empty(P.shape[0], dtype=np.float64)
    neg_entropy_rows(P, out, name="entropy")
    np.subtract(0.0, out, out=out)  # negate without producing -0.0
    return out


def probability_interval(P: np.ndarray, *, lo: float, hi: float) -> np.ndarray:
    """Probability-interval score: ``0`` if ``lo <= max_c P[i, c] <= hi``, else ``-distance`` to the window.

    Shapes: ``P`` (n, C) -> (n,) float64 <= 0.

    From the seed study (labelwise's own experiments, issue 2): ask texts whose top probability lies in a
    window ``[lo, hi]`` instead of the most uncertain ones, which avoids outliers the model is hopeless on;
    the window widens round by round (:func:`interval_window`). Every row inside the window scores 0, so
    :func:`labelwise.strategies.select` picks among them at random (seeded); when fewer rows than asked lie
    inside, the rows nearest the window come next.
    """
    lo_f, hi_f = float(lo), float(hi)
    if not (0.0 <= lo_f <= hi_f <= 1.0):
        raise ValueError(f"probability_interval: need 0 <= lo <= hi <= 1, got lo={lo!r}, hi={hi!r}")
    P = as_proba(P, name="probability_interval")
    top = _top_probability(P, name="probability_interval")
    below = np.subtract(lo_f, top)  # > 0 when under the window
    above = np.subtract(top, hi_f, out=top)  # > 0 when over the window
    dist = np.maximum(below, above, out=below)
    np.maximum(dist, 0.0, out=dist)
    np.subtract(0.0, dist, out=dist)  # negate without producing -0.0
    return dist


def interval_window(
    round: int, *, start: tuple[float, float] = (0.4, 0.6), step: float = 0.05
) -> tuple[float, float]:
    """The probability-interval window for active-learning round ``round`` (0-based).

    ``(lo, hi) = (max(0, start_lo - step * round), min(1, start_hi + step * round))``: round 0 asks texts whose
    top probability is in [0.4, 0.6]; each later round widens both ends by ``step`` until [0, 1].
    """
    if round < 0:
        raise ValueError(f"interval_window: round must be >= 0, got {round}")
    lo0, hi0 = float(start[0]), float(start[1])
    if not (0.0 <= lo0 <= hi0 <= 1.0):
        raise ValueError(f"interval_window: need 0 <= start[0] <= start[1] <= 1, got start={start!r}")
    if step < 0:
        raise ValueError(f"interval_window: step must be >= 0, got {step}")
    return max(0.0, lo0 - step * round), min(1.0, hi0 + step * round)

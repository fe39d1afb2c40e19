"""Learning-curve extrapolation for the progress view: what would N more labels bring?

We fit the inverse power law that learning curves follow (Figueroa et al. 2012, "Predicting sample size
required for classification performance"): ``score(n) = a - b * n ** (-c)`` with ``a <= 1``, ``b, c >= 0``,
to the (labels, cross-validated score) points of past training rounds. With fewer than 4 points (too few
for three parameters) we fit ``score(n) = a + b * ln(n)`` instead, which over-promises far out, so the
forecast says which fit it used and the horizon stays modest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def fit_learning_curve(n_labels: Sequence[float], scores: Sequence[float]) -> dict[str, Any] | None:
    """Fit a curve to the points; returns ``{"kind": "power-law"|"log", "params": [...], "points": k}`` or
    None with fewer than 2 usable points (distinct label counts > 0, finite scores)."""
    pts = sorted((float(n), float(s)) for n, s in zip(n_labels, scores, strict=True)
                 if s is not None and n > 0 and math.isfinite(s))
    dedup: dict[float, float] = {}
    for n, s in pts:
        dedup[n] = s  # the latest estimate at a label count wins
    if len(dedup) < 2:
        return None
    x = np.array(list(dedup), dtype=float)
    y = np.array(list(dedup.values()), dtype=float)
    if len(x) >= 4:
        from scipy.optimize import curve_fit

        def power(n, a, b, c):
            return a - b * np.power(n, -c)

        try:
            params, _ = curve_fit(power, x, y, p0=(min(1.0, y.max() + 0.05), 1.0, 0.5),
                                  bounds=([0.0, 0.0, 0.0], [1.0, np.inf, 3.0]), maxfev=5000)
            return {"kind": "power-law", "params": [float(p) for p in params], "points": len(x)}
        except (RuntimeError, ValueError):
            pass
    slope, intercept = np.polyfit(np.log(x), y, 1)
    return {"kind": "log", "params": [float(intercept), float(slope)], "points": len(x)}


def predict_score(fit: dict[str, Any], n: float) -> float:
    """The fitted curve at ``n`` labels, clipped to [0, 1]."""
    if fit["kind"] == "power-law":
        a, b, c = fit["params"]
        value = a - b * n ** (-c)
    else:
        intercept, slope = fit["params"]
        value = intercept + slope * math.log(n)
    return float(min(1.0, max(0.0, value)))


def forecast(n_labels: Sequence[float], scores: Sequence[float], *, current: int,
             more: Sequence[int] = (50, 100, 500), pool: int | None = None) -> dict[str, Any] | None:
    """Expected score after ``current + m`` labels for each m in ``more``, with the fit used.

    ``pool``: how many texts there are to label at all; no horizon goes past it (a pool with fewer texts left
    than the smallest step gets one horizon: labeling the rest; a fully labeled pool gets none).
    """
    fit = fit_learning_curve(n_labels, scores)
    if fit is None or current <= 0:
        return None
    now = predict_score(fit, current)
    if fit["kind"] == "log":  # a log fit runs away far out: stay within twice the labels seen
        more = [m for m in more if current + m <= 2 * current] or list(more)[:1]
    if pool is not None:
        left = max(0, pool - current)
        more = [m for m in more if m <= left] or ([left] if left else [])
    return {"fit": fit["kind"], "points": fit["points"], "now": round(now, 4),
            "more": [{"labels": int(m), "total": int(current + m),
                      "score": round(predict_score(fit, current + m), 4)} for m in more]}

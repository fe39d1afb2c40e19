"""Turning scores into positions: ``select`` (top-n, O(n), seeded random tie-breaking)."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

__all__ = ["Seed", "as_rng", "select"]

#: What every randomised function accepts as ``seed``: None (fresh entropy), an int, a sequence of ints
#: (e.g. ``(seed, round)``) or a ready ``np.random.Generator`` (used as is).
Seed: TypeAlias = int | Sequence[int] | np.random.Generator | None


def as_rng(seed: Seed) -> np.random.Generator:
    """A Generator from any :data:`Seed`."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def as_scores(scores: object, *, name: str, check_nan: bool = True) -> np.ndarray:
    """Validate a 1-d real score vector without NaN (infinities are allowed: -inf = never ask)."""
    arr = np.asarray(scores)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected scores of shape (n_samples,), got an array of shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise ValueError(f"{name}: expected real-valued scores, got dtype {arr.dtype}")
    if check_nan and _has_nan(arr):
        _raise_nan(arr, name=name)
    return arr


def _has_nan(arr: np.ndarray) -> bool:
    return arr.dtype.kind == "f" and bool(np.isnan(arr).any())


def _raise_nan(arr: np.ndarray, *, name: str) -> None:
    raise ValueError(f"{name}: scores contain NaN at positions {np.flatnonzero(np.isnan(arr))[:10].tolist()}")


def as_count(n: object, *, name: str) -> int:
    """``n`` as a Python int; a float or other non-integer raises a TypeError naming the caller."""
    try:
        return operator.index(n)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name}: n must be an integer, got {n!r}") from None


#: Sampling stride of the candidate pre-filter in :func:`select`, and the smallest pool it is used on.
_STRIDE = 64
_PREFILTER_MIN = 1 << 15


def _candidates(s: np.ndarray, n: int) -> np.ndarray | None:
    """Sorted positions that surely hold the n highest scores and every score equal to the n-th, or None.

    A strided sample (every 64th score) estimates a threshold that about 4n + 512 scores reach; one compare
    pass keeps those, so the exact selection then runs on ~1,000 values instead of N. The result is exact:
    everything >= the threshold is kept (NaN too, as ``~(s < t)``), and if fewer than n are kept (a sample
    that misjudged the distribution) the caller falls back to all N.
    """
    N = s.shape[0]
    if N < _PREFILTER_MIN or 8 * _STRIDE * n > N:
        return None
    sample = s[::_STRIDE]
    m = sample.shape[0]
    k = min(m, 4 * (n * m // N + 1) + 8)
    t_est = np.partition(sample, m - k)[m - k]
    if np.isnan(t_est):
        return None
    cand = np.flatnonzero(~(s < t_est))
    return cand if cand.shape[0] >= n else None


def select(scores: np.ndarray, n: int, seed: Seed = None) -> np.ndarray:
    """Positions of the ``n`` highest scores, highest first; ties broken at random (deterministic per seed).

    Shapes: ``scores`` (N,) -> (min(n, N),) int64, distinct positions. ``n <= 0`` gives an empty array,
    ``n >= N`` all N positions in descending score order. NaN scores raise a ValueError.

    Runs in O(N + n log n): ``np.argpartition`` finds the n-th highest score ``t`` (on large pools after a
    sampled pre-filter that keeps a superset of the top n, see ``_candidates``); only the values equal to
    ``t`` compete for the remaining places, and they are drawn at random from *all* positions holding ``t``
    (not just the ones argpartition happened to return), so the result depends only on the scores and the
    seed. The chosen positions are then ordered by score, descending, with a random key among equal scores.
    (modAL's ``multi_argmax``/``shuffled_argmax`` split scoring from selection the same way.)
    """
    s = as_scores(scores, name="select", check_nan=False)
    N = s.shape[0]
    n = min(as_count(n, name="select"), N)
    if n <= 0 or n == N:
        if _has_nan(s):
            _raise_nan(s, name="select")
        if n <= 0:
            return np.empty(0, dtype=np.int64)
    rng = as_rng(seed)
    if n == N:
        top = np.arange(N, dtype=np.int64)
    else:
        cand = _candidates(s, n)
        sub = s if cand is None else s[cand]
        M = sub.shape[0]
        part = np.argpartition(sub, M - n)[M - n :]
        top_values = sub[part]
        # argpartition orders NaN above every number, so any NaN lands among the n values taken: checking
        # those is a full NaN check without another pass over the N scores (_candidates keeps NaNs).
        if _has_nan(top_values):
            _raise_nan(s, name="select")
        t = top_values.min()
        n_equal = int(np.count_nonzero(sub == t))
        n_equal_in = int(np.count_nonzero(top_values == t))
        if n_equal == n_equal_in:
            top = part
        else:
            # The boundary value t is shared with rows left out: draw the n_equal_in places among all of them.
            above = part[top_values > t]
            tied = np.flatnonzero(sub == t)
            chosen = rng.choice(tied, size=n_equal_in, replace=False)
            top = np.concatenate([above, chosen])
        top = (top if cand is None else cand[top]).astype(np.int64, copy=False)
    order = np.lexsort((rng.random(top.shape[0]), -s[top].astype(np.float64)))
    return top[order]

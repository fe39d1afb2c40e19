"""Validation and cache-blocked iteration shared by the scorers (private).

Why blocks: a probability matrix ``P`` of shape (n, C) is row-major, so reductions over its short class axis
(``P.max(axis=1)``, ``np.partition(P, -2, axis=1)``) walk memory in tiny strides and run far below memory
bandwidth. The scorers instead copy a block of ~32k values into a small transposed buffer that stays in L2 cache
and reduce across its rows with plain element-wise ufuncs (``np.maximum``/``np.minimum``), which are vectorised.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Values a block holds; 32768 float64 = 256 KiB, which fits in L2 on current x86 and ARM cores.
_BLOCK_VALUES = 1 << 15
#: Slack allowed outside [0, 1] for rounding in upstream softmax / sigmoid code.
_RANGE_TOL = 1e-6
#: Smallest positive float64 (subnormal). ``p + _TINY == p`` for every p >= 1e-307 and 0 + _TINY > 0, so
#: ``p * log(p + _TINY)`` is exactly ``p * log(p)`` for normal p and exactly 0 for p == 0, without a branch.
_TINY = 5e-324


def as_proba(P: object, *, name: str, min_classes: int = 1) -> np.ndarray:
    """Return ``P`` as a float64 (n, C) array or raise a ValueError naming ``name`` and the expected shape."""
    arr = np.asarray(P)
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected probabilities of shape (n_samples, n_classes), got an array of shape {arr.shape}"
        )
    if arr.shape[1] < min_classes:
        raise ValueError(f"{name}: expected at least {min_classes} classes (columns), got shape {arr.shape}")
    return _as_float64(arr, name=name)


def as_samples(samples: object, *, name: str) -> np.ndarray:
    """Return ``samples`` as float64 (k, n, C) committee / MC-dropout probabilities, validated like ``as_proba``."""
    arr = np.asarray(samples)
    if arr.ndim != 3:
        raise ValueError(
            f"{name}: expected sampled probabilities of shape (n_members, n_samples, n_classes), "
            f"got an array of shape {arr.shape}"
        )
    if arr.shape[0] < 1 or arr.shape[2] < 1:
        raise ValueError(f"{name}: need at least one member and one class, got shape {arr.shape}")
    arr = _as_float64(arr, name=name)
    if arr.size:
        check_range(arr.reshape(-1), name=name)
    return arr


def _as_float64(arr: np.ndarray, *, name: str) -> np.ndarray:
    if arr.dtype == np.float64:
        return arr
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise ValueError(f"{name}: expected real-valued probabilities, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def check_range(values: np.ndarray, *, name: str) -> None:
    """Raise if ``values`` holds a NaN or a value outside [0, 1] (up to rounding slack)."""
    check_bounds(values.min(), values.max(), name=name)


def check_bounds(lo: float, hi: float, *, name: str) -> None:
    """Raise unless ``lo``/``hi`` (a minimum and maximum already computed) lie in [0, 1]; NaN fails too."""
    # Written as `not (ok)` so that a NaN (which makes min/max NaN) fails too.
    if not (lo >= -_RANGE_TOL and hi <= 1.0 + _RANGE_TOL):
        if np.isnan(lo) or np.isnan(hi):
            raise ValueError(f"{name}: probabilities contain NaN")
        raise ValueError(f"{name}: probabilities must lie in [0, 1], found values in [{lo:.6g}, {hi:.6g}]")


def block_rows(n_cols: int) -> int:
    """Rows per block so that a block holds about ``_BLOCK_VALUES`` values."""
    return max(64, _BLOCK_VALUES // max(n_cols, 1))


def column_blocks(P: np.ndarray, *, name: str) -> Iterator[tuple[int, int, np.ndarray, float]]:
    """Yield ``(start, stop, T, lo)`` with ``T`` = ``P[start:stop].T`` as a C-contiguous (C, rows) buffer.

    The buffer is reused between blocks (consume it before the next iteration). ``lo`` is the block's minimum
    (NaN if it holds a NaN); the caller must pass it with the block's maximum, which it gets for free from its
    row maxima, to :func:`check_bounds`. Checking a block while it is in cache costs far less than a separate
    pass over ``P``.
    """
    n, C = P.shape
    rows = block_rows(C)
    buf = np.empty((C, min(rows, n)), dtype=np.float64)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        T = buf[:, : stop - start]
        np.copyto(T, P[start:stop].T)
        yield start, stop, T, T.min()


def neg_entropy_rows(P: np.ndarray, out: np.ndarray, *, name: str, check: bool = True) -> None:
    """Write ``sum_c P[i, c] * log P[i, c]`` (natural log, <= 0) into ``out`` (n,), block by block.

    Zeros contribute exactly 0. Blocks are first tried with a bare ``log``; a zero makes its row NaN
    (0 * -inf), which the block's sum reveals, and from then on every block is computed as
    ``p * log(p + _TINY)`` (exactly ``p log p`` for p > 0, 0 for p = 0): probabilities without zeros skip a
    pass, probabilities with zeros pay one extra block. Row sums use a matrix-vector product with a ones
    vector, far faster than ``np.sum(axis=1)`` on short rows. The range check rides on the logarithm: its
    maximum is NaN if a value is NaN or negative and above ``log(1 + tol)`` if one exceeds 1, so one reduction
    replaces a min and a max; only a failing block is re-examined for the exact message.
    """
    n, C = P.shape
    rows = block_rows(C)
    buf = np.empty((min(rows, n), C), dtype=np.float64)
    ones = np.ones(C, dtype=np.float64)
    log_max = np.log1p(_RANGE_TOL)
    tiny = False  # switch to the p * log(p + _TINY) form once a zero has been seen
    with np.errstate(invalid="ignore", divide="ignore"):  # log(0), log(<0) are handled below
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            block = P[start:stop]
            L = buf[: stop - start]
            o = out[start:stop]
            if tiny:
                np.add(block, _TINY, out=L)
            np.log(L if tiny else block, out=L)
            if check and not (L.max() <= log_max):
                check_range(block, name=name)  # raises unless the values are only rounding noise below 0
                block = np.clip(block, 0.0, None)
                tiny = True
                np.add(block, _TINY, out=L)
                np.log(L, out=L)
            np.multiply(L, block, out=L)
            np.matmul(L, ones, out=o)
            if not tiny and np.isnan(o.sum()):
                tiny = True
                np.add(block, _TINY, out=L)
                np.log(L, out=L)
                np.multiply(L, block, out=L)
                np.matmul(L, ones, out=o)

"""What every featurizer shares: the fit/transform contract, a name, a description and a stable identity."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

Matrix = np.ndarray | sp.csr_matrix


def check_texts(texts: Iterable[str], *, what: str = "texts") -> list[str]:
    """Return ``texts`` as a list, or raise a ``TypeError`` naming the first item that is not a str.

    A bare ``str`` is refused: iterating it would featurize one character per row, which is never meant.
    """
    if isinstance(texts, str | bytes):
        raise TypeError(f"{what} must be a sequence of str, got a single {type(texts).__name__}; wrap it in a list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] must be a str, got {type(t).__name__}: {t!r:.60}")
    return out


def stable_digest(*parts: Any, size: int = 16) -> str:
    """Hex digest of JSON-serialisable parts; equal inputs give equal digests in every process and run."""
    payload = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
    return hashlib.blake2b(payload, digest_size=size).hexdigest()


def texts_digest(texts: Sequence[str]) -> str:
    """Digest of an ordered list of texts (what a fitted vocabulary depends on)."""
    h = hashlib.blake2b(digest_size=16)
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


class Featurizer:
    """Base class: texts in, one row per text out.

    Subclasses implement ``fit`` (unsupervised; may be a no-op) and ``transform``, and fill ``name``.
    ``cache_key`` identifies the mapping text -> row: two featurizers with the same key give the same rows for
    the same texts, in any process, so callers may cache transformed matrices under it.
    """

    name: str = "featurizer"

    def fit(self, texts: Sequence[str]) -> Featurizer:  # pragma: no cover - overridden
        raise NotImplementedError

    def transform(self, texts: Sequence[str]) -> Matrix:  # pragma: no cover - overridden
        raise NotImplementedError

    def fit_transform(self, texts: Sequence[str]) -> Matrix:
        """``fit(texts)`` then ``transform(texts)``."""
        texts = check_texts(texts)
        return self.fit(texts).transform(texts)

    def geometry(self, X: Matrix, *, seed: int = 0) -> np.ndarray:
        """Dense float32 rows of ``X`` (this featurizer's output) for distances: k-means cold start, core-set and
        diverse batches. Default: :func:`labelwise.features.reduce.dense_view` (SVD for sparse input)."""
        from labelwise.features.reduce import dense_view

        return dense_view(X, seed=seed)

    def options(self) -> dict[str, Any]:  # pragma: no cover - overridden
        """The constructor options that change the output (JSON-serialisable)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable summary: name, options and (when known) the output dimension."""
        return {"name": self.name, "options": self.options(), "cache_key": self.cache_key}

    @property
    def cache_key(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"

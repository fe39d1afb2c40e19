"""labelwise.features: texts -> vectors.

``make_featurizer("tfidf" | "minilm" | "e5" | "minilm-tfidf" | "e5-tfidf", **options)`` returns an object with ``fit(texts) -> self``,
``transform(texts)`` (rows follow texts), ``fit_transform``, ``name``, ``describe()`` and ``cache_key``.
``default_featurizer_for(texts)`` picks the name per language (MiniLM is English-only).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from labelwise.features.base import Featurizer, Matrix
from labelwise.features.cache import EmbeddingCache, default_cache_dir
from labelwise.features.embeddings import E5Featurizer, EmbeddingFeaturizer, embedding_progress
from labelwise.features.encoders import Encoder, OnnxEncoder, TorchEncoder, make_encoder
from labelwise.features.language import cjk_share, default_featurizer_for, is_cjk
from labelwise.features.stacked import StackedFeaturizer
from labelwise.features.tfidf import TfidfFeaturizer


def _stacked(embedding: str, *, center: bool) -> Callable[..., StackedFeaturizer]:
    """The factory registered as ``f"{embedding}-tfidf"``: a :class:`StackedFeaturizer` over that embedding.

    ``center`` is the default of the embedding block's centering: on for e5, whose embeddings share one dominant
    direction, off for MiniLM, where centering cost sst2 accuracy (see :class:`StackedFeaturizer`). ``backend``
    is the embedding's engine, as for ``"minilm"`` / ``"e5"`` (each refuses the other's engines).
    """
    center_default = center

    def factory(*, tfidf_weight: float = 1.0, embedding_options: dict | None = None,
                tfidf_options: dict | None = None, backend: str | None = None,
                center: bool = center_default) -> StackedFeaturizer:
        options = {**(embedding_options or {}), **({"backend": backend} if backend is not None else {})}
        return StackedFeaturizer(embedding=embedding, tfidf_weight=tfidf_weight,
                                 embedding_options=options, tfidf_options=tfidf_options, center=center)

    return factory


FEATURIZERS: dict[str, Callable[..., Featurizer]] = {
    "tfidf": TfidfFeaturizer,
    "minilm": EmbeddingFeaturizer,
    "e5": E5Featurizer,
    "minilm-tfidf": _stacked("minilm", center=False),
    "e5-tfidf": _stacked("e5", center=True),
}


def make_featurizer(name: str, **options: Any) -> Featurizer:
    """Build the featurizer registered under ``name`` with keyword ``options`` (see each class's docstring)."""
    try:
        factory = FEATURIZERS[name]
    except KeyError:
        raise ValueError(f"unknown featurizer {name!r}; expected one of {sorted(FEATURIZERS)}") from None
    accepted = [p for p in inspect.signature(factory).parameters if p != "self"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"featurizer {name!r} has no option(s) {unknown}; accepted: {accepted}")
    return factory(**options)


__all__ = [
    "FEATURIZERS", "E5Featurizer", "EmbeddingCache", "EmbeddingFeaturizer", "Encoder", "Featurizer", "Matrix", "OnnxEncoder",
    "StackedFeaturizer", "TfidfFeaturizer", "TorchEncoder", "cjk_share", "default_cache_dir", "default_featurizer_for", "embedding_progress", "is_cjk",
    "make_encoder", "make_featurizer",
]

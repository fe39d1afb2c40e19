"""How long a full default `labelwise simulate` takes on trec6, and whether int8 embeddings (labelwise's own
quantized build, and the packaged int8 ONNX file) change the savings compared with fp32 PyTorch embeddings of the
same MiniLM.

    python benchmarks/simulate_speed.py [--seeds 5] [--budget 1000]

Four runs of the same simulate: `--model auto` (what a user gets; since 2026-12-05 centered e5 + TF-IDF, which
has no MiniLM part and so no backend choice), then `--backend-model` (default minilm-tfidf-lr, the earlier English
default) with `--embedding-backend quantized` (its default), `onnx` and `torch`. Embeddings are cached (a short first run of each fills
the cache; the timed run is the second).
Targets (issue 2): a default simulate on trec6 (4 strategies + default, 5 seeds, budget 1000) under 5 minutes
on 2 cores with cached embeddings; savings with int8 embeddings equal to fp32 PyTorch within noise.
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


def run_simulate(out: Path, backend: str | None, seeds: int, budget: int, model: str) -> tuple[dict, float]:
    args = [sys.executable, "-m", "labelwise.cli.main", "simulate",
            "--train", str(DATASETS / "trec6" / "train.jsonl"), "--test", str(DATASETS / "trec6" / "test.jsonl"),
            "--model", model, "--seeds", str(seeds),
            "--budget", str(budget), "--pool-size", "6000", "--out", str(out), "--quiet"]
    if backend is not None:
        args += ["--embedding-backend", backend]
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "results.json").read_text()), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--model", default="auto", help="simulate's --model of the timed default run")
    parser.add_argument("--backend-model", default="minilm-tfidf-lr",
                        help="a model with a MiniLM part, run with each embedding backend: quantized (default), "
                             "onnx, torch ('' = skip)")
    args = parser.parse_args()
    runs = [(f"--model {args.model}", args.model, None)]
    if args.backend_model:
        runs += [(f"{args.backend_model}, {b}", args.backend_model, b) for b in ("quantized", "onnx", "torch")]
    rows, timings = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, model, backend) in enumerate(runs):
            run_simulate(Path(tmp) / f"warm-{i}", backend, 1, 100, model)  # fills the embedding cache
            results, seconds = run_simulate(Path(tmp) / str(i), backend, args.seeds, args.budget, model)
            label = f"{label} ({results['model']})" if model == "auto" else label
            timings[label] = seconds
            for name, sv in results["savings"].items():
                curve = results["curves"][name]
                rows.append((label, name, curve["mean"][-1], curve["std"][-1], sv["savings"], curve["auc"]))
            print(f"{label}: {seconds:.0f} s", flush=True)
    first = next(iter(timings))
    lines = [f"trec6, pool 6000, initial 50, batch 50, budget {args.budget}, {args.seeds} seeds, "
             "strategies random, least-confidence, margin, entropy, default; embeddings cached.", "",
             "| run | wall seconds (whole command) |", "|---|---:|"]
    lines += [f"| {b} | {s:.0f} |" for b, s in timings.items()]
    lines += ["", f"Target: < 300 s for the default run: {'reached' if timings[first] < 300 else 'NOT reached'} "
              f"({first}).", "",
              "| run | strategy | accuracy @ budget | savings | AUC |", "|---|---|---:|---:|---:|"]
    for label, name, mean, std, savings, auc in rows:
        sv = "–" if savings is None else f"{savings:.2f}"
        lines.append(f"| {label} | {name} | {mean:.3f} ± {std:.3f} | {sv} | {auc:.3f} |")
    append_dated("Simulate wall time and int8 vs fp32 embeddings (trec6)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

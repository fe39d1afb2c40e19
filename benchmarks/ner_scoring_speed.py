"""NER strategy scoring speed: 100,000 sentences (1–60 tokens, 9 tags), every marginals scorer, one process.

One command (appends a dated entry to benchmarks/RESULTS.md, section "NER strategy scoring speed"):

    OMP_NUM_THREADS=1 python benchmarks/ner_scoring_speed.py [--n 100000] [--max-len 60] [--tags 9] [--no-write]

Marginals: random Dirichlet-like rows (seeded), sentence lengths uniform in 1..max_len, padded to max_len
(float32 and float64). Time = best of 3 calls of the scorer on the padded array and mask (scores only;
``select`` of a batch from 100,000 scores adds ~1 ms). Padding is built once, outside the timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import append_results, machine  # noqa: E402  (shared RESULTS.md helpers)

from labelwise.strategies.ner import NER_STRATEGIES, score_ner  # noqa: E402

SECTION = "## NER strategy scoring speed"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--max-len", type=int, default=60)
    ap.add_argument("--tags", type=int, default=9)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, args.max_len + 1, args.n)
    mask = np.arange(args.max_len)[None, :] < lengths[:, None]
    unseen = rng.integers(0, 4, args.n)
    rows = []
    for dtype in (np.float32, np.float64):
        P = rng.gamma(0.3, size=(args.n, args.max_len, args.tags)).astype(dtype)
        P /= P.sum(axis=2, keepdims=True)
        for name in NER_STRATEGIES:
            best = np.inf
            for _ in range(3):
                t0 = time.perf_counter()
                score_ner(name, P, mask, unseen=unseen)
                best = min(best, time.perf_counter() - t0)
            rows.append((np.dtype(dtype).name, name, best))
            print(f"{np.dtype(dtype).name:8s} {name:20s} {best:.3f} s", flush=True)
        del P
    worst = max(r[2] for r in rows)
    table = ["| dtype | strategy | seconds |", "|---|---|---:|"] + [f"| {d} | {n} | {s:.3f} |" for d, n, s in rows]
    entry = "\n".join([
        f"### {dt.date.today().isoformat()}",
        "",
        f"Command: `OMP_NUM_THREADS=1 python benchmarks/ner_scoring_speed.py --n {args.n} --max-len {args.max_len} "
        f"--tags {args.tags}`  ",
        f"Machine: {machine()}",
        "",
        f"{args.n:,} sentences, lengths uniform 1..{args.max_len} (mean {lengths.mean():.1f} tokens), padded to "
        f"{args.max_len}, {args.tags} tags; best of 3. Target < 1 s: "
        f"{'reached' if worst < 1.0 else 'NOT reached'} (slowest {worst:.3f} s).",
        "",
        *table,
    ])
    if not args.no_write:
        print("appended to", append_results(entry, SECTION))
    return 0


if __name__ == "__main__":
    sys.exit(main())

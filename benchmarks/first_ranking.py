"""How long an annotator of a large new project labels in random order: seconds from `labelwise serve` to the
first model-ranked queue, with and without the first round on a sample (project setting `first_round_sample`).

    OMP_NUM_THREADS=1 python benchmarks/first_ranking.py [--texts 20000] [--samples 5000,0] [--model auto]

For each value of --samples: a project from the first --texts train texts of --dataset (no labels, so the
first round is the k-means cold start), `labelwise serve` as a subprocess with an empty embedding cache of its
own (the encoder build is shared and done before timing), then `GET /api/progress` every half second. Reports
the seconds until the first ranking is in the store (`model.rounds` >= 1) and until the whole pool is ranked
(with a sample: the second round, which the trainer starts by itself). `first_round_sample` 0 ranks the whole
pool in the first round. Appends a dated entry to the "First ranked queue" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import report  # noqa: E402
from serve_latency import free_port, load_records, login, stop, wait_http  # noqa: E402

SECTION = "## First ranked queue (app, large pool)"


def time_project(records: list[dict], labels: list[str], sample: int, args: argparse.Namespace) -> dict:
    from labelwise.server.project import create_project

    with tempfile.TemporaryDirectory(prefix="lw-first-ranking-") as tmp:
        work = Path(tmp)
        create_project(work / "lw", records, labels=labels,
                       settings={"model": args.model, "first_round_sample": sample,
                                 "retrain_every": 10**9}).close()
        port, log = free_port(), work / "serve.log"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "LABELWISE_CACHE_DIR": str(work / "cache")}
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "labelwise.cli.main", "serve", str(work / "lw"),
                                 "--port", str(port)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        try:
            wait_http(port, "/api/config", proc, 120, log)
            client = login(port, "monitor")
            first = whole = None
            rounds_for_whole = 2 if 0 < sample < len(records) else 1
            while time.perf_counter() - started < args.timeout:
                model = client.call("GET", "/api/progress")[1]["model"]
                if model["last_error"]:
                    raise RuntimeError(f"training failed: {model['last_error']}")
                now = time.perf_counter() - started
                if first is None and model["rounds"] >= 1:
                    first = now
                if model["rounds"] >= rounds_for_whole and not model["training"]:
                    whole = now
                    break
                time.sleep(0.5)
        finally:
            stop(proc)
    out = {"sample": sample, "first_ranking_s": first, "whole_pool_s": whole}
    print(out, flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="online_shopping_10cats")
    ap.add_argument("--texts", type=int, default=20_000)
    ap.add_argument("--samples", default="5000,0", help="first_round_sample values, one project each")
    ap.add_argument("--model", default="auto", help="project model (default auto: what a new project gets)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per project")
    ap.add_argument("--no-results", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = ap.parse_args()
    records, labels = load_records(args.dataset, args.texts)
    from labelwise.features import make_featurizer
    from labelwise.loop import resolve_model

    spec = resolve_model(args.model, [r["text"] for r in records[:200]])
    make_featurizer(spec.features).fit_transform([r["text"] for r in records[:20]])  # builds the encoder once
    rows = [time_project(records, labels, int(s), args) for s in args.samples.split(",")]

    def secs(x: float | None) -> str:
        return f"{x:.0f}" if x is not None else f"> {args.timeout:.0f} (timed out)"

    body = [f"{len(records):,} {args.dataset} train texts, no labels (the first round is the k-means cold start), "
            f"model `{args.model}` ({spec.name}), embedding cache empty at the start, encoder already built; "
            "seconds from starting `labelwise serve` (the server's own start-up included).", "",
            "| first_round_sample | first ranked queue s | whole pool ranked s |", "|---:|---:|---:|"]
    body += [f"| {r['sample']:,} | {secs(r['first_ranking_s'])} | {secs(r['whole_pool_s'])} |" for r in rows]
    report(f"{args.dataset}, {len(records):,} texts, model {args.model}", "first_ranking.py", sys.argv[1:],
           "\n".join(body), section=SECTION, write=not args.no_results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Latency of "submit a label + get the next text" on a 50k-text project while the model retrains.

    python benchmarks/serve_latency.py [--texts 50000] [--dataset online_shopping_10cats] [--requests 400]

Creates a project from the shared dataset's first N train texts (labels not imported), starts
`labelwise serve` as a subprocess (background trainer in its own process, retraining every 20 answers), and
for 1, 10 and 20 concurrent annotators times each `POST /api/items/{id}/label` (which commits the answer and
returns the next leased text in one round trip) from a client process on the same machine. The answers are
the dataset's gold labels, so the model really trains. Reports p50/p90/p99/max, throughput, and how many
retraining rounds finished and what share of the phase the trainer was busy. Appends to
benchmarks/RESULTS.md (section "serve_latency").

Label Studio comparison: not implemented yet (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("LABELWISE_DATASETS", ROOT / ".." / "shared" / "datasets"))


class Annotator:
    def __init__(self, port: int, name: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = json.dumps({"name": name})
        self.conn.request("POST", "/api/login", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = json.loads(response.read())
        cookie = "; ".join(c.split(";")[0] for c in response.headers.get_all("set-cookie"))
        self.headers = {"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": data["csrf"],
                        "X-Labelwise-Tab": name}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, None if body is None else json.dumps(body), self.headers)
                response = self.conn.getresponse()
                return response.status, json.loads(response.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt:  # the server closed an idle keep-alive connection: reconnect once
                    raise
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.conn.host, self.conn.port, timeout=60)
        raise AssertionError("unreachable")


def run_phase(port: int, n_annotators: int, per_annotator: int, gold: dict[str, str], phase: str) -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n_annotators + 1)

    def work(i: int) -> None:
        ann = Annotator(port, f"{phase}-{i}")
        status, out = ann.call("GET", "/api/next")
        item = out["item"]
        mine = []
        barrier.wait()
        for _ in range(per_annotator):
            if item is None:
                break
            start = time.perf_counter()
            status, out = ann.call("POST", f"/api/items/{item['id']}/label", {"value": gold[item["key"]]})
            mine.append(time.perf_counter() - start)
            if status != 200:
                with lock:
                    errors.append(status)
                break
            item = out["item"]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_annotators)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"annotators": n_annotators, "requests": len(ms), "errors": len(errors),
            "p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max()), "throughput": len(ms) / wall,
            "wall": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="online_shopping_10cats")
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=400, help="requests per phase (split over annotators)")
    parser.add_argument("--retrain-every", type=int, default=20)
    parser.add_argument("--model", default="tfidf-lr", help="project model (auto picks an embedding model for "
                                                             "Chinese, whose first featurizing of 50k texts is long)")
    parser.add_argument("--no-results", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    source = DATASETS / args.dataset / "train.jsonl"
    records = []
    with source.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= args.texts:
                break
            r = json.loads(line)
            records.append({"id": f"t{i}", "text": r["text"], "label": r["label"]})
    labels = sorted({r["label"] for r in records})
    gold = {r["id"]: r["label"] for r in records}

    from labelwise.server.project import create_project

    work = Path(tempfile.mkdtemp(prefix="lw-serve-bench-"))
    t0 = time.perf_counter()
    create_project(work / "p", records, labels=labels,
                   settings={"retrain_every": args.retrain_every, "model": args.model}).close()
    create_s = time.perf_counter() - t0
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "labelwise.cli.main", "serve", str(work / "p"), "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    rows = []
    try:
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/api/config")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        monitor = Annotator(port, "monitor")

        def progress() -> dict:
            return monitor.call("GET", "/api/progress")[1]

        busy = {"samples": 0, "training": 0}
        stop = threading.Event()
        mlock = threading.Lock()

        def sample() -> None:
            mon = Annotator(port, "sampler")
            while not stop.is_set():
                training = mon.call("GET", "/api/progress")[1]["model"]["training"]
                with mlock:
                    busy["samples"] += 1
                    busy["training"] += int(training)
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # let the first (cold-start) round begin: featurizing 50k texts happens in the worker meanwhile
        time.sleep(2)
        for n in (1, 10, 20):
            before = progress()["model"]["rounds"]
            with mlock:
                busy.update(samples=0, training=0)
            row = run_phase(port, n, max(1, args.requests // n), gold, f"c{n}")
            after = progress()
            with mlock:
                row["training_share"] = busy["training"] / max(1, busy["samples"])
            row["rounds"] = after["model"]["rounds"] - before
            row["labels_total"] = after["n_labels"]
            rows.append(row)
            print(f"{n:>3} annotators: {row['requests']} requests, p50 {row['p50']:.1f} ms, "
                  f"p99 {row['p99']:.1f} ms, max {row['max']:.1f} ms, {row['throughput']:.0f} req/s, "
                  f"{row['errors']} errors, {row['rounds']} retrain rounds finished, trainer busy "
                  f"{row['training_share']:.0%} of the phase", flush=True)
        stop.set()
        final = progress()
    finally:
        server.terminate()
        server.wait(timeout=60)

    if not args.no_results:
        command = "python benchmarks/serve_latency.py " + " ".join(sys.argv[1:])
        lines = [
            "", "## serve_latency", "",
            f"`{command.strip()}` — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}", "",
            f"Machine: `{' '.join(platform.uname())}`, {os.cpu_count()} CPUs (`nproc` {os.cpu_count()}). "
            f"Project: first {len(records)} texts of `{args.dataset}` train ({len(labels)} labels), created in "
            f"{create_s:.1f} s; server with its background trainer process (retrain every "
            f"{args.retrain_every} answers, model `{args.model}`); the client runs on the same 2 cores; load "
            f"average at the end {os.getloadavg()[0]:.1f}. "
            f"Retraining rounds finished over the run: {final['model']['rounds']}"
            + (f" (last error: {final['model']['last_error']})" if final['model']['last_error'] else "") + ".",
            "",
            "| annotators | requests | errors | p50 ms | p90 ms | p99 ms | max ms | req/s | rounds finished | trainer busy |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(f"| {r['annotators']} | {r['requests']} | {r['errors']} | {r['p50']:.1f} | {r['p90']:.1f} | "
                         f"{r['p99']:.1f} | {r['max']:.1f} | {r['throughput']:.0f} | {r['rounds']} | "
                         f"{r['training_share']:.0%} |")
        lines += ["", "Label Studio side: not measured yet (no comparison ratio reported).", ""]
        results = ROOT / "benchmarks" / "RESULTS.md"
        with results.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        print(f"appended to {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

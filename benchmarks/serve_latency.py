"""Latency of "submit a label + get the next text" on a 50k-text project while the model retrains, and the same
loop on Label Studio.

    python benchmarks/serve_latency.py [--texts 50000] [--label-studio /tmp/lsvenv/bin/label-studio]

labelwise: creates a project from the first N train texts of the shared dataset (labels not imported), starts
`labelwise serve` as a subprocess (background trainer in its own niced process, retraining every 20 answers,
model tfidf-lr, first round on the whole pool: `first_round_sample` 0), waits until that cold-start round has
finished, then measures. One loop = `POST /api/items/{id}/label`, which commits the answer and returns the next leased text.

Label Studio (with --label-studio PATH, the `label-studio` executable of a separate venv; skipped, and said
so, without it): `label-studio start` on 127.0.0.1 with a fresh SQLite data dir, legacy API tokens enabled,
a project with the same texts and a single-choice config over the same labels, imported through
`POST /api/projects/{id}/import`; one user per annotator, created through the signup form, each using its
own API token. One loop = `POST /api/tasks/{id}/annotations/` + `GET /api/projects/{id}/next`, what Label
Studio's own labeling stream does after Submit. Label Studio has no model here (no ML backend).

Both tools get the same annotators, answers (the dataset's gold labels, so labelwise's model really trains)
and two modes, one after the other, tool by tool, from one client process on the same machine:

- saturation: every annotator submits again as soon as the answer comes back (zero think time); the
  latencies are mostly queueing (20 annotators without pause is a load test, not 20 people).
- think: before each answer the annotator thinks for an exponentially distributed time (mean --think-mean,
  1.5 s by default: a quick single-choice label), for --think-seconds per phase; this is what "20
  concurrent annotators" means for people labeling.

Reports p50/p90/p99/max per tool, mode and number of annotators, texts answered by two annotators, errors,
labelwise's retraining rounds finished per phase and the share of time its trainer was busy, the load
average, and the Label Studio / labelwise ratios. Appends a dated entry to the "serve_latency" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, append_dated  # noqa: E402


# ------------------------------------------------------------------------------------------------ HTTP
class Client:
    """One keep-alive HTTP/1.1 connection (an annotator's browser), reconnecting once when the server closed
    an idle one."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port, self.headers = port, dict(headers or {})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, method: str, path: str, body: Any = None, *, form: bool = False,
             headers: dict[str, str] | None = None) -> tuple[int, Any, http.client.HTTPResponse]:
        hdrs = {**self.headers, **(headers or {})}
        if body is not None and form:
            payload, hdrs["Content-Type"] = urllib.parse.urlencode(body), "application/x-www-form-urlencoded"
        elif body is not None:
            payload, hdrs["Content-Type"] = json.dumps(body), "application/json"
        else:
            payload = None
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, payload, hdrs)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt:
                    raise
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        kind = response.getheader("Content-Type", "")
        return response.status, (json.loads(raw) if raw and "json" in kind else raw), response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(port: int, path: str, proc: subprocess.Popen, timeout: float, log: Path | None = None) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} while starting\n{tail}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"no answer on {path} after {timeout:.0f} s")


def login(port: int, name: str) -> Client:
    """A client logged in to the labelwise server on ``port`` as annotator ``name`` (cookie + CSRF token)."""
    client = Client(port)
    status, data, response = client.call("POST", "/api/login", {"name": name})
    assert status == 200, (status, data)
    cookie = "; ".join(c.split(";")[0] for c in response.headers.get_all("set-cookie"))
    client.headers.update({"Cookie": cookie, "X-CSRF-Token": data["csrf"], "X-Labelwise-Tab": name})
    return client


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ----------------------------------------------------------------------------------------------- tools
class Labelwise:
    name = "labelwise"

    def __init__(self, work: Path, records: list[dict], labels: list[str], args: argparse.Namespace):
        from labelwise.server.project import create_project

        self.gold = {r["id"]: r["label"] for r in records}
        t0 = time.perf_counter()
        create_project(work / "lw", records, labels=labels,
                       settings={"retrain_every": args.retrain_every, "model": args.model,
                                 "first_round_sample": 0}).close()
        self.setup_s = time.perf_counter() - t0
        self.port = free_port()
        self.log = work / "labelwise.log"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "labelwise.cli.main", "serve", str(work / "lw"), "--port", str(self.port),
             "--synchronous", args.synchronous], env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        wait_http(self.port, "/api/config", self.proc, 120, self.log)
        self.monitor = self.login("monitor")
        # the first round featurizes the whole pool and picks the cold-start batch: wait for it, so that the
        # phases run with a model being retrained, not before the first one exists
        t0 = time.perf_counter()
        while self.progress()["model"]["rounds"] < 1 and time.perf_counter() - t0 < args.first_round_timeout:
            time.sleep(2)
        self.first_round_s = time.perf_counter() - t0
        self.first_round_done = self.progress()["model"]["rounds"] >= 1

    def login(self, name: str) -> Client:
        return login(self.port, name)

    def progress(self) -> dict:
        return self.monitor.call("GET", "/api/progress")[1]

    def annotator(self, i: int) -> Any:
        return LabelwiseAnnotator(self, f"ann{i}")

    def close(self) -> None:
        stop(self.proc)


class LabelwiseAnnotator:
    def __init__(self, tool: Labelwise, name: str):
        self.tool, self.client = tool, tool.login(name)
        self.parts: dict[str, list[float]] = {}

    def first(self) -> dict | None:
        status, out, _ = self.client.call("GET", "/api/next")
        assert status == 200, (status, out)
        return out["item"]

    def step(self, item: dict) -> tuple[int, dict | None]:
        status, out, _ = self.client.call("POST", f"/api/items/{item['id']}/label",
                                          {"value": self.tool.gold[item["key"]]})
        return status, (out.get("item") if status == 200 else None)


class LabelStudio:
    name = "Label Studio"

    def __init__(self, exe: str, work: Path, records: list[dict], labels: list[str], args: argparse.Namespace):
        self.gold = {r["id"]: r["label"] for r in records}
        self.port = free_port()
        self.token = secrets.token_hex(20)
        self.password = secrets.token_urlsafe(12)
        data = work / "label-studio-data"
        self.log = work / "label-studio.log"
        env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "OMP_NUM_THREADS": "1"}
        env.pop("PYTHONPATH", None)
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [exe, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", str(data), "--username", "admin@bench.local", "--password", self.password,
             "--user-token", self.token, "--enable-legacy-api-token", "--log-level", "WARNING"],
            env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, cwd=work)
        self.start_s = wait_http(self.port, "/api/version", self.proc, args.ls_start_timeout, self.log)
        self.version = Client(self.port).call("GET", "/api/version")[1].get("release", "?")
        admin = Client(self.port, {"Authorization": f"Token {self.token}"})
        config = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
                  + "".join(f"<Choice value={quoteattr(label)}/>" for label in labels) + "</Choices></View>")
        status, project, _ = admin.call("POST", "/api/projects", {"title": "serve_latency", "label_config": config})
        assert status == 201, (status, project)
        self.project = project["id"]
        t0 = time.perf_counter()
        for start in range(0, len(records), 5000):
            chunk = [{"text": r["text"], "key": r["id"]} for r in records[start:start + 5000]]
            status, out, _ = admin.call("POST", f"/api/projects/{self.project}/import", chunk)
            assert status == 201, (status, out)
        self.import_s = time.perf_counter() - t0
        self.tokens: dict[int, str] = {}

    def user_token(self, i: int) -> str:
        """Sign up annotator i through the web form (Label Studio's open-source way to add a user to the
        organization) and read its API token with the session."""
        if i not in self.tokens:
            client = Client(self.port)
            _, html, response = client.call("GET", "/user/signup/")
            cookies = dict(c.split(";")[0].split("=", 1) for c in response.headers.get_all("set-cookie") or [])
            csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
            status, _, response = client.call(
                "POST", "/user/signup/", {"csrfmiddlewaretoken": csrf, "email": f"ann{i}@bench.local",
                                          "password": self.password}, form=True,
                headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
                         "Referer": f"http://127.0.0.1:{self.port}/user/signup/"})
            assert status == 302, f"signup of ann{i} answered {status}"
            cookies.update(c.split(";")[0].split("=", 1) for c in response.headers.get_all("set-cookie") or [])
            status, out, _ = client.call("GET", "/api/current-user/token",
                                         headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
            assert status == 200, (status, out)
            self.tokens[i] = out["token"]
        return self.tokens[i]

    def annotator(self, i: int) -> Any:
        return LabelStudioAnnotator(self, self.user_token(i))

    def close(self) -> None:
        stop(self.proc)


class LabelStudioAnnotator:
    def __init__(self, tool: LabelStudio, token: str):
        self.tool = tool
        self.client = Client(tool.port, {"Authorization": f"Token {token}"})
        self.parts: dict[str, list[float]] = {"submit": [], "next": []}

    def first(self) -> dict | None:
        status, out, _ = self.client.call("GET", f"/api/projects/{self.tool.project}/next")
        return out if status == 200 else None

    def step(self, task: dict) -> tuple[int, dict | None]:
        label = self.tool.gold[task["data"]["key"]]
        t0 = time.perf_counter()
        status, out, _ = self.client.call("POST", f"/api/tasks/{task['id']}/annotations/", {
            "result": [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}],
            "lead_time": 1.0, "project": self.tool.project})
        t1 = time.perf_counter()
        self.parts["submit"].append(t1 - t0)
        if status != 201:
            return status, None
        status, out, _ = self.client.call("GET", f"/api/projects/{self.tool.project}/next")
        self.parts["next"].append(time.perf_counter() - t1)
        return (200, out) if status == 200 else (status, None)


# ---------------------------------------------------------------------------------------------- phases
def item_id(item: dict) -> int:
    return int(item["id"])


def run_phase(tool: Any, n: int, mode: str, args: argparse.Namespace, served: dict[int, str]) -> dict:
    """n annotators label concurrently; returns latency stats (one loop = answer + next text)."""
    latencies: list[float] = []
    errors: list[int] = []
    parts: dict[str, list[float]] = {}
    duplicates = [0]
    lock = threading.Lock()
    annotators = [tool.annotator(i) for i in range(n)]
    firsts = [a.first() for a in annotators]
    barrier = threading.Barrier(n + 1)
    per_annotator = max(1, args.requests // n)
    budget = args.think_seconds if mode == "think" else args.max_phase_seconds

    def work(i: int) -> None:
        ann, item = annotators[i], firsts[i]
        rng = np.random.default_rng(1000 * n + i)
        mine: list[float] = []
        barrier.wait()
        deadline = time.perf_counter() + budget
        while item is not None and time.perf_counter() < deadline:
            if mode == "saturation" and len(mine) >= per_annotator:
                break
            if mode == "think":
                pause = rng.exponential(args.think_mean)
                if time.perf_counter() + pause >= deadline:
                    break
                time.sleep(pause)
            with lock:
                holder = served.get(item_id(item))
                if holder is not None and holder != f"{tool.name}:{i}":
                    duplicates[0] += 1
                served[item_id(item)] = f"{tool.name}:{i}"
            start = time.perf_counter()
            status, item = ann.step(item)
            elapsed = time.perf_counter() - start
            if status != 200:
                with lock:
                    errors.append(status)
                break
            mine.append(elapsed)
        with lock:
            latencies.extend(mine)
            for key, values in ann.parts.items():
                parts.setdefault(key, []).extend(values)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {"tool": tool.name, "mode": mode, "annotators": n, "loops": len(latencies), "errors": len(errors),
            "error_codes": sorted(set(errors)), "duplicates": duplicates[0],
            "p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "p99": float(np.percentile(ms, 99)), "max": float(np.max(ms)), "rate": len(latencies) / wall,
            "wall": wall, "load": os.getloadavg()[0],
            "parts_p50": {k: float(np.median(v) * 1000) for k, v in parts.items() if v}}


def sample_training(tool: Labelwise, stop_event: threading.Event, busy: dict[str, int]) -> None:
    """Once a second: is labelwise's trainer in a round right now?"""
    monitor = tool.login("sampler")
    while not stop_event.is_set():
        busy["samples"] += 1
        busy["training"] += int(monitor.call("GET", "/api/progress")[1]["model"]["training"])
        stop_event.wait(1.0)


def measure(tool: Any, args: argparse.Namespace) -> list[dict]:
    rows = []
    served: dict[int, str] = {}
    for mode in args.modes:
        for n in args.annotators:
            sampler_stop = threading.Event()
            busy = {"samples": 0, "training": 0}
            before = tool.progress()["model"]["rounds"] if isinstance(tool, Labelwise) else None
            sampler = None
            if isinstance(tool, Labelwise):
                sampler = threading.Thread(target=sample_training, args=(tool, sampler_stop, busy), daemon=True)
                sampler.start()
            row = run_phase(tool, n, mode, args, served)
            if sampler is not None:
                sampler_stop.set()
                sampler.join()
                after = tool.progress()
                row["rounds"] = after["model"]["rounds"] - before
                row["busy"] = busy["training"] / max(1, busy["samples"])
                row["labels_total"] = after["n_labels"]
            rows.append(row)
            extra = (f", {row['rounds']} retraining rounds finished, trainer busy {row['busy']:.0%}"
                     if "rounds" in row else "")
            parts = ", ".join(f"{k} p50 {v:.1f} ms" for k, v in row["parts_p50"].items())
            print(f"{tool.name:>12} {mode:>10} {n:>3} annotators: {row['loops']} loops, p50 {row['p50']:.1f} ms, "
                  f"p99 {row['p99']:.1f} ms, max {row['max']:.1f} ms, {row['rate']:.1f} loops/s, "
                  f"{row['errors']} errors, {row['duplicates']} texts answered by two annotators{extra}"
                  + (f" ({parts})" if parts else "") + f"; load {row['load']:.1f}", flush=True)
    return rows


# ------------------------------------------------------------------------------------------------ main
def load_records(dataset: str, n: int) -> tuple[list[dict], list[str]]:
    records = []
    with (DATASETS / dataset / "train.jsonl").open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= n:
                break
            r = json.loads(line)
            records.append({"id": f"t{i}", "text": r["text"], "label": r["label"]})
    return records, sorted({r["label"] for r in records})


def fmt(x: float) -> str:
    return "–" if x != x else (f"{x:.1f}" if x < 1000 else f"{x:,.0f}")


def report(args: argparse.Namespace, records: list[dict], labels: list[str], lw: Labelwise, rows: list[dict],
           ls_info: str, ls_rows: list[dict]) -> str:
    lines = [
        f"Project: first {len(records):,} texts of `{args.dataset}` train ({len(labels)} labels). One loop = submit "
        "an answer and receive the next text: labelwise 1 request (`POST /api/items/{id}/label` returns the next "
        "leased text), Label Studio 2 (`POST /api/tasks/{id}/annotations/`, then `GET /api/projects/{id}/next`). "
        f"Client: one process on the same machine, one keep-alive connection and user per annotator. Modes: "
        f"**saturation** = zero think time, {args.requests} loops per phase split over the annotators (at most "
        f"{args.max_phase_seconds} s); **think** = exponential think time, mean {args.think_mean} s, before "
        f"each answer, {args.think_seconds} s per phase. Answers are the gold labels.",
        "",
        f"labelwise: project created in {lw.setup_s:.1f} s; `labelwise serve --synchronous {args.synchronous}`, "
        f"model `{args.model}`, retraining every {args.retrain_every} answers in its niced worker process. "
        f"First (cold-start) round on the whole pool: "
        + (f"finished {lw.first_round_s:.0f} s after the server started; measuring began then."
           if lw.first_round_done else f"NOT finished after {lw.first_round_s:.0f} s (measured anyway)."),
        "",
        "| tool | mode | annotators | loops | errors | answered twice | p50 ms | p90 ms | p99 ms | max ms | loops/s "
        "| rounds finished | trainer busy | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows + ls_rows:
        rounds = str(r["rounds"]) if "rounds" in r else "–"
        busy = f"{r['busy']:.0%}" if "busy" in r else "–"
        lines.append(f"| {r['tool']} | {r['mode']} | {r['annotators']} | {r['loops']} | {r['errors']} | "
                     f"{r['duplicates']} | {fmt(r['p50'])} | {fmt(r['p90'])} | {fmt(r['p99'])} | {fmt(r['max'])} | "
                     f"{r['rate']:.1f} | {rounds} | {busy} | {r['load']:.1f} |")
    for mode in args.modes:
        mine = [r for r in rows if r["mode"] == mode]
        missed = [f"{r['annotators']} annotators (p99 {r['p99']:.0f} ms)" for r in mine if not r["p99"] < 50]
        lines += ["", f"Target p99 < 50 ms, {mode} mode: " + ("met at " + ", ".join(
            str(r["annotators"]) for r in mine) + " annotators." if not missed else "NOT met at " + ", ".join(missed)
            + "; met at " + (", ".join(str(r["annotators"]) for r in mine if r["p99"] < 50) or "none") + ".")]
    rounds = sum(r.get("rounds", 0) for r in rows)
    lines += ["", f"labelwise retraining rounds finished during the measured phases: {rounds} (after the first); "
              "\"trainer busy\" is the share of once-a-second samples during the phase that found a round running. "
              "\"answered twice\": texts that two different annotators were served and answered (a double lease).",
              "", ls_info]
    if ls_rows:
        by_key = {(r["mode"], r["annotators"]): r for r in rows}
        lines += ["", "Label Studio / labelwise (higher = labelwise faster):", "",
                  "| mode | annotators | p50 ratio | p99 ratio | LS: submit p50 ms | LS: next p50 ms |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in ls_rows:
            mine = by_key.get((r["mode"], r["annotators"]))
            if mine is None:
                continue
            parts = r["parts_p50"]
            lines.append(f"| {r['mode']} | {r['annotators']} | {r['p50'] / mine['p50']:.0f}× | "
                         f"{r['p99'] / mine['p99']:.0f}× | {fmt(parts.get('submit', float('nan')))} | "
                         f"{fmt(parts.get('next', float('nan')))} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="online_shopping_10cats")
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--annotators", default="1,10,20", help="comma-separated numbers of concurrent annotators")
    parser.add_argument("--modes", default="saturation,think", help="saturation,think (either or both)")
    parser.add_argument("--requests", type=int, default=400, help="saturation: loops per phase")
    parser.add_argument("--max-phase-seconds", type=float, default=120, help="saturation: time cap per phase")
    parser.add_argument("--think-mean", type=float, default=1.5, help="think: mean think time per answer (s)")
    parser.add_argument("--think-seconds", type=float, default=60, help="think: length of each phase (s)")
    parser.add_argument("--retrain-every", type=int, default=20)
    parser.add_argument("--model", default="tfidf-lr", help="labelwise project model (auto picks an embedding "
                                                             "model for Chinese, whose first featurizing is long)")
    parser.add_argument("--synchronous", choices=("normal", "full"), default="normal",
                        help="labelwise serve --synchronous (SQLite durability)")
    parser.add_argument("--first-round-timeout", type=float, default=900)
    parser.add_argument("--label-studio", metavar="EXE", help="the label-studio executable (of its own venv); "
                                                               "without it the comparison is skipped")
    parser.add_argument("--ls-start-timeout", type=float, default=900)
    parser.add_argument("--no-results", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = parser.parse_args()
    args.annotators = [int(x) for x in args.annotators.split(",")]
    args.modes = [m.strip() for m in args.modes.split(",")]
    if not set(args.modes) <= {"saturation", "think"}:
        parser.error(f"--modes takes saturation and/or think, got {args.modes}")

    records, labels = load_records(args.dataset, args.texts)
    work = Path(tempfile.mkdtemp(prefix="lw-serve-bench-"))
    print(f"work dir {work}", flush=True)
    try:
        lw = Labelwise(work, records, labels, args)
        print(f"labelwise: project {lw.setup_s:.1f} s, first round "
              f"{'finished' if lw.first_round_done else 'NOT finished'} after {lw.first_round_s:.0f} s", flush=True)
        try:
            rows = measure(lw, args)
        finally:
            lw.close()
        ls_rows: list[dict] = []
        if not args.label_studio:
            ls_info = "Label Studio: SKIPPED (no --label-studio EXE given): no comparison in this run."
        elif not Path(args.label_studio).exists():
            ls_info = f"Label Studio: SKIPPED ({args.label_studio} does not exist): no comparison in this run."
        else:
            ls = LabelStudio(args.label_studio, work, records, labels, args)
            try:
                print(f"Label Studio {ls.version}: started in {ls.start_s:.0f} s, {len(records)} tasks imported in "
                      f"{ls.import_s:.0f} s", flush=True)
                ls_rows = measure(ls, args)
            finally:
                ls.close()
            ls_info = (f"Label Studio {ls.version} (PyPI `label-studio`, `label-studio start`: Django's server, "
                       f"SQLite in a fresh data dir), started in {ls.start_s:.0f} s, {len(records):,} tasks "
                       f"imported in {ls.import_s:.0f} s through its REST API; no ML backend (nothing retrains). "
                       "Its columns for submit and next below are the medians of the two requests of a loop.")
        print(ls_info, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    body = report(args, records, labels, lw, rows, ls_info, ls_rows)
    print(body)
    if not args.no_results:
        append_dated("serve_latency", body)
        print("appended an entry to the serve_latency section of benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

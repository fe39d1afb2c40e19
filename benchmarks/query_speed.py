"""Query speed: score + select 100 of 1,000,000 probability rows x 10 classes (float64), in one run.

    python benchmarks/query_speed.py [--rows 1000000] [--classes 10] [--n 100] [--repeats 5]
                                     [--small-text-entropy-rows 20000] [--threads 1] [--no-write]

For margin, least confidence and entropy it times, on the same probabilities:
  labelwise    labelwise.strategies: select(margin(P), n) etc.
  numpy        the plain recipe (defined in RECIPES below)
  modAL        modAL.uncertainty.margin_sampling / uncertainty_sampling / entropy_sampling
  small-text   small_text BreakingTies / LeastConfidence / PredictionEntropy .query()
modAL and small-text take a classifier, so both get a stand-in whose predict_proba returns P unchanged.
small-text's PredictionEntropy calls scipy's entropy once per row (minutes on 1M rows), so it runs on the
first --small-text-entropy-rows rows and its time is extrapolated linearly to --rows (marked "extrapolated").
Each method's picks are compared, as sets, to the numpy recipe's on the same rows. Times are medians of
--repeats runs (small-text: of min(3, repeats), its runs are seconds long). The result is appended to
benchmarks/RESULTS.md as a dated section with the command and the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

# Threads must be fixed before NumPy loads its BLAS; the value is reported with the results.
_THREADS = "1"
for _i, _arg in enumerate(sys.argv):
    if _arg == "--threads" and _i + 1 < len(sys.argv):
        _THREADS = sys.argv[_i + 1]
    elif _arg.startswith("--threads="):
        _THREADS = _arg.split("=", 1)[1]
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = _THREADS

import datetime as _dt  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from labelwise.strategies import entropy, least_confidence, margin, select  # noqa: E402

STRATEGIES = ("margin", "least-confidence", "entropy")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


# --- the plain numpy recipes (what a user would write) -----------------------------------------------------
def numpy_margin(P: np.ndarray, n: int) -> np.ndarray:
    part = np.partition(P, -2, axis=1)
    gap = part[:, -1] - part[:, -2]
    return np.argpartition(gap, n)[:n]  # smallest gaps


def numpy_least_confidence(P: np.ndarray, n: int) -> np.ndarray:
    return np.argpartition(P.max(axis=1), n)[:n]  # smallest top probabilities


def numpy_entropy(P: np.ndarray, n: int) -> np.ndarray:
    # No 0 * log 0 handling: the benchmark's probabilities have no exact zeros, so this is the cheapest
    # correct recipe for them (labelwise handles zeros at no extra pass).
    h = -(P * np.log(P)).sum(axis=1)
    return np.argpartition(h, len(h) - n)[len(h) - n :]


RECIPES: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "margin": numpy_margin,
    "least-confidence": numpy_least_confidence,
    "entropy": numpy_entropy,
}
SCORERS = {"margin": margin, "least-confidence": least_confidence, "entropy": entropy}


def labelwise_query(strategy: str) -> Callable[[np.ndarray, int], np.ndarray]:
    scorer = SCORERS[strategy]
    return lambda P, n: select(scorer(P), n, seed=0)


# --- modAL and small-text, fed the same probabilities --------------------------------------------------------
class PassThrough:
    """A fitted stand-in classifier whose predict_proba(X) returns X (X *is* the probability matrix)."""

    classes_ = None

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return X


def modal_query(strategy: str) -> Callable[[np.ndarray, int], np.ndarray]:
    from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

    fn = {"margin": margin_sampling, "least-confidence": uncertainty_sampling, "entropy": entropy_sampling}[
        strategy
    ]

    def run(P: np.ndarray, n: int) -> np.ndarray:
        out = fn(PassThrough(), P, n_instances=n)
        return out[0] if isinstance(out, tuple) else out

    return run


def small_text_query(strategy: str) -> Callable[[np.ndarray, int], np.ndarray]:
    from small_text.query_strategies import BreakingTies, LeastConfidence, PredictionEntropy

    cls = {"margin": BreakingTies, "least-confidence": LeastConfidence, "entropy": PredictionEntropy}[
        strategy
    ]

    def run(P: np.ndarray, n: int) -> np.ndarray:
        unlabeled = np.arange(P.shape[0])
        empty = np.empty(0, dtype=np.int64)
        return cls().query(PassThrough(), P, unlabeled, empty, empty, n=n)

    return run


def timed_interleaved(
    fns: dict[str, Callable[[np.ndarray, int], np.ndarray]], P: np.ndarray, n: int, repeats: int
) -> dict[str, tuple[float, float, np.ndarray]]:
    """Median wall and CPU seconds of each method, the methods taking turns in every repeat so that a
    busy machine slows them alike; also each method's picks."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    picks: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            picks[name] = np.asarray(fn(P, n))
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k]), picks[k]) for k in fns}


NAIVE_SCORES = {
    "margin": lambda P: -np.diff(np.partition(P, -2, axis=1)[:, -2:], axis=1)[:, 0],
    "least-confidence": lambda P: 1.0 - P.max(axis=1),
    "entropy": lambda P: -(P * np.log(P)).sum(axis=1),
}


def machine() -> str:
    uname = " ".join(platform.uname())
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{uname}; nproc={os.cpu_count()}; cpu={cpu or 'unknown'}"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python {platform.python_version()}"]
    for pkg in ("numpy", "scipy", "modAL-python", "small-text"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} missing")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--small-text-entropy-rows", type=int, default=20_000)
    ap.add_argument("--threads", default=_THREADS, help="OMP/BLAS threads (set before NumPy loads)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    args = ap.parse_args(argv)

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(args.classes), size=args.rows)  # float64, C-contiguous, no exact zeros
    n = args.n
    rows = []  # (strategy, method, wall s, cpu s, note, same picks)
    ratios, max_diff = {}, {}
    for strategy in STRATEGIES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = timed_interleaved(
                {
                    "numpy recipe": RECIPES[strategy],
                    "labelwise": labelwise_query(strategy),
                    "modAL": modal_query(strategy),
                },
                P,
                n,
                args.repeats,
            )
        ref = set(res["numpy recipe"][2].tolist())
        for method, (wall, cpu, picks) in res.items():
            rows.append((strategy, method, wall, cpu, "", set(picks.tolist()) == ref))
        ratios[strategy] = res["labelwise"][0] / res["numpy recipe"][0]
        max_diff[strategy] = float(np.abs(SCORERS[strategy](P) - NAIVE_SCORES[strategy](P)).max())
        st_rows = args.rows
        if strategy == "entropy":
            st_rows = min(args.rows, args.small_text_entropy_rows)
        sub = P[:st_rows]
        st = timed_interleaved({"small-text": small_text_query(strategy)}, sub, n, min(3, args.repeats))
        wall, cpu, picks = st["small-text"]
        same = set(picks.tolist()) == set(RECIPES[strategy](sub, n).tolist())
        note = ""
        if st_rows < args.rows:
            note = f"extrapolated ×{args.rows / st_rows:g} from {st_rows:,} rows ({wall:.3f} s)"
            wall, cpu = wall * args.rows / st_rows, cpu * args.rows / st_rows
        rows.append((strategy, "small-text", wall, cpu, note, same))
        print(f"{strategy}: labelwise / numpy = {ratios[strategy]:.2f}", flush=True)

    lines = [
        "| strategy | method | wall s (median) | × numpy (wall) | CPU s (median) | × numpy (CPU) | same picks as numpy | note |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    base = {r[0]: (r[2], r[3]) for r in rows if r[1] == "numpy recipe"}
    for strategy, method, wall, cpu, note, same in rows:
        bw, bc = base[strategy]
        lines.append(
            f"| {strategy} | {method} | {wall:.4f} | {wall / bw:.2f} | {cpu:.4f} | {cpu / bc:.2f} "
            f"| {'yes' if same else 'NO'} | {note} |"
        )
    verdict = ", ".join(
        f"{s} {r:.2f}× ({'meets' if r <= 0.5 else 'MISSES'} ≤ 0.5×)" for s, r in ratios.items()
    )
    diffs = ", ".join(f"{s} {d:.1e}" for s, d in max_diff.items())
    table = "\n".join(lines)
    print(table)
    print("labelwise / numpy (wall):", verdict)
    print("max |labelwise score - naive score|:", diffs)

    if not args.no_write:
        command = "python benchmarks/query_speed.py" + (
            " " + shlex.join(argv if argv is not None else sys.argv[1:])
        )
        section = "\n".join(
            [
                "",
                f"## Query speed — {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
                "",
                f"- command: `{command.strip()}`",
                f"- machine: `{machine()}`",
                f"- threads: OMP/BLAS = {args.threads}; {versions()}",
                f"- data: {args.rows:,} rows × {args.classes} classes float64 (Dirichlet(1), seed 0); "
                f"select {n}; scoring included; median of {args.repeats} runs, methods taking turns "
                f"(small-text: {min(3, args.repeats)} runs)",
                f"- labelwise / numpy recipe (wall): {verdict}",
                f"- largest |labelwise score − naive numpy score|: {diffs}",
                f"- load average before the run: {load_before}",
                "",
                table,
                "",
            ]
        )
        existed = RESULTS.exists()
        with RESULTS.open("a", encoding="utf-8") as fh:
            if not existed:
                fh.write("# Benchmark results\n")
            fh.write(section)
        print(f"appended to {RESULTS}")
    return 0 if all(r <= 0.5 for r in ratios.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

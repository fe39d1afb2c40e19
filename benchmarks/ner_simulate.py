"""NER active learning on the shared conll2003 (English) and msra_ner (Chinese): the seed study's protocol.

One command (appends a dated entry per dataset to benchmarks/RESULTS.md, section "NER active learning"):

    OMP_NUM_THREADS=1 python benchmarks/ner_simulate.py [--datasets conll2003,msra_ner] [--seeds 3]
        [--conll-pool 6000] [--msra-pool 4000] [--test-size 2000] [--out DIR] [--no-write]

Protocol (``simulate_ner(..., protocol="seed")``): CRF (labelwise.models.crf defaults), start with a random 5 %
of the pool, add 5 % per round up to 50 %, refit from scratch each round, entity F1 (seqeval) on the test
split; every strategy starts from the same initial sample per seed. Pools and test sets are seeded samples
(``--*-pool``, ``--test-size``; 0 = all) so the run fits 2 shared cores in ~30 min.

Checks reported (issue 4): conll2003 — the best strategy reaches full-data F1 − 1 point with ≤ 30 % of the
sentences (and how many tokens), LTP above random at every round; msra_ner — the seed's table 5 %…50 %, best
strategy ≥ random + 3 F1 points at 10 %. "Full-data F1" is the CRF trained on the whole pool; for conll2003
with a sampled pool the F1 of the CRF on the full train split is reported beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import append_results, datasets_dir, machine  # noqa: E402  (shared helpers)

from labelwise.data import load_corpus  # noqa: E402
from labelwise.models.crf import CRFTagger  # noqa: E402
from labelwise.simulate import Progress  # noqa: E402
from labelwise.simulate.ner import entity_f1, simulate_ner, write_ner_table  # noqa: E402

SECTION = "## NER active learning (conll2003, msra_ner)"
DEFAULT_STRATEGIES = {  # --strategies overrides (one list for every dataset of the run)
    "conll2003": "random,ltp,ltp-unseen,mnlp,mnlp-sqrt,token-entropy-sqrt,total-token-entropy",
    "msra_ner": "random,ltp,ltp-unseen,token-entropy-sqrt",
}


def _progress(label: str) -> Progress:
    start = time.perf_counter()

    def step(description: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {label}: {description}", file=sys.stderr, flush=True)

    return Progress(on_step=step)


def _f(x: float | None, pct: bool = True) -> str:
    return "—" if x is None else (f"{100 * x:.1f} %" if pct else f"{x:,.0f}")


def run_dataset(name: str, args: argparse.Namespace) -> tuple[str, dict]:
    root = datasets_dir() / name
    train = load_corpus(root / "train.jsonl", task="ner")
    test = load_corpus(root / "test.jsonl", task="ner")
    if args.test_size and args.test_size < len(test):
        test = test.subset(np.sort(np.random.default_rng(7).choice(len(test), args.test_size, replace=False)))
    pool = {"conll2003": args.conll_pool, "msra_ner": args.msra_pool}.get(name) or None
    strategies = (args.strategies or DEFAULT_STRATEGIES.get(name, "random,ltp")).split(",")
    t0 = time.perf_counter()
    results = simulate_ner(train, test, model="crf", strategies=strategies, seeds=args.seeds,
                           pool_size=pool, protocol="seed", progress=_progress(name))
    wall = time.perf_counter() - t0
    full_train = None
    if pool and pool < len(train) and name in args.full_train_f1.split(","):
        crf = CRFTagger()
        t1 = time.perf_counter()
        full_train = entity_f1(test.labels, crf.fit(train.tokens, train.labels).predict(test.tokens))
        print(f"{name}: full train F1 {full_train:.4f} ({time.perf_counter() - t1:.0f} s)", file=sys.stderr)
    results["benchmark"] = {"dataset": name, "wall_seconds": wall, "full_train_score": full_train,
                            "train_size": len(train)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"ner_{name}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    table = write_ner_table(results, out / f"ner_{name}_table.md").read_text(encoding="utf-8")

    curves, s = results["curves"], results["settings"]
    lines = [f"#### {name}", "",
             f"Pool {s['pool_size']:,} of {len(train):,} train sentences ({s['pool_tokens']:,} tokens), test "
             f"{s['test_size']:,} sentences, seeds {s['seeds']}, strategies {', '.join(s['strategies'])}; "
             f"wall {wall / 60:.1f} min. Full-data (pool) F1 {100 * results['full_data_score']:.2f}"
             + (f"; CRF on the full train split: {100 * full_train:.2f}" if full_train is not None else "") + ".",
             "", table.rstrip("\n"), "",
             "| strategy | sentences to full-data F1 − 1 | % of pool | tokens | % of pool tokens | savings vs random "
             "(sentences / tokens) |", "|---|---:|---:|---:|---:|---:|"]
    for st, r in results["full_data_reached"].items():
        sv = results["savings"][st]
        lines.append(f"| {st} | {_f(r['labels_needed'], False)} | {_f(r['fraction_of_pool'])} | "
                     f"{_f(r['tokens_needed'], False)} | {_f(r['fraction_of_pool_tokens'])} | "
                     f"{_f(sv['savings'])} / {_f(sv['token_savings'])} |")
    lines.append("")
    verdicts = []
    non_random = [x for x in curves if x != "random"]
    if name == "conll2003":
        best = min(non_random, key=lambda x: (results["full_data_reached"][x]["labels_needed"] or 10**12))
        r = results["full_data_reached"][best]
        ok = r["fraction_of_pool"] is not None and r["fraction_of_pool"] <= 0.30 + 1e-9
        verdicts.append(f"- Best strategy ({best}) reaches full-data F1 − 1 with ≤ 30 % of the sentences: "
                        f"**{'reached' if ok else 'NOT reached'}** ({_f(r['fraction_of_pool'])} of the pool, "
                        f"{_f(r['tokens_needed'], False)} tokens = {_f(r['fraction_of_pool_tokens'])} of the pool's).")
    if "ltp" in curves:
        diff = np.asarray(curves["ltp"]["mean"]) - np.asarray(curves["random"]["mean"])
        wins = np.asarray(curves["ltp"]["per_seed"]) > np.asarray(curves["random"]["per_seed"])
        rounds = diff[1:]  # round 0 is the shared initial sample (identical models)
        verdicts.append(f"- LTP − random (mean F1 points) per round after the shared start: "
                        f"{', '.join(f'{100 * d:+.2f}' for d in rounds)}; LTP above random at every round: "
                        f"**{'yes' if np.all(rounds > 0) else 'no'}** (per seed, LTP won "
                        f"{int(wins[:, 1:].sum())} of {wins[:, 1:].size} round×seed pairs).")
    if name == "msra_ner":
        i = results["table"]["count"].index(min(results["table"]["count"], key=lambda c: abs(c / s["pool_size"] - 0.10)))
        best = max(non_random, key=lambda x: curves[x]["mean"][i])
        gap = curves[best]["mean"][i] - curves["random"]["mean"][i]
        verdicts.append(f"- At 10 % the best strategy ({best}) is {100 * gap:+.2f} F1 points vs random; "
                        f"≥ +3: **{'reached' if gap >= 0.03 else 'NOT reached'}**.")
    lines += verdicts
    return "\n".join(lines), results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="conll2003,msra_ner", help="comma-separated: conll2003, msra_ner")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--conll-pool", type=int, default=6000, help="0 = the whole train split (14,041)")
    ap.add_argument("--msra-pool", type=int, default=4000, help="0 = the whole train split (44,230)")
    ap.add_argument("--test-size", type=int, default=2000, help="seeded test sample; 0 = whole test split")
    ap.add_argument("--strategies", default=None, help="comma-separated; default per dataset (see source)")
    ap.add_argument("--full-train-f1", default="conll2003",
                    help="datasets whose CRF on the whole train split is also fitted (msra: slow)")
    ap.add_argument("--out", default="/tmp/labelwise-ner-benchmark", help="results JSON and tables")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    parts = []
    for name in args.datasets.split(","):
        text, _ = run_dataset(name, args)
        print(text, flush=True)
        parts.append(text)
    cmd = ("OMP_NUM_THREADS=1 python benchmarks/ner_simulate.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    entry = "\n".join([f"### {dt.date.today().isoformat()}", "", f"Command: `{cmd}`  ", f"Machine: {machine()}  ",
                       f"Total wall time: {(time.perf_counter() - started) / 60:.1f} min", "", *parts])
    if not args.no_write:
        print("appended to", append_results(entry, SECTION))
    return 0


if __name__ == "__main__":
    sys.exit(main())

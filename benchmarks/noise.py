"""Label-noise benchmark: inject flips, find them with check-labels' pipeline, compare with cleanlab's default.

    OMP_NUM_THREADS=1 python benchmarks/noise.py            # ag_news + thucnews_titles, 10 % / 30 %, + 50k timing

For each dataset (train split sampled to --n texts, seed 0) and each noise setting:
- uniform: a random --rate of the texts get a label drawn uniformly from the other classes;
- similar: a random --rate of the texts get a label drawn from their class's *similar* classes: the
  off-diagonal row of the symmetrised confusion matrix of a clean model (5-fold out-of-fold predictions of the
  reference model on the clean labels), so flips go where the model itself confuses classes.
Detection methods, all on the same noisy labels:
- cleanlab default: ``cleanlab.filter.find_label_issues`` (prune_by_noise_rate) on plain 5-fold probabilities of
  the reference model (English: frozen MiniLM + logistic regression; Chinese: --cjk-reference, by default frozen
  multilingual-e5-small + LR, or char-n-gram TF-IDF + LR, which the earlier entries used; MiniLM is
  English-only), and cleanlab's best filter on those probabilities picked with hindsight;
- naive: flag where the reference model's out-of-fold prediction differs from the label;
- labelwise: ``labelwise.noise.check_labels`` defaults (the ensemble, two rounds, filter auto); --check-model
  SPEC checks with another model spec instead (e.g. to compare a candidate ensemble on the same draws).
Then test accuracy of the reference model trained on (a) noisy, (b) labelwise issues removed, (c) labelwise
issues corrected by the suggestion, (c') the labels ``labelwise.noise.fix_labels`` gives with each fix of
--fix (a comma-separated list; default ``auto``, the check-labels ``--cleaned`` default: correct confident
suggestions, keep the other flagged texts while under 20 % of the labels look wrong and drop them above), (d)
clean labels; recovered = (c - a) / (d - a). (c') fixes ``labelwise.noise.cleaning_mask``, the flagged texts plus
cleanlab's "both" filter, as ``--cleaned`` does. With --seeds S every setting is drawn S times (other flips, same texts)
and the tables give means; recovered is the mean gain over the mean loss (a per-seed ratio is noise when the
loss is a few test texts), with the per-seed range.
With --downstream M1,M2 (default ``auto``: labelwise's default model for the dataset's language, since
2026-12-05 centered e5 + TF-IDF) the same label versions also train labelwise models M1, M2 (their own C) and
the recovered shares are reported per model: the issue's "training on the corrected labels" is read on the
default model, the one a user trains after a check. Finally the wall time of a default check of online_shopping_10cats
train (50k texts; --timing-n N times a seeded sample of N instead, e.g. 19,999, the largest check on the full
ensemble).
Appends a dated entry to the "Label noise" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import datasets_dir, report  # noqa: E402

from labelwise.data import Corpus, load_corpus  # noqa: E402
from labelwise.features import is_cjk, make_featurizer  # noqa: E402
from labelwise.loop import resolve_model  # noqa: E402
from labelwise.models import LinearModel  # noqa: E402
from labelwise.noise import (  # noqa: E402
    CLEANLAB_FILTERS,
    FIXES,
    MIN_CONFIDENCE,
    check_labels,
    cleaning_mask,
    ensemble_out_of_fold_proba,
    estimated_num_issues,
    find_label_issues,
    fix_labels,
    largest_flip_rate,
    out_of_fold_proba,
    parse_model,
    resolve_fix,
)
from labelwise.noise.clean import KEEP_UNSURE_BELOW  # noqa: E402
from labelwise.noise.issues import STRUCTURED_FLIP_RATE  # noqa: E402

DATASETS = datasets_dir()
SECTION = "## Label noise (check-labels)"
#: the filters ``filter_by="auto"`` chooses between, plus cleanlab's default for reference
AUTO_CANDIDATES = ("low_self_confidence", "both", "prune_by_noise_rate")
#: the ceiling of correcting: the flagged texts that were flipped get their true label, nothing else changes
ORACLE_FIX = "flagged flips set right (oracle)"
SEED_STEP = 7919  # seed s of a setting draws its flips with the setting's seed + s * SEED_STEP


def prf(flag: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    tp = int((flag & truth).sum())
    p = tp / max(int(flag.sum()), 1)
    r = tp / max(int(truth.sum()), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def similar_classes(y: np.ndarray, oof_clean: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) row-stochastic flip distribution: the symmetrised off-diagonal confusion of a clean model
    (+0.5 so every other class stays possible)."""
    conf = np.zeros((n_classes, n_classes))
    np.add.at(conf, (y, oof_clean.argmax(axis=1)), 1.0)
    sym = conf + conf.T
    np.fill_diagonal(sym, 0.0)
    sym += 0.5
    np.fill_diagonal(sym, 0.0)
    return sym / sym.sum(axis=1, keepdims=True)


def inject(y: np.ndarray, rate: float, kind: str, n_classes: int, flip_dist: np.ndarray, seed: int):
    rng = np.random.default_rng(seed)
    flip = np.zeros(len(y), dtype=bool)
    flip[rng.choice(len(y), int(round(rate * len(y))), replace=False)] = True
    noisy = y.copy()
    for i in np.flatnonzero(flip):
        if kind == "uniform":
            noisy[i] = (y[i] + rng.integers(1, n_classes)) % n_classes
        else:
            noisy[i] = rng.choice(n_classes, p=flip_dist[y[i]])
    return noisy, flip


def accuracy(X, y, Xt, yt, n_classes: int, keep: np.ndarray | None = None, *, C: float = 1.0) -> float:
    keep = np.ones(len(y), dtype=bool) if keep is None else keep
    model = LinearModel("multiclass", n_classes, C=C).fit(X[keep], y[keep])
    return float((model.predict(Xt) == yt).mean())


def run_dataset(name: str, n: int, rates: list[float], kinds: list[str], folds: int, *, seeds: int = 1,
                first_seed: int = 0,
                fixes: tuple[str, ...] = ("auto",), min_confidence: float = MIN_CONFIDENCE,
                cjk_reference: str = "e5", downstream: tuple[str, ...] = (),
                check_model: str = "ensemble") -> list[dict]:
    train = load_corpus(DATASETS / name / "train.jsonl")
    test = load_corpus(DATASETS / name / "test.jsonl", labels=train.label_set)
    if len(train) > n:
        train = train.subset(np.sort(np.random.default_rng(0).choice(len(train), n, replace=False)))
    C = len(train.label_set)
    cjk = is_cjk(train.texts)
    ref_view = cjk_reference if cjk else "minilm"
    t0 = time.perf_counter()
    views, test_views = {}, {}
    for view in dict.fromkeys([ref_view] + [f for f, _ in parse_model(check_model, train.texts)]):
        f = make_featurizer(view)
        views[view] = f.fit_transform(train.texts)
        if view == ref_view:
            test_views[view] = f.transform(test.texts)
    models = {}  # downstream model name -> (train features, test features, C), labelwise's own settings
    for model_name in downstream:
        spec = resolve_model(model_name, train.texts)
        f = make_featurizer(spec.features)
        models[model_name if model_name != "auto" else f"auto ({spec.name})"] = (
            f.fit_transform(train.texts), f.transform(test.texts), spec.classifier_options["C"])
    print(f"{name}: {len(train)} texts, features {time.perf_counter() - t0:.0f} s", flush=True)
    y, yt = train.label_matrix(), test.label_matrix()
    X, Xt = views[ref_view], test_views[ref_view]

    def ref_oof(labels: np.ndarray) -> np.ndarray:
        return out_of_fold_proba(X, labels, model_factory=lambda: LinearModel("multiclass", C, C=1.0),
                                 folds=folds, n_classes=C)

    flip_dist = similar_classes(y, ref_oof(y), C)
    acc_clean = accuracy(X, y, Xt, yt, C)
    clean_downstream = {m: accuracy(Xm, y, Xtm, yt, C, C=c) for m, (Xm, Xtm, c) in models.items()}
    rows = []
    for kind in kinds:
        for rate in rates:
            draws = []
            for seed in range(first_seed, first_seed + seeds):
                draw = run_draw(name, train, X, Xt, y, yt, views, flip_dist, acc_clean, kind, rate, seed, folds,
                                fixes=fixes, min_confidence=min_confidence, models=models, check_model=check_model,
                                clean_downstream=clean_downstream)
                draws.append(draw)
                print(json.dumps(draw, ensure_ascii=False), flush=True)
            rows.append(summarize(draws, fixes))
    for row in rows:
        row["reference"] = ref_view
    return rows


def run_draw(name: str, train: Corpus, X, Xt, y, yt, views: dict, flip_dist: np.ndarray, acc_clean: float,
             kind: str, rate: float, seed: int, folds: int, *, fixes: tuple[str, ...], min_confidence: float,
             models: dict | None = None, clean_downstream: dict | None = None,
             check_model: str = "ensemble") -> dict:
    """One noise draw of one setting: detection by every method, accuracy after each label version."""
    label_set, C = train.label_set, len(train.label_set)
    noisy, flip = inject(y, rate, kind, C, flip_dist,
                         seed=int(rate * 1000) + (kind == "similar") + SEED_STEP * seed)
    t = time.perf_counter()
    P_ref = out_of_fold_proba(X, noisy, model_factory=lambda: LinearModel("multiclass", C, C=1.0), folds=folds,
                              n_classes=C)
    t_ref = time.perf_counter() - t
    det = {"cleanlab default": prf(find_label_issues(noisy, P_ref, filter_by="prune_by_noise_rate"), flip),
           "naive (model disagrees)": prf(P_ref.argmax(axis=1) != noisy, flip)}
    best = max(CLEANLAB_FILTERS, key=lambda fb: prf(find_label_issues(noisy, P_ref, filter_by=fb), flip)[2])
    det[f"cleanlab best filter ({best})"] = prf(find_label_issues(noisy, P_ref, filter_by=best), flip)
    corpus = Corpus(ids=list(range(len(y))), texts=train.texts, labels=[label_set[k] for k in noisy],
                    label_set=label_set)
    t = time.perf_counter()
    check = check_labels(corpus, model=check_model, views=views, folds=folds)
    t_lw = time.perf_counter() - t
    mask = check.is_issue
    det[f"labelwise ({check.model})"] = prf(mask, flip)
    # what filter_by="auto" decides on: the same probabilities under each candidate filter
    by_filter = {fb: prf(find_label_issues(noisy, check.pred_probs, filter_by=fb), flip)[2] for fb in AUTO_CANDIDATES}
    corrected, _ = fix_labels(noisy, check.pred_probs, mask, fix="correct")
    to_fix = cleaning_mask(noisy, check.pred_probs, mask)
    fixed = {fix: fix_labels(noisy, check.pred_probs, to_fix, fix=fix, min_confidence=min_confidence)
             for fix in fixes}  # fix -> (labels, keep)
    flagged_set_right = noisy.copy()  # what correcting could reach with this detector and a perfect suggestion
    flagged_set_right[mask & flip] = y[mask & flip]
    acc = {
        "noisy": accuracy(X, noisy, Xt, yt, C),
        "issues removed": accuracy(X, noisy, Xt, yt, C, keep=~mask),
        "flips removed (oracle)": accuracy(X, noisy, Xt, yt, C, keep=~flip),
        "corrected": accuracy(X, corrected, Xt, yt, C),
        **{f"fix={fix}": accuracy(X, new, Xt, yt, C, keep=keep) for fix, (new, keep) in fixed.items()},
        ORACLE_FIX: accuracy(X, flagged_set_right, Xt, yt, C),
        "clean": acc_clean,
    }
    downstream = {}
    for m, (Xm, Xtm, c) in (models or {}).items():
        downstream[m] = {"noisy": accuracy(Xm, noisy, Xtm, yt, C, C=c),
                         "issues removed": accuracy(Xm, noisy, Xtm, yt, C, keep=~mask, C=c),
                         "flips removed (oracle)": accuracy(Xm, noisy, Xtm, yt, C, keep=~flip, C=c),
                         "corrected": accuracy(Xm, corrected, Xtm, yt, C, C=c),
                         **{f"fix={fix}": accuracy(Xm, new, Xtm, yt, C, keep=keep, C=c)
                            for fix, (new, keep) in fixed.items()},
                         ORACLE_FIX: accuracy(Xm, flagged_set_right, Xtm, yt, C, C=c),
                         "clean": clean_downstream[m]}
    return {"dataset": name, "downstream": downstream, "n": len(y), "kind": kind, "rate": rate, "seed": seed, "detection": det,
            "accuracy": acc, "fix": {fix: {"min_confidence": min_confidence, "relabeled": int((new != noisy).sum()),
                                           "dropped": int((~keep).sum()),
                                           "applied": resolve_fix(noisy, check.pred_probs, fix)}
                                     for fix, (new, keep) in fixed.items()},
            "estimated_wrong_share": estimated_num_issues(noisy, check.pred_probs) / len(noisy),
            "seconds": {"reference oof": t_ref, "labelwise": t_lw}, "labelwise_model": check.model,
            "labelwise_filter": check.summary["filter_by"], "labelwise_f1_by_filter": by_filter,
            "largest_flip_rate": largest_flip_rate(noisy, check.pred_probs)}


def recovery(accs: list[dict[str, float]], versions) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Per-draw accuracies (each with "noisy" and "clean") -> share of the loss each version recovers: mean gain
    over mean loss, and the per-draw ratios (nan where a draw lost nothing)."""
    loss = np.array([a["clean"] - a["noisy"] for a in accs])
    recovered, per_draw = {}, {}
    for version in versions:
        gain = np.array([a[version] - a["noisy"] for a in accs])
        recovered[version] = float(gain.mean() / loss.mean()) if loss.mean() > 0 else float("nan")
        per_draw[version] = [float(g / lo) if lo > 0 else float("nan") for g, lo in zip(gain, loss, strict=True)]
    return recovered, per_draw


def summarize(draws: list[dict], fixes: tuple[str, ...]) -> dict:
    """Means over the draws of one setting; recovered = mean gain / mean loss, with the per-draw ratios."""
    first = draws[0]
    methods = list(first["detection"])
    best = [m for m in methods if m.startswith("cleanlab best filter")]
    det = {}
    for method in methods:
        if method in best:  # the best filter may differ per draw: report the best one each time
            continue
        det[method] = np.mean([d["detection"][method] for d in draws], axis=0).tolist()
    det["cleanlab best filter (per draw)"] = np.mean(
        [next(v for k, v in d["detection"].items() if k.startswith("cleanlab best filter")) for d in draws],
        axis=0).tolist()
    f1_sd = {m: float(np.std([next(v for k, v in d["detection"].items()
                                   if k == m or (m.endswith("(per draw)") and k.startswith("cleanlab best")))[2]
                              for d in draws])) for m in det}
    acc = {k: float(np.mean([d["accuracy"][k] for d in draws])) for k in first["accuracy"]}
    loss = np.array([d["accuracy"]["clean"] - d["accuracy"]["noisy"] for d in draws])
    recovered, per_draw = recovery([d["accuracy"] for d in draws],
                                   ("corrected", *(f"fix={fix}" for fix in fixes), ORACLE_FIX))
    downstream = {}
    for m in first.get("downstream", {}):
        accs = [d["downstream"][m] for d in draws]
        acc_m = {k: float(np.mean([a[k] for a in accs])) for k in accs[0]}
        rec_m, per_draw_m = recovery(accs, [v for v in accs[0] if v not in ("noisy", "clean")])
        downstream[m] = {"accuracy": acc_m, "loss": acc_m["clean"] - acc_m["noisy"], "recovered": rec_m,
                         "recovered_per_draw": per_draw_m}
    return {"dataset": first["dataset"], "n": first["n"], "kind": first["kind"], "rate": first["rate"],
            "seeds": len(draws), "downstream": downstream, "detection": det, "f1_sd": f1_sd, "accuracy": acc, "loss": float(loss.mean()),
            "recovered": recovered, "recovered_per_draw": per_draw, "fixes": list(fixes),
            "min_confidence": first["fix"][fixes[0]]["min_confidence"],
            "fix_applied": {fix: dict(Counter(d["fix"][fix]["applied"] for d in draws)) for fix in fixes},
            "wrong_share_range": [float(min(d["estimated_wrong_share"] for d in draws)),
                                  float(max(d["estimated_wrong_share"] for d in draws))],
            "seconds": float(np.mean([d["seconds"]["labelwise"] for d in draws])),
            "labelwise_model": first["labelwise_model"],
            "labelwise_filters": dict(Counter(d.get("labelwise_filter", "?") for d in draws)),
            "f1_by_filter": {fb: float(np.mean([d["labelwise_f1_by_filter"][fb] for d in draws]))
                             for fb in AUTO_CANDIDATES},
            "flip_rate_range": [float(min(d["largest_flip_rate"] for d in draws)),
                                float(max(d["largest_flip_rate"] for d in draws))]}


ABLATION = ["minilm-lr C=1", "minilm-lr", "minilm-knn", "tfidf-lr", "minilm-lr+minilm-knn",
            "minilm-lr+minilm-knn+tfidf-lr", "minilm-lr+minilm-knn+tfidf-lr rounds=2"]


def run_ablation(name: str, n: int, rates: list[float], folds: int) -> list[dict]:
    """Why the default ensemble: detection F1 of each component and combination on uniform flips, with
    cleanlab's default filter and with low_self_confidence (labelwise's default). English datasets only."""
    train = load_corpus(DATASETS / name / "train.jsonl")
    if len(train) > n:
        train = train.subset(np.sort(np.random.default_rng(0).choice(len(train), n, replace=False)))
    C = len(train.label_set)
    views = {v: make_featurizer(v).fit_transform(train.texts) for v in ("minilm", "tfidf")}
    y = train.label_matrix()
    rows = []
    for rate in rates:
        noisy, flip = inject(y, rate, "uniform", C, np.zeros((C, C)), seed=int(rate * 1000))
        for variant in ABLATION:
            t = time.perf_counter()
            if variant == "minilm-lr C=1":
                P = out_of_fold_proba(views["minilm"], noisy, folds=folds, n_classes=C,
                                      model_factory=lambda: LinearModel("multiclass", C, C=1.0))
            else:
                spec, _, rounds = variant.partition(" rounds=")
                P = ensemble_out_of_fold_proba(views, parse_model(spec), noisy, n_classes=C, folds=folds,
                                               rounds=int(rounds or 1))
            row = {"dataset": name, "rate": rate, "variant": variant, "seconds": time.perf_counter() - t,
                   "f1": {fb: prf(find_label_issues(noisy, P, filter_by=fb), flip)[2]
                          for fb in ("prune_by_noise_rate", "low_self_confidence")}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def time_large(name: str, n: int | None = None) -> dict:
    """Wall time of a default check of the dataset's train split (a seeded sample of ``n`` texts if given)."""
    corpus = load_corpus(DATASETS / name / "train.jsonl")
    if n is not None and len(corpus) > n:
        corpus = corpus.subset(np.sort(np.random.default_rng(0).choice(len(corpus), n, replace=False)))
    t = time.perf_counter()
    check = check_labels(corpus)
    seconds = time.perf_counter() - t
    out = {"dataset": name, "n": len(corpus), "model": check.model, "seconds": seconds,
           "n_issues": int(check.is_issue.sum())}
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


def render(rows: list[dict], timing: dict | None, ablation: list[dict] | None = None) -> str:
    lines: list[str] = []
    if rows:
        seeds = max(r["seeds"] for r in rows)
        lines += ["Detection of injected flips (precision / recall / F1 of the flagged set vs the flipped set"
                  + (f"; means over {seeds} noise draws per setting, F1 sd = their standard deviation" if seeds > 1
                     else "") + "). Targets (issue 5, ag_news uniform): F1 >= 0.80 at 10 %, >= 0.87 at 30 %.", "",
                  "| dataset | noise | method | P | R | F1 | F1 sd |", "|---|---|---|---:|---:|---:|---:|"]
        for r in rows:
            for method, (p, rec, f1) in r["detection"].items():
                lines.append(f"| {r['dataset']} ({r['n']}) | {r['kind']} {r['rate']:.0%} | {method} | {p:.3f} | "
                             f"{rec:.3f} | {f1:.3f} | {r['f1_sd'][method]:.3f} |")
        chosen = "; ".join(f"{r['dataset']} {r['kind']} {r['rate']:.0%}: "
                           + ", ".join(f"{f} {k}/{r['seeds']}" for f, k in r.get("labelwise_filters", {}).items())
                           for r in rows)
        lines += ["", f"Filter that labelwise's `filter_by=\"auto\"` chose (draws): {chosen}. It picks `both` when "
                  f"the largest estimated flip rate (`labelwise.noise.largest_flip_rate`) is >= {STRUCTURED_FLIP_RATE}"
                  "; detection F1 of labelwise's probabilities under each candidate filter (mean over draws):", "",
                  "| dataset | noise | largest flip rate [min, max] | " + " | ".join(AUTO_CANDIDATES) + " |",
                  "|---|---|---|" + "---:|" * len(AUTO_CANDIDATES)]
        for r in rows:
            lo, hi = r["flip_rate_range"]
            lines.append(f"| {r['dataset']} | {r['kind']} {r['rate']:.0%} | [{lo:.3f}, {hi:.3f}] | "
                         + " | ".join(f"{r['f1_by_filter'][fb]:.3f}" for fb in AUTO_CANDIDATES) + " |")
        fixes = rows[0]["fixes"]
        fix_cols = [f"fix={fix}" for fix in fixes]
        refs = ", ".join(dict.fromkeys(f"{r['dataset']} {r.get('reference', '?')}+LR" for r in rows))
        lines += ["", f"Test accuracy of the reference model ({refs}) trained on each "
                  f"label version (flips removed (oracle): exactly the flipped texts left out, what removal could "
                  f"reach with a perfect detector; {ORACLE_FIX}: the flagged texts that were flipped get their true "
                  f"label and nothing else changes, what correcting could reach with this detector and a perfect "
                  f"suggestion) (means over the draws); lost = clean - noisy; recovered = (version - noisy) / "
                  f"lost with means over the draws, [min, max] of the per-draw ratios; target >= 0.67. "
                  + ", ".join(f"`{c}`" for c in fix_cols)
                  + " = `labelwise.noise.fix_labels` with that fix on `cleaning_mask` (the flagged texts and "
                  f"cleanlab's 'both' filter; check-labels --cleaned), min_confidence {rows[0]['min_confidence']}.",
                  "", "| dataset | noise | draws | noisy | flips removed (oracle) | issues removed | corrected | "
                  + " | ".join(fix_cols) + " | clean | lost | recovered corrected | "
                  + " | ".join(f"recovered {c}" for c in fix_cols) + f" | recovered {ORACLE_FIX} | labelwise s |",
                  "|---|---|---:|" + "---:|" * (9 + 2 * len(fix_cols))]
        for r in rows:
            a, rec, per = r["accuracy"], r["recovered"], r["recovered_per_draw"]

            def span(version: str, rec=rec, per=per) -> str:
                finite = [x for x in per[version] if np.isfinite(x)]
                spread = f" [{min(finite):.2f}, {max(finite):.2f}]" if len(per[version]) > 1 and finite else ""
                return f"{rec[version]:.2f}{spread}"

            lines.append(f"| {r['dataset']} | {r['kind']} {r['rate']:.0%} | {r['seeds']} | {a['noisy']:.4f} | "
                         f"{a['flips removed (oracle)']:.4f} | {a['issues removed']:.4f} | {a['corrected']:.4f} | "
                         + " | ".join(f"{a[c]:.4f}" for c in fix_cols)
                         + f" | {a['clean']:.4f} | {r['loss']:.4f} | {span('corrected')} | "
                         + " | ".join(span(c) for c in fix_cols) + f" | {span(ORACLE_FIX)} | {r['seconds']:.0f} |")
        if "auto" in fixes:
            applied = "; ".join(f"{r['dataset']} {r['kind']} {r['rate']:.0%}: "
                                + ", ".join(f"{f} {k}/{r['seeds']}" for f, k in r["fix_applied"]["auto"].items())
                                + " (estimated wrong share [{:.3f}, {:.3f}])".format(*r["wrong_share_range"])
                                for r in rows)
            lines += ["", f"Fix that `fix=auto` applied (draws): {applied}. It keeps the unsure flagged texts "
                      f"(`confident-keep`) while the confident joint estimates that less than "
                      f"{KEEP_UNSURE_BELOW:.0%} of the labels are wrong (`labelwise.noise.resolve_fix`)."]
    if any(r.get("downstream") for r in rows):
        fix_cols = [f"fix={fix}" for fix in rows[0]["fixes"]]
        versions = ["flips removed (oracle)", "issues removed", "corrected", *fix_cols, ORACLE_FIX]
        lines += ["", "Downstream models: labelwise's models (`auto` = what `labelwise simulate`/the app train by "
                  "default for the texts' language; each with its own C) trained on the same noisy and fixed label "
                  "versions as above (means over the draws): test accuracy on the noisy / clean labels, and the "
                  "share of the loss each label version recovers (mean gain / mean loss, [min, max] of the per-draw "
                  "ratios); target >= 0.67.", "",
                  "| dataset | noise | model | noisy | clean | lost | "
                  + " | ".join(f"recovered {v}" for v in versions) + " |",
                  "|---|---|---|---:|---:|---:|" + "---:|" * len(versions)]
        for r in rows:
            for m, d in r.get("downstream", {}).items():
                a = d["accuracy"]

                def cell(version: str, d=d) -> str:
                    per = [x for x in d["recovered_per_draw"][version] if np.isfinite(x)]
                    spread = f" [{min(per):.2f}, {max(per):.2f}]" if len(per) > 1 else ""
                    return f"{d['recovered'][version]:.2f}{spread}"

                lines.append(f"| {r['dataset']} | {r['kind']} {r['rate']:.0%} | {m} | {a['noisy']:.4f} | "
                             f"{a['clean']:.4f} | {d['loss']:.4f} | " + " | ".join(cell(v) for v in versions) + " |")
    if ablation:
        lines += ["", "Ablation (uniform flips; LR C=0.3 on MiniLM, 1.0 on TF-IDF unless noted; k-NN k=30 cosine; "
                  "probabilities of the components averaged): detection F1 with cleanlab's default filter / with "
                  "low_self_confidence.", "", "| dataset | noise | out-of-fold model | F1 prune_by_noise_rate | "
                  "F1 low_self_confidence | seconds |", "|---|---|---|---:|---:|---:|"]
        for r in ablation:
            lines.append(f"| {r['dataset']} | uniform {r['rate']:.0%} | {r['variant']} | "
                         f"{r['f1']['prune_by_noise_rate']:.3f} | {r['f1']['low_self_confidence']:.3f} | "
                         f"{r['seconds']:.0f} |")
    if timing:
        lines += ["", f"Default check of {timing['dataset']} train ({timing['n']:,} texts, model "
                  f"{timing['model']}, features included): {timing['seconds']:.0f} s (target < 300 s); "
                  f"{timing['n_issues']} flagged."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="ag_news,thucnews_titles")
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--rates", default="0.1,0.3")
    ap.add_argument("--kinds", default="uniform,similar")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=1, help="noise draws per setting (default 1)")
    ap.add_argument("--first-seed", type=int, default=0,
                    help="draw seeds first-seed .. first-seed + seeds - 1 (default 0; e.g. 10 with --seeds 5 for "
                         "draws held out from the usual run)")
    ap.add_argument("--fix", default="auto",
                    help="comma-separated labelwise.noise.fix_labels rules, one fix= column each, on the same draws "
                         f"(of {', '.join(FIXES)}; default auto)")
    ap.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE,
                    help=f"its threshold for --fix confident (default {MIN_CONFIDENCE})")
    ap.add_argument("--cjk-reference", default="e5", choices=("e5", "tfidf"),
                    help="featurizer of the reference (cleanlab-baseline and accuracy) model for CJK datasets "
                         "(default e5: frozen multilingual-e5-small + LR, the issue's frozen-encoder setting)")
    ap.add_argument("--downstream", default="auto",
                    help="also train these labelwise models (e.g. auto,tfidf-lr,e5-tfidf-lr) on every label version "
                         "and report how much of their loss each version recovers (default auto: labelwise's "
                         "default model for the dataset; '' = none)")
    ap.add_argument("--timing", default="online_shopping_10cats", help="dataset for the large check ('' = skip)")
    ap.add_argument("--ablation", action="store_true",
                    help="only the component ablation on the (English) --datasets, uniform flips at --rates")
    ap.add_argument("--check-model", default="ensemble",
                    help="labelwise's check model (check-labels --model; default: the per-language ensemble), "
                         "to compare an alternative on the same draws")
    ap.add_argument("--timing-n", type=int, default=None,
                    help="time a seeded sample of this many texts instead of the whole train split (e.g. 19999: "
                         "the largest check that still uses the full ensemble)")
    ap.add_argument("--json", type=Path, default=None, help="also write all rows as JSON here")
    ap.add_argument("--no-results", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = ap.parse_args()
    argv = [shlex.quote(a) for a in sys.argv[1:]]
    rates = [float(r) for r in args.rates.split(",")]
    names = [d for d in args.datasets.split(",") if d]
    fixes = tuple(f for f in args.fix.split(",") if f)
    if not fixes or set(fixes) - set(FIXES):
        ap.error(f"--fix: expected a comma-separated list of {', '.join(FIXES)}, got {args.fix!r}")
    if args.ablation:
        ablation = [r for name in names for r in run_ablation(name, args.n, rates, args.folds)]
        report("ablation", "noise.py", argv, render([], None, ablation), section=SECTION,
               write=not args.no_results)
        return 0
    rows = []
    for name in names:
        rows += run_dataset(name, args.n, rates, args.kinds.split(","), args.folds, seeds=args.seeds,
                            first_seed=args.first_seed, fixes=fixes,
                            min_confidence=args.min_confidence, cjk_reference=args.cjk_reference,
                            check_model=args.check_model,
                            downstream=tuple(m for m in args.downstream.split(",") if m))
    timing = time_large(args.timing, args.timing_n) if args.timing else None
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "timing": timing}, indent=1, ensure_ascii=False))
    if names:
        drawn = (f"{args.seeds} draw(s)" if not args.first_seed
                 else f"draws {args.first_seed}-{args.first_seed + args.seeds - 1}")
        title = f"{', '.join(names)}; {args.kinds} flips at {args.rates}; {drawn}; fix={args.fix}"
    else:
        title = (f"timing only: default check of {args.timing}"
                 + (f" ({args.timing_n:,} texts)" if args.timing_n else " (whole train split)"))
    report(title, "noise.py", argv, render(rows, timing), section=SECTION, write=not args.no_results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

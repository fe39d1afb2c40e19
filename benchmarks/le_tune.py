"""Tuning runs for labelwise's ``default`` strategy: register candidate variants and run ``simulate`` on one dataset.

    OMP_NUM_THREADS=1 python benchmarks/le_tune.py --dataset trec6 --variants margin,dflt,dflt-c3 [--seeds 5]

Variant names are parsed by :func:`variant`: ``dflt`` (the composite ``default`` was before its binary rule:
k-means cold start, then margin with a diverse batch) plus any of these parts, or any registered strategy name:

- ``-<score>``: margin (default) | lc | ent | mlmax | mlmean;
- ``-c<N>``: N × batch top candidates for the diverse batch (10); ``-k<F>``: cold start below F × batch labels (2);
- ``-r<P>``: P % of each batch drawn at random (0); ``-d<K>``: diverse batches only while fewer than K × batch
  texts are labeled, plain top-n after (always diverse);
- the cold-start batch: ``-cr`` random instead of k-means once a model exists; ``-ch`` half k-means, half random
  once a model exists; ``-cu<P>`` P % (default 50) of the batch the top texts by the score, the rest k-means,
  once a model exists (``default`` does this with 20 % for three or more classes); ``-cq`` the pool in batch-many
  k-means clusters and the top text by the score of each, once a model exists; ``-cs`` one random member of
  each k-means cluster instead of the one nearest its centroid; ``-cm<N>`` the representatives of the batch-many
  largest of N × batch clusters; ``-cp<N>`` batch / N clusters with picks proportional to cluster size, nearest
  the centroid first;
- after the cold start: ``-badge`` BADGE (k-means++ over gradient embeddings) instead of the score and diverse
  batch; ``-cal`` contrastive KL (CAL) as the score; ``-id<B>`` the score times the text's mean cosine similarity
  to the pool to the power B (information density); once batches are no longer diverse (``-d<K>``), ``-pw<B>``
  power sampling of the score (probability proportional to (1 - margin gap) ** B) instead of the top-n, or
  ``-bal`` the top-n taken round-robin over the predicted classes.

``<strategy>@<option>=<value>[;...]`` is a registered strategy with the options its model gives it and these on
top (JSON values), e.g. ``default@imbalanced_top_share=1.0``.

``<strategy>+pl<T>w<W>`` is any registered strategy (``default`` with the options its model gets) whose learner
also trains on the pool texts its model predicts with probability >= T / 100, weighted W / 100 (CEAL's
pseudo-labels, :mod:`labelwise.models.self_training`), e.g. ``default+pl90w30``, ``random+pl90w30``;
the strategy may be an ``@`` variant (``default@imbalanced_top_share=0.5+pl0w0``); a suffix ``r<R>`` caps the pseudo-labels' total weight at R / 100 × the answers (``default+pl80w100r100``), a suffix ``m<N>`` adds
none below N answers (``default+pl80w100r100m100``); ``+pl0w0`` turns them off (``default+pl0w0``: ``default``
without the pseudo-labels its model gives binary tasks).

Prints per variant the savings, the area under the mean curve and the worst gap to random (mean over seeds) over
the curve.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import datasets_dir

from labelwise.strategies import representatives_and_top
from labelwise.strategies.contrastive import contrastive_kl
from labelwise.strategies.diversity import badge, diverse_top, kmeans_cold_start
from labelwise.strategies.multilabel import multilabel_uncertainty
from labelwise.strategies.registry import (
    QueryContext,
    QueryStrategy,
    _pick,
    available_strategies,
    register_strategy,
)
from labelwise.strategies.uncertainty import entropy, least_confidence, margin

SCORERS = {"margin": margin, "lc": least_confidence, "ent": entropy,
           "mlmax": lambda P: multilabel_uncertainty(P, aggregate="max"),
           "mlmean": lambda P: multilabel_uncertainty(P, aggregate="mean")}
DATASETS = datasets_dir()  # ../shared/datasets; LABELWISE_DATASETS overrides


def composite(*, score: str = "margin", candidates: int = 10, cold_start_factor: float = 2.0,
              random_share: float = 0.0, diverse_until: float = float("inf"), cold_random: bool = False,
              cold_stratified: bool = False, cold_half: bool = False, cold_multiple: int = 1,
              cold_proportional: int = 0, cold_top_share: float = 0.0, cold_cluster_top: bool = False,
              after: str = "", density_beta: float = 0.0, power_beta: float = 0.0, balanced: bool = False,
              name: str = "variant") -> QueryStrategy:
    """Cold start by k-means below ``cold_start_factor * n`` labels, then ``score`` with a diverse batch of
    ``candidates * n`` top candidates while fewer than ``diverse_until * n`` are labeled (plain top-n after);
    ``random_share`` of each batch drawn uniformly from the rest."""
    fn = SCORERS[score]

    def run(ctx: QueryContext, n: int, seconds: dict[str, float]):
        rng = ctx.rng()
        if ctx.proba is None or ctx.n_labeled < cold_start_factor * n:
            if ctx.embeddings is not None and cold_proportional:
                return proportional_representatives(ctx.embeddings, n, max(1, n // cold_proportional), rng), None
            if ctx.embeddings is not None and cold_multiple > 1:
                return kmeans_cold_start(ctx.embeddings, cold_multiple * n, seed=rng)[:n], None
            if ctx.embeddings is not None and cold_cluster_top and ctx.proba is not None:
                whole_pool = -(-ctx.pool_size() // n)  # candidates = the whole pool
                return diverse_top(fn(ctx.proba), ctx.embeddings, n, candidates=whole_pool, seed=rng), None
            if ctx.embeddings is not None and cold_top_share and ctx.proba is not None:
                return representatives_and_top(fn(ctx.proba), ctx.embeddings, n, top_share=cold_top_share,
                                               seed=rng), None
            if ctx.embeddings is not None and cold_half and ctx.proba is not None:
                reps = kmeans_cold_start(ctx.embeddings, n // 2, seed=rng)
                rest = np.setdiff1d(np.arange(ctx.pool_size()), reps)
                return np.concatenate([reps, rng.choice(rest, size=n - len(reps), replace=False)]), None
            if ctx.embeddings is not None and cold_stratified:
                return cluster_stratified(ctx.embeddings, n, rng), None
            if ctx.embeddings is not None and not (cold_random and ctx.proba is not None):
                return kmeans_cold_start(ctx.embeddings, n, seed=rng), None
            return rng.choice(ctx.pool_size(), size=n, replace=False), None
        if after == "badge":
            return badge(ctx.proba, ctx.embeddings, n, seed=rng), None
        t = time.perf_counter()
        if after == "cal" and ctx.labeled_proba is not None:
            s = contrastive_kl(ctx.proba, ctx.embeddings, ctx.labeled_proba, ctx.labeled_embeddings)
        else:
            s = fn(ctx.proba)
        if density_beta and ctx.embeddings is not None:
            s = information_density(s, ctx.embeddings, density_beta)
        seconds["score"] = time.perf_counter() - t
        k_rand = int(round(random_share * n))
        diverse = candidates > 1 and ctx.n_labeled < diverse_until * n
        if not diverse and power_beta:
            picks = power_sample(s, n - k_rand, power_beta, rng)
        elif not diverse and balanced:
            picks = class_balanced_top(s, ctx.proba, n - k_rand)
        else:
            picks = _pick(s, ctx, n - k_rand, diverse=diverse, candidates=candidates)
        if k_rand:
            rest = np.setdiff1d(np.arange(ctx.pool_size()), picks)
            picks = np.concatenate([picks, rng.choice(rest, size=k_rand, replace=False)])
        return picks, s

    needs = {"proba", "embeddings"} | ({"labeled_proba", "labeled_embeddings"} if after == "cal" else set())
    return QueryStrategy(name, frozenset(needs), frozenset({"multiclass", "multilabel"}), run)


def information_density(scores: np.ndarray, X, beta: float) -> np.ndarray:
    """Settles & Craven 2008: uncertainty x (mean cosine similarity to the pool) ** beta; ``scores`` shifted to
    be >= 0 (margin's [-1, 0] becomes 1 - (p1 - p2))."""
    Xd = np.asarray(X.todense()) if hasattr(X, "todense") else np.asarray(X, dtype=np.float64)
    Xn = Xd / np.maximum(np.linalg.norm(Xd, axis=1, keepdims=True), 1e-12)
    density = np.clip(Xn @ Xn.mean(axis=0), 1e-12, None)
    return (scores - scores.min()) * density**beta


def power_sample(scores: np.ndarray, n: int, beta: float, rng: np.random.Generator) -> np.ndarray:
    """Kirsch et al. 2023 ("Stochastic batch acquisition", TMLR) power acquisition: n texts drawn without
    replacement with probability proportional to u ** beta, u = the score shifted to (0, 1] (margin's [-1, 0]
    becomes 1 - (p1 - p2)); Gumbel-top-k on beta * log u."""
    u = np.clip(scores - scores.min() + 1e-6, 1e-12, None) if scores.min() < 0 else np.clip(scores, 1e-12, None)
    keys = beta * np.log(u) + rng.gumbel(size=len(u))
    return np.argpartition(-keys, n - 1)[:n]


def class_balanced_top(scores: np.ndarray, proba: np.ndarray, n: int) -> np.ndarray:
    """Top texts by score, taken round-robin over the model's predicted classes (each class's best first), so
    every predicted class gets about n / C of the batch."""
    pred = proba.argmax(axis=1)
    queues = [iter(np.flatnonzero(pred == c)[np.argsort(-scores[pred == c], kind="stable")])
              for c in range(proba.shape[1])]
    picks: list[int] = []
    while len(picks) < n and queues:
        for q in list(queues):
            nxt = next(q, None)
            if nxt is None:
                queues.remove(q)
            elif len(picks) < n:
                picks.append(int(nxt))
    return np.asarray(picks, dtype=np.int64)


def cluster_stratified(X, n: int, rng: np.random.Generator) -> np.ndarray:
    """k-means with k = n over the pool, then one uniformly random member of each cluster."""
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=n, n_init=1, random_state=int(rng.integers(2**31))).fit_predict(X)
    order = rng.permutation(len(labels))
    _, first = np.unique(labels[order], return_index=True)
    return order[first]


def proportional_representatives(X, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means with ``k`` clusters; each cluster gets a share of the ``n`` picks proportional to its size
    (largest remainder), filled by its members nearest the centroid."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31))).fit(X)
    labels = km.labels_
    sizes = np.bincount(labels, minlength=k)
    quota = sizes * n / sizes.sum()
    alloc = np.floor(quota).astype(int)
    alloc[np.argsort(-(quota - alloc))[: n - alloc.sum()]] += 1
    d = ((np.asarray(X) - km.cluster_centers_[labels]) ** 2).sum(axis=1)
    picks = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        picks.append(members[np.argsort(d[members])[: alloc[c]]])
    return np.concatenate(picks)


def variant(name: str) -> str:
    """Register the variant ``name`` (if it is a dflt-* name) and return it."""
    if name in available_strategies() or not name.startswith("dflt"):
        return name
    opts: dict = {}
    for part in name.split("-")[1:]:
        if part in SCORERS:
            opts["score"] = part
        elif m := re.fullmatch(r"c(\d+)", part):
            opts["candidates"] = int(m[1])
        elif m := re.fullmatch(r"k([\d.]+)", part):
            opts["cold_start_factor"] = float(m[1])
        elif m := re.fullmatch(r"r(\d+)", part):
            opts["random_share"] = int(m[1]) / 100
        elif part == "cr":
            opts["cold_random"] = True
        elif m := re.fullmatch(r"cp(\d+)", part):
            opts["cold_proportional"] = int(m[1])
        elif m := re.fullmatch(r"cm(\d+)", part):
            opts["cold_multiple"] = int(m[1])
        elif part == "ch":
            opts["cold_half"] = True
        elif m := re.fullmatch(r"cu(\d*)", part):
            opts["cold_top_share"] = int(m[1] or 50) / 100
        elif part == "cq":
            opts["cold_cluster_top"] = True
        elif m := re.fullmatch(r"id([\d.]+)", part):
            opts["density_beta"] = float(m[1])
        elif m := re.fullmatch(r"pw([\d.]+)", part):
            opts["power_beta"] = float(m[1])
        elif part == "bal":
            opts["balanced"] = True
        elif part in ("badge", "cal"):
            opts["after"] = part
        elif part == "cs":
            opts["cold_stratified"] = True
        elif m := re.fullmatch(r"d([\d.]+)", part):
            opts["diverse_until"] = float(m[1])
        else:
            raise SystemExit(f"cannot parse variant part {part!r} of {name!r}")
    register_strategy(name, lambda o=opts, n=name: composite(name=n, **o))
    return name


def option_variant(name: str, model: str, texts: list[str], task: str) -> str:
    """Register ``<strategy>@<option>=<value>[;<option>=<value>...]`` (see the module docstring) and return it;
    other names unchanged."""
    if "@" not in name:
        return name
    from labelwise.loop.pipeline import resolve_model
    from labelwise.strategies.registry import get_strategy

    base, _, assignments = name.partition("@")
    options = resolve_model(model, texts, task).strategy_options_for(base)
    for assignment in assignments.split(";"):
        key, sep, value = assignment.partition("=")
        if not sep:
            raise SystemExit(f"cannot parse option {assignment!r} of {name!r}: expected option=value")
        options[key] = json.loads(value)
    get_strategy(base, **options)  # a misspelt option fails here, before the run
    register_strategy(name, lambda: replace(get_strategy(base, **options), name=name))
    return name


def pseudo_label_variant(name: str, model: str, texts: list[str], task: str) -> str:
    """Register ``<strategy>+pl<T>w<W>`` (see the module docstring) and return it; other names unchanged."""
    m = re.fullmatch(r"(.+)\+pl(\d+)w(\d+)(?:r(\d+))?(?:m(\d+))?", name)
    if not m:
        return name
    from labelwise.loop.pipeline import resolve_model
    from labelwise.strategies.registry import get_strategy

    base = option_variant(m[1], model, texts, task) if "@" in m[1] else variant(m[1])
    options = resolve_model(model, texts, task).strategy_options_for(base)
    recipe = {"threshold": int(m[2]) / 100, "weight": int(m[3]) / 100,
              "max_ratio": None if m[4] is None else int(m[4]) / 100, "min_answers": int(m[5] or 0)}
    if recipe["threshold"] == 0:  # +pl0w0: no pseudo-labels (default as it was before them)
        recipe = None
    register_strategy(name, lambda: replace(get_strategy(base, **options), name=name, pseudo_labels=recipe))
    return name


def summarize(results: dict) -> list[str]:
    rand = np.asarray(results["curves"]["random"]["mean"])
    lines = [f"full {results['full_data_score']:.3f}  random@budget {rand[-1]:.3f}"]
    for name, c in results["curves"].items():
        gap = np.asarray(c["mean"]) - rand
        sv = results["savings"][name]["savings"]
        lines.append(f"{name:28s} savings {sv if sv is None else round(sv, 2)!s:>5}  auc {c['auc']:.4f}  "
                     f"worst gap {gap.min():+.3f} @ {c['labels'][int(gap.argmin())]}  "
                     f"gaps@100-400 {' '.join(f'{g * 100:+.1f}' for g in gap[1:8])}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--task", default="multiclass")
    ap.add_argument("--model", default="auto")
    ap.add_argument("--variants", default="margin,default")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--pool-size", type=int, default=6000)
    ap.add_argument("--model-options", default="{}", help="JSON, e.g. '{\"C\": 1}'")
    ap.add_argument("--featurizer-options", default="{}", help="JSON, e.g. '{\"tfidf_weight\": 2}'")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from labelwise.data import load_corpus
    from labelwise.simulate.engine import simulate

    kw = {"task": args.task, "require_labels": True}
    train = load_corpus(DATASETS / args.dataset / "train.jsonl", **kw)
    names = [pseudo_label_variant(v, args.model, train.texts, args.task) if "+" in v
             else option_variant(v, args.model, train.texts, args.task) if "@" in v else variant(v)
             for v in args.variants.split(",")]
    test = load_corpus(DATASETS / args.dataset / "test.jsonl", **kw)
    t0 = time.perf_counter()
    res = simulate(train, test, model=args.model, strategies=["random", *names], seeds=args.seeds,
                   pool_size=args.pool_size, model_options=json.loads(args.model_options),
                   featurizer_options=json.loads(args.featurizer_options))
    print(f"# {args.dataset} model={res['model']} opts={args.model_options} {time.perf_counter() - t0:.0f}s")
    print("\n".join(summarize(res)), flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())

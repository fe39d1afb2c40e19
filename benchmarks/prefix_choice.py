"""Can the labels tell which e5 prefix suits a task? How often labelwise's "auto" choice picks "query: ".

    python benchmarks/prefix_sets.py --out /tmp/prefix      # the derived sets, and links to the shared ones
    LABELWISE_DATASETS=/tmp/prefix OMP_NUM_THREADS=1 python benchmarks/prefix_choice.py [--labels 100] [--seeds 20]

Per dataset (pool sampled as ``simulate`` does) and seed: draw ``--labels`` random texts of the pool, and let
:func:`labelwise.loop.view_choice.choose_view` compare the centered e5 + TF-IDF views with each prefix by 5-fold
cross-validated log-loss on them, as :class:`~labelwise.loop.ActiveLearner` does at
:data:`~labelwise.loop.view_choice.PREFIX_CHOICE_AT` labels. Prints how many seeds chose "query: ", next to
which prefix had the larger area under random picking's learning curve in the tuning runs of
docs/label-efficiency.md ("The e5 prefix"), and appends the table to RESULTS.md ("e5 prefix choice").
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import datasets_dir, report

#: the prefix with the larger random-picking AUC per dataset (docs/label-efficiency.md, "The e5 prefix")
BETTER = {"sst2": "query", "mr": "query", "subj": "query", "chnsenticorp_htl": "query",
          "goemotions_sentiment": "query", "sms_spam": "passage", "agnews_business_scitech": "passage",
          "agnews_world_sports": "passage", "trec6": "passage", "ag_news": "passage",
          "thucnews_titles": "passage", "online_shopping_10cats": "passage"}


def query_share(name: str, labels: int, seeds: int, pool_size: int) -> int:
    """Seeds (of ``seeds``) whose ``labels`` random labels chose "query"."""
    from labelwise.data import load_corpus
    from labelwise.features import make_featurizer
    from labelwise.loop import e5_prefix_options, resolve_model
    from labelwise.loop.view_choice import choose_view
    from labelwise.simulate import pool_rows

    train = load_corpus(datasets_dir() / name / "train.jsonl", task="multiclass", require_labels=True)
    train = train.subset(pool_rows(len(train), pool_size))
    y = train.label_matrix()
    spec = resolve_model("e5-tfidf-lr", train.texts)
    views = {prefix: make_featurizer(spec.features, **e5_prefix_options(spec.features, prefix)).fit_transform(
        train.texts) for prefix in ("passage", "query")}
    picks = 0
    for seed in range(seeds):
        rows = np.random.default_rng(1000 + seed).choice(len(y), labels, replace=False)
        chosen, _ = choose_view({p: X[rows] for p, X in views.items()}, y[rows], n_classes=len(train.label_set),
                                classifier_options=spec.classifier_options, seed=seed)
        picks += chosen == "query"
    return picks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(BETTER))
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--pool-size", type=int, default=6000)
    ap.add_argument("--no-write", action="store_true", help="do not add an entry to RESULTS.md")
    args = ap.parse_args(argv)
    rows = ["| dataset | better prefix (random AUC) | seeds choosing query | majority right |", "|---|---|---:|---|"]
    right = 0
    names = [n for n in args.datasets.split(",") if n]
    for name in names:
        if not (datasets_dir() / name / "train.jsonl").is_file():
            sys.exit(f"dataset not found: {datasets_dir() / name} (the derived sets: benchmarks/prefix_sets.py)")
        picks = query_share(name, args.labels, args.seeds, args.pool_size)
        majority = "query" if 2 * picks > args.seeds else "passage"
        ok = majority == BETTER.get(name)
        right += ok
        rows.append(f"| {name} | {BETTER.get(name, '?')} | {picks} / {args.seeds} | {'yes' if ok else 'no'} |")
        print(rows[-1], flush=True)
    body = (f"{args.labels} random labels per seed, 5-fold cross-validated log-loss of e5-tfidf-lr with each "
            f"prefix; the majority of seeds chose the better prefix on {right} of {len(names)} datasets.\n\n"
            + "\n".join(rows))
    report(f"{len(names)} datasets, {args.labels} labels, {args.seeds} seeds", "prefix_choice.py", argv, body,
           section="## e5 prefix choice (labelwise.loop.view_choice)", write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())

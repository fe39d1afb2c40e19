"""How many labels per text a multi-label model predicts, relative to the labeled texts' cardinality.

    OMP_NUM_THREADS=1 python benchmarks/ml_readiness.py [--datasets goemotions,reuters21578_modapte] [--seeds 3]

This ratio drives the readiness gate of the multi-label ``default`` strategy
(``make_default_strategy(min_predicted_cardinality=...)``): below the threshold the batch is random. Protocol:
pool <= 6,000 (the simulate benchmarks' seeded sample), random labeled sets of 50..1000 texts, the model of
``--model auto``; the ratio is mean #(p > 0.5) over the rest of the pool / mean labels per labeled text.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import datasets_dir, report

SIZES = (50, 100, 200, 400, 1000)


def ratios(name: str, seeds: int) -> np.ndarray:
    from labelwise.data import load_corpus
    from labelwise.features import make_featurizer
    from labelwise.loop import resolve_model
    from labelwise.models import LinearModel
    from labelwise.simulate import pool_rows
    from labelwise.strategies.multilabel import predicted_cardinality

    train = load_corpus(datasets_dir() / name / "train.jsonl", task="multilabel", require_labels=True)
    train = train.subset(pool_rows(len(train), 6000))  # simulate's pool sample
    spec = resolve_model("auto", train.texts, "multilabel")
    X = make_featurizer(spec.features).fit_transform(train.texts)
    Y = train.label_matrix()
    out = np.zeros((seeds, len(SIZES)))
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(len(train))
        for j, n in enumerate(SIZES):
            lab, rest = order[:n], order[n:]
            model = LinearModel("multilabel", Y.shape[1], **spec.classifier_options).fit(X[lab], Y[lab])
            out[seed, j] = predicted_cardinality(model.predict_proba(X[rest])) / Y[lab].sum(1).mean()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="goemotions,reuters21578_modapte")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    lines = ["| dataset | " + " | ".join(f"{n} labels" for n in SIZES) + " |",
             "|---|" + "---:|" * len(SIZES)]
    for name in args.datasets.split(","):
        r = ratios(name, args.seeds)
        lines.append(f"| {name} | " + " | ".join(f"{m:.2f} ({lo:.2f}–{hi:.2f})" for m, lo, hi in
                                                  zip(r.mean(0), r.min(0), r.max(0), strict=True)) + " |")
        print(lines[-1], flush=True)
    lines.append(f"\nPredicted / labeled cardinality, mean (min–max) over {args.seeds} seeds of random labeled "
                 "sets; the multi-label `default` asks at random below 0.3.")
    report(f"{args.datasets}, {args.seeds} seeds", "ml_readiness.py", argv, "\n".join(lines),
           section="## Multi-label readiness (predicted vs labeled cardinality)", write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Derive imbalanced binary datasets from the shared ones, for testing ``default``'s imbalanced cold start.

    python benchmarks/imbalanced_sets.py --out /tmp/imbalanced
    LABELWISE_DATASETS=/tmp/imbalanced OMP_NUM_THREADS=1 python benchmarks/le_tune.py --dataset sst2_imb \
        --variants default,dflt-d4-cu,margin

Writes ``sst2_imb``, ``mr_imb``, ``subj_imb`` (all texts of the majority class, the positive / subjective class
subsampled to 15 % of each split, seed 7 per dataset) and ``agnews_sports`` (ag_news relabeled Sports vs ``other``, 25 %),
each with train.jsonl and test.jsonl, plus links to the shared datasets so the same folder serves both. The data
stay outside the repository (see each shared dataset's licence).

``--estimate-shares`` then prints, per dataset and seed, what ``default``'s imbalance rule looks at in the first
cold-start query of ``simulate``: the mean predicted probability of the smaller class over the pool, from the
``auto`` model fit on the 50 random initial labels (the engine's pool sample and initial rows).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from _common import datasets_dir

#: name: (shared dataset, minority label, its share after subsampling; None = relabel one-vs-rest instead)
DERIVED = {
    "sst2_imb": ("sst2", "positive", 0.15),
    "subj_imb": ("subj", "subjective", 0.15),
    "mr_imb": ("mr", "positive", 0.15),
    "agnews_sports": ("ag_news", "Sports", None),
}


def derive(base: Path, out: Path, minority: str, share: float | None, rng: random.Random) -> dict[str, Counter]:
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in ("train", "test"):
        rows = [json.loads(line) for line in (base / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
        if share is None:
            kept = [{"text": r["text"], "label": r["label"] if r["label"] == minority else "other"} for r in rows]
        else:
            rest = [r for r in rows if r["label"] != minority]
            pos = [r for r in rows if r["label"] == minority]
            k = int(len(rest) * share / (1 - share))
            kept = rest + rng.sample(pos, min(k, len(pos)))
            rng.shuffle(kept)
            kept = [{"text": r["text"], "label": r["label"]} for r in kept]
        tmp = out / f"{split}.jsonl.tmp"
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
        tmp.replace(out / f"{split}.jsonl")
        counts[split] = Counter(r["label"] for r in kept)
    return counts


ESTIMATE = ["sms_spam", "sst2_imb", "mr_imb", "subj_imb", "agnews_sports", "chnsenticorp_htl", "sst2", "mr", "subj"]


def estimate_shares(root: Path, names: list[str], seeds: int = 5, initial: int = 50, pool_size: int = 6000) -> None:
    import numpy as np

    from labelwise.data import load_corpus
    from labelwise.features import make_featurizer
    from labelwise.loop import resolve_model
    from labelwise.models.linear import LinearModel
    from labelwise.simulate import initial_rows, pool_rows

    for name in names:
        train = load_corpus(root / name / "train.jsonl", task="multiclass", require_labels=True)
        train = train.subset(pool_rows(len(train), pool_size))  # simulate's pool sample
        spec = resolve_model("auto", train.texts)
        X = make_featurizer(spec.features).fit(train.texts).transform(train.texts)
        y = train.label_matrix()
        shares = []
        for seed in range(seeds):
            rows = initial_rows(len(train), initial, seed)
            model = LinearModel("multiclass", len(train.label_set), **spec.classifier_options).fit(X[rows], y[rows])
            shares.append(float(model.predict_proba(X).mean(axis=0).min()))
        true_share = np.bincount(y, minlength=len(train.label_set)).min() / len(y)
        print(f"{name:18s} smaller class {true_share:.3f} of the pool; estimated after {initial} labels, seeds "
              f"0-{seeds - 1}: {' '.join(f'{v:.3f}' for v in shares)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder to write the derived datasets into")
    ap.add_argument("--estimate-shares", action="store_true",
                    help=f"then print the estimated smaller-class share of {', '.join(ESTIMATE)}")
    args = ap.parse_args(argv)
    shared = datasets_dir()
    for name, (base, minority, share) in DERIVED.items():
        rng = random.Random(7)  # per dataset: the same files on every run
        if not (shared / base / "train.jsonl").is_file():
            sys.exit(f"dataset not found: {shared / base} (set LABELWISE_DATASETS)")
        counts = derive(shared / base, args.out / name, minority, share, rng)
        print(name, {split: dict(c) for split, c in counts.items()})
    for entry in shared.iterdir():
        link = args.out / entry.name
        if entry.is_dir() and not link.exists():
            link.symlink_to(entry.resolve())
    if args.estimate_shares:
        estimate_shares(args.out, ESTIMATE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Derive datasets that separate "binary" from "sentiment" for the choice of multilingual-e5's input prefix.

    python benchmarks/prefix_sets.py --out /tmp/prefix
    LABELWISE_DATASETS=/tmp/prefix OMP_NUM_THREADS=1 python benchmarks/le_tune.py --dataset goemotions_sentiment \
        --model e5-tfidf-lr --variants default,margin --featurizer-options '{"embedding_options": {"mode": "query"}}'

On the shared single-label datasets the binary ones are sentiment or subjectivity sets (sst2, mr, subj,
chnsenticorp_htl; sms_spam is the exception) and the multi-class ones are topic or question-type sets. These
derived sets break that link:

- ``goemotions_sentiment``: a four-class sentiment set, GoEmotions texts whose emotion labels all fall in one
  of the paper's sentiment groups (positive, negative, ambiguous; ``neutral`` on its own), labeled by that group
  (Demszky et al. 2020, the grouping of the dataset's ``sentiment_mapping.json``).
- ``agnews_business_scitech``, ``agnews_world_sports``: binary topic sets, two of ag_news's four classes.

Each gets train.jsonl and test.jsonl, plus links to the shared datasets so the same folder serves both. The data
stay outside the repository (see each shared dataset's licence).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from _common import datasets_dir

SENTIMENT_GROUPS = {
    "positive": ["amusement", "excitement", "joy", "love", "desire", "optimism", "caring", "pride", "admiration",
                 "gratitude", "relief", "approval"],
    "negative": ["fear", "nervousness", "remorse", "embarrassment", "disappointment", "sadness", "grief", "disgust",
                 "anger", "annoyance", "disapproval"],
    "ambiguous": ["realization", "surprise", "curiosity", "confusion"],
    "neutral": ["neutral"],
}
GROUP_OF = {emotion: group for group, emotions in SENTIMENT_GROUPS.items() for emotion in emotions}
AG_NEWS_PAIRS = {"agnews_business_scitech": ("Business", "Sci/Tech"), "agnews_world_sports": ("World", "Sports")}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(out: Path, split: str, rows: list[dict]) -> Counter:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{split}.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(out / f"{split}.jsonl")
    return Counter(r["label"] for r in rows)


def sentiment_rows(rows: list[dict]) -> list[dict]:
    """GoEmotions records whose labels all map to one sentiment group, labeled by the group."""
    kept = []
    for r in rows:
        groups = {GROUP_OF[label] for label in r["labels"]}
        if len(groups) == 1:
            kept.append({"text": r["text"], "label": groups.pop()})
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder to write the derived datasets into")
    args = ap.parse_args(argv)
    shared = datasets_dir()
    for base in ("goemotions", "ag_news"):
        if not (shared / base / "train.jsonl").is_file():
            sys.exit(f"dataset not found: {shared / base} (set LABELWISE_DATASETS)")
    for split in ("train", "test"):
        counts = _write(args.out / "goemotions_sentiment", split,
                        sentiment_rows(_rows(shared / "goemotions" / f"{split}.jsonl")))
        print("goemotions_sentiment", split, dict(counts))
        ag = _rows(shared / "ag_news" / f"{split}.jsonl")
        for name, pair in AG_NEWS_PAIRS.items():
            counts = _write(args.out / name, split,
                            [{"text": r["text"], "label": r["label"]} for r in ag if r["label"] in pair])
            print(name, split, dict(counts))
    for entry in shared.iterdir():
        link = args.out / entry.name
        if entry.is_dir() and not link.exists():
            link.symlink_to(entry.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which featurizer for a language: logistic-regression accuracy of tfidf / minilm / e5 features on one dataset.

One command (appends a dated entry to benchmarks/RESULTS.md, section "Featurizer choice"):

    python benchmarks/featurizer_choice.py [--dataset thucnews_titles] [--train 3000] [--test 2000]
        [--labels 1000] [--seeds 3] [--featurizers tfidf,minilm,e5] [--threads 1] [--no-write]

Train/test are seeded samples of the dataset's own splits. Reported per featurizer and C: accuracy of LR
trained on the whole train sample ("full") and on ``--labels`` random train texts (mean ± std over seeds;
the regime active learning works in). TF-IDF is fitted on the train sample's texts (unsupervised).
Embeddings go through labelwise's on-disk cache, so a rerun embeds nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _common import datasets_dir, report

SECTION = "## Featurizer choice (features: default_featurizer_for)"


def load_split(name: str, split: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    import numpy as np

    path = datasets_dir() / name / f"{split}.jsonl"
    if not path.is_file():
        sys.exit(f"dataset not found: {path} (set LABELWISE_DATASETS)")
    recs = [json.loads(line) for line in path.open(encoding="utf-8")]
    idx = np.random.default_rng(seed).permutation(len(recs))[:n]
    return [recs[i]["text"] for i in idx], [recs[i]["label"] for i in idx]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="thucnews_titles")
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--labels", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--featurizers", default="tfidf,minilm,e5")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from labelwise.features import cjk_share, default_featurizer_for, make_featurizer

    xtr, ytr = load_split(args.dataset, "train", args.train, seed=0)
    xte, yte = load_split(args.dataset, "test", args.test, seed=1)
    ytr, yte = np.array(ytr), np.array(yte)
    rows = []
    for name in args.featurizers.split(","):
        opts = {} if name == "tfidf" else {"threads": args.threads}
        f = make_featurizer(name, **opts)
        t0 = time.perf_counter()
        Xtr = f.fit_transform(xtr)
        embedded = f.last_stats.get("embedded", 0) if hasattr(f, "last_stats") else None
        Xte = f.transform(xte)
        secs = time.perf_counter() - t0
        if embedded is not None:
            embedded += f.last_stats.get("embedded", 0)
        for C in (1.0, 10.0):
            full = LogisticRegression(C=C, max_iter=2000).fit(Xtr, ytr).score(Xte, yte)
            few = []
            for s in range(args.seeds):
                pick = np.random.default_rng(100 + s).permutation(len(xtr))[:args.labels]
                few.append(LogisticRegression(C=C, max_iter=2000).fit(Xtr[pick], ytr[pick]).score(Xte, yte))
            rows.append((name, C, full, float(np.mean(few)), float(np.std(few)), secs, embedded))
            print(rows[-1], flush=True)

    lines = [f"| featurizer | C | acc. full ({len(xtr)} labels) | acc. {args.labels} random labels (mean ± std) "
             "| featurize s (train+test) | texts embedded (others from cache) |", "|---|---:|---:|---:|---:|---:|"]
    for name, C, full, m, s, secs, emb in rows:
        lines.append(f"| {name} | {C:g} | {full:.3f} | {m:.3f} ± {s:.3f} | {secs:.0f} | {'–' if emb is None else emb} |")
    title = f"{args.dataset}, train sample {len(xtr)}, test sample {len(xte)}, {args.seeds} seeds"
    body = (f"CJK share {cjk_share(xtr):.2f}; `default_featurizer_for` -> `{default_featurizer_for(xtr)}`\n\n"
            + "\n".join(lines))
    report(title, "featurizer_choice.py", argv, body, section=SECTION, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

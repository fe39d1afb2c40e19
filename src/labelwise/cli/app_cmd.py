"""`labelwise new | serve | export | demo`: the annotation app's commands (thin wrappers over
:mod:`labelwise.server`)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from labelwise.cli._args import E5_PREFIX_SETTINGS, whole_number

TASK_CHOICES = ("multiclass", "multilabel", "ner")


def _label_list(value: str) -> list[str]:
    labels = [v.strip() for v in value.split(",") if v.strip()]
    if not labels:
        raise argparse.ArgumentTypeError(f"expected comma-separated labels like pos,neg, got {value!r}")
    return labels


def _descriptions(value: str | None, labels: list[str]) -> dict[str, str]:
    """``--descriptions`` is a JSON file {label: text}, or inline ``label=text;label=text``."""
    if not value:
        return {}
    path = Path(value)
    if path.exists():
        out = json.loads(path.read_text(encoding="utf-8"))
    else:
        out = dict(part.split("=", 1) for part in value.split(";") if "=" in part)
    unknown = sorted(set(out) - set(labels))
    if unknown:
        raise SystemExit(f"labelwise: error: descriptions for labels not in --labels: {unknown}")
    return {str(k).strip(): str(v).strip() for k, v in out.items()}


def register(subparsers) -> None:
    p = subparsers.add_parser("new", help="create an annotation project from a data file",
                              description="Validate the data file, then create PROJECT/ with its database "
                                          "and every text imported in one transaction (a bad file leaves "
                                          "nothing behind).")
    p.add_argument("project", type=Path, help="project folder to create")
    p.add_argument("--data", required=True, help="texts to label (JSONL, CSV, TSV or Parquet)")
    p.add_argument("--task", choices=TASK_CHOICES, default="multiclass")
    p.add_argument("--labels", required=True, type=_label_list,
                   help="comma-separated label set, e.g. pos,neg (entity types for --task ner, e.g. PER,LOC,ORG)")
    p.add_argument("--descriptions", help="label descriptions: a JSON file {label: text} or 'a=...;b=...'")
    p.add_argument("--db", help="SQLAlchemy database URL (default: sqlite file PROJECT/labelwise.db)")
    p.add_argument("--model", default="auto",
                   help="auto | tfidf-lr | minilm-lr | e5-lr | minilm-tfidf-lr | e5-tfidf-lr (default: auto, by "
                        "language and task); NER: auto | crf")
    p.add_argument("--strategy", default="default", help="query strategy name (default: labelwise's default)")
    p.add_argument("--e5-prefix", choices=E5_PREFIX_SETTINGS, default=None,
                   help="the prefix multilingual-e5 reads each text behind, for models with an e5 part (auto for "
                        "single-label text, e5-lr, e5-tfidf-lr). auto (the default for single-label projects): "
                        "passage until 100 answers, then the prefix with the lower cross-validated log-loss on "
                        "them; query did better on sentiment labels, passage on topic labels "
                        "(docs/label-efficiency.md)")
    p.add_argument("--retrain-every", type=whole_number(1), default=10,
                   help="retrain after this many answers (default 10)")
    p.add_argument("--first-round-sample", type=whole_number(0), default=5000,
                   help="on a larger pool, the first model round ranks a random sample of this many texts, then "
                        "the trainer ranks the whole pool (default 5000; 0: the whole pool from the start)")
    p.add_argument("--answers-per-text", type=whole_number(1), default=1, metavar="K",
                   help="annotators who answer each text before it leaves the queue (default 1; 2 or more give "
                        "overlap for agreement, consensus and annotator quality in the label review)")
    p.add_argument("--text-field", default=None)
    p.add_argument("--label-field", default=None)
    p.add_argument("--id-field", default="id")
    p.add_argument("--import-labels", action="store_true",
                   help="keep labels found in the data file as answers (default: start unlabeled)")
    p.set_defaults(handler=cmd_new)

    p = subparsers.add_parser("serve", help="start the annotation app for a project",
                              description="Serve the labeling UI and API. Bound to 127.0.0.1 by default; on any "
                                          "other address every API route but login needs an annotator token.")
    p.add_argument("project", type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--add-annotator", action="append", default=[], metavar="NAME",
                   help="create annotator NAME (or give it a new token) and print its token; repeatable")
    p.add_argument("--trainer", choices=("process", "thread", "off"), default="process",
                   help="where the model retrains in the background (default: a separate process)")
    p.add_argument("--require-token", action="store_true", help="require tokens even on 127.0.0.1")
    p.add_argument("--synchronous", choices=("normal", "full"), default="normal",
                   help="SQLite durability (WAL mode). normal (default): an acknowledged label survives a crash "
                        "or kill -9 of the server, the last commits can be lost on power loss or an OS crash; "
                        "full: fsync at every commit, survives power loss too, slower per label")
    p.set_defaults(handler=cmd_serve)

    p = subparsers.add_parser("settings", help="show or change a project's model settings",
                              description="Without options: print the project's settings. With options: check "
                                          "them against the project's texts as `new` does, then write them; a "
                                          "running `labelwise serve` takes them up when restarted.")
    p.add_argument("project", type=Path)
    p.add_argument("--model", help="auto | tfidf-lr | minilm-lr | e5-lr | minilm-tfidf-lr | e5-tfidf-lr; NER: auto | crf")
    p.add_argument("--strategy", help="query strategy name (default: labelwise's default)")
    p.add_argument("--e5-prefix", choices=E5_PREFIX_SETTINGS,
                   help="the prefix e5 reads each text behind (see `new`; auto: the default)")
    p.add_argument("--retrain-every", type=whole_number(1), help="retrain after this many answers")
    p.set_defaults(handler=cmd_settings)

    p = subparsers.add_parser("export", help="write a project's labels to a file",
                              description="Export the current answers (one per labeled text). Written "
                                          "atomically; the server may keep running.")
    p.add_argument("project", type=Path)
    p.add_argument("--format", choices=("jsonl", "csv", "label-studio", "doccano", "answers"), default="jsonl",
                   help="answers: every annotator's current answer, one JSON line each (the others: one record per text)")
    p.add_argument("--out", type=Path, help="output file (default: PROJECT/export/labels.<ext>)")
    p.set_defaults(handler=cmd_export)

    p = subparsers.add_parser("demo", help="try the app on a small bundled sample (English and Chinese)",
                              description="Create a project from the bundled sample texts and serve it.")
    p.add_argument("--lang", choices=("en", "zh", "both"), default="both")
    p.add_argument("--dir", type=Path, help="project folder (default: a new temporary folder)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(handler=cmd_demo)


def cmd_new(args: argparse.Namespace) -> int:
    from labelwise.server.project import create_project

    try:
        store = create_project(
            args.project, args.data, task=args.task, labels=args.labels,
            descriptions=_descriptions(args.descriptions, args.labels), db_url=args.db,
            text_field=args.text_field, label_field=args.label_field, id_field=args.id_field,
            import_labels=args.import_labels,
            settings={"model": args.model, "strategy": args.strategy, "retrain_every": args.retrain_every,
                      "first_round_sample": args.first_round_sample,
                      "answers_per_text": args.answers_per_text,
                      **({"e5_prefix": args.e5_prefix} if args.e5_prefix else {})})
    except (FileExistsError, ValueError) as err:
        from labelwise.data import DataError

        if isinstance(err, DataError):
            raise
        print(f"labelwise: error: {err}", file=sys.stderr)
        return 2
    print(f"created {args.project}: {store.n_items} texts, labels {', '.join(store.project.labels)}, "
          f"{store.n_labeled} already labeled")
    print(f"next: labelwise serve {args.project}")
    store.close()
    return 0


def _open(project: Path, **options):
    """The project's store, or None after printing why it cannot be opened."""
    from labelwise.server.project import open_project

    try:
        return open_project(project, **options)
    except FileNotFoundError as err:
        print(f"labelwise: error: {err}", file=sys.stderr)
        return None


def cmd_serve(args: argparse.Namespace) -> int:
    from labelwise.server.project import LOOPBACK, serve

    store = _open(args.project, synchronous=args.synchronous.upper())
    if store is None:
        return 2
    for name in args.add_annotator:
        _, token = store.add_annotator(name)
        print(f"annotator {name}: token {token}")
    require = args.require_token or args.host not in LOOPBACK
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"labelwise: {store.project.name} ({store.n_labeled}/{store.n_items} labeled) at http://{shown}:{args.port}/"
          + ("  (tokens required)" if require else ""), flush=True)
    serve(store, host=args.host, port=args.port, trainer_mode=args.trainer, require_token=require)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from labelwise.server.export import EXTENSIONS, export_project

    store = _open(args.project)
    if store is None:
        return 2
    out = args.out or args.project / "export" / f"labels{EXTENSIONS[args.format]}"
    path, n = export_project(store, args.format, out)
    store.close()
    print(f"wrote {n} labeled texts to {path}")
    return 0


def _shown(key: str, value):
    """A setting as `settings` prints it: an unset e5 prefix is the default, auto."""
    return "auto" if key == "e5_prefix" and value is None else value


def cmd_settings(args: argparse.Namespace) -> int:
    from labelwise.server.project import change_settings

    store = _open(args.project)
    if store is None:
        return 2
    try:
        changes = {"model": args.model, "strategy": args.strategy, "retrain_every": args.retrain_every,
                   "e5_prefix": args.e5_prefix}
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes.get("e5_prefix") == "auto":
            changes["e5_prefix"] = None  # the default: no setting stored
        before = dict(store.project.settings)
        try:
            after = change_settings(store, changes) if changes else before
        except ValueError as err:
            print(f"labelwise: error: {err}", file=sys.stderr)
            return 2
        for key in sorted(set(before) | set(after)):
            old, new = (_shown(key, before.get(key)), _shown(key, after.get(key)))
            print(f"{key}: {new}" if old == new else f"{key}: {old} -> {new}")
        if changes:
            print("a running `labelwise serve` of this project keeps its old settings until restarted")
        return 0
    finally:
        store.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from labelwise.demo import demo_records
    from labelwise.server.project import PROJECT_FILE, create_project, open_project, serve

    directory = args.dir or Path(tempfile.mkdtemp(prefix="labelwise-demo-"))
    if (directory / PROJECT_FILE).exists():
        store = open_project(directory)
    else:
        records, labels, descriptions = demo_records(args.lang)
        store = create_project(directory, records, task="multiclass", labels=labels, descriptions=descriptions,
                               name=f"demo-{args.lang}", settings={"retrain_every": 5})
    print(f"labelwise demo: {store.n_items} texts ({args.lang}) in {directory}")
    print(f"open http://{args.host}:{args.port}/ in a browser (Ctrl+C stops; resume with "
          f"`labelwise demo --dir {directory}`)", flush=True)
    serve(store, host=args.host, port=args.port)
    return 0

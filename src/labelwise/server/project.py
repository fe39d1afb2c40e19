"""A project on disk: a folder holding ``project.json`` (which database) and, by default, the SQLite file.

``create_project`` is what ``labelwise new`` calls; ``open_project`` what ``serve`` and ``export`` call;
``serve`` runs the app with its background trainer under uvicorn.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelwise.server import db
from labelwise.server.store import Store

PROJECT_FILE = "project.json"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def project_url(project_dir: str | os.PathLike) -> str:
    """The database URL of the project in ``project_dir``."""
    path = Path(project_dir)
    meta = path / PROJECT_FILE
    if not meta.exists():
        raise FileNotFoundError(f"{path} is not a labelwise project (no {PROJECT_FILE}); create it with "
                                f"`labelwise new {path} --data FILE --labels ...`")
    url = json.loads(meta.read_text(encoding="utf-8")).get("db")
    return url or db.default_url(path)


def create_project(project_dir: str | os.PathLike, data: str | os.PathLike | Any, *, task: str = "multiclass",
                   labels: Sequence[str], descriptions: dict[str, str] | None = None, db_url: str | None = None,
                   text_field: str | None = None, label_field: str | None = None, id_field: str = "id",
                   import_labels: bool = False, name: str | None = None,
                   settings: dict[str, Any] | None = None) -> Store:
    """Validate ``data`` with the core loader, then create the database and import every text in one
    transaction. On any error nothing is left behind (no database, no project folder we created)."""
    from labelwise.data import load_corpus

    path = Path(project_dir)
    if (path / PROJECT_FILE).exists():
        raise FileExistsError(f"{path} already holds a labelwise project")
    if task == "ner":  # tokens/tags or text/spans records (labelwise.server.spans)
        from labelwise.server.spans import check_ner_settings, load_ner_corpus

        check_ner_settings(settings or {})
        corpus = load_ner_corpus(data, labels=list(labels), text_field=text_field, label_field=label_field,
                                 id_field=id_field)
    else:
        corpus = load_corpus(data, task=task, labels=list(labels), text_field=text_field,
                             label_field=label_field, id_field=id_field, require_labels=False)
        check_model_settings(settings or {}, corpus)
    created_dir = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    url = db_url or db.default_url(path)
    try:
        store = Store.create(url, corpus, name=name or path.resolve().name, labels=labels,
                             descriptions=descriptions, settings=settings, import_labels=import_labels)
        tmp = path / f".{PROJECT_FILE}.tmp"
        tmp.write_text(json.dumps({"db": db_url, "task": task}, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path / PROJECT_FILE)
    except BaseException:
        if db_url is None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(path / db.DB_FILENAME) + suffix).unlink(missing_ok=True)
        if created_dir:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return store


def check_model_settings(settings: dict[str, Any], corpus: Any) -> None:
    """Refuse a model, strategy or e5 prefix a classification project cannot use, at creation rather than at
    the first retraining (ValueError)."""
    from labelwise.loop import e5_prefix_options, resolve_model
    from labelwise.strategies.registry import available_strategies

    spec = resolve_model(settings.get("model", "auto"), corpus.texts, corpus.task)
    strategy = settings.get("strategy", "default")
    if strategy not in available_strategies(corpus.task):
        raise ValueError(f"unknown {corpus.task} strategy {strategy!r}; expected one of "
                         f"{', '.join(available_strategies(corpus.task))}")
    if settings.get("e5_prefix") is not None:
        e5_prefix_options(spec.features, settings["e5_prefix"])


def open_project(project_dir: str | os.PathLike, **options: Any) -> Store:
    return Store(project_url(project_dir), **options)


def serve(store: Store, *, host: str = "127.0.0.1", port: int = 8000, trainer_mode: str = "process",
          require_token: bool | None = None, log_level: str = "warning") -> None:
    """Run the app until interrupted. Any bind address but loopback requires tokens."""
    import uvicorn

    from labelwise.server.app import create_app
    from labelwise.server.review import ReviewQueue
    from labelwise.server.trainer import Trainer

    local = host in LOOPBACK
    if require_token is None:
        require_token = not local
    trainer = Trainer(store, mode=trainer_mode).start()
    allowed = ("127.0.0.1", "localhost", "[::1]") if local else None
    review = ReviewQueue(store, mode="thread" if trainer_mode == "thread" else "process")
    app = create_app(store, trainer=trainer, require_token=require_token, allowed_hosts=allowed, review=review)
    # The pool's texts and the app live as long as the process: keep them out of the cyclic garbage
    # collector, whose full passes over them (~100 ms for a 50k-text project) stalled random requests.
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        trainer.stop()
        review.stop()
        store.close()

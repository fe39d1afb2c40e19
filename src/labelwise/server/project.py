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
        check_model_settings(settings or {}, corpus.texts, task)
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


def check_model_settings(settings: dict[str, Any], texts: Sequence[str], task: str, *,
                         spec: Any = None) -> None:
    """Refuse a model, strategy or e5 prefix a classification project cannot use, at creation rather than at
    the first retraining (ValueError). ``spec``: the settings' model already resolved for these texts."""
    from labelwise.loop import resolve_model
    from labelwise.loop.pipeline import plan_e5_prefix
    from labelwise.strategies.registry import available_strategies

    spec = spec or resolve_model(settings.get("model", "auto"), texts, task)
    strategy = settings.get("strategy", "default")
    if strategy not in available_strategies(task):
        raise ValueError(f"unknown {task} strategy {strategy!r}; expected one of "
                         f"{', '.join(available_strategies(task))}")
    plan_e5_prefix(spec.features, task, settings.get("e5_prefix"))
    retrain_every = settings.get("retrain_every", 1)
    if isinstance(retrain_every, bool) or not isinstance(retrain_every, int) or retrain_every < 1:
        raise ValueError(f"retrain_every must be a whole number >= 1, got {retrain_every!r}")


#: the settings :func:`change_settings` may change on an existing project (the others shape its queue or ids)
CHANGEABLE_SETTINGS = ("model", "strategy", "e5_prefix", "retrain_every")


def change_settings(store: Store, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate ``changes`` against the project's texts and task as creation would, then write them; returns
    the new settings. A value None goes back to the default (``e5_prefix``: none set). ValueError, nothing
    written, for a name outside :data:`CHANGEABLE_SETTINGS` or a value the project cannot use. The trainer
    reads these settings when a server starts: a running ``labelwise serve`` keeps the old ones."""
    from labelwise.server.store import DEFAULT_SETTINGS

    unknown = sorted(set(changes) - set(CHANGEABLE_SETTINGS))
    if unknown:
        raise ValueError(f"cannot change {', '.join(unknown)} of an existing project; changeable: "
                         f"{', '.join(CHANGEABLE_SETTINGS)}")
    resolved = {k: DEFAULT_SETTINGS.get(k) if v is None else v for k, v in changes.items()}
    merged = {**store.project.settings, **resolved}
    merged = {k: v for k, v in merged.items() if v is not None}
    task = store.project.task
    if task == "ner":
        from labelwise.server.spans import check_ner_settings

        if merged.get("e5_prefix") is not None:
            raise ValueError("an NER project's CRF tagger has no e5 part; an e5 prefix does not apply")
        check_ner_settings(merged)
    else:
        from labelwise.loop import resolve_model
        from labelwise.loop.pipeline import has_e5_part

        texts = store.texts()
        spec = resolve_model(merged.get("model", "auto"), texts, task)  # one pass over the texts (auto: language)
        kept = store.project.settings.get("e5_prefix")
        if kept is not None and "e5_prefix" not in changes and not has_e5_part(spec.features):
            raise ValueError(f"model {merged['model']!r} has no e5 part, and this project's e5 prefix is {kept!r}: "
                             "set it back to auto (e5_prefix None) with the new model")
        check_model_settings(merged, texts, task, spec=spec)
    return store.update_settings(resolved)


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

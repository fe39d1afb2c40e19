"""The project store: every read and write of a project database, and the labeling queue.

One ``Store`` per server process. Writes go through one in-process lock (SQLite admits one writer anyway)
and every method that changes state commits before it returns, so whatever the HTTP layer acknowledges is
on disk. In-memory caches (which texts are labeled, leased, skipped) mirror the database and are updated
only after a commit succeeds; the database constraints (one lease per item, one current label per item and
annotator) stay the final guard. Other server processes on the same database write behind these caches'
backs, so a text is served only after one indexed query in the leasing transaction finds no current answer
and no skip by this annotator for it (see ``Store._still_open``).

The queue is: the latest ranking from the background trainer (swapped atomically by :meth:`set_ranking`),
then a seeded random order of the whole pool, so the next text is always available, model or not.

The hot path (submit an answer and lease the next text; fetch the next text) uses SQLAlchemy Core statements
built once, on one connection, in one transaction: no ORM unit of work per request, and the next lease is
one upsert that also takes over an expired lease (``INSERT .. ON CONFLICT DO UPDATE .. WHERE expired``, on
SQLite and PostgreSQL).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    Connection,
    DateTime,
    Float,
    Select,
    Text,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from labelwise.data import Corpus, DataError
from labelwise.server import db
from labelwise.server.tables import Annotator, Item, Label, Lease, ModelRun, Project, Review, Skip

DEFAULT_SETTINGS: dict[str, Any] = {
    "model": "auto",
    "strategy": "default",
    "retrain_every": 10,
    "refit": "scratch",
    "seed": 0,
    "lease_seconds": 600,
    "ranked_size": 100,
    # the trainer's first round ranks a random sample of this many unlabeled texts (and the labeled ones) when
    # the pool is larger, then starts a round over the whole pool: a large project gets a model-ranked queue
    # after embedding thousands of texts instead of the whole pool (0: always the whole pool)
    "first_round_sample": 5000,
    # how many annotators answer each text before it leaves the queue (2+: overlap for agreement and the
    # review's consensus / annotator quality); a started text is served to the others before fresh ones
    "answers_per_text": 1,
}


class StoreError(Exception):
    """A request the store refuses; ``status`` is the HTTP status the app answers with."""

    status = 400


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    status = 409


class InvalidLabel(StoreError):
    status = 422


#: the longest annotator name (the column holds 200 characters)
MAX_NAME = 200


def check_name(name: str) -> str:
    """The stripped annotator name, or InvalidLabel (422) saying what is wrong with it."""
    name = name.strip()
    if not name:
        raise InvalidLabel("give a name to log in")
    if len(name) > MAX_NAME:
        raise InvalidLabel(f"a name can be at most {MAX_NAME} characters long")
    return name


def utcnow() -> datetime:
    """Naive UTC (what SQLite's DateTime stores)."""
    return datetime.now(UTC).replace(tzinfo=None)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class ProjectInfo:
    name: str
    task: str
    labels: list[str]
    descriptions: dict[str, str]
    settings: dict[str, Any]
    secret: str = field(repr=False)


@dataclass
class _Ranking:
    """What the trainer produced, swapped in as one object: ranked item ids, and per-item probabilities
    (rows aligned with ``Store.item_ids``) for suggestions."""

    order: list[int]
    proba: np.ndarray | None = None
    version: int = 0
    n_labels: int = 0


class Store:
    """A project's database plus the labeling queue. See the module docstring."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL", lease_seconds: float | None = None):
        self.url = url
        wal = url.startswith("sqlite") and url not in ("sqlite://", "sqlite:///:memory:")
        # WAL checkpoints from a background thread, never inside a request's commit (see db.py)
        self.engine = db.make_engine(url, synchronous=synchronous, autocheckpoint=not wal)
        if not db.has_schema(self.engine):
            self.engine.dispose()
            raise FileNotFoundError(f"no labelwise project in {url} (create one with `labelwise new`)")
        self._checkpointer = db.Checkpointer(self.engine).start() if wal else None
        db.migrate(self.engine)  # no-op when already at head; upgrades an older project
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        # write transactions that read first (undo, annotators, review actions): see db.writer
        self._write_session = sessionmaker(db.writer(self.engine), expire_on_commit=False)
        self._lock = threading.RLock()
        self.listeners: list[Callable[[int], None]] = []  # called with the number of labels after a change
        with self._session() as s:
            row = s.scalars(select(Project)).one()
            self.project = ProjectInfo(row.name, row.task, list(row.labels), dict(row.descriptions or {}),
                                       {**DEFAULT_SETTINGS, **(row.settings or {})}, row.secret)
            rows = s.execute(select(Item.id, Item.key, Item.text, Item.tokens).order_by(Item.position)).all()
        ids = [r[0] for r in rows]
        # texts stay in memory (50k texts: a few MB) so serving the next one needs no extra query
        self._items: dict[int, tuple[str, str, list | None]] = {r[0]: (r[1], r[2], r[3]) for r in rows}
        self.lease_seconds = float(lease_seconds or self.project.settings["lease_seconds"])
        self.answers_per_text = max(1, int(self.project.settings.get("answers_per_text") or 1))
        self.item_ids: list[int] = list(ids)
        self._row_of = {pk: i for i, pk in enumerate(self.item_ids)}
        rng = np.random.default_rng(int(self.project.settings["seed"]))
        self._order = [self.item_ids[i] for i in rng.permutation(len(self.item_ids))]
        # the fallback order; labeled texts behind the cursor are dropped from it as the queue passes them
        # (rewinding the cursor to 0 restores the full order: see _candidates)
        self._fallback = list(self._order)
        self._fallback_cursor = 0
        # overlap only: per annotator, the fallback prefix they can never be served again (texts complete, theirs
        # or skipped by them), so one annotator far ahead of the others does not rescan their own answers
        self._own_cursor: dict[int, int] = {}
        self._names: dict[int, str] = {}  # annotator id -> name (names never change)
        self._lease_upsert = _lease_upsert(self.engine.dialect.name)
        self._ranking = _Ranking(order=[])
        self._load_caches()
        last = self.last_run(with_ranking=True)
        if last is not None and last.get("ranking"):
            self._ranking = _Ranking(order=[int(i) for i in last["ranking"]], version=last["id"],
                                     n_labels=last["n_labels"])

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Write ``changes`` into the project's settings (a value None removes the key) and return them all.
        Callers validate first (:func:`labelwise.server.project.change_settings`); this store's own queue
        settings (lease, overlap, seed) are read at open, so a running server keeps its values until restarted."""
        with self._lock, self._write_session.begin() as s:
            row = s.scalars(select(Project)).one()
            settings = {**(row.settings or {}), **changes}
            settings = {k: v for k, v in settings.items() if v is not None}
            row.settings = settings
        self.project.settings = {**DEFAULT_SETTINGS, **settings}
        return dict(self.project.settings)

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, url: str, corpus: Corpus, *, name: str, labels: Sequence[str],
               descriptions: dict[str, str] | None = None, settings: dict[str, Any] | None = None,
               import_labels: bool = False, synchronous: str = "FULL") -> Store:
        """Create the schema and import ``corpus`` in ONE transaction: a failure leaves no project behind.

        ``import_labels`` keeps the labels present in the corpus (as answers by the annotator "import");
        otherwise they are ignored and every text starts unlabeled.
        """
        if corpus.task not in ("multiclass", "multilabel", "ner"):
            raise ValueError(f"the app labels 'multiclass', 'multilabel' and 'ner' projects; got {corpus.task!r}")
        labels = [str(label) for label in labels]
        if len(labels) < 2 and corpus.task == "multiclass":
            raise ValueError(f"a multiclass project needs at least 2 labels, got {labels}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels repeat: {labels}")
        unknown = set(descriptions or {}) - set(labels)
        if unknown:
            raise ValueError(f"descriptions given for labels not in the label set: {sorted(unknown)}")
        overlap = (settings or {}).get("answers_per_text", 1)
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 1:
            raise ValueError(f"answers_per_text must be a whole number >= 1, got {overlap!r}")
        keys = [str(i) for i in corpus.ids]
        # ids are stored as text; exports give integer ids (given, or line numbers) back as integers
        id_type = "int" if all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in corpus.ids) \
            else "str"
        if len(set(keys)) != len(keys):
            raise DataError("duplicate ids (after converting them to text)", source=corpus.source)
        engine = db.make_engine(url, synchronous=synchronous)
        try:
            if db.has_schema(engine):
                raise FileExistsError(f"{url} already holds a labelwise project")
            now = utcnow()
            with engine.begin() as conn:
                from alembic import command
                from alembic.config import Config

                cfg = Config(str(db.ALEMBIC_INI))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.execute(insert(Project), [{
                    "name": name, "task": corpus.task, "labels": labels,
                    "descriptions": dict(descriptions or {}),
                    "settings": {**DEFAULT_SETTINGS, **(settings or {}), "id_type": id_type},
                    "secret": secrets.token_hex(32), "created_at": now}])
                rows = [{"key": key, "text": text, "position": i,
                         "tokens": None if corpus.tokens is None else list(corpus.tokens[i]), "meta": None}
                        for i, (key, text) in enumerate(zip(keys, corpus.texts, strict=True))]
                for start in range(0, len(rows), 5000):
                    conn.execute(insert(Item), rows[start:start + 5000])
                if import_labels and corpus.labels is not None:
                    conn.execute(insert(Annotator), [{"name": "import", "token_hash": None, "role": "import",
                                                      "created_at": now}])
                    importer = conn.execute(select(Annotator.id).where(Annotator.name == "import")).scalar_one()
                    pk = dict(conn.execute(select(Item.key, Item.id)).all())
                    if corpus.task == "multilabel":  # canonical form, as validate() stores answers
                        values = [None if v is None else [label for label in labels if label in set(v)]
                                  for v in corpus.labels]
                    else:
                        values = list(corpus.labels)
                    answers = [{"item_id": pk[key], "annotator_id": importer, "value": value,
                                "created_at": now, "is_current": True, "source": "import"}
                               for key, value in zip(keys, values, strict=True) if value is not None]
                    if answers:
                        conn.execute(insert(Label), answers)
        finally:
            engine.dispose()
        return cls(url, synchronous=synchronous)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    # -------------------------------------------------------------- caches
    def _load_caches(self) -> None:
        now = utcnow()
        with self._session() as s:
            self._labeled: set[int] = set(s.scalars(select(Label.item_id).where(Label.is_current)).all())
            # texts that left the queue: with one answer per text the labeled set itself; with overlap those
            # answered by answers_per_text people, and per annotator the texts they answered (``_mine``); texts
            # with some answers but not all (``_started``, oldest first) are served before fresh ones. "Answered"
            # counts every answer not taken back: one a reviewer changed still counts for its author
            self._mine: dict[int, set[int]] = {}
            self._answer_counts: dict[int, int] = {}
            if self.answers_per_text == 1:
                self._done = self._labeled
                self._started: dict[int, None] = {}
            else:
                answers = s.execute(select(Label.item_id, Label.annotator_id).where(Label.retracted_at.is_(None))
                                    .order_by(Label.id)).all()
                for item_id, annotator_id in answers:  # oldest first: _answer_counts in first-answer order
                    mine = self._mine.setdefault(annotator_id, set())
                    if item_id not in mine:
                        mine.add(item_id)
                        self._answer_counts[item_id] = self._answer_counts.get(item_id, 0) + 1
                self._done = {i for i, c in self._answer_counts.items() if c >= self.answers_per_text}
                self._started = {i: None for i in self._answer_counts if i not in self._done}
            self._leases: dict[int, tuple[int, str, datetime]] = {
                r.item_id: (r.annotator_id, r.session, r.expires_at)
                for r in s.scalars(select(Lease).where(Lease.expires_at > now))}
            self._skipped: dict[int, set[int]] = {}
            for item_id, annotator_id in s.execute(select(Skip.item_id, Skip.annotator_id)):
                self._skipped.setdefault(annotator_id, set()).add(item_id)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def texts(self) -> list[str]:
        """Every text of the project, in ``item_ids`` order."""
        return [self._items[i][1] for i in self.item_ids]

    @property
    def n_complete(self) -> int:
        """Texts with all ``answers_per_text`` answers (= ``n_labeled`` with one answer per text)."""
        return len(self._done)

    @property
    def n_labeled(self) -> int:
        """Texts with at least one current answer."""
        return len(self._labeled)

    # ----------------------------------------------------------- annotators
    def add_annotator(self, name: str, *, token: str | None = None, role: str = "annotator") -> tuple[int, str]:
        """Create an annotator (or give an existing one a new token); returns (id, token). The token is
        stored only as a hash: show it to the person now."""
        name = check_name(name)
        token = token or secrets.token_urlsafe(24)
        with self._lock, self._write_session.begin() as s:
            row = s.scalars(select(Annotator).where(Annotator.name == name)).one_or_none()
            if row is None:
                row = Annotator(name=name, token_hash=hash_token(token), role=role, created_at=utcnow())
                s.add(row)
                s.flush()
            else:
                row.token_hash = hash_token(token)
            return row.id, token

    def annotator_id(self, name: str, *, create: bool = False) -> int | None:
        name = check_name(name) if create else name.strip()
        with self._session() as s:
            found = s.scalar(select(Annotator.id).where(Annotator.name == name))
        if found is None and create:
            try:
                with self._lock, self._write_session.begin() as s:
                    s.add(Annotator(name=name, token_hash=None, role="annotator", created_at=utcnow()))
            except IntegrityError:
                pass  # created concurrently
            return self.annotator_id(name)
        return found

    def check_token(self, token: str) -> tuple[int, str] | None:
        """(id, name) of the annotator holding ``token``, or None."""
        if not token:
            return None
        with self._session() as s:
            row = s.execute(select(Annotator.id, Annotator.name)
                            .where(Annotator.token_hash == hash_token(token))).first()
        return (row[0], row[1]) if row else None

    def annotator_name(self, annotator_id: int) -> str | None:
        """Cached: every authenticated request asks (annotators are never renamed or deleted)."""
        name = self._names.get(annotator_id)
        if name is None:
            with self._session() as s:
                name = s.scalar(select(Annotator.name).where(Annotator.id == annotator_id))
            if name is not None:
                self._names[annotator_id] = name
        return name

    # ------------------------------------------------------------- labels
    def validate(self, value: Any, item_id: int | None = None) -> Any:
        """The answer in canonical form, or InvalidLabel saying what was expected. NER answers (spans or BIO
        tags, see :mod:`labelwise.server.spans`) are checked against ``item_id``'s tokens."""
        labels = self.project.labels
        if self.project.task == "ner":
            return self._validate_ner(value, item_id)
        if self.project.task == "multiclass":
            if not isinstance(value, str) or value not in labels:
                raise InvalidLabel(f"expected one of {labels}, got {value!r}")
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidLabel(f"expected a list of labels from {labels}, got {value!r}")
        unknown = [v for v in value if v not in labels]
        if unknown:
            raise InvalidLabel(f"labels {unknown} are not in the label set {labels}")
        return [label for label in labels if label in set(value)]  # label-set order, no repeats

    def _check_item(self, item_id: int) -> None:
        if item_id not in self._row_of:
            raise NotFound(f"no item {item_id}")

    def _validate_ner(self, value: Any, item_id: int | None) -> list[str]:
        from labelwise.server.spans import SpanError, normalize_answer

        if item_id is None:
            raise InvalidLabel("an NER answer is checked against its text: give the item")
        _, text, tokens = self._items[item_id]
        try:
            return normalize_answer(value, tokens, text, self.project.labels)
        except SpanError as err:
            raise InvalidLabel(str(err)) from None

    def submit(self, annotator_id: int, item_id: int, value: Any, *, session: str = "",
               next_item: bool = False) -> dict[str, Any]:
        """Record an answer (a new history row; an earlier answer by the same annotator is superseded, never
        overwritten). With ``next_item`` the next text is leased in the same transaction. Returns
        ``{"label_id", "next"}``; the label is committed when this returns."""
        self._check_item(item_id)
        value = self.validate(value, item_id)
        now = utcnow()
        with self._lock:
            with self.engine.begin() as conn:
                key = {"item": item_id, "annotator": annotator_id}
                if self.engine.dialect.update_returning:
                    old = conn.execute(_RETIRE_CURRENT.returning(_LABELS.c.id), key).scalar()
                else:  # pragma: no cover - SQLite >= 3.35 and PostgreSQL return rows from UPDATE
                    old = conn.execute(select(_LABELS.c.id).where(_LABELS.c.item_id == item_id,
                                       _LABELS.c.annotator_id == annotator_id, _LABELS.c.is_current)).scalar()
                    if old is not None:
                        conn.execute(_RETIRE_CURRENT, key)
                # Checked in the lease table, not this process's cache (another server process may hold the
                # text), and after the first write: on SQLite a transaction that reads first fails at once
                # with SQLITE_BUSY when another connection commits before its first write.
                if conn.execute(_LIVE_LEASE_OF_OTHER, {**key, "now": now}).first() is not None:
                    raise Conflict("another annotator holds this text right now")
                label_id = conn.execute(_INSERT_LABEL, {**key, "value": value, "now": now}).inserted_primary_key[0]
                if old is not None:
                    conn.execute(_SUPERSEDE, {"old": old, "new": label_id})
                if next_item:  # the answered text's lease and the tab's other leases, in one statement
                    conn.execute(_RELEASE_ITEM_AND_TAB, {**key, "session": session})
                    nxt = self._lease_next(conn, annotator_id, session, now, exclude=item_id, release=False)
                else:
                    conn.execute(_RELEASE_ITEM, key)
                    nxt = None
            self._labeled.add(item_id)
            if self.answers_per_text > 1:
                mine = self._mine.setdefault(annotator_id, set())
                if item_id not in mine:  # a first answer of this annotator on the text
                    mine.add(item_id)
                    self._set_answer_count(item_id, self._answer_counts.get(item_id, 0) + 1)
            self._leases.pop(item_id, None)
            if nxt is not None:
                self._leases[nxt] = (annotator_id, session, now + timedelta(seconds=self.lease_seconds))
        self._notify()
        return {"label_id": label_id, "next": self._fresh_view(nxt) if nxt else None}

    def skip(self, annotator_id: int, item_id: int, *, session: str = "", next_item: bool = True
             ) -> dict[str, Any]:
        """Pass on a text: it goes back to the pool for the others, never again to this annotator."""
        self._check_item(item_id)
        now = utcnow()
        with self._lock:
            with self.engine.begin() as conn:
                conn.execute(delete(Skip).where(Skip.item_id == item_id, Skip.annotator_id == annotator_id))
                conn.execute(insert(Skip).values(item_id=item_id, annotator_id=annotator_id, created_at=now))
                conn.execute(delete(Lease).where(Lease.item_id == item_id, Lease.annotator_id == annotator_id))
                self._skipped.setdefault(annotator_id, set()).add(item_id)
                try:
                    nxt = self._lease_next(conn, annotator_id, session, now) if next_item else None
                except BaseException:
                    self._skipped[annotator_id].discard(item_id)
                    raise
            if self._leases.get(item_id, (None,))[0] == annotator_id:
                self._leases.pop(item_id, None)
            if nxt is not None:
                self._leases[nxt] = (annotator_id, session, now + timedelta(seconds=self.lease_seconds))
        return {"next": self._fresh_view(nxt) if nxt else None}

    def undo(self, annotator_id: int, *, session: str = "") -> dict[str, Any] | None:
        """Take back this annotator's most recent action (an answer or a skip). A retracted answer stays in
        the history (``retracted_at``); the answer it had replaced becomes current again. The text is leased
        back to the annotator and returned, or None when there is nothing to undo."""
        now = utcnow()
        with self._lock:
            with self._write_session.begin() as s:
                last = s.scalars(select(Label).where(Label.annotator_id == annotator_id, Label.is_current)
                                 .order_by(Label.created_at.desc(), Label.id.desc()).limit(1)).first()
                last_skip = s.scalars(select(Skip).where(Skip.annotator_id == annotator_id)
                                      .order_by(Skip.created_at.desc(), Skip.id.desc()).limit(1)).first()
                if last is None and last_skip is None:
                    return None
                if last_skip is not None and (last is None or last_skip.created_at >= last.created_at):
                    item_id = last_skip.item_id
                    s.delete(last_skip)
                    undone_skip = True
                else:
                    undone_skip = False
                    item_id = last.item_id
                    last.is_current = False
                    last.retracted_at = now
                    s.flush()
                    # usually one; a review change supersedes the reviewed answer and the reviewer's own. An
                    # annotator who answered the text again since keeps that newer answer.
                    for previous in s.scalars(select(Label).where(Label.superseded_by == last.id)).all():
                        newer = s.scalar(select(Label.id).where(Label.item_id == previous.item_id,
                                                                Label.annotator_id == previous.annotator_id,
                                                                Label.is_current).limit(1))
                        if newer is None:
                            previous.is_current = True
                    # a retracted review change reopens its review entry (pending, decidable again) when the
                    # answer it reviewed is in use again; otherwise (its author answered anew) it is "undone"
                    s.flush()
                    for review in s.scalars(select(Review).where(Review.new_label_id == last.id)).all():
                        reviewed = s.get(Label, review.label_id) if review.label_id else None
                        if reviewed is not None and reviewed.is_current:
                            review.decision, review.reviewer_id, review.decided_at = None, None, None
                            review.new_label_id = None
                        else:
                            review.decision = "undone"
                holder = s.get(Lease, item_id)
                if holder is not None and holder.annotator_id != annotator_id and holder.expires_at > now:
                    lease_it = False  # someone else took the text meanwhile: the undo still stands
                else:
                    lease_it = True
                    s.execute(delete(Lease).where(Lease.annotator_id == annotator_id, Lease.session == session))
                    s.execute(delete(Lease).where(Lease.item_id == item_id))
                    s.add(Lease(item_id=item_id, annotator_id=annotator_id, session=session,
                                expires_at=now + timedelta(seconds=self.lease_seconds)))
                still = s.scalar(select(func.count()).select_from(Label)
                                 .where(Label.item_id == item_id, Label.is_current))
            if undone_skip:
                self._skipped.get(annotator_id, set()).discard(item_id)
                self._own_cursor.pop(annotator_id, None)  # it may sit in their skipped-over prefix
            if not still:
                self._labeled.discard(item_id)
                self._rewind_fallback()  # the text may sit in the skipped-over prefix of the fallback order
            if self.answers_per_text > 1:
                self.refresh_answers(item_id)
            if lease_it:
                for other, (who, sess, _) in list(self._leases.items()):
                    if who == annotator_id and sess == session:
                        del self._leases[other]
                self._leases[item_id] = (annotator_id, session, now + timedelta(seconds=self.lease_seconds))
        self._notify()
        return self.item_view(item_id, annotator_id)

    # --------------------------------------------------------------- queue
    def next_item(self, annotator_id: int, *, session: str = "") -> dict[str, Any] | None:
        """The text this annotator (in this browser tab) should label now: the one it already holds, else
        the best free text of the queue, leased to it. None when the pool is exhausted."""
        now = utcnow()
        with self._lock:
            for item_id, (who, sess, expires) in self._leases.items():
                if who == annotator_id and sess == session and expires > now and not self._closed(annotator_id, item_id):
                    held = item_id
                    break
            else:
                held = None
            with self.engine.begin() as conn:
                if held is not None:
                    conn.execute(update(Lease).where(Lease.item_id == held)
                                 .values(expires_at=now + timedelta(seconds=self.lease_seconds)))
                    if not self._still_open(conn, annotator_id, held):
                        held = None  # answered through another process meanwhile: lease a new text
                nxt = held if held is not None else self._lease_next(conn, annotator_id, session, now)
            if nxt is not None:
                self._leases[nxt] = (annotator_id, session, now + timedelta(seconds=self.lease_seconds))
        return self.item_view(nxt, annotator_id) if nxt is not None else None

    def _rewind_fallback(self) -> None:
        """A text may be served again: restart every fallback scan from the top (see _candidates)."""
        self._fallback_cursor = 0
        self._own_cursor.clear()

    def _closed(self, annotator_id: int, item_id: int) -> bool:
        """Whether the text may no longer be served to this annotator (skips aside)."""
        return item_id in self._done or item_id in self._mine.get(annotator_id, ())

    def _set_answer_count(self, item_id: int, n: int) -> None:
        """Overlap bookkeeping (answers_per_text > 1) after the number of people who answered a text changed."""
        self._answer_counts[item_id] = n
        if n >= self.answers_per_text:
            self._done.add(item_id)
            self._started.pop(item_id, None)
            return
        if item_id in self._done:
            self._done.discard(item_id)
            self._rewind_fallback()  # it may sit in the skipped-over prefix of the fallback order
        if n > 0:
            self._started.setdefault(item_id, None)
        else:
            self._started.pop(item_id, None)

    def refresh_answers(self, item_id: int) -> None:
        """Reload one text's answer bookkeeping from the database (after an undo or a review change moved
        answers between annotators). Only needed with answers_per_text > 1."""
        if self.answers_per_text == 1:
            return
        with self._lock, self._session() as s:  # read under the lock: no answer lands between read and update
            who = set(s.scalars(select(Label.annotator_id).where(Label.item_id == item_id,
                                                                 Label.retracted_at.is_(None))))
            current = s.scalar(select(func.count()).select_from(Label)
                               .where(Label.item_id == item_id, Label.is_current))
            for annotator_id, items in self._mine.items():
                if annotator_id not in who and item_id in items:
                    items.discard(item_id)
                    self._own_cursor.pop(annotator_id, None)  # it may sit in their skipped-over prefix
            for annotator_id in who:
                self._mine.setdefault(annotator_id, set()).add(item_id)
            if current:
                self._labeled.add(item_id)
            else:
                self._labeled.discard(item_id)
            self._set_answer_count(item_id, len(who))

    def _candidates(self, annotator_id: int, now: datetime, exclude: int | None = None):
        skipped = self._skipped.get(annotator_id, ())
        mine = self._mine.get(annotator_id, ())

        def free(item_id: int) -> bool:
            if item_id in self._done or item_id in skipped or item_id == exclude or item_id in mine:
                return False
            holder = self._leases.get(item_id)
            return holder is None or holder[2] <= now

        # overlap: texts others began, before fresh ones. Only the oldest _STARTED_SCAN: one annotator far ahead of
        # the others leaves many texts waiting that are theirs, and this runs under the store's lock; texts
        # further on still come up in the ranked or fallback order
        for item_id in list(itertools.islice(self._started, _STARTED_SCAN)):
            if free(item_id):
                yield item_id
        for item_id in self._ranking.order:
            if free(item_id):
                yield item_id
        # the fallback order. Labels rarely disappear, so the labeled prefix is skipped for good (the cursor)
        # and labeled texts met further on (behind a leased or skipped one) are dropped from the list, so a
        # request never rescans them. Something that un-labels a text rewinds the cursor to 0, which restores
        # the full order.
        if self._fallback_cursor == 0 and len(self._fallback) != len(self._order):
            self._fallback = list(self._order)
        order, labeled = self._fallback, self._done
        while self._fallback_cursor < len(order) and order[self._fallback_cursor] in labeled:
            self._fallback_cursor += 1
        start = pos = self._fallback_cursor
        overlap = self.answers_per_text > 1
        if overlap:  # the list is not compacted (that would shift the per-annotator cursors): skip own prefix
            pos = max(pos, self._own_cursor.get(annotator_id, 0))
            while pos < len(order) and (order[pos] in labeled or order[pos] in mine or order[pos] in skipped):
                pos += 1
            self._own_cursor[annotator_id] = pos
        while pos < len(order):
            item_id = order[pos]
            if item_id not in labeled and free(item_id):
                if pos - start > 32 and not overlap:
                    kept = [i for i in order[start:pos] if i not in labeled]
                    order[start:pos] = kept
                    pos = start + len(kept)
                yield item_id
            pos += 1

    def _lease_next(self, conn: Connection | Session, annotator_id: int, session: str, now: datetime,
                    exclude: int | None = None, *, release: bool = True) -> int | None:
        """Inside the caller's transaction: release this tab's other leases (unless the caller did) and lease
        the next free text."""
        if release:
            conn.execute(_RELEASE_TAB, {"annotator": annotator_id, "session": session})
        for other, (who, sess, _) in list(self._leases.items()):
            if who == annotator_id and sess == session:
                del self._leases[other]
        expires = now + timedelta(seconds=self.lease_seconds)
        lease = {"annotator": annotator_id, "session": session, "expires": expires, "now": now}
        for item_id in self._candidates(annotator_id, now, exclude):
            if self._lease_upsert is not None:
                # one statement: insert, or take over an expired lease; no row back when a live one exists
                taken = conn.execute(self._lease_upsert, {**lease, "item": item_id}).first() is not None
            else:  # pragma: no cover - other databases: delete an expired lease, insert under a savepoint
                conn.execute(delete(Lease).where(Lease.item_id == item_id, Lease.expires_at <= now))
                try:
                    with conn.begin_nested():
                        conn.execute(insert(Lease).values(item_id=item_id, annotator_id=annotator_id,
                                                          session=session, expires_at=expires))
                    taken = True
                except IntegrityError:
                    taken = False
            if not taken:
                self._leases[item_id] = (-1, "", expires)  # leased by another process sharing the database
            elif self._still_open(conn, annotator_id, item_id):
                return item_id
        return None

    def _still_open(self, conn: Connection | Session, annotator_id: int, item_id: int) -> bool:
        """Inside the caller's transaction, with the lease on ``item_id`` already taken: whether the text may
        still be served to ``annotator_id``. The caches only know what this process wrote (and what was there
        when they were loaded); another server on the same database may have recorded an answer, or this
        annotator's skip, since. One query on two indexes (``ix_labels_item``, ``uq_skips_item_annotator``).
        When it may not, the lease is given back and the caches learn the fact (a committed row: true whether
        or not this transaction commits).

        The check runs after the lease upsert on purpose. SQLite: the transaction began with a write, so no
        other writer commits until it ends and the order does not matter. PostgreSQL (READ COMMITTED): each
        statement sees what was committed when it started, and the upsert waits for a transaction that holds
        the lease row. An answer to a text its annotator holds (the usual case) releases that lease in the
        answer's own transaction, so an upsert that gets the lease ran after that commit, and this check, run
        later, sees the answer; checking first could miss an answer committed between check and upsert.
        What remains: an answer given WITHOUT a live lease (the annotator's lease had expired, or a change
        from the history) committing while this transaction, which took the lease first, is still open:
        one text may then be served once more and get a second annotator's answer, which the labels table
        allows (one current answer per text and annotator). Closing that too would need a row lock on the
        item in every answer and lease, on the hot path, for a window of milliseconds.
        """
        if self.answers_per_text > 1:
            n, mine, skipped = conn.execute(_ANSWER_STATE, {"item": item_id, "annotator": annotator_id}).one()
            if n < self.answers_per_text and not mine and not skipped:
                return True
            conn.execute(_RELEASE_ITEM, {"item": item_id})
            if n:
                self._labeled.add(item_id)
                self._set_answer_count(item_id, n)
            if mine:
                self._mine.setdefault(annotator_id, set()).add(item_id)
            if skipped:
                self._skipped.setdefault(annotator_id, set()).add(item_id)
            return False
        labeled, skipped = conn.execute(_ANSWERED_OR_SKIPPED, {"item": item_id, "annotator": annotator_id}).one()
        if not labeled and not skipped:
            return True
        conn.execute(_RELEASE_ITEM, {"item": item_id})
        if labeled:
            self._labeled.add(item_id)
        if skipped:
            self._skipped.setdefault(annotator_id, set()).add(item_id)
        return False

    def set_ranking(self, order: Sequence[int], proba: np.ndarray | None = None, *, version: int = 0,
                    n_labels: int = 0) -> None:
        """Swap in a new ranked queue (item ids, best first) and suggestion probabilities, atomically."""
        if proba is not None and proba.shape[0] != len(self.item_ids):
            raise ValueError(f"proba has {proba.shape[0]} rows for {len(self.item_ids)} items")
        self._ranking = _Ranking(order=[int(i) for i in order], proba=proba, version=version, n_labels=n_labels)

    @property
    def ranking_version(self) -> int:
        return self._ranking.version

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener(self.n_labeled)

    # ---------------------------------------------------------------- reads
    def suggestion(self, item_id: int) -> dict[str, Any] | None:
        ranking = self._ranking
        if ranking.proba is None:
            return None
        row = ranking.proba[self._row_of[item_id]]
        if self.project.task == "ner":
            return row  # the trainer's pre-computed spans (labelwise.server.spans.suggestion_from_marginals)
        if np.isnan(row).any():  # outside the sample a first round ranked (labelwise.server.trainer)
            return None
        labels = self.project.labels
        if self.project.task == "multiclass":
            best = int(np.argmax(row))
            return {"label": labels[best], "confidence": round(float(row[best]), 4),
                    "probabilities": {lab: round(float(p), 4) for lab, p in zip(labels, row, strict=True)}}
        chosen = [lab for lab, p in zip(labels, row, strict=True) if p >= 0.5]
        return {"labels": chosen, "confidence": round(float(np.mean(np.maximum(row, 1 - row))), 4),
                "probabilities": {lab: round(float(p), 4) for lab, p in zip(labels, row, strict=True)}}

    def _fresh_view(self, item_id: int) -> dict[str, Any]:
        """The view of a text just leased from the queue: unanswered by this annotator by construction (and by
        anyone, with one answer per text), so no query."""
        key, text, tokens = self._items[item_id]
        n_answers = self._answer_counts.get(item_id, 0)  # overlap: the others' answers so far (cached)
        return {"id": item_id, "key": key, "text": text, "tokens": tokens, "answer": None, "n_answers": n_answers,
                "suggestion": self.suggestion(item_id), "leased_to_me": True}

    def item_view(self, item_id: int, annotator_id: int | None = None) -> dict[str, Any]:
        """What the UI shows for one text: the text, its id, this annotator's current answer, a suggestion."""
        self._check_item(item_id)
        key, text, tokens = self._items[item_id]
        with self._session() as s:
            mine = None
            if annotator_id is not None:
                mine = s.scalar(select(Label.value).where(Label.item_id == item_id,
                                                          Label.annotator_id == annotator_id, Label.is_current))
            n_answers = s.scalar(select(func.count()).select_from(Label)
                                 .where(Label.item_id == item_id, Label.is_current))
        holder = self._leases.get(item_id)
        return {"id": item_id, "key": key, "text": text, "tokens": tokens, "answer": mine, "n_answers": n_answers, "suggestion": self.suggestion(item_id),
                "leased_to_me": bool(holder and holder[0] == annotator_id and holder[2] > utcnow())}

    def history(self, annotator_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
        """This annotator's answers, newest first: the current ones, and those another person's answer
        replaced (a review change) on texts they have not answered again, with ``changed_by`` / ``changed_to``:
        the text's answer in use now (None on the current ones). An overridden answer stays in its author's list
        instead of silently vanishing."""
        newer, own = aliased(Label), aliased(Label)
        columns = (Label.id, Label.item_id, Label.value, Label.created_at, Item.key, Item.text)
        answered_again = exists().where(own.item_id == Label.item_id, own.annotator_id == annotator_id,
                                        own.is_current)
        with self._session() as s:
            current = s.execute(select(*columns).join(Item, Item.id == Label.item_id)
                                .where(Label.annotator_id == annotator_id, Label.is_current)
                                .order_by(Label.created_at.desc(), Label.id.desc()).limit(limit)).all()
            replaced = s.execute(select(*columns).join(Item, Item.id == Label.item_id)
                                 .join(newer, newer.id == Label.superseded_by)
                                 .where(Label.annotator_id == annotator_id, ~Label.is_current,
                                        Label.retracted_at.is_(None), newer.annotator_id != annotator_id,
                                        ~answered_again)
                                 .order_by(Label.created_at.desc(), Label.id.desc()).limit(limit)).all()
            in_use: dict[int, tuple[str, Any]] = {}
            if replaced:  # what the text's label is now: its answer in use, and who gave it
                chosen = answers_in_use({r[1] for r in replaced}).subquery()
                for item_id, name, value in s.execute(
                        select(chosen.c.item_id, Annotator.name, Label.value)
                        .join(Label, Label.id == chosen.c.label_id)
                        .join(Annotator, Annotator.id == Label.annotator_id)):
                    in_use[item_id] = (name, value)
        rows = [(r, None) for r in current] + [(r, in_use[r[1]]) for r in replaced if r[1] in in_use]
        rows.sort(key=lambda rc: (rc[0][3], rc[0][0]), reverse=True)
        return [{"label_id": r[0], "item_id": r[1], "answer": r[2], "created_at": r[3].isoformat() + "Z",
                 "key": r[4], "text": r[5][:300], "changed_by": change[0] if change else None,
                 "changed_to": change[1] if change else None} for r, change in rows[:limit]]

    def label_history(self, item_id: int) -> list[dict[str, Any]]:
        """Every answer ever given for a text (current, superseded and retracted), oldest first."""
        with self._session() as s:
            rows = s.execute(select(Label, Annotator.name).join(Annotator, Annotator.id == Label.annotator_id)
                             .where(Label.item_id == item_id).order_by(Label.id)).all()
        return [{"label_id": r.id, "annotator": name, "answer": r.value, "created_at": r.created_at.isoformat() + "Z",
                 "is_current": r.is_current, "superseded_by": r.superseded_by,
                 "retracted_at": r.retracted_at.isoformat() + "Z" if r.retracted_at else None}
                for r, name in rows]

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Texts containing ``query`` (case-insensitive for ASCII), in pool order, with their answers."""
        query = query.strip()
        if not query:
            return []
        with self._session() as s:
            rows = s.execute(select(Item.id, Item.key, Item.text).where(Item.text.icontains(query, autoescape=True))
                             .order_by(Item.position).limit(limit)).all()
            answers = {item_id: json.loads(value) for item_id, _, value in
                       s.execute(answers_in_use([r[0] for r in rows])).all()} if rows else {}
        return [{"id": r[0], "key": r[1], "text": r[2][:300], "answer": answers.get(r[0])} for r in rows]

    def current_labels(self) -> dict[int, Any]:
        """{item id: answer}: per labeled text, its answer in use (see :func:`answers_in_use`), in answer order."""
        with self._session() as s:
            rows = s.execute(_IN_USE).all()
        return {item_id: json.loads(value) for item_id, _, value in rows}

    def export_records(self, *, every_answer: bool = False) -> list[dict[str, Any]]:
        """One record per labeled text (pool order): key, id (the key as the data gave it: an integer for a
        project whose ids were all integers), text, answer, annotator, time; the answer is the text's answer in
        use (:func:`answers_in_use`), the annotator and time those of its latest giver. ``every_answer``: one
        record per current answer instead (each annotator's), pool order then time."""
        as_id = int if self.project.settings.get("id_type") == "int" else str
        which = Label.is_current if every_answer else Label.id.in_(select(_IN_USE.subquery().c.label_id))
        with self._session() as s:
            rows = s.execute(select(Item.key, Item.text, Item.position, Label.value, Annotator.name,
                                    Label.created_at, Item.tokens)
                             .join(Label, Label.item_id == Item.id).join(Annotator, Annotator.id == Label.annotator_id)
                             .where(which).order_by(Label.created_at, Label.id)).all()
        records = [{"key": key, "id": as_id(key), "text": text, "position": position, "answer": value,
                    "annotator": name, "created_at": created.isoformat() + "Z", "tokens": tokens}
                   for key, text, position, value, name, created, tokens in rows]
        return sorted(records, key=lambda r: r["position"])  # stable: answers of one text stay in time order

    def agreement(self) -> dict[str, Any]:
        """Texts with two or more current answers (``texts``), how many of them have one answer from everybody
        (``agreeing``), and Krippendorff's alpha over their answers (``alpha``, nominal: chance-corrected, any
        number of answers per text; None while undefined), from counts the database aggregates."""
        # the sums of labelwise.noise.krippendorff_alpha_nominal's formula, aggregated by the database (a few
        # numbers come back, not one row per text and answer): per text m_u and Σ_c n_uc², per answer n_c
        as_text = cast(Label.value, Text)
        shared = _TEXTS_WITH_SEVERAL.subquery()
        pairs = (select(Label.item_id, as_text.label("value"), func.count().label("n"))  # one pass, used twice
                 .where(literal_column("labels.is_current"), Label.item_id.in_(select(shared.c.item_id)))
                 .group_by(Label.item_id, as_text).cte("pairs"))
        per_text = (select(func.sum(pairs.c.n).label("m"), func.sum(pairs.c.n * pairs.c.n).label("squares"),
                           func.count().label("distinct")).group_by(pairs.c.item_id).subquery())
        per_value = select(func.sum(pairs.c.n).label("n_c")).group_by(pairs.c.value).subquery()
        m, squares = per_text.c.m, per_text.c.squares
        totals = select(func.sum(per_value.c.n_c).label("n"),
                        func.sum(per_value.c.n_c * per_value.c.n_c).label("n_c_squares")).subquery()  # one row
        with self._session() as s:
            texts, agreeing, observed, n, n_c_squares = s.execute(
                select(func.count(), func.count().filter(per_text.c.distinct == 1),
                       func.sum(cast(m * m - squares, Float) / (m - 1)), func.max(totals.c.n),
                       func.max(totals.c.n_c_squares)).select_from(per_text.join(totals, true()))).one()
        expected = float(n or 0) ** 2 - float(n_c_squares or 0)
        alpha = 1.0 - (float(n) - 1.0) * float(observed) / expected if texts and expected > 0 else None
        return {"texts": int(texts), "agreeing": int(agreeing or 0), "alpha": None if alpha is None else round(alpha, 4)}

    def label_counts(self) -> dict[str, int]:
        if self.project.task == "ner":  # entities per type
            from labelwise.server.spans import entity_counts

            return entity_counts(list(self.current_labels().values()), self.project.labels)
        # texts per label, counting each text's answer in use, aggregated by the database: the progress view
        # polls this, and a Python loop over every answer held the GIL the hot path needs. Texts with one
        # answer (all of them without overlap) are counted directly; the window query's sort runs only over
        # texts with several, so a project without overlap pays for no ranking at all
        shared = _TEXTS_WITH_SEVERAL.subquery()
        as_text = cast(Label.value, Text)
        several = answers_in_use(select(shared.c.item_id)).subquery()
        with self._session() as s:
            rows = s.execute(select(as_text, func.count())
                             .where(literal_column("labels.is_current"), Label.item_id.not_in(select(shared.c.item_id)))
                             .group_by(as_text)).all()
            rows += s.execute(select(several.c.value, func.count()).group_by(several.c.value)).all()
        counts = dict.fromkeys(self.project.labels, 0)
        for raw, n in rows:
            value = json.loads(raw)
            for label in [value] if isinstance(value, str) else value:
                counts[label] = counts.get(label, 0) + n
        return counts

    def items_for_training(self) -> tuple[list[int], list[str]]:
        """(ids, texts) of the whole pool in position order (what the trainer builds its corpus from)."""
        with self._session() as s:
            rows = s.execute(select(Item.id, Item.text).order_by(Item.position)).all()
        return [r[0] for r in rows], [r[1] for r in rows]

    # ---------------------------------------------------------- model runs
    def record_run(self, *, n_labels: int, accuracy: float | None, metric: str | None, seconds: float,
                   ranking: Sequence[int] | None, error: str | None = None) -> int:
        with self._lock, self._write_session.begin() as s:
            run = ModelRun(created_at=utcnow(), n_labels=n_labels, accuracy=accuracy, metric=metric,
                           seconds=seconds, ranking=None if ranking is None else [int(i) for i in ranking],
                           error=error)
            s.add(run)
            s.flush()
            return run.id

    def runs(self) -> list[dict[str, Any]]:
        with self._session() as s:
            rows = s.execute(select(ModelRun.id, ModelRun.created_at, ModelRun.n_labels, ModelRun.accuracy,
                                    ModelRun.metric, ModelRun.seconds, ModelRun.error).order_by(ModelRun.id)).all()
        return [{"id": r[0], "created_at": r[1].isoformat() + "Z", "n_labels": r[2], "accuracy": r[3],
                 "metric": r[4], "seconds": r[5], "error": r[6]} for r in rows]

    def last_run(self, *, with_ranking: bool = False) -> dict[str, Any] | None:
        with self._session() as s:
            run = s.scalars(select(ModelRun).where(ModelRun.error.is_(None)).order_by(ModelRun.id.desc())
                            .limit(1)).first()
        if run is None:
            return None
        out = {"id": run.id, "n_labels": run.n_labels, "accuracy": run.accuracy, "metric": run.metric}
        if with_ranking:
            out["ranking"] = run.ranking
        return out


# ------------------------------------------------------------------ hot-path statements (built once)
_LABELS, _LEASES, _SKIPS = Label.__table__, Lease.__table__, Skip.__table__
# "labels.is_current" written as the partial unique index ux_labels_current states it: SQLite uses a partial index
# only when the query repeats its WHERE term, and SQLAlchemy's rendering ("is_current = 1") does not, so SQLite
# scanned the annotator's whole history (ix_labels_annotator_created) on every answer, slower with every answer
_RETIRE_CURRENT = (update(_LABELS).where(_LABELS.c.item_id == bindparam("item"),
                                         _LABELS.c.annotator_id == bindparam("annotator"),
                                         literal_column("labels.is_current"))
                   .values(is_current=False))
_INSERT_LABEL = insert(_LABELS).values(item_id=bindparam("item"), annotator_id=bindparam("annotator"),
                                       value=bindparam("value", type_=_LABELS.c.value.type),
                                       created_at=bindparam("now", type_=DateTime()), is_current=True,
                                       source="annotator")
# a current answer by anyone, a skip by this annotator (see Store._still_open)
_ANSWERED_OR_SKIPPED = select(
    exists().where(_LABELS.c.item_id == bindparam("item"), _LABELS.c.is_current),
    exists().where(_SKIPS.c.item_id == bindparam("item"), _SKIPS.c.annotator_id == bindparam("annotator")))
_STARTED_SCAN = 500
_ANSWER_STATE = select(  # overlap: how many people answered the text (answers not taken back), this one too, a skip
    select(func.count(_LABELS.c.annotator_id.distinct())).where(_LABELS.c.item_id == bindparam("item"),
                                                                _LABELS.c.retracted_at.is_(None))
    .scalar_subquery(),
    exists().where(_LABELS.c.item_id == bindparam("item"), _LABELS.c.annotator_id == bindparam("annotator"),
                   _LABELS.c.retracted_at.is_(None)),
    exists().where(_SKIPS.c.item_id == bindparam("item"), _SKIPS.c.annotator_id == bindparam("annotator")))
_LIVE_LEASE_OF_OTHER = select(_LEASES.c.item_id).where(
    _LEASES.c.item_id == bindparam("item"), _LEASES.c.annotator_id != bindparam("annotator"),
    _LEASES.c.expires_at > bindparam("now", type_=DateTime()))
_SUPERSEDE = update(_LABELS).where(_LABELS.c.id == bindparam("old")).values(superseded_by=bindparam("new"))
_RELEASE_ITEM = delete(_LEASES).where(_LEASES.c.item_id == bindparam("item"))
_RELEASE_TAB = delete(_LEASES).where(_LEASES.c.annotator_id == bindparam("annotator"),
                                     _LEASES.c.session == bindparam("session"))
_RELEASE_ITEM_AND_TAB = delete(_LEASES).where(
    (_LEASES.c.item_id == bindparam("item"))
    | ((_LEASES.c.annotator_id == bindparam("annotator")) & (_LEASES.c.session == bindparam("session"))))


def answers_in_use(item_ids: Collection[int] | Select | None = None) -> Select:
    """Per labeled text, the current answer its label is taken from (training, exports, label counts, the answer
    a label check reviews): the latest answer a reviewer gave in review if there is one (a review decision is
    final), else the answer most of its current answers agree on, a tie going to the latest of the tied. With
    one answer per text that is simply its answer. Rows ``(item_id, label_id, value)``: the item, the latest
    current answer with that value, the value as JSON text, in label id (answer) order.

    Answers are compared by their JSON text: PostgreSQL's json type has no equality operator to GROUP BY, and
    answers are written by one serializer in canonical form (validated multi-label sets in label-set order), so
    equal answers have equal text. Multi-label and NER answers agree only when whole sets / tag sequences do.
    ``item_ids``: only these texts (ids, or a select of them; else every labeled one).
    """
    as_text = cast(_LABELS.c.value, Text)
    which = [literal_column("labels.is_current")] + ([] if item_ids is None else [_LABELS.c.item_id.in_(item_ids)])
    votes = (select(_LABELS.c.item_id, as_text.label("value"), func.count().label("n"),
                    func.max(_LABELS.c.id).label("label_id"),
                    func.coalesce(func.max(case((_LABELS.c.source == "review", _LABELS.c.id))), 0).label("review"))
             .where(*which).group_by(_LABELS.c.item_id, as_text).subquery())
    rank = func.row_number().over(partition_by=votes.c.item_id,
                                  order_by=(votes.c.review.desc(), votes.c.n.desc(), votes.c.label_id.desc()))
    ranked = select(votes.c.item_id, votes.c.label_id, votes.c.value, rank.label("rank")).subquery()
    return (select(ranked.c.item_id, ranked.c.label_id, ranked.c.value).where(ranked.c.rank == 1)
            .order_by(ranked.c.label_id))


_IN_USE = answers_in_use()
# texts with two or more current answers (overlap, or a text answered twice through an expired lease)
_TEXTS_WITH_SEVERAL = (select(_LABELS.c.item_id).where(literal_column("labels.is_current"))
                       .group_by(_LABELS.c.item_id).having(func.count() >= 2))


def _lease_upsert(dialect: str) -> Any:
    """``INSERT INTO leases .. ON CONFLICT (item_id) DO UPDATE .. WHERE leases.expires_at <= :now RETURNING
    item_id`` for SQLite and PostgreSQL (None elsewhere): a row comes back exactly when the lease was taken."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover
        return None
    stmt = dialect_insert(_LEASES).values(item_id=bindparam("item"), annotator_id=bindparam("annotator"),
                                          session=bindparam("session"),
                                          expires_at=bindparam("expires", type_=DateTime()))
    return stmt.on_conflict_do_update(
        index_elements=[_LEASES.c.item_id],
        set_={"annotator_id": stmt.excluded.annotator_id, "session": stmt.excluded.session,
              "expires_at": stmt.excluded.expires_at},
        where=_LEASES.c.expires_at <= bindparam("now", type_=DateTime())).returning(_LEASES.c.item_id)

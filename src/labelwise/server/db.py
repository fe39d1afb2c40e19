"""Engines and migrations. SQLite (the embedded default) runs in WAL mode; any other SQLAlchemy URL
(PostgreSQL) is used as given.

Durability (``synchronous``). A commit in WAL mode appends the transaction to the ``-wal`` file before it
returns, so once the server acknowledges a label the label is in the operating system's page cache:

- ``NORMAL`` (the server's default): no fsync at commit (the WAL is synced at checkpoints). An acknowledged
  label survives ``kill -9`` or any crash of the server process (the kernel still writes the page cache
  out); the last commits before a power loss or an operating-system crash can be lost. The database is never
  corrupted either way.
- ``FULL``: fsync of the WAL at every commit, so acknowledged labels survive power loss too; each label costs
  one fsync (about a millisecond on a local SSD, much more on network or busy disks).

``labelwise serve --synchronous full`` selects FULL.

Checkpoints (copying the WAL into the database file, with an fsync) cost a few milliseconds, tens under disk
load. SQLite runs one inside the commit that grows the WAL past 1000 pages (every ~150 answers here); the
server's store turns that off and runs them from a :class:`Checkpointer` thread instead, so no request pays.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.pool import StaticPool

DB_FILENAME = "labelwise.db"
ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def default_url(project_dir: str | Path) -> str:
    return f"sqlite:///{Path(project_dir).resolve() / DB_FILENAME}"


SYNCHRONOUS = ("NORMAL", "FULL")


#: window functions (the store's answer in use, labelwise.server.store.answers_in_use); Python 3.11's own builds
#: and Debian 12 ship 3.40 and newer
MIN_SQLITE = (3, 25, 0)


def check_sqlite_version(version: tuple[int, ...] | None = None) -> None:
    """Refuse, with what to do, an SQLite library older than :data:`MIN_SQLITE` (a query would fail later)."""
    import sqlite3

    version = sqlite3.sqlite_version_info if version is None else version
    if tuple(version) < MIN_SQLITE:
        need, have = ".".join(map(str, MIN_SQLITE)), ".".join(map(str, version))
        raise RuntimeError(f"labelwise needs SQLite {need} or newer; this Python links SQLite {have}. Use a newer "
                           f"Python build, or a PostgreSQL database (--db postgresql+psycopg://...)")


def make_engine(url: str, *, synchronous: str = "NORMAL", autocheckpoint: bool = True) -> Engine:
    """An engine for ``url``. For SQLite: WAL journal, ``synchronous`` (NORMAL or FULL: see the module
    docstring), foreign keys on, a 30 s busy timeout, and transactions that begin when SQLAlchemy begins them
    (so a read-then-write sequence is one transaction). ``autocheckpoint=False``: commits never checkpoint
    (run a :class:`Checkpointer`)."""
    synchronous = synchronous.upper()
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, got {synchronous!r}")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)
    check_sqlite_version()
    memory = url in ("sqlite://", "sqlite:///:memory:")
    extra = {"poolclass": StaticPool} if memory else {"pool_size": 20, "max_overflow": 20}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **extra)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - exercised by every test
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover
        # execution option "immediate" (see writer()): take the write lock at BEGIN
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that read before they write. On SQLite they begin with
    ``BEGIN IMMEDIATE``: a deferred transaction that has read fails at once with SQLITE_BUSY, busy timeout or
    not, when another connection (the trainer process, a second server) commits before its first write.
    Other databases ignore the option."""
    return engine.execution_options(immediate=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (creates every table on a new database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("projects")


class Checkpointer:
    """Checkpoints a SQLite WAL from a background thread every ``interval`` seconds.

    PASSIVE checkpoints never wait for (or block) readers and writers, and the sqlite3 module releases the GIL
    while they copy and sync. But under a steady stream of commits a PASSIVE checkpoint never finds the WAL
    fully copied at the moment a writer begins, and only then does SQLite start the WAL over: the file would
    grow without end. So once the WAL holds ``restart_frames`` frames, a RESTART checkpoint follows the
    PASSIVE one: it copies only what was committed meanwhile, holding writers back for that short time, and
    the next commit starts the WAL from the beginning.
    """

    def __init__(self, engine: Engine, *, interval: float = 1.0, restart_frames: int = 10_000):
        self.engine, self.interval, self.restart_frames = engine, interval, restart_frames
        self.runs, self.restarts = 0, 0
        self.last: tuple[int, int, int] | None = None  # (busy, frames in the WAL, frames checkpointed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Checkpointer:
        self._thread = threading.Thread(target=self._loop, name="labelwise-checkpoint", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        connection = self.engine.raw_connection()
        try:
            while not self._stop.wait(self.interval):
                self.checkpoint(connection)
            self.checkpoint(connection)
        finally:
            connection.close()

    def checkpoint(self, connection: Any) -> tuple[int, int, int]:
        """One PASSIVE checkpoint on ``connection`` (a DBAPI connection), then a RESTART one when the WAL
        is long. Returns SQLite's (busy, frames in the WAL, frames checkpointed)."""
        cursor = connection.cursor()
        try:
            result = tuple(cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
            if result[1] >= self.restart_frames:
                result = tuple(cursor.execute("PRAGMA wal_checkpoint(RESTART)").fetchone())
                self.restarts += 1
        finally:
            cursor.close()
        self.runs += 1
        self.last = result
        return result

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

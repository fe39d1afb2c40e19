"""An on-disk embedding cache: one SQLite file, one row per (model identity, settings, text) hash.

Why SQLite: a single file that many processes can read while one writes (WAL mode), where a write is a
transaction, so a process killed mid-write leaves the previous committed state intact (never a torn
vector, never a corrupt index). Lookups are batched (``key IN (...)`` over chunks of keys), so asking for
100k texts is a few hundred queries, not 100k round trips. Vectors are stored as raw float32 or float16
bytes (384-d MiniLM: 1.5 KB or 0.75 KB per text).

Size limit: table ``usage (key, used)`` holds the time (Unix microseconds) each vector was last written or read; a vector
without a ``usage`` row (written before the table existed, or by an older labelwise, which leaves ``vectors``
as it was) counts as the oldest. ``prune(max_bytes)`` deletes the least recently used vectors until the file
fits, then VACUUMs so it really shrinks; ``max_bytes=`` (or ``$LABELWISE_CACHE_MAX_BYTES``) prunes
automatically after a write that took the file past 110 % of the cap. The stamps live in their own small
table, not in a column of ``vectors``: refreshing one rewrites a 16-byte key and an integer, not the page that
holds a 1.5 KB vector. Reads refresh a stamp only when it is older than :data:`TOUCH_EVERY` seconds, in one
transaction per ``get_many`` call, so reading the same texts again within the hour writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import sqlite3
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Environment variable overriding the default cache directory.
CACHE_ENV = "LABELWISE_CACHE_DIR"
CACHE_FILE = "embeddings.sqlite3"
_DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}
#: Environment variable giving the default size cap of caches opened without ``max_bytes`` (e.g. ``2GB``).
MAX_BYTES_ENV = "LABELWISE_CACHE_MAX_BYTES"
_CHUNK = 500  # keys per SELECT; far below SQLite's bound-parameter limit
#: Reads refresh a row's ``used`` stamp only when it is older than this (microseconds, like the stamps): the
#: order among rows read again within the hour is the order of their first read in that hour.
TOUCH_EVERY = 3600 * 10**6
#: Automatic pruning starts when the file passes this multiple of ``max_bytes`` (amortizes the VACUUM).
PRUNE_SLACK = 1.1
#: Page size of new cache files. SQLite's default 4 KiB page stores a 1.5 KB vector as a cell plus a mostly
#: empty overflow page (~4.7 KB on disk per 384-d float32 row); 16 KiB pages keep such rows inline (~1.9 KB).
PAGE_SIZE = 16384
_MAX_PRUNE_ROUNDS = 5
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2, "MIB": 1024**2,
          "G": 1024**3, "GB": 1024**3, "GIB": 1024**3, "T": 1024**4, "TB": 1024**4, "TIB": 1024**4}
# The schema of every labelwise version so far (kept as is: older versions keep reading and writing it) ...
_VECTORS = ("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, dtype TEXT NOT NULL, vec BLOB NOT NULL) "
            "WITHOUT ROWID")
# ... plus the last-use stamps, added in place to existing files.
_USAGE = ("CREATE TABLE IF NOT EXISTS usage (key BLOB PRIMARY KEY, used INTEGER NOT NULL) WITHOUT ROWID",
          "CREATE INDEX IF NOT EXISTS usage_used ON usage (used)")
_UPSERT_USED = "INSERT INTO usage (key, used) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET used = excluded.used"


def _now() -> int:
    """Unix microseconds: writes a few milliseconds apart still order (a function so tests can move the clock)."""
    return time.time_ns() // 1000


def parse_size(text: str | int) -> int:
    """Bytes in ``text``: an integer, or a number with a unit B, KB, MB, GB or TB (powers of 1024; KiB etc. too).

    >>> parse_size("2GB"), parse_size("1.5 kb"), parse_size(512)
    (2147483648, 1536, 512)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*", str(text))
        unit = m.group(2).upper() if m else None
        if m is None or unit not in _UNITS:
            raise ValueError(f"expected a size like 500MB or 2GB (units B, KB, MB, GB, TB), got {text!r}")
        value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise ValueError(f"a cache size limit must be positive, got {text!r}")
    return value


def default_cache_dir() -> Path:
    """``$LABELWISE_CACHE_DIR`` if set, else ``~/.cache/labelwise/embeddings``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "labelwise" / "embeddings"


def text_key(namespace: str, text: str) -> bytes:
    """16-byte key of ``text`` under ``namespace`` (model identity + every setting that changes the vector).

    128-bit BLAKE2b: collisions are out of reach for any corpus size that fits on a disk.
    """
    h = hashlib.blake2b(digest_size=16)
    ns = namespace.encode("utf-8")
    h.update(len(ns).to_bytes(4, "little"))
    h.update(ns)
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.digest()


class EmbeddingCache:
    """Persistent map ``key (bytes) -> vector (1-d float32)``.

    ``dtype="float16"`` halves the disk size at ~1e-3 relative error per component; vectors come back as
    float32 either way. Safe for concurrent use by several processes and threads (one connection per process,
    guarded by a lock; writers wait up to ``timeout`` seconds for each other). ``max_bytes`` (an int or a size
    such as ``"2GB"``; default ``$LABELWISE_CACHE_MAX_BYTES``, else unlimited) caps the file: see :meth:`prune`.
    """

    def __init__(self, directory: str | os.PathLike | None = None, *, dtype: str = "float32",
                 timeout: float = 60.0, max_bytes: int | str | None = None) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"cache dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILE
        self.dtype = dtype
        self.timeout = timeout
        if max_bytes is None and os.environ.get(MAX_BYTES_ENV):
            try:
                max_bytes = parse_size(os.environ[MAX_BYTES_ENV])
            except ValueError as e:
                raise ValueError(f"${MAX_BYTES_ENV}: {e}") from None
        self.max_bytes: int | None = None if max_bytes is None else parse_size(max_bytes)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None

    # -- connection -------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self.directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None)
        try:
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect on a new file only
            conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
            conn.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable enough, never corrupt on a crash
            conn.execute("PRAGMA journal_size_limit=67108864")  # a checkpointed WAL shrinks back to <= 64 MiB
            for statement in (_VECTORS, *_USAGE):
                conn.execute(statement)
        except sqlite3.DatabaseError:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this process's connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_conn"], state["_pid"], state["_lock"] = None, None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- reads and writes -------------------------------------------------------------------------------
    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys`` (missing keys are absent from the result).

        Marks the rows found as used now (one write transaction, only for rows last marked more than
        :data:`TOUCH_EVERY` seconds ago; skipped, never an error, when another process holds the write lock).
        """
        out: dict[bytes, np.ndarray] = {}
        if not keys:
            return out
        uniq = list(dict.fromkeys(keys))
        now = _now()
        stale: list[tuple[bytes, int]] = []
        with self._lock:
            conn = self._connect()
            for i in range(0, len(uniq), _CHUNK):
                chunk = uniq[i:i + _CHUNK]
                q = ("SELECT v.key, v.dtype, v.vec, u.used FROM vectors v LEFT JOIN usage u ON u.key = v.key "
                     f"WHERE v.key IN ({','.join('?' * len(chunk))})")
                for key, dt, blob, used in conn.execute(q, chunk):
                    out[bytes(key)] = np.frombuffer(blob, dtype=_DTYPES[dt]).astype(np.float32)
                    if used is None or used < now - TOUCH_EVERY:
                        stale.append((key, now))
            if stale:
                _touch(conn, stale)
        return out

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` under ``keys[i]`` in one transaction (all or nothing); existing keys keep their
        vector (only their ``used`` time is refreshed). Prunes afterwards when ``max_bytes`` is exceeded by
        more than :data:`PRUNE_SLACK`."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise ValueError(f"expected a (len(keys)={len(keys)}, dim) array, got shape {vectors.shape}")
        if not keys:
            return
        dt, now = _DTYPES[self.dtype], _now()
        rows = [(k, self.dtype, np.ascontiguousarray(v, dtype=dt).tobytes()) for k, v in zip(keys, vectors,
                                                                                            strict=True)]
        with self._lock:
            conn = self._connect()
            with _transaction(conn):
                conn.executemany("INSERT OR IGNORE INTO vectors (key, dtype, vec) VALUES (?, ?, ?)", rows)
                conn.executemany(_UPSERT_USED, [(k, now) for k in keys])
            if self.max_bytes is not None and self.size_bytes() > PRUNE_SLACK * self.max_bytes:
                self._prune(conn, self.max_bytes)

    def round_trip(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as they will come back from the cache (float16 rounding), so fresh and cached rows agree."""
        return np.asarray(vectors, dtype=_DTYPES[self.dtype]).astype(np.float32)

    def __len__(self) -> int:
        with self._lock:
            return int(self._connect().execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def clear(self) -> None:
        """Delete every cached vector and shrink the file."""
        with self._lock:
            conn = self._connect()
            with _transaction(conn):
                conn.execute("DELETE FROM vectors")
                conn.execute("DELETE FROM usage")
            _compact(conn)

    # -- size -------------------------------------------------------------------------------------------
    def size_bytes(self) -> int:
        """Bytes on disk: the database file plus its write-ahead log (0 if the cache was never opened)."""
        total = 0
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def stats(self) -> dict[str, dict[str, int]]:
        """``{dtype: {"rows": n, "vector_bytes": b}}`` (scans the table: seconds on a multi-GB cache)."""
        with self._lock:
            q = "SELECT dtype, COUNT(*), COALESCE(SUM(length(vec)), 0) FROM vectors GROUP BY dtype ORDER BY dtype"
            return {dt: {"rows": int(n), "vector_bytes": int(b)} for dt, n, b in self._connect().execute(q)}

    def prune(self, max_bytes: int | str) -> int:
        """Delete the least recently used rows until the database fits in ``max_bytes`` (an int or ``"2GB"``),
        then VACUUM so the file shrinks. Returns the number of rows deleted.

        The cap bounds the database once its write-ahead log is checkpointed (which this does), so
        :meth:`size_bytes` is at most ``max_bytes`` afterwards unless another process keeps the log open.

        Each round deletes, in one transaction, the oldest rows holding the share of vector bytes by which the
        file is too big, then VACUUMs (itself atomic): a process killed at any point leaves either the rows
        before or after a round, never a torn file. A cap below an empty database's size (a few pages) empties
        the cache. When it compacts a file made with SQLite's 4 KiB pages, and no other process has the cache
        open, it rebuilds it with :data:`PAGE_SIZE` pages. The write-ahead log is truncated too, unless another
        process is reading it.
        """
        max_bytes = parse_size(max_bytes)
        with self._lock:
            return self._prune(self._connect(), max_bytes)

    def _prune(self, conn: sqlite3.Connection, max_bytes: int) -> int:
        deleted, rebuilt = 0, False
        for _ in range(_MAX_PRUNE_ROUNDS):  # one round, a second when VACUUM packs pages differently
            page_size, pages, free = (_pragma(conn, p) for p in ("page_size", "page_count", "freelist_count"))
            if pages * page_size <= max_bytes:
                break
            if not rebuilt:  # an old small-page file may fit once rebuilt: measure again before deleting
                rebuilt = True
                if _rebuild_with_big_pages(conn):
                    continue
            live = (pages - free) * page_size
            n = _delete_oldest(conn, 1.0 - max_bytes / live) if live > max_bytes else 0
            deleted += n
            if n == 0 and free == 0:
                break  # nothing left to delete or to compact
            _compact(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def integrity_ok(self) -> bool:
        """SQLite's own ``PRAGMA integrity_check``."""
        with self._lock:
            return self._connect().execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def __repr__(self) -> str:
        cap = "" if self.max_bytes is None else f", max_bytes={self.max_bytes}"
        return f"EmbeddingCache({str(self.directory)!r}, dtype={self.dtype!r}{cap})"


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception (the connection is in autocommit)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except BaseException:
                self.conn.execute("ROLLBACK")  # never leave the connection inside a transaction
                raise
        self.conn.execute("ROLLBACK")


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    """An integer pragma, its statement run to completion (a pending one would hold a read transaction open)."""
    return int(conn.execute(f"PRAGMA {name}").fetchall()[0][0])


def _touch(conn: sqlite3.Connection, rows: list[tuple[bytes, int]]) -> None:
    """Set ``used`` on rows just read; best effort (the vectors are already read, bookkeeping never fails a read).

    Waits at most a second for another process's write lock, then keeps the old stamps.
    """
    timeout_ms = _pragma(conn, "busy_timeout")
    conn.execute(f"PRAGMA busy_timeout={min(timeout_ms, 1000)}")
    try:
        with _transaction(conn):
            conn.executemany(_UPSERT_USED, rows)
    except sqlite3.OperationalError:  # locked, read-only file
        pass
    finally:
        conn.execute(f"PRAGMA busy_timeout={timeout_ms}")


def _delete_oldest(conn: sqlite3.Connection, share: float) -> int:
    """Delete, in one transaction, the least recently used vectors holding ``share`` of all vector bytes (at
    least one). Scans the whole table (a prune reads the file once or twice; writes stay cheap)."""
    with _transaction(conn):
        total = conn.execute("SELECT COALESCE(SUM(length(vec)), 0) FROM vectors").fetchall()[0][0]
        target = math.ceil(share * total)
        keys, freed = [], 0
        # NULL (no stamp) sorts first: the oldest. Ties broken by key, i.e. at random.
        for key, nbytes in conn.execute("SELECT v.key, length(v.vec) FROM vectors v LEFT JOIN usage u "
                                        "ON u.key = v.key ORDER BY u.used, v.key"):
            if freed >= target and keys:
                break
            keys.append((key,))
            freed += nbytes
        conn.executemany("DELETE FROM vectors WHERE key = ?", keys)
        conn.executemany("DELETE FROM usage WHERE key = ?", keys)
        # stamps of vectors deleted by other means (an older labelwise's clear)
        conn.execute("DELETE FROM usage WHERE key NOT IN (SELECT key FROM vectors)")
    return len(keys)


def _rebuild_with_big_pages(conn: sqlite3.Connection) -> bool:
    """VACUUM a file made with smaller pages into :data:`PAGE_SIZE` pages. Only possible while no other
    connection has the file open (leaving WAL mode fails at once otherwise): returns whether it happened."""
    if _pragma(conn, "page_size") >= PAGE_SIZE:
        return False
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchall()[0][0]
    except sqlite3.OperationalError:
        return False
    try:
        if mode != "delete":
            return False
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("VACUUM")  # rollback journal: a crash here restores the old file on the next open
    finally:
        conn.execute("PRAGMA journal_mode=WAL")
    return True


def _compact(conn: sqlite3.Connection) -> None:
    """VACUUM (into bigger pages where possible) and truncate the write-ahead log."""
    if not _rebuild_with_big_pages(conn):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def open_cache(cache: bool | str | os.PathLike | EmbeddingCache | None, *, dtype: str = "float32"
               ) -> EmbeddingCache | None:
    """Resolve a featurizer's ``cache=`` option: True (default dir), False/None (off), a directory, or a cache.

    A cache that cannot be opened (read-only home, full disk) warns and turns caching off rather than fail the
    run: the cache saves time, it never changes results.
    """
    if cache is None or cache is False:
        return None
    c = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(None if cache is True else cache,
                                                                       dtype=dtype)
    try:
        with c._lock:
            c._connect()
    except (OSError, sqlite3.Error) as e:
        warnings.warn(f"labelwise: embedding cache at {c.path} unavailable ({e}); embedding without a cache",
                      RuntimeWarning, stacklevel=3)
        return None
    return c

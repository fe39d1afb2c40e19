"""An on-disk embedding cache: one SQLite file, one row per (model identity, settings, text) hash.

Why SQLite: a single file that many processes can read while one writes (WAL mode), where a write is a
transaction, so a process killed mid-write leaves the previous committed state intact (never a torn
vector, never a corrupt index). Lookups are batched (``key IN (...)`` over chunks of keys), so asking for
100k texts is a few hundred queries, not 100k round trips. Vectors are stored as raw float32 or float16
bytes (384-d MiniLM: 1.5 KB or 0.75 KB per text; a million texts fit in 0.8–1.6 GB).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Environment variable overriding the default cache directory.
CACHE_ENV = "LABELWISE_CACHE_DIR"
CACHE_FILE = "embeddings.sqlite3"
_DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}
_CHUNK = 500  # keys per SELECT; far below SQLite's bound-parameter limit


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
    guarded by a lock; writers wait up to ``timeout`` seconds for each other).
    """

    def __init__(self, directory: str | os.PathLike | None = None, *, dtype: str = "float32",
                 timeout: float = 60.0) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"cache dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILE
        self.dtype = dtype
        self.timeout = timeout
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
            conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
            conn.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable enough, never corrupt on a crash
            conn.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, dtype TEXT NOT NULL, "
                         "vec BLOB NOT NULL) WITHOUT ROWID")
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
        """The cached vectors among ``keys`` (missing keys are absent from the result)."""
        out: dict[bytes, np.ndarray] = {}
        if not keys:
            return out
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            conn = self._connect()
            for i in range(0, len(uniq), _CHUNK):
                chunk = uniq[i:i + _CHUNK]
                q = f"SELECT key, dtype, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})"
                for key, dt, blob in conn.execute(q, chunk):
                    out[bytes(key)] = np.frombuffer(blob, dtype=_DTYPES[dt]).astype(np.float32)
        return out

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` under ``keys[i]`` in one transaction (all or nothing); existing keys are kept."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise ValueError(f"expected a (len(keys)={len(keys)}, dim) array, got shape {vectors.shape}")
        if not keys:
            return
        dt = _DTYPES[self.dtype]
        rows = [(k, self.dtype, np.ascontiguousarray(v, dtype=dt).tobytes()) for k, v in zip(keys, vectors,
                                                                                            strict=True)]
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO vectors (key, dtype, vec) VALUES (?, ?, ?)", rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def round_trip(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as they will come back from the cache (float16 rounding), so fresh and cached rows agree."""
        return np.asarray(vectors, dtype=_DTYPES[self.dtype]).astype(np.float32)

    def __len__(self) -> int:
        with self._lock:
            return int(self._connect().execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def clear(self) -> None:
        """Delete every cached vector."""
        with self._lock:
            conn = self._connect()
            conn.execute("DELETE FROM vectors")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def integrity_ok(self) -> bool:
        """SQLite's own ``PRAGMA integrity_check``."""
        with self._lock:
            return self._connect().execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.directory)!r}, dtype={self.dtype!r})"


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

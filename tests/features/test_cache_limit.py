"""The cache's size limit: last-use stamps, LRU pruning, in-place migration of old files, automatic pruning."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from labelwise.features import cache as cache_mod
from labelwise.features.cache import CACHE_FILE, PAGE_SIZE, TOUCH_EVERY, EmbeddingCache, parse_size, text_key

OLD_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, dtype TEXT NOT NULL, vec BLOB NOT NULL) WITHOUT ROWID"


def _keys(tag, n):
    return [text_key("m", f"{tag}{i}") for i in range(n)]


def _vecs(start, n, dim=384):
    return np.arange(start, start + n, dtype=np.float32)[:, None] * np.ones(dim, np.float32)


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000]
    monkeypatch.setattr(cache_mod, "_now", lambda: now[0])
    return now


def _sql(path, query, params=()):
    """Run one statement on a connection of its own, closed at once (an open one would block a page rebuild)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        return conn.execute(query, params).fetchall()


def _stamps(path):
    return dict(_sql(path, "SELECT key, used FROM usage"))


def _settled_size(c):
    c.prune(10**12)  # under the cap: deletes nothing, checkpoints the write-ahead log into the file
    return c.size_bytes()


def test_parse_size_units_and_errors():
    assert parse_size("2GB") == 2 * 1024**3
    assert parse_size("1.5 kb") == 1536
    assert parse_size("10MiB") == 10 * 1024**2
    assert parse_size("4096") == parse_size(4096) == 4096
    for bad in ("2XB", "GB", "-1MB", "0", "1 2MB", ""):
        with pytest.raises(ValueError, match="size"):
            parse_size(bad)


def test_old_schema_file_migrates_in_place_and_old_rows_prune_first(tmp_path, clock):
    """A file written by the previous version (old table only, SQLite's 4 KiB pages): every row readable after
    opening, the old table untouched (an older labelwise can still write it), unstamped rows are the oldest."""
    path = tmp_path / CACHE_FILE
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute(OLD_SCHEMA)
    old_keys = _keys("old", 400)
    old.executemany("INSERT INTO vectors VALUES (?, ?, ?)",
                    [(k, "float32", v.tobytes()) for k, v in zip(old_keys, _vecs(0, 400), strict=True)])
    old.close()
    assert _sql(path, "PRAGMA page_size") == [(4096,)]

    c = EmbeddingCache(tmp_path)
    got = c.get_many(old_keys)
    assert len(got) == 400 and all(np.array_equal(got[k], _vecs(i, 1)[0]) for i, k in enumerate(old_keys))
    cols = [r[1] for r in _sql(path, "PRAGMA table_info(vectors)")]
    assert cols == ["key", "dtype", "vec"]
    # an older labelwise writing after the migration: its row has no stamp
    late = text_key("m", "late-old-writer")
    _sql(path, "INSERT INTO vectors VALUES (?, ?, ?)", (late, "float32", _vecs(7, 1).tobytes()))
    assert late not in _stamps(path)

    clock[0] += 10 * TOUCH_EVERY
    new_keys = _keys("new", 400)
    c.put_many(new_keys, _vecs(1000, 400))
    before = c.size_bytes()  # file + log: at least the settled database
    deleted = c.prune(before // 4)
    assert c.size_bytes() <= before // 4 < before
    left = c.get_many(old_keys + [late] + new_keys)
    # the unstamped late row went first, then the rows read at the old time, before any new row
    assert late not in left and deleted == 801 - len(left)
    assert set(new_keys) <= set(left) or not any(k in left for k in old_keys)
    assert all(np.array_equal(v, _vecs(1000 + new_keys.index(k), 1)[0]) for k, v in left.items()
               if k in new_keys)
    assert _sql(path, "PRAGMA page_size") == [(PAGE_SIZE,)]  # rebuilt: nobody else open
    assert c.integrity_ok()


def test_recently_read_rows_survive_prune(tmp_path, clock):
    c = EmbeddingCache(tmp_path)
    a, b, d = _keys("a", 300), _keys("b", 300), _keys("d", 300)
    c.put_many(a, _vecs(0, 300))
    c.put_many(b, _vecs(300, 300))
    c.put_many(d, _vecs(600, 300))
    clock[0] += 2 * TOUCH_EVERY
    c.get_many(a)  # a is now the most recently used
    assert {_stamps(c.path)[k] for k in a} == {clock[0]} and {_stamps(c.path)[k] for k in b} == {clock[0] - 2 * TOUCH_EVERY}
    before = _settled_size(c)
    deleted = c.prune(before // 2)
    assert 0 < deleted <= 600
    left = c.get_many(a + b + d)
    assert set(a) <= set(left)
    assert len(left) == 900 - deleted
    assert c.size_bytes() <= before // 2
    for k, v in left.items():  # every survivor still holds its own vector
        i = (a + b + d).index(k)
        np.testing.assert_array_equal(v, _vecs(i, 1)[0])


def test_reads_within_touch_window_write_no_stamp(tmp_path, clock):
    c = EmbeddingCache(tmp_path)
    keys = _keys("k", 5)
    c.put_many(keys, _vecs(0, 5))
    t0 = clock[0]
    clock[0] += TOUCH_EVERY - 1
    c.get_many(keys)
    assert set(_stamps(c.path).values()) == {t0}
    clock[0] += 2
    c.get_many(keys[:2])
    stamps = _stamps(c.path)
    assert [stamps[k] for k in keys] == [clock[0]] * 2 + [t0] * 3
    c.put_many(keys[4:], _vecs(99, 1))  # writing an existing key refreshes its stamp, keeps its vector
    assert _stamps(c.path)[keys[4]] == clock[0]
    np.testing.assert_array_equal(c.get_many(keys[4:])[keys[4]], _vecs(4, 1)[0])


def test_prune_shrinks_the_file_and_is_a_no_op_when_under(tmp_path):
    c = EmbeddingCache(tmp_path)
    keys = _keys("s", 2000)
    c.put_many(keys, _vecs(0, 2000))
    big = _settled_size(c)
    assert c.prune(10 * big) == 0 and len(c) == 2000
    deleted = c.prune("256KB")
    assert c.size_bytes() <= 256 * 1024 and deleted == 2000 - len(c) and len(c) > 0
    assert c.size_bytes() < big
    n = len(c)
    assert c.prune(1) == n  # a cap below an empty file's size empties the cache
    assert len(c) == 0 and c.integrity_ok()
    with pytest.raises(ValueError, match="size"):
        c.prune("lots")


def test_max_bytes_prunes_after_writes_amortized(tmp_path, monkeypatch):
    cap = 512 * 1024
    c = EmbeddingCache(tmp_path, max_bytes="512KB")
    assert c.max_bytes == cap
    pruned_at = []
    real = c._prune
    monkeypatch.setattr(c, "_prune", lambda conn, m: pruned_at.append(m) or real(conn, m))
    for b in range(40):  # 40 x 30 rows x 1.5 KB: about 3.5x the cap
        keys = _keys(f"b{b}-", 30)
        c.put_many(keys, _vecs(b * 30, 30))
        assert c.size_bytes() <= 1.1 * cap
        assert len(c.get_many(keys)) == 30  # the batch just written is the newest: never pruned
    assert 1 <= len(pruned_at) < 40  # not after every write
    monkeypatch.setenv("LABELWISE_CACHE_MAX_BYTES", "1MB")
    assert EmbeddingCache(tmp_path).max_bytes == 1024**2
    assert EmbeddingCache(tmp_path, max_bytes=100).max_bytes == 100
    monkeypatch.setenv("LABELWISE_CACHE_MAX_BYTES", "1 parsec")
    with pytest.raises(ValueError, match="LABELWISE_CACHE_MAX_BYTES"):
        EmbeddingCache(tmp_path)
    monkeypatch.delenv("LABELWISE_CACHE_MAX_BYTES")
    assert EmbeddingCache(tmp_path).max_bytes is None


_PRUNER = textwrap.dedent("""
    import sys
    from labelwise.features.cache import EmbeddingCache
    c = EmbeddingCache(sys.argv[1])
    print("go", flush=True)
    c.prune(int(sys.argv[2]))
""")


def test_killed_pruner_leaves_a_consistent_cache(tmp_path):
    c = EmbeddingCache(tmp_path)
    n = 20_000
    keys = _keys("p", n)
    for i in range(0, n, 5000):
        c.put_many(keys[i:i + 5000], _vecs(i, 5000))
    c.close()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-c", _PRUNER, str(tmp_path), "100000"], stdout=subprocess.PIPE, env=env)
    assert p.stdout.readline().strip() == b"go"
    time.sleep(0.2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    c = EmbeddingCache(tmp_path)
    assert c.integrity_ok()
    got = c.get_many(keys)
    assert len(got) == len(c)
    for k, v in list(got.items())[:: max(1, len(got) // 300)]:
        np.testing.assert_array_equal(v, _vecs(keys.index(k), 1)[0])
    c.prune(100_000)  # and a later prune finishes the job
    assert c.size_bytes() <= 100_000 and c.integrity_ok()

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from labelwise.features import EmbeddingCache, default_cache_dir
from labelwise.features.cache import text_key


def test_put_get_roundtrip_and_missing_keys(tmp_path):
    c = EmbeddingCache(tmp_path)
    keys = [text_key("m", t) for t in ("a", "b", "c")]
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4)
    c.put_many(keys[:2], vecs[:2])
    got = c.get_many(keys)
    assert set(got) == set(keys[:2])
    np.testing.assert_array_equal(got[keys[1]], [4, 5, 6, 7])
    assert len(c) == 2
    c.put_many(keys[:1], vecs[2:3])  # existing keys are kept, not overwritten
    np.testing.assert_array_equal(c.get_many(keys[:1])[keys[0]], [0, 1, 2, 3])


def test_batched_lookup_beyond_one_sql_chunk(tmp_path):
    c = EmbeddingCache(tmp_path)
    keys = [text_key("m", str(i)) for i in range(1234)]
    c.put_many(keys, np.arange(1234, dtype=np.float32)[:, None].repeat(2, 1))
    got = c.get_many(keys[::-1])
    assert len(got) == 1234 and got[keys[1000]][1] == 1000.0


def test_float16_storage_and_round_trip(tmp_path):
    c = EmbeddingCache(tmp_path, dtype="float16")
    v = np.array([[0.1, 1 / 3]], dtype=np.float32)
    k = [text_key("m", "x")]
    c.put_many(k, v)
    back = c.get_many(k)[k[0]]
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, c.round_trip(v)[0])
    assert back[1] != np.float32(1 / 3)  # really stored at half precision


def test_key_separates_namespaces_and_texts():
    assert text_key("a", "x") != text_key("b", "x")
    assert text_key("a", "x") != text_key("a", "y")
    assert text_key("ab", "c") != text_key("a", "bc")  # length-prefixed namespace
    assert len(text_key("a", "x")) == 16


def test_default_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LABELWISE_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("LABELWISE_CACHE_DIR")
    assert default_cache_dir().parts[-3:] == (".cache", "labelwise", "embeddings")


def test_bad_dtype():
    with pytest.raises(ValueError, match="dtype"):
        EmbeddingCache(dtype="int8")


_WRITER = textwrap.dedent("""
    import sys, numpy as np
    from labelwise.features.cache import EmbeddingCache, text_key
    c = EmbeddingCache(sys.argv[1])
    B = 2000
    for b in range(10_000):
        keys = [text_key("crash", str(b * B + i)) for i in range(B)]
        vecs = (np.arange(b * B, (b + 1) * B, dtype=np.float32)[:, None] * np.ones(64, np.float32))
        c.put_many(keys, vecs)
        if b == 0:
            print("first", flush=True)
""")


def test_killed_writer_leaves_readable_all_or_nothing_cache(tmp_path):
    """SIGKILL a process while it writes batches: the cache must open, pass integrity_check, hold only
    whole batches (each put_many is one transaction) and every stored vector must be the one written."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, env=env)
    assert p.stdout.readline().strip() == b"first"
    time.sleep(0.3)  # well inside a later batch's write
    p.send_signal(signal.SIGKILL)
    p.wait()
    c = EmbeddingCache(tmp_path)
    assert c.integrity_ok()
    n = len(c)
    assert n >= 2000 and n % 2000 == 0
    ids = list(range(0, n + 4000, 7))
    got = c.get_many([text_key("crash", str(i)) for i in ids])
    assert len(got) == sum(i < n for i in ids)
    for i in ids[:: max(1, len(ids) // 200)]:
        k = text_key("crash", str(i))
        if i < n:
            np.testing.assert_array_equal(got[k], np.full(64, i, np.float32))
        else:
            assert k not in got
    c.put_many([text_key("crash", "after")], np.ones((1, 64), np.float32))  # still writable
    assert len(c) == n + 1

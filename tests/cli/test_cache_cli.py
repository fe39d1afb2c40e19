"""`labelwise cache info | prune | clear` on a temporary cache directory."""

import io

import numpy as np
import pytest

from labelwise.cli.main import main
from labelwise.features.cache import EmbeddingCache, text_key


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELWISE_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.delenv("LABELWISE_CACHE_MAX_BYTES", raising=False)
    d = tmp_path / "cache"
    c = EmbeddingCache(d)
    c.put_many([text_key("m", str(i)) for i in range(300)], np.ones((300, 384), np.float32))
    EmbeddingCache(d, dtype="float16").put_many([text_key("h", str(i)) for i in range(50)],
                                                 np.ones((50, 384), np.float32))
    c.close()
    return d


def test_info_reports_path_rows_size_and_dtypes(cache_dir, capsys):
    assert main(["cache", "info", "--dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    assert f"path: {cache_dir / 'embeddings.sqlite3'}" in out
    assert "rows: 350" in out
    assert "float32: 300 rows, 450.0 KB of vectors" in out  # 300 x 384 x 4 bytes
    assert "float16: 50 rows, 37.5 KB of vectors" in out
    size = EmbeddingCache(cache_dir).size_bytes()
    assert f"({size} bytes)" in out


def test_info_uses_the_env_default_dir_and_reports_a_missing_cache(cache_dir, monkeypatch, capsys):
    monkeypatch.setenv("LABELWISE_CACHE_DIR", str(cache_dir))
    assert main(["cache", "info"]) == 0
    assert "rows: 350" in capsys.readouterr().out
    assert main(["cache", "info", "--dir", str(cache_dir / "nowhere")]) == 2
    assert "no embedding cache at" in capsys.readouterr().err
    assert not (cache_dir / "nowhere").exists()  # inspecting never creates a cache


def test_prune_with_units(cache_dir, capsys):
    assert main(["cache", "prune", "--dir", str(cache_dir), "--max-size", "200KB"]) == 0
    out = capsys.readouterr().out
    c = EmbeddingCache(cache_dir)
    assert c.size_bytes() <= 200 * 1024
    assert 0 < len(c) < 350
    assert f"deleted {350 - len(c)} vectors" in out and "(limit 200.0 KB)" in out


@pytest.mark.parametrize("bad", ["2XB", "GB", "-5MB", "0"])
def test_prune_rejects_a_bad_size(cache_dir, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["cache", "prune", "--dir", str(cache_dir), "--max-size", bad])
    assert exc.value.code == 2
    assert "--max-size" in capsys.readouterr().err
    assert len(EmbeddingCache(cache_dir)) == 350


def test_clear_refuses_without_yes_when_stdin_is_not_a_tty(cache_dir, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a tty: never read
    assert main(["cache", "clear", "--dir", str(cache_dir)]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert len(EmbeddingCache(cache_dir)) == 350


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_clear_asks_and_keeps_the_cache_on_no(cache_dir, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", _Tty("n\n"))
    assert main(["cache", "clear", "--dir", str(cache_dir)]) == 1
    assert "Delete all 350 cached vectors" in capsys.readouterr().out
    assert len(EmbeddingCache(cache_dir)) == 350
    monkeypatch.setattr("sys.stdin", _Tty("yes\n"))
    assert main(["cache", "clear", "--dir", str(cache_dir)]) == 0
    assert len(EmbeddingCache(cache_dir)) == 0


def test_clear_with_yes(cache_dir, capsys):
    before = EmbeddingCache(cache_dir).size_bytes()
    assert main(["cache", "clear", "--dir", str(cache_dir), "--yes"]) == 0
    assert "deleted 350 vectors" in capsys.readouterr().out
    c = EmbeddingCache(cache_dir)
    assert len(c) == 0 and c.size_bytes() < before

"""write_jsonl / write_atomic / atomic_path (atomic, numpy-aware) and round trips of random texts through every text format."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelwise.data import DataError, atomic_path, load_corpus, write_atomic, write_jsonl

# Any Unicode text a loader must keep exactly: non-blank after strip (blank texts are an error by design).
texts = st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and "\x00" not in t)  # NUL is refused
labels = st.sampled_from(["pos", "neg", "标签", "a b"])


def test_write_jsonl_writes_lines_and_counts(tmp_path):
    path = tmp_path / "sub" / "out.jsonl"
    n = write_jsonl([{"text": "中文", "p": np.float32(0.5)}, {"ids": np.arange(3), "k": np.int64(7)}], path)
    assert n == 2
    assert path.read_text(encoding="utf-8") == '{"text": "中文", "p": 0.5}\n{"ids": [0, 1, 2], "k": 7}\n'
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_write_jsonl_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    os.chmod(path, 0o600)

    def records():
        yield {"ok": 1}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_jsonl(records(), path)
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]  # no temporary file left behind

    with pytest.raises(TypeError, match="cannot write a object as JSON"):
        write_jsonl([{"x": object()}], path)
    assert path.read_text() == "old\n"

    write_jsonl([{"new": True}], path)
    assert path.read_text() == '{"new": true}\n'
    assert path.stat().st_mode & 0o777 == 0o600  # the replaced file's mode is kept


def test_write_atomic_replaces_whole_file_readable_by_others(tmp_path):
    target = tmp_path / "out" / "x.md"
    write_atomic(target, "old\n")
    write_atomic(target, b"new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["x.md"]  # no temporary left over
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600: results are shared with a team


def test_atomic_path_replaces_only_after_the_block_succeeds(tmp_path):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target, suffix=".png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["plot.png"]
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(texts, labels), min_size=1, max_size=15))
def test_jsonl_round_trip_of_random_unicode(tmp_path, rows):
    path = tmp_path / "rt.jsonl"
    write_jsonl(({"id": f"r{i}", "text": t, "label": y} for i, (t, y) in enumerate(rows)), path)
    corpus = load_corpus(path)
    assert corpus.texts == [t for t, _ in rows]
    assert corpus.labels == [y for _, y in rows]
    assert corpus.ids == [f"r{i}" for i in range(len(rows))]
    assert corpus.label_set == sorted({y for _, y in rows})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(texts, st.lists(labels, max_size=3, unique=True)), min_size=1, max_size=10),
       sep=st.sampled_from([",", "\t"]))
def test_csv_and_tsv_round_trip_of_random_unicode(tmp_path, rows, sep):
    """Quotes, delimiters and newlines inside texts survive pandas' CSV writer and the loader.

    A lone carriage return is left out: pandas (Python's csv writer) does not quote it, and such a file is
    ambiguous to every CSV reader (see test_csv_carriage_return_in_an_unquoted_field).
    """
    rows = [(t.replace("\r", "\n") if t.replace("\r", "\n").strip() else "x", y) for t, y in rows]
    path = tmp_path / ("rt.csv" if sep == "," else "rt.tsv")
    pd.DataFrame({"text": [t for t, _ in rows], "labels": [json.dumps(y, ensure_ascii=False) for _, y in rows]}).to_csv(
        path, sep=sep, index=False)
    corpus = load_corpus(path, task="multilabel")
    assert corpus.texts == [t for t, _ in rows]
    assert corpus.labels == [y for _, y in rows]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(texts, labels), min_size=1, max_size=10))
def test_parquet_round_trip_of_random_unicode(tmp_path, rows):
    path = tmp_path / "rt.parquet"
    pd.DataFrame({"text": [t for t, _ in rows], "label": [y for _, y in rows]}).to_parquet(path)
    corpus = load_corpus(path)
    assert corpus.texts == [t for t, _ in rows] and corpus.labels == [y for _, y in rows]
    assert corpus.ids == list(range(len(rows)))


def test_csv_carriage_return_in_an_unquoted_field(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(b"text,label\nfine,a\nbro\rken,b\n")
    with pytest.raises(DataError) as info:
        load_corpus(path)
    assert str(info.value) == f"{path}, line 3: bad CSV quoting: a carriage return (\\r) inside an unquoted field; quote the field"


def test_csv_windows_line_ends_and_crlf_inside_quotes(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b'text,label\r\n"two\r\nlines",a\r\nplain,b\r\n,c\r\n')
    with pytest.raises(DataError) as info:
        load_corpus(path)
    assert info.value.line == 5 and info.value.reason == "empty text"
    path.write_bytes(b'text,label\r\n"two\r\nlines",a\r\nplain,b\r\n')
    corpus = load_corpus(path)
    assert corpus.texts == ["two\r\nlines", "plain"] and corpus.labels == ["a", "b"]

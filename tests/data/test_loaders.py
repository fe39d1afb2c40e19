"""load_corpus: every format, the id and label rules, and every error case (file, line/row, reason)."""

from __future__ import annotations

import gzip
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelwise.data import (
    TASK_PARSERS,
    DataError,
    DataWarning,
    ParsedRecord,
    TaskParser,
    load_corpus,
    register_task_parser,
    write_jsonl,
)

DATASETS = Path(os.environ.get("LABELWISE_DATASETS", Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"))


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def error_of(source, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        load_corpus(source, **kwargs)
    return info.value


def assert_located(err: DataError, path: Path, line: int, reason: str, field: str | None = None) -> None:
    """The error names the file, the line and the problem, both as attributes and in its message."""
    assert err.source == str(path)
    assert err.line == line
    assert reason in err.reason
    message = str(err)
    assert str(path) in message and f"line {line}" in message and reason in message
    if field is not None:
        assert err.field == field and repr(field) in message


# ----------------------------------------------------------------------------------------------- JSONL


def test_jsonl_basic_ids_labels_and_sorted_label_set(tmp_path):
    path = write(tmp_path / "a.jsonl",
                 '{"text": "one", "label": "b"}\n{"text": "two", "label": "a"}\n{"text": "three"}\n')
    corpus = load_corpus(path)
    assert corpus.ids == [0, 1, 2]
    assert corpus.texts == ["one", "two", "three"]
    assert corpus.labels == ["b", "a", None]
    assert corpus.label_set == ["a", "b"]
    assert corpus.task == "multiclass" and corpus.source == str(path) and corpus.tokens is None


def test_str_path_and_ndjson_suffix(tmp_path):
    path = write(tmp_path / "a.ndjson", '{"text": "x", "label": "a"}\n')
    assert load_corpus(str(path)).texts == ["x"]


def test_blank_lines_are_skipped_but_lines_stay_physical(tmp_path):
    path = write(tmp_path / "a.jsonl", '\n{"text": "one"}\n   \n\n{"text": "two"}\n{"text": ""}\n')
    err = error_of(path)
    assert_located(err, path, 6, "empty text", "text")
    corpus = load_corpus(write(tmp_path / "b.jsonl", '\n{"text": "one"}\n   \n{"text": "two"}\n'))
    assert corpus.ids == [1, 3]  # 0-based line numbers (the contract's), so an id points at its line
    assert corpus.labels is None and corpus.label_set == []


def test_fully_unlabeled_corpus_has_labels_none(tmp_path):
    corpus = load_corpus(write(tmp_path / "a.jsonl", '{"text": "x"}\n{"text": "y", "label": null}\n'))
    assert corpus.labels is None and not corpus.is_labeled


def test_chinese_text_and_bom(tmp_path):
    content = '\ufeff{"text": "体验2D巅峰 倚天屠龙记", "label": "游戏"}\n{"text": "同步A股首秀", "label": "股票"}\n'
    corpus = load_corpus(write(tmp_path / "zh.jsonl", content))
    assert corpus.texts == ["体验2D巅峰 倚天屠龙记", "同步A股首秀"]
    assert corpus.label_set == sorted(["游戏", "股票"])


def test_gzip_jsonl(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write('{"text": "x", "label": "a"}\n')
    assert load_corpus(path).labels == ["a"]


def test_fmt_overrides_the_suffix(tmp_path):
    path = write(tmp_path / "data.txt", '{"text": "x"}\n')
    err = error_of(path)
    assert "fmt=" in err.reason and err.source == str(path)
    assert load_corpus(path, fmt="jsonl").texts == ["x"]
    assert "unknown format" in error_of(path, fmt="xml").reason


@pytest.mark.parametrize(
    ("content", "line", "reason", "field"),
    [
        ('{"text": "ok"}\n{"text": "broken\n', 2, "invalid JSON: Unterminated string", None),
        ('{"text": "ok"}\n{"text": "a"} {"text": "b"}\n', 2, "invalid JSON: Extra data (column 15)", None),
        ('{"text": "ok"}\n["a", "b"]\n', 2, "expected a JSON object {...} per line, got a list", None),
        ('{"text": "ok"}\n"just a string"\n', 2, "expected a JSON object {...} per line, got str", None),
        ('{"text": "ok"}\n{"body": "x"}\n', 2, "missing text field 'text' (fields present: body)", "text"),
        ('{"text": "ok"}\n\n{"text": ""}\n', 3, "empty text", "text"),
        ('{"text": "ok"}\n{"text": " \\t\\n"}\n', 2, "text is only whitespace", "text"),
        ('{"text": "ok"}\n{"text": "ab\\u0000c"}\n', 2, "text contains a NUL character (\\x00) at offset 2", "text"),
        ('{"text": "ok"}\n{"text": 42}\n', 2, "text must be a string, got int", "text"),
        ('{"text": "ok"}\n{"text": null}\n', 2, "text must be a string, got null", "text"),
        ('{"text": "ok", "label": "a"}\n{"text": "x", "label": ""}\n', 2, "empty label", "label"),
        ('{"text": "ok", "label": "a"}\n{"text": "x", "label": 1.5}\n', 2,
         "a label must be a string or an integer, got the number 1.5", "label"),
        ('{"text": "ok", "label": ["a", "b"]}\n', 1, "expected one label for task 'multiclass', got a list of 2",
         "label"),
    ],
)
def test_jsonl_record_errors(tmp_path, content, line, reason, field):
    path = write(tmp_path / "bad.jsonl", content)
    assert_located(error_of(path), path, line, reason, field)


def test_label_outside_declared_set(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "x", "label": "pos"}\n{"text": "y", "label": "neutral"}\n')
    err = error_of(path, labels=["pos", "neg"])
    assert_located(err, path, 2, "label 'neutral' is not in the declared labels ['pos', 'neg']", "label")


def test_declared_labels_keep_their_order_even_unseen(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "x", "label": "pos"}\n{"text": "y", "label": "neg"}\n')
    assert load_corpus(path, labels=["pos", "neutral", "neg"]).label_set == ["pos", "neutral", "neg"]


def test_integer_labels_become_strings(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "x", "label": 1}\n{"text": "y", "label": 0}\n')
    corpus = load_corpus(path, labels=[0, 1])
    assert corpus.labels == ["1", "0"] and corpus.label_set == ["0", "1"]
    assert corpus.label_matrix().tolist() == [1, 0]
    floats = write(tmp_path / "f.jsonl", '{"text": "x", "label": 1.0}\n{"text": "y", "labels": [0.0, 2]}\n'
                                         '{"text": "z", "label": NaN}\n')
    assert load_corpus(floats).labels == ["1", None, None]  # a whole float is its integer, NaN no label: as in
    # a DataFrame, and as json.dumps writes a float column with gaps
    assert load_corpus(floats, task="multilabel", label_field="labels").labels == [None, ["0", "2"], None]


def test_bad_declared_labels():
    with pytest.raises(ValueError, match="repeat"):
        load_corpus([{"text": "x"}], labels=["a", "b", "a"])
    with pytest.raises(TypeError, match="list of label names"):
        load_corpus([{"text": "x"}], labels="ab")


def test_require_labels(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "x", "label": "a"}\n{"text": "y"}\n')
    assert load_corpus(path).labels == ["a", None]
    assert_located(error_of(path, require_labels=True), path, 2, "no label", "label")


def test_duplicate_ids_name_both_lines(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n{"id": "a", "text": "z"}\n')
    assert_located(error_of(path), path, 3, "duplicate id 'a' (first on line 1)", "id")


def test_int_and_str_ids_clash(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"id": 1, "text": "x"}\n{"id": "1", "text": "y"}\n')
    assert_located(error_of(path), path, 2, "duplicate id '1' (first on line 1)", "id")


def test_given_ids_are_kept_as_they_are(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"id": 10, "text": "x"}\n{"id": "doc-7", "text": "y"}\n')
    assert load_corpus(path).ids == [10, "doc-7"]
    other = write(tmp_path / "b.jsonl", '{"key": "k1", "text": "x"}\n{"key": "k2", "text": "y"}\n')
    assert load_corpus(other, id_field="key").ids == ["k1", "k2"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"id": 1, "text": "x"}\n{"text": "y"}\n', "this record has no 'id' but line 1 has one"),
        ('{"text": "x"}\n{"id": 1, "text": "y"}\n', "this record has an 'id' but line 1 has none"),
        ('{"id": 1, "text": "x"}\n{"id": true, "text": "y"}\n', "id must be a non-empty string or an integer, got True"),
        ('{"id": 1, "text": "x"}\n{"id": 2.5, "text": "y"}\n', "id must be a non-empty string or an integer, got 2.5"),
        ('{"id": "a", "text": "x"}\n{"id": "", "text": "y"}\n', "id must be a non-empty string or an integer"),
    ],
)
def test_id_errors(tmp_path, content, reason):
    path = write(tmp_path / "ids.jsonl", content)
    assert_located(error_of(path), path, 2, reason, "id")


def test_record_longer_than_max_record_bytes(tmp_path):
    long_text = "é" * 60  # 120 bytes in UTF-8
    path = write(tmp_path / "a.jsonl", '{"text": "short"}\n' + json.dumps({"text": long_text}, ensure_ascii=False) + "\n")
    size = len(json.dumps({"text": long_text}, ensure_ascii=False).encode()) + 1
    assert_located(error_of(path, max_record_bytes=100), path, 2,
                   f"record is {size} bytes, more than max_record_bytes=100")
    assert len(load_corpus(path, max_record_bytes=size)) == 2


def test_undecodable_bytes_name_the_line(tmp_path):
    path = write(tmp_path / "a.jsonl", b'{"text": "ok"}\n{"text": "caf\xe9"}\n')  # Latin-1 e-acute
    assert_located(error_of(path), path, 2, "not valid UTF-8: byte 0xe9 at byte 14 of the line")


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path / "empty.jsonl", content)
    err = error_of(path)
    assert err.source == str(path) and err.line is None and "empty file" in str(err) and str(path) in str(err)


def test_missing_file(tmp_path):
    err = error_of(tmp_path / "nope.jsonl")
    assert err.reason == "no such file" and "nope.jsonl" in str(err)


def test_json_array_file_gets_a_hint(tmp_path):
    path = write(tmp_path / "a.json", '[\n  {"text": "x"}\n]\n')
    assert_located(error_of(path), path, 1, "looks like a JSON array")


def test_all_problems_are_collected_and_counted(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": ""}\n{"text": "ok"}\nnot json\n{"txt": "x"}\n{"text": 3}\n{"text": 4}\n')
    err = error_of(path)
    assert err.line == 1 and err.reason == "empty text"  # the first problem, reason unchanged
    assert [p.line for p in err.problems] == [1, 3, 4, 5, 6]
    message = str(err)
    assert "4 more problems: line 3: invalid JSON" in message
    assert "line 4, field 'text': missing text field" in message and message.endswith("; ...)")
    assert "line 6" not in message  # only the next three are spelled out


def test_a_single_problem_has_no_more_suffix(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "ok"}\n{"text": ""}\n')
    err = error_of(path)
    assert str(err) == f"{path}, line 2, field 'text': empty text" and len(err.problems) == 1


def test_fifty_thousand_lines_load_fast(tmp_path):
    """A guard against per-record work that grows with the file (the measured time is ~0.2 s)."""
    path = tmp_path / "big.jsonl"
    write_jsonl(({"id": f"r{i}", "text": f"record number {i} " * 5, "label": f"l{i % 7}"} for i in range(50_000)), path)
    start = time.perf_counter()
    corpus = load_corpus(path)
    assert time.perf_counter() - start < 5.0
    assert len(corpus) == 50_000 and corpus.ids[-1] == "r49999" and len(corpus.label_set) == 7


# ----------------------------------------------------------------------------------------------- multilabel


def test_multilabel_lists_delimited_strings_and_fallback_field(tmp_path):
    path = write(tmp_path / "ml.jsonl", "\n".join([
        '{"text": "a", "labels": ["x", "y"]}',
        '{"text": "b", "labels": []}',
        '{"text": "c", "labels": "y|z"}',
        '{"text": "d", "label": ["z"]}',
        '{"text": "e"}',
        '{"text": "f", "labels": ["x", "x", "y"]}',
        '{"text": "g", "labels": "[\\"w\\"]"}',
    ]) + "\n")
    corpus = load_corpus(path, task="multilabel")
    assert corpus.labels == [["x", "y"], [], ["y", "z"], ["z"], None, ["x", "y"], ["w"]]
    assert corpus.label_set == ["w", "x", "y", "z"]
    assert corpus.subset([0, 1]).label_matrix().tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]


def test_multilabel_custom_delimiter_and_declared_set(tmp_path):
    path = write(tmp_path / "ml.jsonl", '{"text": "a", "labels": "x; y"}\n{"text": "b", "labels": "q"}\n')
    assert load_corpus(path, task="multilabel", label_delimiter=";", labels=["y", "x", "q"]).labels == [["x", "y"], ["q"]]
    err = error_of(path, task="multilabel", label_delimiter=";", labels=["x", "y"])
    assert_located(err, path, 2, "label 'q' is not in the declared labels", "labels")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"a||b"', "empty label between delimiters '|'"),
        ('"[\\"a\\", ]"', "labels look like a JSON list but are not valid JSON"),
        ('{"a": 1}', "labels must be a list or a delimited string, got dict"),
        ('["a", null]', "a label must be a string, got null"),
        ('""', "empty labels string"),
    ],
)
def test_multilabel_errors(tmp_path, value, reason):
    path = write(tmp_path / "ml.jsonl", f'{{"text": "a", "labels": ["x"]}}\n{{"text": "b", "labels": {value}}}\n')
    assert_located(error_of(path, task="multilabel"), path, 2, reason, "labels")


def test_unknown_task():
    with pytest.raises(ValueError, match="unknown task 'regression'"):
        load_corpus([{"text": "x"}], task="regression")


# ----------------------------------------------------------------------------------------------- CSV / TSV


def test_csv_round_trip_through_pandas(tmp_path):
    df = pd.DataFrame({
        "id": ["a", "b", "c"],
        "text": ['He said "hi", twice', "line one\nline two", "中文，逗号"],
        "label": ["x", "y", "x"],
    })
    path = tmp_path / "a.csv"
    df.to_csv(path, index=False)
    corpus = load_corpus(path)
    assert corpus.ids == ["a", "b", "c"] and corpus.texts == df["text"].tolist()
    assert corpus.labels == ["x", "y", "x"] and corpus.label_set == ["x", "y"]


def test_tsv_round_trip_multilabel(tmp_path):
    path = tmp_path / "a.tsv"
    pd.DataFrame({"text": ["one", "two", "three"], "labels": ["x|y", '["z"]', ""]}).to_csv(path, sep="\t", index=False)
    corpus = load_corpus(path, task="multilabel")
    assert corpus.labels == [["x", "y"], ["z"], None]  # an empty cell is an unlabeled record
    assert corpus.ids == [0, 1, 2]


def test_csv_ids_stay_strings_and_empty_label_cells_are_unlabeled(tmp_path):
    path = write(tmp_path / "a.csv", "id,text,label\n1,hello,pos\n2,world,\n")
    corpus = load_corpus(path)
    assert corpus.ids == ["1", "2"] and corpus.labels == ["pos", None]


def test_csv_bom_and_chinese(tmp_path):
    path = write(tmp_path / "zh.csv", "\ufefftext,label\n酒店很干净,正面\n")
    corpus = load_corpus(path)
    assert corpus.texts == ["酒店很干净"] and corpus.labels == ["正面"]


def test_csv_line_numbers_are_physical_after_a_multiline_record(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\n"first\nspans\nthree lines",a\nok,b\n,c\n')
    assert_located(error_of(path), path, 6, "empty text", "text")


def test_csv_unterminated_quote(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\nfine,a\n"never closed,b\nmore,c\n')
    assert_located(error_of(path), path, 3, "unterminated quoted field: a '\"' in this record is never closed "
                                            "(file ends at line 4)")


def test_csv_text_after_a_closing_quote(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\n"quoted"tail,a\n')
    assert_located(error_of(path), path, 2, "bad CSV quoting: ',' expected after '\"'")
    tsv = write(tmp_path / "a.tsv", 'text\tlabel\n"Great" movie\tpos\n')
    assert "quote the whole field and double the quotes inside" in str(error_of(tsv))  # how to fix it
    fixed = write(tmp_path / "b.tsv", 'text\tlabel\n"""Great"" movie"\tpos\n')
    assert load_corpus(fixed).texts == ['"Great" movie']


def test_csv_wrong_number_of_fields(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\nhello,a\nhello, world,b\n")
    assert_located(error_of(path), path, 3, "3 fields, but the header has 2")


def test_csv_header_without_the_text_column(tmp_path):
    path = write(tmp_path / "a.csv", "sentence,label\nhello,a\n")
    assert_located(error_of(path), path, 1, "the header has no column 'text' (columns: sentence, label)", "text")
    assert load_corpus(path, text_field="sentence").texts == ["hello"]


def test_csv_repeated_header_column(tmp_path):
    path = write(tmp_path / "a.csv", "text,text\na,b\n")
    assert_located(error_of(path), path, 1, "the header repeats column(s) text")


def test_csv_empty_and_header_only(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    assert "empty file" in str(error_of(empty)) and error_of(empty).source == str(empty)
    header_only = write(tmp_path / "header.csv", "text,label\n")
    assert str(error_of(header_only)) == f"{header_only}: empty file: no records"


def test_csv_undecodable_bytes(tmp_path):
    path = write(tmp_path / "a.csv", b"text,label\nok,a\nna\xefve,b\n")
    assert_located(error_of(path), path, 3, "not valid UTF-8: byte 0xef at byte 3 of the line")


def test_csv_record_longer_than_max_record_bytes(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\nshort,a\n" + "x" * 300 + ",b\n")
    assert_located(error_of(path, max_record_bytes=200), path, 3, "record is 303 bytes, more than max_record_bytes=200")


def test_csv_fields_larger_than_the_csv_module_default_limit(tmp_path):
    text = "y" * 200_000  # the csv module refuses fields over 131,072 characters unless told otherwise
    path = write(tmp_path / "a.csv", f"text,label\n{text},a\n")
    assert load_corpus(path).texts == [text]


# ----------------------------------------------------------------------------------------------- DataFrame


def test_dataframe_rows_numpy_values_and_gaps():
    df = pd.DataFrame({"text": ["a", "b", "c"], "label": [1, np.nan, 0], "id": [7, 8, 9]})
    corpus = load_corpus(df)
    assert corpus.ids == [7, 8, 9] and all(type(i) is int for i in corpus.ids)
    assert corpus.labels == ["1", None, "0"] and corpus.source == "<DataFrame>"


def test_dataframe_errors_name_the_zero_based_row():
    df = pd.DataFrame({"text": ["fine", "  ", "ok"], "label": ["a", "b", "c"]})
    err = error_of(df)
    assert err.row == 1 and err.line is None and err.field == "text"
    assert str(err) == "<DataFrame>, row 1, field 'text': text is only whitespace"


def test_dataframe_duplicate_ids_name_both_rows():
    df = pd.DataFrame({"text": ["a", "b", "c"], "id": ["x", "y", "x"]})
    assert str(error_of(df)) == "<DataFrame>, row 2, field 'id': duplicate id 'x' (first on row 0)"


def test_dataframe_missing_text_column_and_empty():
    assert "no column 'text' (columns: body)" in str(error_of(pd.DataFrame({"body": ["x"]})))
    assert "empty DataFrame" in str(error_of(pd.DataFrame({"text": []})))


def test_dataframe_text_longer_than_max_record_bytes():
    err = error_of(pd.DataFrame({"text": ["ok", "汉" * 40]}), max_record_bytes=100)
    assert err.row == 1 and "text is 120 bytes, more than max_record_bytes=100" in str(err)


def test_list_of_dicts():
    corpus = load_corpus([{"text": "a", "labels": ["x"]}, {"text": "b", "labels": "x|y"}], task="multilabel")
    assert corpus.labels == [["x"], ["x", "y"]] and corpus.source == "<records>"
    assert str(error_of([{"text": "a"}, "b"])) == "<records>, row 1: expected a mapping (dict) per record, got str"


def test_unsupported_source_type():
    with pytest.raises(TypeError, match="a path, a pandas DataFrame or a list of dicts"):
        load_corpus(42)


# ----------------------------------------------------------------------------------------------- Parquet


def test_parquet_round_trip_with_list_labels(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({
        "id": [3, 1, 2],
        "text": ["one", "二", "three"],
        "labels": [["x"], [], ["y", "x"]],
        "unused": [0.5, 0.1, 0.2],
    }).to_parquet(path)
    corpus = load_corpus(path, task="multilabel")
    assert corpus.ids == [3, 1, 2] and corpus.texts == ["one", "二", "three"]
    assert corpus.labels == [["x"], [], ["y", "x"]] and corpus.label_set == ["x", "y"]
    assert corpus.source == str(path)


def test_parquet_errors_name_the_row(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"text": ["one", "two", "three"], "label": ["a", "b", "zz"]}).to_parquet(path)
    err = error_of(path, labels=["a", "b"])
    assert err.source == str(path) and err.row == 2 and err.field == "label"
    assert str(err) == f"{path}, row 2, field 'label': label 'zz' is not in the declared labels ['a', 'b']"


def test_parquet_missing_column_and_broken_file(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"body": ["x"]}).to_parquet(path)
    assert "no column 'text' (columns: body)" in str(error_of(path))
    broken = write(tmp_path / "broken.parquet", b"not parquet at all")
    assert "not a readable Parquet file" in str(error_of(broken))


# ----------------------------------------------------------------------------------------------- NER


def test_ner_tokens_and_tags(tmp_path):
    path = write(tmp_path / "ner.jsonl", "\n".join([
        '{"tokens": ["Peter", "Blackburn", "visits", "Paris"], "tags": ["B-PER", "I-PER", "O", "B-LOC"]}',
        '{"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}',
        '{"tokens": ["unlabeled"]}',
    ]) + "\n")
    corpus = load_corpus(path, task="ner")
    assert corpus.tokens == [["Peter", "Blackburn", "visits", "Paris"], ["EU", "rejects"], ["unlabeled"]]
    assert corpus.texts == ["Peter Blackburn visits Paris", "EU rejects", "unlabeled"]
    assert corpus.labels == [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], None]
    assert corpus.label_set == ["LOC", "ORG", "PER"]


@pytest.mark.parametrize(
    ("record", "reason", "field"),
    [
        ('{"tokens": ["a", "b"], "tags": ["O"]}', "1 tags for 2 tokens", "tags"),
        ('{"tokens": [], "tags": []}', "empty token list", "tokens"),
        ('{"tokens": "a b", "tags": ["O"]}', "tokens must be a list of strings, got str", "tokens"),
        ('{"tokens": ["a", 3], "tags": ["O", "O"]}', "token 1 must be a non-empty string, got 3", "tokens"),
        ('{"tokens": ["a"], "tags": ["PER"]}', "tag 0 is 'PER'; expected 'O' or 'B-TYPE'", "tags"),
        ('{"tags": ["O"]}', "missing tokens field 'tokens'", "tokens"),
    ],
)
def test_ner_errors(tmp_path, record, reason, field):
    path = write(tmp_path / "ner.jsonl", '{"tokens": ["ok"], "tags": ["O"]}\n' + record + "\n")
    assert_located(error_of(path, task="ner"), path, 2, reason, field)


def test_ner_declared_entity_types(tmp_path):
    path = write(tmp_path / "ner.jsonl", '{"tokens": ["Bob", "in", "Rome"], "tags": ["B-PER", "O", "B-LOC"]}\n')
    assert load_corpus(path, task="ner", labels=["PER", "LOC"]).label_set == ["PER", "LOC"]
    assert_located(error_of(path, task="ner", labels=["PER"]), path, 1, "label 'LOC' is not in the declared labels",
                   "tags")


def test_a_task_parser_plugs_in_and_its_notes_become_located_warnings(tmp_path, monkeypatch):
    def parse(record, opts):
        return ParsedRecord(record[opts.text_field].upper(), record.get("score"), notes=("upper-cased",))

    monkeypatch.setitem(TASK_PARSERS, "shout", None)  # removed again after the test
    register_task_parser("shout", TaskParser(parse, lambda label: (label,), text_field="body"))
    path = write(tmp_path / "a.jsonl", '{"body": "hi", "score": "s"}\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = load_corpus(path, task="shout")
    assert corpus.texts == ["HI"] and corpus.labels == ["s"] and corpus.task == "shout"
    assert [str(w.message) for w in caught if w.category is DataWarning] == [f"{path}, line 1: upper-cased"]


# ----------------------------------------------------------------------------------------------- shared data


def test_trec6_train_from_the_shared_datasets():
    path = DATASETS / "trec6" / "train.jsonl"
    if not path.exists():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    corpus = load_corpus(path, require_labels=True)
    assert len(corpus) == 5452 and corpus.ids[:3] == [0, 1, 2] and corpus.ids[-1] == 5451
    assert corpus.label_set == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert corpus.texts[0] == "How did serfdom develop in and then leave Russia ?" and corpus.labels[0] == "DESC"


def test_a_huge_line_is_reported_without_reading_it_whole(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "ok"}\n{"text": "' + "z" * 5000 + '"}\n{"text": ""}\n')
    err = error_of(path, max_record_bytes=1000)
    assert_located(err, path, 2, "record is 5,013 bytes, more than max_record_bytes=1,000")
    assert [p.line for p in err.problems] == [2, 3]  # reading goes on after the long line


def test_csv_huge_line_then_more_records(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\nok,a\n" + "z" * 5000 + ",b\nfine,c\n,d\n")
    err = error_of(path, max_record_bytes=1000)
    assert_located(err, path, 3, "record is 5,003 bytes, more than max_record_bytes=1,000")
    assert [(p.line, p.reason) for p in err.problems[1:]] == [(5, "empty text")]


def test_dataframe_read_back_from_parquet_with_array_cells_and_pd_na(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame({"text": ["one", "two", "three"], "labels": [["x", "y"], None, []]}).to_parquet(path)
    df = pd.read_parquet(path)  # list cells come back as numpy arrays, the gap as None
    assert isinstance(df["labels"][0], np.ndarray)
    assert load_corpus(df, task="multilabel").labels == [["x", "y"], None, []]
    strings = pd.DataFrame({"text": pd.array(["a", "b"], dtype="string"), "label": pd.array(["p", pd.NA], dtype="string")})
    assert load_corpus(strings).labels == ["p", None]


def test_ner_with_text_field_text_still_reads_tokens(tmp_path):
    path = write(tmp_path / "ner.jsonl", '{"tokens": ["Bob"], "tags": ["B-PER"]}\n')
    assert load_corpus(path, task="ner", text_field="text").tokens == [["Bob"]]

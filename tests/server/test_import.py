"""Import is atomic: a malformed file is rejected with file, line and reason, and nothing is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from labelwise.cli.main import main
from labelwise.data import Corpus, DataError
from labelwise.server.project import create_project
from labelwise.server.store import Store

LABELS = ["pos", "neg"]
GOOD = '{"id": "a", "text": "fine", "label": "pos"}\n'

BAD_FILES = {
    "bad_json.jsonl": ((GOOD + '{"id": "b", "text": "broken"\n').encode(), 2),
    "undecodable.jsonl": (GOOD.encode() + b'{"id": "b", "text": "caf\xe9"}\n', 2),
    "empty_text.jsonl": ((GOOD + '{"id": "b", "text": "   "}\n').encode(), 2),
    "missing_field.jsonl": ((GOOD + '{"id": "b", "body": "x"}\n').encode(), 2),
    "unknown_label.jsonl": ((GOOD + '{"id": "b", "text": "x", "label": "meh"}\n').encode(), 2),
    "duplicate_ids.jsonl": ((GOOD + GOOD).encode(), 2),
    "huge_line.jsonl": ((GOOD + json.dumps({"id": "b", "text": "x" * 10_000_000}) + "\n").encode(), 2),
    "bad_quoting.csv": (b'id,text,label\na,fine,pos\nb,"unclosed quote,neg\n', 3),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_file_rejected_with_file_line_reason_and_nothing_created(tmp_path, name):
    content, line = BAD_FILES[name][0], BAD_FILES[name][1]
    data = tmp_path / name
    data.write_bytes(content)
    project = tmp_path / "proj"
    with pytest.raises(DataError) as info:
        create_project(project, data, labels=LABELS)
    err = info.value
    assert name in str(err)
    assert err.line == line, str(err)
    assert err.reason
    assert not project.exists()


def test_cli_new_reports_error_and_leaves_nothing(tmp_path, capsys):
    data = tmp_path / "bad.jsonl"
    data.write_bytes(BAD_FILES["unknown_label.jsonl"][0])
    assert main(["new", str(tmp_path / "p"), "--data", str(data), "--labels", "pos,neg"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "line 2" in err and "meh" in err
    assert not (tmp_path / "p").exists()


def test_failure_inside_the_import_transaction_rolls_everything_back(tmp_path):
    """The corpus passes validation but inserting its labels fails half-way: no table, no row remains."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    corpus = Corpus(ids=["a", "b"], texts=["one", "two"], task="multiclass", labels=["pos", {1, 2}],
                    label_set=LABELS)
    with pytest.raises(Exception, match="serializable"):
        Store.create(url, corpus, name="x", labels=LABELS, import_labels=True)
    engine = create_engine(url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()


def test_existing_project_is_not_overwritten(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(GOOD, encoding="utf-8")
    create_project(tmp_path / "p", data, labels=LABELS).close()
    with pytest.raises(FileExistsError):
        create_project(tmp_path / "p", data, labels=LABELS)


def test_import_labels_option(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(GOOD + '{"id": "b", "text": "two"}\n', encoding="utf-8")
    store = create_project(tmp_path / "p", data, labels=LABELS, import_labels=True)
    assert [(r["key"], r["answer"], r["annotator"]) for r in store.export_records()] == [("a", "pos", "import")]
    store.close()
    plain = create_project(tmp_path / "q", Path(data), labels=LABELS)
    assert plain.export_records() == [] and plain.n_items == 2
    plain.close()


def test_cli_new_sets_the_first_round_sample(tmp_path, capsys):
    from labelwise.server.project import open_project

    data = tmp_path / "d.jsonl"
    data.write_text(GOOD, encoding="utf-8")
    assert main(["new", str(tmp_path / "p"), "--data", str(data), "--labels", "pos,neg"]) == 0
    assert main(["new", str(tmp_path / "q"), "--data", str(data), "--labels", "pos,neg",
                 "--first-round-sample", "0"]) == 0
    for name, expected in (("p", 5000), ("q", 0)):
        store = open_project(tmp_path / name)
        assert store.project.settings["first_round_sample"] == expected
        store.close()
    with pytest.raises(SystemExit):
        main(["new", str(tmp_path / "r"), "--data", str(data), "--labels", "pos,neg", "--first-round-sample", "-1"])
    assert "expected a whole number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()

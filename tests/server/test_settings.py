"""Changing an existing project's model settings: checked as creation checks them, written, read by the trainer."""

from __future__ import annotations

import pytest

from labelwise.cli.main import main
from labelwise.demo import demo_records
from labelwise.server import trainer as trainer_mod
from labelwise.server.project import change_settings, create_project, open_project
from tests.server.test_ner_app import RECORDS, TYPES, write


@pytest.fixture
def project(tmp_path):
    records, labels, _ = demo_records("en")
    create_project(tmp_path / "p", records, labels=labels, settings={"model": "tfidf-lr"}).close()
    return tmp_path / "p"


def test_changes_are_checked_written_and_reach_the_trainers_learner(project):
    from types import SimpleNamespace

    store = open_project(project)
    try:
        for changes, message in (({"model": "bert-lr"}, "unknown model 'bert-lr'"),
                                 ({"strategy": "ml-max"}, "unknown multiclass strategy 'ml-max'"),
                                 ({"e5_prefix": "query"}, "tfidf-lr has none"),  # the model stays tfidf-lr
                                 ({"retrain_every": 0}, "retrain_every must be a whole number >= 1"),
                                 ({"answers_per_text": 2}, "cannot change answers_per_text")):
            with pytest.raises(ValueError, match=message):
                change_settings(store, changes)
        assert store.project.settings["model"] == "tfidf-lr" and "e5_prefix" not in store.project.settings
        after = change_settings(store, {"model": "e5-tfidf-lr", "e5_prefix": "query", "retrain_every": 3})
        assert (after["model"], after["e5_prefix"], after["retrain_every"]) == ("e5-tfidf-lr", "query", 3)
    finally:
        store.close()
    store = open_project(project)  # written to the database, not only to this store
    try:
        assert store.project.settings["e5_prefix"] == "query" and store.project.settings["retrain_every"] == 3
        job = SimpleNamespace(settings=store.project.settings, task="multiclass", label_set=store.project.labels)
        learner = trainer_mod._new_learner(job, store.item_ids, store.texts())
        assert learner.spec.name == "e5-tfidf-lr"
        assert learner.e5_prefix == "query" and not learner._choosing_prefix
        assert "e5_prefix" not in change_settings(store, {"e5_prefix": None})  # back to the default: auto
        assert change_settings(store, {"retrain_every": None})["retrain_every"] == 10  # back to the default
    finally:
        store.close()


def test_an_ner_project_takes_no_e5_prefix(tmp_path):
    store = create_project(tmp_path / "ner", write(tmp_path / "ner.jsonl", RECORDS), task="ner", labels=TYPES)
    try:
        with pytest.raises(ValueError, match="no e5 part"):
            change_settings(store, {"e5_prefix": "query"})
        with pytest.raises(ValueError, match="model is 'auto' or 'crf'"):
            change_settings(store, {"model": "tfidf-lr"})
        assert change_settings(store, {"strategy": "ltp"})["strategy"] == "ltp"
    finally:
        store.close()


def test_cli_shows_and_changes_settings(project, capsys):
    assert main(["settings", str(project)]) == 0
    out = capsys.readouterr().out
    assert "model: tfidf-lr" in out and "->" not in out and "restarted" not in out
    assert main(["settings", str(project), "--model", "auto", "--e5-prefix", "query"]) == 0
    out = capsys.readouterr().out
    assert "model: tfidf-lr -> auto" in out and "e5_prefix: auto -> query" in out and "restarted" in out
    assert main(["settings", str(project), "--model", "tfidf-lr"]) == 2  # the prefix kept does not fit it
    assert "this project's e5 prefix is 'query': set it back to auto" in capsys.readouterr().err
    assert main(["settings", str(project), "--e5-prefix", "auto"]) == 0
    assert "e5_prefix: query -> auto" in capsys.readouterr().out
    assert main(["settings", str(project), "--model", "tfidf-lr", "--e5-prefix", "query"]) == 2
    assert "tfidf-lr has none" in capsys.readouterr().err
    store = open_project(project)
    assert store.project.settings["model"] == "auto"  # the refused change wrote nothing
    store.close()
    assert main(["settings", str(project.parent / "nope")]) == 2

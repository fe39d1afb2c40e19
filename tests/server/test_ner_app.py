"""NER projects in the app: creation and import errors, the span API (accept, add, overlap, remove, Chinese per
character), the NER exports and a background CRF round that pre-fills spans."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from labelwise.cli.main import main
from labelwise.data import DataError
from labelwise.server.app import create_app
from labelwise.server.export import render
from labelwise.server.project import create_project
from labelwise.server.spans import suggestion_from_marginals
from labelwise.server.trainer import Trainer

TYPES = ["PER", "LOC", "ORG"]
RECORDS = [
    {"id": "en1", "tokens": ["John", "Smith", "lives", "in", "Paris", "."],
     "tags": ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]},
    {"id": "en2", "text": "Mary works at Acme Corp, London.",
     "spans": [{"start": 0, "end": 4, "label": "PER"}, {"start": 14, "end": 23, "label": "ORG"}]},
    {"id": "zh1", "text": "张三在北京工作。"},
]


def write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def ner_store(tmp_path):
    store = create_project(tmp_path / "ner", write(tmp_path / "ner.jsonl", RECORDS), task="ner", labels=TYPES)
    yield store
    store.close()


def logged_in(app, name="ann") -> TestClient:
    client = TestClient(app)
    out = client.post("/api/login", json={"name": name})
    client.headers["X-CSRF-Token"] = out.json()["csrf"]
    return client


def item_by_key(client, store, key):
    pk = next(pk for pk, (k, _, _) in store._items.items() if k == key)
    return client.get(f"/api/items/{pk}").json()["item"]


# ------------------------------------------------------------------------------------------ creation
def test_cli_creates_ner_project_from_both_forms_with_tokens(tmp_path, capsys):
    data = write(tmp_path / "d.jsonl", RECORDS)
    assert main(["new", str(tmp_path / "p"), "--data", str(data), "--task", "ner", "--labels", "PER,LOC,ORG",
                 "--import-labels"]) == 0
    assert "3 texts" in capsys.readouterr().out
    from labelwise.server.project import open_project

    store = open_project(tmp_path / "p")
    try:
        items = {key: (text, tokens) for key, text, tokens in store._items.values()}
        assert items["en1"] == ("John Smith lives in Paris .", ["John", "Smith", "lives", "in", "Paris", "."])
        assert items["en2"][1] == ["Mary", "works", "at", "Acme", "Corp", ",", "London", "."]
        assert items["zh1"] == ("张三在北京工作。", list("张三在北京工作。"))  # Chinese: one token per character
        answers = {store._items[pk][0]: v for pk, v in store.current_labels().items()}
        assert answers == {"en1": ["B-PER", "I-PER", "O", "O", "B-LOC", "O"],
                           "en2": ["B-PER", "O", "O", "B-ORG", "I-ORG", "O", "O", "O"]}
        assert store.label_counts() == {"PER": 2, "LOC": 1, "ORG": 1}
    finally:
        store.close()


@pytest.mark.parametrize(("record", "reason"), [
    ({"tokens": ["Bob", "ran"], "tags": ["B-PER", "B-FOO"]}, "FOO"),  # type outside --labels
    ({"tokens": ["Bob", "ran"], "tags": ["O", "I-PER"]}, "invalid BIO"),  # I- without B-
    ({"tokens": ["Bob"], "tags": ["B-PER", "O"]}, "2 tags for 1 tokens"),
    ({"text": "Bobby ran", "spans": [{"start": 0, "end": 3, "label": "PER"}]}, "cuts token"),
    ({"text": "Bob ran", "spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 0, "end": 7, "label": "LOC"}]},
     "overlaps"),
    ({"text": "   "}, "non-empty text"),
])
def test_bad_ner_record_rejected_with_line_and_nothing_created(tmp_path, record, reason):
    data = write(tmp_path / "bad.jsonl", [RECORDS[0], record])
    with pytest.raises(DataError) as info:
        create_project(tmp_path / "p", data, task="ner", labels=TYPES)
    assert info.value.line == 2, str(info.value)
    assert reason in str(info.value)
    assert "bad.jsonl" in str(info.value)
    assert not (tmp_path / "p").exists()


def test_ner_settings_and_types_checked(tmp_path):
    data = write(tmp_path / "d.jsonl", RECORDS[:1])
    with pytest.raises(ValueError, match="'auto' or 'crf'"):
        create_project(tmp_path / "a", data, task="ner", labels=TYPES, settings={"model": "tfidf-lr"})
    with pytest.raises(ValueError, match="unknown NER strategy"):
        create_project(tmp_path / "b", data, task="ner", labels=TYPES, settings={"strategy": "margin"})
    with pytest.raises(ValueError, match="plain names"):
        create_project(tmp_path / "c", data, task="ner", labels=["B-PER"])
    assert not any((tmp_path / d).exists() for d in "abc")


# ------------------------------------------------------------------------------------------ span API
def test_add_accept_overlap_remove(ner_store):
    store = ner_store
    client = logged_in(create_app(store))
    item = item_by_key(client, store, "en1")
    pk = item["id"]
    assert item["tokens"] == ["John", "Smith", "lives", "in", "Paris", "."] and item["suggestion"] is None

    # the model pre-fills spans: accepting them is one submit of the suggested spans
    proba = np.empty(store.n_items, dtype=object)
    for i in range(store.n_items):
        proba[i] = None
    proba[store._row_of[pk]] = suggestion_from_marginals(["B-PER", "I-PER", "O", "O", "B-LOC", "O"],
                                                         [0.9, 0.8, 0.99, 0.99, 0.6, 0.99])
    store.set_ranking([pk], proba)
    sug = client.get(f"/api/items/{pk}").json()["item"]["suggestion"]
    assert sug["spans"] == [[0, 2, "PER", 0.8], [4, 5, "LOC", 0.6]] and sug["confidence"] == 0.6
    accepted = client.post(f"/api/items/{pk}/label",
                           json={"value": {"spans": [s[:3] for s in sug["spans"]]}, "next": False})
    assert accepted.status_code == 200, accepted.text
    assert store.current_labels()[pk] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]

    # add a span (token 2..3 as ORG), overlapping one rejected with both spans named
    added = client.post(f"/api/items/{pk}/label", json={"value": {"spans": [[0, 2, "PER"], [2, 4, "ORG"],
                                                                             [4, 5, "LOC"]]}, "next": False})
    assert added.status_code == 200
    assert store.current_labels()[pk] == ["B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "O"]
    bad = client.post(f"/api/items/{pk}/label", json={"value": {"spans": [[0, 2, "PER"], [1, 3, "LOC"]]}})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("overlapping spans: PER on tokens 0..1 overlaps LOC on tokens 1..2")
    assert store.current_labels()[pk] == ["B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "O"]  # unchanged

    # remove the ORG span: a new answer; the history keeps all three
    removed = client.post(f"/api/items/{pk}/label", json={"value": {"spans": [[0, 2, "PER"], [4, 5, "LOC"]]},
                                                          "next": False})
    assert removed.status_code == 200
    history = client.get(f"/api/items/{pk}").json()["history"]
    assert [h["is_current"] for h in history] == [False, False, True]
    assert history[1]["answer"] == ["B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "O"]
    assert history[2]["answer"] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]


@pytest.mark.parametrize(("value", "message"), [
    ({"spans": [[0, 9, "PER"]]}, "0 <= start < end <= 6"),
    ({"spans": [[1, 1, "PER"]]}, "0 <= start < end"),
    ({"spans": [[0, 1, "GPE"]]}, "not one of the entity types"),
    (["B-PER", "I-PER", "O", "O", "B-LOC"], "expected 6 BIO tags"),
    (["O", "I-PER", "O", "O", "O", "O"], "invalid BIO"),
    ("PER", "expected BIO tags"),
])
def test_bad_span_answers_explain_what_was_expected(ner_store, value, message):
    client = logged_in(create_app(ner_store))
    pk = item_by_key(client, ner_store, "en1")["id"]
    out = client.post(f"/api/items/{pk}/label", json={"value": value})
    assert out.status_code == 422 and message in out.json()["detail"], out.text


def test_chinese_per_character_spans_and_exports(ner_store):
    store = ner_store
    client = logged_in(create_app(store))
    item = item_by_key(client, store, "zh1")
    assert item["tokens"] == ["张", "三", "在", "北", "京", "工", "作", "。"]
    out = client.post(f"/api/items/{item['id']}/label",
                      json={"value": {"char_spans": [{"start": 0, "end": 2, "label": "PER"},
                                                     {"start": 3, "end": 5, "label": "LOC"}]}, "next": False})
    assert out.status_code == 200, out.text
    assert store.current_labels()[item["id"]] == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", "O"]
    one_char = client.post(f"/api/items/{item['id']}/label", json={"value": {"spans": [[2, 3, "LOC"]]}, "next": False})
    assert one_char.status_code == 200  # a single character is a span of its own
    assert store.current_labels()[item["id"]] == ["O", "O", "B-LOC", "O", "O", "O", "O", "O"]
    doccano = client.get("/api/export?format=doccano").text
    assert json.loads(doccano) == {"id": "zh1", "text": "张三在北京工作。", "label": [[2, 3, "LOC"]]}


# --------------------------------------------------------------------------------------------- exports
EXPORT_RECORDS = [
    {"key": "a", "id": "a", "text": "Mary works at Acme Corp, London.", "position": 0, "annotator": "ann",
     "created_at": "2025-01-01T00:00:00Z", "tokens": ["Mary", "works", "at", "Acme", "Corp", ",", "London", "."],
     "answer": ["B-PER", "O", "O", "B-ORG", "I-ORG", "O", "B-LOC", "O"]},
    {"key": "b", "id": "b", "text": "张三在北京", "position": 1, "annotator": "bob", "created_at": "2025-01-01T00:00:01Z",
     "tokens": ["张", "三", "在", "北", "京"], "answer": ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]},
]


def test_ner_export_formats():
    lines = [json.loads(x) for x in render(EXPORT_RECORDS, "jsonl", task="ner").splitlines()]
    assert lines[1] == {"id": "b", "tokens": ["张", "三", "在", "北", "京"],
                        "tags": ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"], "annotator": "bob",
                        "created_at": "2025-01-01T00:00:01Z"}
    doccano = [json.loads(x) for x in render(EXPORT_RECORDS, "doccano", task="ner").splitlines()]
    assert doccano == [
        {"id": "a", "text": "Mary works at Acme Corp, London.", "label": [[0, 4, "PER"], [14, 23, "ORG"], [25, 31, "LOC"]]},
        {"id": "b", "text": "张三在北京", "label": [[0, 2, "PER"], [3, 5, "LOC"]]},
    ]
    studio = json.loads(render(EXPORT_RECORDS, "label-studio", task="ner"))
    result = studio[0]["annotations"][0]["result"]
    assert [(r["value"]["start"], r["value"]["end"], r["value"]["text"], r["value"]["labels"]) for r in result] == [
        (0, 4, "Mary", ["PER"]), (14, 23, "Acme Corp", ["ORG"]), (25, 31, "London", ["LOC"])]
    assert all(r["type"] == "labels" for r in result)
    rows = list(csv.reader(io.StringIO(render(EXPORT_RECORDS, "csv", task="ner"))))
    assert rows[0] == ["id", "text", "tags", "spans", "annotator", "created_at"]
    assert rows[2][:4] == ["b", "张三在北京", "B-PER I-PER O B-LOC I-LOC", '[[0, 2, "PER"], [3, 5, "LOC"]]']


def test_exported_jsonl_reimports_as_the_same_answers(tmp_path, ner_store):
    out = tmp_path / "export.jsonl"
    out.write_text(render(EXPORT_RECORDS, "jsonl", task="ner"), encoding="utf-8")
    store = create_project(tmp_path / "again", out, task="ner", labels=TYPES, import_labels=True)
    try:
        got = {store._items[pk][0]: v for pk, v in store.current_labels().items()}
        assert got == {"a": EXPORT_RECORDS[0]["answer"], "b": EXPORT_RECORDS[1]["answer"]}
    finally:
        store.close()


# ------------------------------------------------------------------------------------ background CRF
NAMES = ["John", "Mary", "Peter", "Anna", "Paul", "Lisa", "Mark", "Emma"]
CITIES = ["Paris", "London", "Berlin", "Rome", "Madrid", "Vienna", "Oslo", "Prague"]


def templated(n):
    out = []
    for i in range(n):
        name, city = NAMES[i % 8], CITIES[(i * 3) % 8]
        if i % 2:
            out.append({"id": f"s{i}", "tokens": [name, "lives", "in", city, "."], "tags": ["B-PER", "O", "O", "B-LOC", "O"]})
        else:
            out.append({"id": f"s{i}", "tokens": ["Yesterday", name, "flew", "to", city], "tags": ["O", "B-PER", "O", "O", "B-LOC"]})
    return out


def test_trainer_fits_crf_ranks_queue_and_prefills_spans(tmp_path):
    records = templated(40)
    gold = {r["id"]: r["tags"] for r in records}
    store = create_project(tmp_path / "t", write(tmp_path / "t.jsonl", records), task="ner", labels=TYPES,
                           settings={"retrain_every": 12, "ranked_size": 10})
    trainer = Trainer(store, mode="thread").start()
    try:
        assert trainer.wait_idle(60)
        a, _ = store.add_annotator("ann")
        item = store.next_item(a)
        labeled = set()
        for _ in range(12):
            labeled.add(item["id"])
            item = store.submit(a, item["id"], gold[item["key"]], next_item=True)["next"]
        assert trainer.wait_idle(60) and trainer.last_error is None
        run = store.runs()[-1]
        assert run["n_labels"] == 12 and run["metric"] == "entity_f1" and 0 <= run["accuracy"] <= 1
        order = store._ranking.order
        assert len(order) == 10 and not set(order) & labeled  # only unlabeled sentences are ranked
        right = 0
        for pk in set(store.item_ids) - labeled:
            sug = store.suggestion(pk)
            assert set(sug) == {"tags", "spans", "confidence"} and 0 <= sug["confidence"] <= 1
            right += sug["tags"] == gold[store._items[pk][0]]
        assert right >= 0.8 * 28  # templated sentences: the CRF pre-fills nearly all correctly
        held = store.next_item(a)  # leased before the round finished
        nxt = store.submit(a, held["id"], gold[held["key"]], next_item=True)["next"]
        assert nxt["id"] == next(pk for pk in order if pk != held["id"])  # the ranked queue comes first
        assert nxt["suggestion"]["spans"]
    finally:
        trainer.stop()
        store.close()

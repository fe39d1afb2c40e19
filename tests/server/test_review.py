"""The "review labels" queue: a label check over the project's answers flags an obviously wrong label; keeping
or changing it is recorded (who, when, link to the review) and the original answer stays in the history."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from labelwise.server.app import create_app
from labelwise.server.project import create_project
from labelwise.server.review import MIN_LABELS, ReviewJob, ReviewQueue, compute_review

POS = ["wonderful", "great", "excellent", "lovely", "superb", "delightful"]
NEG = ["terrible", "awful", "horrible", "dreadful", "lousy", "abysmal"]


def records(n=30):
    out = []
    for i in range(n):
        words = POS if i % 2 == 0 else NEG
        text = f"a {words[i % 6]} {words[(i + 1) % 6]} film, truly {words[(i + 2) % 6]}"
        out.append({"id": f"r{i}", "text": text, "label": "pos" if i % 2 == 0 else "neg"})
    return out


@pytest.fixture
def project(tmp_path):
    data = records()
    for r in data:
        if r["id"] == "r8":
            r["label"] = "neg"  # the obviously wrong label: r8's words are all positive
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    store = create_project(tmp_path / "p", path, labels=["pos", "neg"], import_labels=True,
                           settings={"review_model": "tfidf-lr"})
    yield store
    store.close()


def logged_in(app, name) -> TestClient:
    client = TestClient(app)
    out = client.post("/api/login", json={"name": name})
    client.headers["X-CSRF-Token"] = out.json()["csrf"]
    return client


def run_check(client, app) -> dict:
    started = client.post("/api/review/run")
    assert started.status_code == 200, started.text
    assert app.state.review.wait(120)
    return client.get("/api/review").json()


def test_wrong_label_ranked_first_then_changed_with_history(project):
    app = create_app(project)
    client = logged_in(app, "rita")
    status = run_check(client, app)
    assert status["last_run"]["status"] == "done" and status["last_run"]["n_labels"] == 30
    assert status["last_run"]["small_class_flags"] == []
    entries = client.get("/api/review/queue").json()["entries"]
    first = entries[0]
    assert (first["key"], first["given"], first["suggested"]) == ("r8", "neg", "pos")
    assert first["quality"] < 0.5 and first["answers"] == [{"annotator": "import", "answer": "neg"}]
    assert status["pending"] == len(entries)

    out = client.post(f"/api/review/{first['id']}", json={"decision": "change", "value": "pos"})
    assert out.status_code == 200, out.text
    entry = out.json()["entry"]
    assert entry["decision"] == "change" and entry["reviewer"] == "rita" and entry["decided_at"]
    history = entry["history"]
    assert [(h["annotator"], h["answer"], h["is_current"], h["source"]) for h in history] == [
        ("import", "neg", False, "import"), ("rita", "pos", True, "review")]
    assert history[0]["superseded_by"] == history[1]["label_id"] == entry["new_label_id"]
    assert history[1]["review_id"] == entry["id"]
    export = {r["id"]: r["label"] for r in map(json.loads, client.get("/api/export").text.splitlines())}
    assert export["r8"] == "pos" and len(export) == 30
    again = client.post(f"/api/review/{first['id']}", json={"decision": "keep"})
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    # the reviewer's undo restores the original answer (the change was an answer of hers) and reopens the entry
    assert client.post("/api/undo").json()["item"]["key"] == "r8"
    assert project.current_labels()[entry["item_id"]] == "neg"
    reopened = client.get(f"/api/review/{first['id']}").json()["entry"]
    assert (reopened["decision"], reopened["reviewer"], reopened["new_label_id"]) == (None, None, None)
    assert first["id"] in [e["id"] for e in client.get("/api/review/queue").json()["entries"]]
    assert client.get("/api/review").json()["pending"] == status["pending"]
    kept = client.post(f"/api/review/{first['id']}", json={"decision": "keep"})
    assert kept.status_code == 200 and kept.json()["entry"]["decision"] == "keep"


def test_an_answer_changed_in_review_stays_in_its_authors_history_marked(tmp_path):
    data = records(30)
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in data), encoding="utf-8")
    store = create_project(tmp_path / "p", path, labels=["pos", "neg"], settings={"review_model": "tfidf-lr"})
    try:
        app = create_app(store)
        ann, rita = logged_in(app, "ann"), logged_in(app, "rita")
        truth = {r["id"]: r["label"] for r in data}
        item = ann.get("/api/next").json()["item"]
        wrong_key = item["key"]
        while item is not None:
            value = truth[item["key"]] if item["key"] != wrong_key else {"pos": "neg", "neg": "pos"}[truth[wrong_key]]
            item = ann.post(f"/api/items/{item['id']}/label", json={"value": value}).json()["item"]
        run_check(rita, app)
        entry = next(e for e in rita.get("/api/review/queue").json()["entries"] if e["key"] == wrong_key)
        assert rita.post(f"/api/review/{entry['id']}", json={"decision": "change"}).status_code == 200
        history = ann.get("/api/history?limit=40").json()["history"]
        assert len(history) == 30
        mine = next(h for h in history if h["key"] == wrong_key)
        assert (mine["answer"], mine["changed_by"], mine["changed_to"]) == (entry["given"], "rita", truth[wrong_key])
        assert all(h["changed_by"] is None for h in history if h["key"] != wrong_key)
        # rita answers the text again herself: ann's entry follows the answer in use now
        store.submit(store.annotator_id("rita"), entry["item_id"], entry["given"])
        mine = next(h for h in ann.get("/api/history?limit=40").json()["history"] if h["key"] == wrong_key)
        assert (mine["changed_by"], mine["changed_to"]) == ("rita", entry["given"])
        rita.post("/api/undo")  # takes that back: the review change is in use again
        rita.post("/api/undo")  # and the change itself: ann's answer is current again, unmarked
        history = ann.get("/api/history?limit=40").json()["history"]
        mine = [h for h in history if h["key"] == wrong_key]
        assert len(mine) == 1 and (mine[0]["changed_by"], mine[0]["changed_to"]) == (None, None)
        # overridden again, then ann answers anew (from her list): one row, her current answer
        run_check(rita, app)
        entry = next(e for e in rita.get("/api/review/queue").json()["entries"] if e["key"] == wrong_key)
        assert rita.post(f"/api/review/{entry['id']}", json={"decision": "change"}).status_code == 200
        rita.get("/api/next")  # rita moves on: her undo's lease on the text goes
        assert ann.post(f"/api/items/{entry['item_id']}/label", json={"value": entry["given"]}).status_code == 200
        mine = [h for h in ann.get("/api/history?limit=40").json()["history"] if h["key"] == wrong_key]
        assert len(mine) == 1 and mine[0]["changed_by"] is None
    finally:
        store.close()


def test_same_answer_compares_label_sets_and_annotator_stats_have_no_nan(tmp_path):
    """An imported multi-label answer keeps the file's order: a "change" to the same set is no change. NaN
    annotator statistics become None (JSON has no NaN: the status route would fail)."""
    from labelwise.server.review import _finite, _same_answer

    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a", "text": "x y", "labels": ["b", "a"]}\n', encoding="utf-8")
    store = create_project(tmp_path / "p", path, labels=["a", "b", "c"], task="multilabel", import_labels=True)
    try:
        item = store.item_ids[0]
        assert store.current_labels()[item] == ["a", "b"]  # imported in canonical (label-set) order
        assert _same_answer(store.validate(["a", "b"], item), ["b", "a"], store, item)
        assert not _same_answer(store.validate(["a"], item), ["b", "a"], store, item)
    finally:
        store.close()
    assert _finite(float("nan")) is None and _finite(0.123456) == 0.1235


def test_undoing_a_review_change_keeps_a_newer_answer_of_the_reviewed_annotator(project):
    """The reviewed annotator answers the text again after the change; the reviewer's undo then retracts the change
    and leaves that newer answer current (restoring the old one too broke the one-current-answer rule: a 500)."""
    app = create_app(project)
    client = logged_in(app, "rita")
    run_check(client, app)
    first = client.get("/api/review/queue").json()["entries"][0]
    assert client.post(f"/api/review/{first['id']}", json={"decision": "change", "value": "pos"}).status_code == 200
    importer = project.annotator_id("import")
    project.submit(importer, first["item_id"], "neg")
    undone = client.post("/api/undo")
    assert undone.status_code == 200, undone.text
    history = client.get(f"/api/review/{first['id']}").json()["entry"]["history"]
    assert [(h["annotator"], h["answer"], h["is_current"]) for h in history] == [
        ("import", "neg", False), ("rita", "pos", False), ("import", "neg", True)]
    assert project.current_labels()[first["item_id"]] == "neg"
    # the answer it was about is no longer the one in use: the entry is marked undone, not reopened for good
    entry = client.get(f"/api/review/{first['id']}").json()["entry"]
    assert entry["decision"] == "undone"
    assert first["id"] not in [e["id"] for e in client.get("/api/review/queue").json()["entries"]]
    again = client.post(f"/api/review/{first['id']}", json={"decision": "keep"})
    assert again.status_code == 409


def test_keep_is_recorded_and_not_asked_again(project):
    app = create_app(project)
    client = logged_in(app, "kim")
    run_check(client, app)
    first = client.get("/api/review/queue").json()["entries"][0]
    kept = client.post(f"/api/review/{first['id']}", json={"decision": "keep"}).json()["entry"]
    assert kept["decision"] == "keep" and kept["reviewer"] == "kim" and kept["new_label_id"] is None
    assert project.current_labels()[first["item_id"]] == "neg"  # unchanged
    run_check(client, app)
    assert first["label_id"] not in [e["label_id"] for e in client.get("/api/review/queue").json()["entries"]]
    decided = client.get("/api/review/queue?decided=true").json()["entries"]
    assert [(e["key"], e["decision"]) for e in decided] == [("r8", "keep")]
    assert client.get("/api/review").json()["kept"] == 1


def test_change_defaults_to_the_suggestion_and_validates(project):
    app = create_app(project)
    client = logged_in(app, "rita")
    run_check(client, app)
    first = client.get("/api/review/queue").json()["entries"][0]
    bad = client.post(f"/api/review/{first['id']}", json={"decision": "change", "value": "meh"})
    assert bad.status_code == 422 and "expected one of" in bad.json()["detail"]
    assert client.post(f"/api/review/{first['id']}", json={"decision": "maybe"}).status_code == 422
    ok = client.post(f"/api/review/{first['id']}", json={"decision": "change"})
    assert ok.status_code == 200 and project.current_labels()[first["item_id"]] == "pos"


def test_a_change_to_the_same_label_counts_as_keeping_it(project):
    app = create_app(project)
    client = logged_in(app, "rita")
    run_check(client, app)
    first = client.get("/api/review/queue").json()["entries"][0]
    out = client.post(f"/api/review/{first['id']}", json={"decision": "change", "value": first["given"]}).json()
    assert out["entry"]["decision"] == "keep" and out["entry"]["new_label_id"] is None
    status = client.get("/api/review").json()
    assert (status["kept"], status["changed"]) == (1, 0)
    assert [h["annotator"] for h in out["entry"]["history"]] == ["import"]


def test_too_few_labels_says_how_many(tmp_path):
    data = records(12)
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in data), encoding="utf-8")
    store = create_project(tmp_path / "p", path, labels=["pos", "neg"])
    try:
        app = create_app(store)
        client = logged_in(app, "ann")
        item = client.get("/api/next").json()["item"]
        for _ in range(5):
            item = client.post(f"/api/items/{item['id']}/label", json={"value": "pos"}).json()["item"]
        status = client.get("/api/review").json()
        assert not status["can_run"]
        expected = f"needs at least {MIN_LABELS} labeled texts; this project has 5 (label {MIN_LABELS - 5} more)"
        assert expected in status["message"]
        refused = client.post("/api/review/run")
        assert refused.status_code == 422 and expected in refused.json()["detail"]
    finally:
        store.close()


def test_several_annotators_consensus_and_annotator_quality():
    """Three annotators on 30 texts: two agree with the truth, 'sloppy' is wrong on a third of them. The given
    label is the majority vote; CROWDLAB rates 'sloppy' lowest; an item where the answer under review (the latest,
    when the job names no answer in use) is not the consensus is flagged with the consensus as the suggestion."""
    data = records(30)
    truth = {i: r["label"] for i, r in enumerate(data)}
    flip = {"pos": "neg", "neg": "pos"}
    annotations, label_id = [], 0
    for i in range(30):
        for name in ("ann", "bob", "sloppy"):
            label_id += 1
            value = flip[truth[i]] if name == "sloppy" and i % 3 == 0 else truth[i]
            annotations.append((label_id, i, name, value))
    job = ReviewJob(task="multiclass", label_set=["pos", "neg"], model="tfidf-lr", folds=5, seed=0,
                    items=[(i, r["text"], None) for i, r in enumerate(data)], annotations=annotations)
    result = compute_review(job)
    people = {a["annotator"]: a for a in result.summary["annotators"]}
    assert set(people) == {"ann", "bob", "sloppy"} and people["sloppy"]["n"] == 30
    assert people["sloppy"]["quality"] < min(people["ann"]["quality"], people["bob"]["quality"])
    assert people["sloppy"]["agreement"] == pytest.approx(20 / 30, abs=1e-3)
    flagged = {e["item_id"]: e for e in result.entries}
    # sloppy answered last on items 0, 3, 6, ...: that latest answer is reviewed against the consensus
    for i in range(0, 30, 3):
        assert flagged[i]["given"] == flip[truth[i]] and flagged[i]["suggested"] == truth[i]
    assert not set(flagged) - set(range(0, 30, 3))
    # in a project the answer in use is the majority (the store passes its label ids): sloppy's outvoted answers
    # are not what the model trains on, so there is nothing to change; the annotator ratings stay
    bobs = {i: label for label, i, name, _ in annotations if name == "bob"}
    job.in_use = bobs
    result = compute_review(job)
    assert not {e["item_id"] for e in result.entries} & set(range(0, 30, 3))
    assert min(result.summary["annotators"], key=lambda a: a["quality"])["annotator"] == "sloppy"


def test_a_check_cut_off_by_shutdown_is_recorded_as_interrupted(project, monkeypatch):
    """Server shutdown during a check: its run says "interrupted", not "running" forever after a restart."""
    import threading

    from labelwise.server import review as review_mod

    release = threading.Event()
    monkeypatch.setattr(review_mod, "compute_review", lambda job, progress=None: release.wait(30) and None)
    queue = ReviewQueue(project, mode="thread")
    queue.start()
    assert queue.running
    queue.stop()
    release.set()
    assert queue.wait(30)
    last = ReviewQueue(project, mode="thread").status()["last_run"]  # what the restarted server shows
    assert last["status"] == "error" and last["error"].startswith("interrupted") and last["finished_at"]


def test_a_small_heavily_flagged_class_is_named_in_the_run_summary():
    data = records(58) + [{"id": f"m{i}", "text": f"a {POS[i]} {POS[i + 1]} film, truly {POS[i + 2]}", "label": "meh"}
                          for i in range(2)]
    job = ReviewJob(task="multiclass", label_set=["pos", "neg", "meh"], model="tfidf-lr", folds=5, seed=0,
                    items=[(i, r["text"], None) for i, r in enumerate(data)],
                    annotations=[(i + 1, i, "ann", r["label"]) for i, r in enumerate(data)])
    result = compute_review(job)
    assert [(c["label"], c["n"]) for c in result.summary["small_class_flags"]] == [("meh", 2)]


def test_queue_in_a_worker_process_reports_progress(project):
    queue = ReviewQueue(project, mode="process")
    try:
        queue.start()
        assert queue.running and queue.status()["progress"]["stage"]
        assert queue.wait(180)
        status = queue.status()
        assert status["last_run"]["status"] == "done", status
        assert queue.entries(limit=1)[0]["key"] == "r8"
    finally:
        queue.stop()


def test_project_created_before_the_review_tables_is_upgraded(tmp_path):
    """A project at schema 0001 (no review_runs) opens, is migrated to 0002 and its labels can be checked."""
    from sqlalchemy import inspect, text

    from labelwise.server import db
    from labelwise.server.store import Store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    db.migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (name, task, labels, descriptions, settings, secret, created_at) "
                          "VALUES ('old', 'multiclass', '[\"pos\", \"neg\"]', '{}', '{}', 's', '2025-01-01')"))
        conn.execute(text("INSERT INTO items (key, text, position) VALUES ('a', 'fine', 0)"))
    engine.dispose()
    store = Store(url)
    try:
        assert db.current_revision(store.engine) == "0002"
        assert "review_runs" in inspect(store.engine).get_table_names()
        assert {c["name"] for c in inspect(store.engine).get_columns("reviews")} >= {"run_id", "rank", "given"}
        assert ReviewQueue(store, mode="thread").status()["last_run"] is None
    finally:
        store.close()


def test_ner_label_check_flags_the_wrong_entity_type():
    """40 templated sentences, one with the person tagged LOC: the CRF's out-of-fold marginals flag it first and
    suggest the right tags."""
    from .test_ner_app import templated

    data = templated(40)
    wrong = 13
    bad_tags = ["B-LOC", "O", "O", "B-LOC", "O"]  # sentence 13 is "<name> lives in <city> ."
    assert data[wrong]["tags"] == ["B-PER", "O", "O", "B-LOC", "O"]
    annotations = [(i + 1, i, "ann", bad_tags if i == wrong else r["tags"]) for i, r in enumerate(data)]
    job = ReviewJob(task="ner", label_set=["PER", "LOC", "ORG"], model="ensemble", folds=5, seed=0,
                    items=[(i, " ".join(r["tokens"]), r["tokens"]) for i, r in enumerate(data)],
                    annotations=annotations)
    result = compute_review(job)
    first = result.entries[0]
    assert (first["item_id"], first["label_id"]) == (wrong, wrong + 1)
    assert first["given"] == bad_tags and first["suggested"] == data[wrong]["tags"]
    assert result.summary["model"] == "crf"

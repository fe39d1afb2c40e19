"""answers_per_text = K: each text is served to K different annotators before it leaves the queue; a text others
began goes before fresh ones; undo and restarts (another process's view) keep the count right."""

from __future__ import annotations

import json

import pytest

from labelwise.cli.main import main
from labelwise.server.store import Store, utcnow

from .conftest import annotators


def test_each_text_gets_two_answers_from_different_people_started_ones_first(make_store):
    store = make_store(6, settings={"answers_per_text": 2})
    a, b = annotators(store, "alice", "bob")
    first = store.next_item(a)["id"]
    store.submit(a, first, "pos")
    assert store.n_labeled == 1 and store.n_complete == 0
    served = store.next_item(b)
    assert served["id"] == first and served["n_answers"] == 1  # the text alice began comes first for bob
    assert store.next_item(a)["id"] != first  # never twice to alice
    store.submit(b, first, "neg")
    assert store.n_complete == 1
    # drain the pool: every text ends with exactly two answers, from alice and bob
    answers: dict[int, set[int]] = {first: {a, b}}
    for who in [a, b] * 12:
        item = store.next_item(who)
        if item is None:
            continue
        assert who not in answers.get(item["id"], set())
        store.submit(who, item["id"], "pos")
        answers.setdefault(item["id"], set()).add(who)
    assert store.next_item(a) is None and store.next_item(b) is None
    assert all(people == {a, b} for people in answers.values()) and len(answers) == 6
    assert store.n_complete == store.n_labeled == 6


def test_undo_reopens_a_completed_text_and_a_restart_rebuilds_the_counts(make_store):
    store = make_store(4, settings={"answers_per_text": 2})
    a, b, c = annotators(store, "alice", "bob", "carol")
    item = store.next_item(a)["id"]
    store.submit(a, item, "pos")
    store.next_item(b)
    store.submit(b, item, "pos")
    assert store.n_complete == 1
    store.undo(b)  # the text needs a second answer again; bob holds it after the undo
    assert store.n_complete == 0 and store.n_labeled == 1
    store.skip(b, item)  # bob passes: carol, not alice, gets it
    assert store.next_item(c)["id"] == item
    assert store.next_item(a)["id"] != item
    again = Store(store.url)  # what a restarted server (or another process) sees
    try:
        assert again.answers_per_text == 2 and again.n_complete == 0 and again.n_labeled == 1
        assert again._started == {item: None} and item in again._mine[a]
    finally:
        again.close()


def test_another_process_answer_is_seen_before_a_text_is_served_again(make_store):
    """Two server processes on one database: each caches only its own answers, and the lease check reads the
    database, so the text is not served to a third person once both answers are in."""
    store = make_store(3, settings={"answers_per_text": 2})
    other = Store(store.url)
    try:
        a, b, c = annotators(store, "alice", "bob", "carol")
        item = store.next_item(a)["id"]
        store.submit(a, item, "pos")
        other.submit(b, item, "neg")  # through the other process: this one's cache still counts one answer
        served = store.next_item(c)
        assert served is not None and served["id"] != item
        assert item in store._done
    finally:
        other.close()


def test_one_answer_per_text_is_unchanged(make_store):
    store = make_store(3)
    a, b = annotators(store, "alice", "bob")
    item = store.next_item(a)["id"]
    store.submit(a, item, "pos")
    assert store._done is store._labeled and store.n_complete == 1
    assert store.next_item(b)["id"] != item


def test_cli_option_and_bad_values(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "one"}\n{"text": "two"}\n', encoding="utf-8")
    assert main(["new", str(tmp_path / "p"), "--data", str(data), "--labels", "pos,neg",
                 "--answers-per-text", "3"]) == 0
    store = Store(f"sqlite:///{tmp_path / 'p' / 'labelwise.db'}")
    try:
        assert store.answers_per_text == 3
    finally:
        store.close()
    with pytest.raises(SystemExit):
        main(["new", str(tmp_path / "q"), "--data", str(data), "--labels", "pos,neg", "--answers-per-text", "0"])
    assert "answers-per-text" in capsys.readouterr().err
    with pytest.raises(ValueError, match="answers_per_text"):
        Store.create(f"sqlite:///{tmp_path / 'r.db'}", _corpus(), name="r", labels=["pos", "neg"],
                     settings={"answers_per_text": 0})


def _corpus():
    from labelwise.data import Corpus

    return Corpus(ids=["x"], texts=["one"], task="multiclass", label_set=["pos", "neg"])


def test_a_review_change_counts_its_author_and_never_sends_the_text_back_to_them(make_store):
    """K = 2: alice answers, a reviewer changes her answer. Both have answered (her answer is superseded, not taken
    back), so the text is complete and alice is never served it again; undoing the change reopens it."""
    from labelwise.server.review import ReviewQueue

    store = make_store(3, settings={"answers_per_text": 2})
    a, r = annotators(store, "alice", "rita")
    item = store.next_item(a)["id"]
    label_id = store.submit(a, item, "pos")["label_id"]
    review_id = _flag(store, item, label_id, given="pos", suggested="neg")
    ReviewQueue(store, mode="thread").decide(review_id, r, "change")
    assert item in store._done and store.n_complete == 1
    served = [store.next_item(a)["id"], store.next_item(r)["id"]]
    assert item not in served
    again = Store(store.url)
    try:
        assert again.n_complete == 1 and item in again._mine[a] and item in again._mine[r]
    finally:
        again.close()
    store.undo(r)  # the change taken back: only alice has answered, the text needs one more person
    assert store.n_complete == 0 and item in store._started and item not in store._mine.get(r, set())


def test_an_annotator_far_ahead_skips_their_own_answers_and_undo_brings_texts_back(make_store, monkeypatch):
    """K = 2, alice alone answers 40 texts: her fallback scan starts after them (not a rescan per request), bob is
    served hers first (only the oldest few are scanned as 'started'), and an undone answer or skip is hers again."""
    from labelwise.server import store as store_mod

    monkeypatch.setattr(store_mod, "_STARTED_SCAN", 5)
    store = make_store(60, settings={"answers_per_text": 2})
    a, b = annotators(store, "alice", "bob")
    order = list(store._order)
    item = store.next_item(a)["id"]
    for _ in range(40):
        item = store.submit(a, item, "pos", next_item=True)["next"]["id"]
    assert item == order[40] and store._own_cursor[a] >= 39  # (the 40th was being answered at that scan)
    assert store.next_item(b)["id"] == order[0]  # the oldest text alice began
    skipped = store.skip(a, item)["next"]["id"]  # alice passes on order[40]
    assert skipped == order[41]
    store.undo(a)  # the skip taken back: order[40] is hers again
    assert store.next_item(a)["id"] == order[40]
    store.submit(a, order[40], "neg")
    store.undo(a)  # her answer to order[40] taken back: hers to answer again
    assert store.next_item(a)["id"] == order[40]
    assert order[40] not in store._mine[a] and store._answer_counts[order[40]] == 0


def test_every_answer_export_lists_each_annotators_answer(tmp_path):
    import json

    data = tmp_path / "d.jsonl"
    data.write_text('{"id": 1, "text": "one"}\n{"id": 2, "text": "two"}\n', encoding="utf-8")
    project = tmp_path / "p"
    assert main(["new", str(project), "--data", str(data), "--labels", "pos,neg", "--answers-per-text", "2"]) == 0
    store = Store(f"sqlite:///{project / 'labelwise.db'}")
    try:
        a, b = annotators(store, "alice", "bob")
        first = store.next_item(a)["id"]
        store.submit(a, first, "pos")
        assert store.next_item(b)["id"] == first
        store.submit(b, first, "neg")
        key = store.item_view(first)["key"]
    finally:
        store.close()
    assert main(["export", str(project), "--format", "answers"]) == 0
    rows = [json.loads(x) for x in (project / "export" / "labels.answers.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["annotator"], r["label"]) for r in rows] == [(int(key), "alice", "pos"), (int(key), "bob", "neg")]
    assert main(["export", str(project), "--format", "jsonl", "--out", str(tmp_path / "one.jsonl")]) == 0
    one = [json.loads(x) for x in (tmp_path / "one.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["annotator"], r["label"]) for r in one] == [("bob", "neg")]  # a tie: the latest answer


def _answer(store: Store, who: int, item: int, value: str) -> int:
    return store.submit(who, item, value)["label_id"]


def check_answers_in_use(store: Store) -> None:
    """Majority over a text's current answers, ties to the latest, a reviewer's change final: in training
    (current_labels), label counts, exports and the label check's snapshot. Shared with the PostgreSQL test."""
    from labelwise.noise import krippendorff_alpha_nominal
    from labelwise.server.export import export_body
    from labelwise.server.review import ReviewQueue, ReviewResult
    from labelwise.server.store import Conflict

    a, b, c, r = annotators(store, "alice", "bob", "carol", "rita")
    majority, tie, unanimous, single = store.item_ids[:4]
    _answer(store, a, majority, "pos")
    bobs_pos = _answer(store, b, majority, "pos")
    _answer(store, c, majority, "neg")  # latest, but outvoted
    _answer(store, a, tie, "neg")
    later = _answer(store, b, tie, "pos")  # the latest of a tie wins, though "neg" sorts first
    for who in (a, b, c):
        _answer(store, who, unanimous, "neu")
    _answer(store, c, single, "neg")
    expected = {majority: "pos", tie: "pos", unanimous: "neu", single: "neg"}
    assert store.current_labels() == expected
    assert store.label_counts() == {"pos": 2, "neg": 1, "neu": 1}
    in_use = _in_use_ids(store)
    assert in_use[majority] == bobs_pos and in_use[tie] == later
    assert ReviewQueue(store, mode="thread")._snapshot().in_use == in_use
    body, n = export_body(store, "jsonl")
    rows = {row["text"]: row for row in map(json.loads, body.splitlines())}
    assert n == 4 and rows[store.item_view(majority)["text"]]["label"] == "pos"
    assert rows[store.item_view(majority)["text"]]["annotator"] == "bob"  # the latest who gave the answer in use
    # a reviewer changes one of three agreeing answers: the review decision is final, not outvoted
    review_id = _flag(store, unanimous, in_use[unanimous], given="neu", suggested="pos")
    ReviewQueue(store, mode="thread").decide(review_id, r, "change")
    assert store.current_labels()[unanimous] == "pos"
    assert store.label_counts() == {"pos": 3, "neg": 1, "neu": 0}
    reviewed = [h for h in store.history(c) if h["item_id"] == unanimous]  # carol's was the answer in use
    assert [(h["answer"], h["changed_by"], h["changed_to"]) for h in reviewed] == [("neu", "rita", "pos")]
    # the check's next run does not queue the reviewer's answer again: a review decision is final
    queue = ReviewQueue(store, mode="thread")
    reviewer_answer = _in_use_ids(store)[unanimous]
    run_id = _review_run(store)
    queue._save(run_id, ReviewResult([{"item_id": unanimous, "label_id": reviewer_answer, "given": "pos",
                                       "suggested": "neu", "quality": 0.1, "rank": 0}]))
    assert queue.entries() == []
    store.undo(r)  # the change taken back: the annotators' answers decide again
    assert store.current_labels()[unanimous] == "neu"
    # search shows the answer in use
    assert [hit["answer"] for hit in store.search(store.item_view(majority)["text"])][:1] == ["pos"]
    # the database's alpha is the formula's, on the same answers
    rows = [json.loads(line) for line in export_body(store, "answers")[0].splitlines()]  # one per answer
    keys, values = sorted({row["id"] for row in rows}), sorted({row["label"] for row in rows})
    assert store.agreement()["alpha"] == pytest.approx(krippendorff_alpha_nominal(
        [keys.index(row["id"]) for row in rows], [values.index(row["label"]) for row in rows], [1] * len(rows)),
        abs=1e-4)
    # an entry whose answer was outvoted since the check ran cannot be decided
    stale_id = _flag(store, tie, later, given="pos", suggested="neg")
    _answer(store, c, tie, "neg")  # neg 2 : pos 1, bob's "pos" is still current but no longer in use
    with pytest.raises(Conflict, match="another answer"):
        queue.decide(stale_id, r, "keep")


def _flag(store: Store, item: int, label_id: int, *, given: str, suggested: str) -> int:
    """A review entry as a label check would queue it (answer ``label_id`` of ``item`` looks wrong); its id."""
    from labelwise.server.tables import Review

    with store._write_session.begin() as s:
        review = Review(item_id=item, label_id=label_id, quality=0.1, suggested=suggested, given=given,
                        created_at=utcnow(), rank=0)
        s.add(review)
        s.flush()
        return review.id


def _in_use_ids(store: Store) -> dict[int, int]:
    from labelwise.server.store import answers_in_use

    with store._session() as s:
        return {item_id: label_id for item_id, label_id, _ in s.execute(answers_in_use())}


def _review_run(store: Store) -> int:
    from labelwise.server.tables import ReviewRun

    with store._write_session.begin() as s:
        run = ReviewRun(status="running", created_at=utcnow(), n_labels=0)
        s.add(run)
        s.flush()
        return run.id


def test_the_answer_in_use_is_the_majority_and_a_review_change_is_final(make_store):
    check_answers_in_use(make_store(6, settings={"answers_per_text": 3}))


def test_agreement_counts_texts_answered_alike(make_store):
    from fastapi.testclient import TestClient

    from labelwise.server.app import create_app

    store = make_store(4, settings={"answers_per_text": 2})
    people = annotators(store, "alice", "bob")
    answers = {0: ("pos", "pos"), 1: ("pos", "neg"), 2: ("neu", None)}  # agree, disagree, one answer only
    for k, pair in answers.items():
        for who, value in zip(people, pair, strict=True):
            if value is not None:
                store.submit(who, store.item_ids[k], value)
    assert store.agreement() == {"texts": 2, "agreeing": 1, "alpha": 0.0}  # 1 - 3 · 2 / (16 - 10)
    client = TestClient(create_app(store))
    client.post("/api/login", json={"name": "alice"})
    progress = client.get("/api/progress").json()
    assert progress["agreement"] == {"texts": 2, "agreeing": 1, "alpha": 0.0} and progress["answers_per_text"] == 2

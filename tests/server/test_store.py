"""The store: leases, answers with history, undo, skip, restart."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sqlalchemy import func, select

from labelwise.server.store import Conflict, InvalidLabel, NotFound, Store
from labelwise.server.tables import Label, Lease


def test_each_text_leased_to_one_annotator(make_store):
    store = make_store(10)
    a, _ = store.add_annotator("alice")
    b, _ = store.add_annotator("bob")
    first_a = store.next_item(a)["id"]
    assert store.next_item(a)["id"] == first_a  # asking again returns the text already held
    first_b = store.next_item(b)["id"]
    assert first_b != first_a
    with pytest.raises(Conflict):
        store.submit(b, first_a, "pos")
    with store._session() as s:
        assert s.scalar(select(func.count()).select_from(Lease)) == 2


def test_two_tabs_of_one_annotator_get_different_texts(make_store):
    store = make_store(10)
    a, _ = store.add_annotator("alice")
    assert store.next_item(a, session="tab1")["id"] != store.next_item(a, session="tab2")["id"]


def test_expired_lease_returns_text_to_the_pool(make_store):
    store = make_store(3, lease_seconds=0.3)
    a, _ = store.add_annotator("alice")
    b, _ = store.add_annotator("bob")
    held = store.next_item(a)["id"]
    others = {store.next_item(b, session=str(i))["id"] for i in range(2)}
    assert held not in others
    assert store.next_item(b, session="x") is None  # all three leased
    time.sleep(0.4)
    assert store.next_item(b, session="x")["id"] in {held, *others}


def test_submit_supersedes_never_overwrites(make_store):
    store = make_store(5)
    a, _ = store.add_annotator("alice")
    item = store.next_item(a)["id"]
    out = store.submit(a, item, "pos", next_item=True)
    assert out["next"]["id"] != item
    store.submit(a, item, "neg", next_item=False)  # changed from the history list
    rows = store.label_history(item)
    assert [r["answer"] for r in rows] == ["pos", "neg"]
    assert [r["is_current"] for r in rows] == [False, True]
    assert rows[0]["superseded_by"] == rows[1]["label_id"]
    assert store.current_labels() == {item: "neg"}
    assert store.history(a)[0]["answer"] == "neg"


def test_undo_restores_previous_answer_and_releases_text(make_store):
    store = make_store(5)
    a, _ = store.add_annotator("alice")
    first = store.next_item(a)["id"]
    second = store.submit(a, first, "pos", next_item=True)["next"]["id"]
    store.submit(a, second, "neg", next_item=True)
    back = store.undo(a)
    assert back["id"] == second and back["answer"] is None and back["leased_to_me"]
    assert store.current_labels() == {first: "pos"}
    assert store.next_item(a)["id"] == second  # the undone text is the one to answer now
    store.submit(a, first, "neu")
    assert store.undo(a)["answer"] == "pos"  # the change is undone: the earlier answer is current again
    history = store.label_history(first)
    assert [(r["answer"], r["is_current"], r["retracted_at"] is not None) for r in history] == [
        ("pos", True, False), ("neu", False, True)]


def test_undo_skip_and_skipped_texts_not_served_again(make_store):
    store = make_store(3)
    a, _ = store.add_annotator("alice")
    b, _ = store.add_annotator("bob")
    first = store.next_item(a)["id"]
    after = store.skip(a, first)["next"]["id"]
    assert after != first
    store.submit(a, after, "pos")
    served = {store.next_item(a)["id"]}
    assert first not in served
    assert store.next_item(b)["id"] == first  # a skip only concerns the one who skipped
    # undo: the last action was the answer; then the skip
    assert store.undo(a)["id"] == after
    assert store.undo(a)["id"] == first  # then the skip
    assert store.undo(a) is None


def test_invalid_answers_are_rejected(make_store):
    store = make_store(3)
    a, _ = store.add_annotator("alice")
    item = store.next_item(a)["id"]
    for bad in ("POS", ["pos"], 3, None):
        with pytest.raises(InvalidLabel):
            store.submit(a, item, bad)
    with pytest.raises(NotFound):
        store.submit(a, 10_000, "pos")


def test_multilabel_answers_are_canonical(make_store):
    store = make_store(3, task="multilabel")
    a, _ = store.add_annotator("alice")
    item = store.next_item(a)["id"]
    store.submit(a, item, ["neu", "pos", "neu"])
    assert store.current_labels() == {item: ["pos", "neu"]}
    with pytest.raises(InvalidLabel):
        store.submit(a, item, ["pos", "nope"])


def test_ranking_goes_first_and_labeled_texts_never_return(make_store):
    store = make_store(20)
    a, _ = store.add_annotator("alice")
    ids = store.item_ids
    proba = np.tile(np.array([[0.7, 0.2, 0.1]], dtype=np.float32), (20, 1))
    store.set_ranking([ids[7], ids[3], ids[11]], proba, version=1)
    got = []
    item = store.next_item(a)
    while item is not None:
        got.append(item["id"])
        if len(got) == 1:
            assert item["suggestion"]["label"] == "pos" and item["suggestion"]["confidence"] == pytest.approx(0.7)
        item = store.submit(a, item["id"], "pos", next_item=True)["next"]
    assert got[:3] == [ids[7], ids[3], ids[11]]
    assert sorted(got) == sorted(ids)  # every text exactly once


def test_restart_resumes(make_store):
    store = make_store(10)
    a, _ = store.add_annotator("alice")
    first = store.next_item(a)["id"]
    held = store.submit(a, first, "pos", next_item=True)["next"]["id"]
    store.close()
    again = Store(store.url)
    assert again.current_labels() == {first: "pos"}
    assert again.next_item(a)["id"] == held  # the lease survived the restart
    again.close()


def test_one_current_label_per_item_and_annotator_is_enforced_by_the_database(make_store):
    from datetime import datetime

    from sqlalchemy.exc import IntegrityError

    store = make_store(2)
    a, _ = store.add_annotator("alice")
    item = store.next_item(a)["id"]
    store.submit(a, item, "pos")
    with pytest.raises(IntegrityError), store._session.begin() as s:
        s.add(Label(item_id=item, annotator_id=a, value="neg", created_at=datetime.now(), is_current=True,
                    source="annotator"))


def test_search_and_export_records(make_store):
    store = make_store(12)
    a, _ = store.add_annotator("alice")
    hits = store.search("number 1")
    assert [h["key"] for h in hits] == ["id1", "id10", "id11"]
    assert store.search("100%") == []  # LIKE wildcards are escaped
    store.submit(a, hits[0]["id"], "neg")
    records = store.export_records()
    assert [(r["key"], r["answer"], r["annotator"]) for r in records] == [("id1", "neg", "alice")]


def test_an_sqlite_too_old_for_window_functions_is_refused_with_what_to_do():
    from labelwise.server.db import check_sqlite_version

    check_sqlite_version((3, 25, 0))
    with pytest.raises(RuntimeError, match=r"needs SQLite 3\.25\.0 or newer; this Python links SQLite 3\.24\.9.*PostgreSQL"):
        check_sqlite_version((3, 24, 9))

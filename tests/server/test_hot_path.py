"""The request hot path: the lease upsert, the fallback order's compaction, durability settings, headers."""

from __future__ import annotations

import contextlib
import sqlite3
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from labelwise.server import db
from labelwise.server.app import create_app
from labelwise.server.store import Store
from labelwise.server.tables import Lease


def test_lease_upsert_respects_a_live_lease_of_another_process_and_takes_over_an_expired_one(make_store):
    first = make_store(3, lease_seconds=0.5)
    second = Store(first.url, lease_seconds=0.5)  # a second server process on the same database
    try:
        a, _ = first.add_annotator("alice")
        b = second.annotator_id("bob", create=True)
        held = first.next_item(a)["id"]
        second._fallback.remove(held)  # make `second` try the held text first: its cache knows nothing of it
        second._fallback.insert(0, held)
        second._order = list(second._fallback)
        got = second.next_item(b)["id"]
        assert got != held  # the database refused the live lease; the next text was leased instead
        assert second._leases[held][0] == -1  # remembered as someone else's
        with second._session() as s:
            assert s.get(Lease, held).annotator_id == a
        second.submit(b, got, "pos")  # release `got`
        time.sleep(0.6)  # alice's lease expires
        second._leases.pop(held)
        again = second.next_item(b, session="other")["id"]
        assert again == held  # the expired lease was taken over by the same single statement
        with second._session() as s:
            lease = s.get(Lease, held)
            assert (lease.annotator_id, lease.session) == (b, "other")
            assert len(s.scalars(select(Lease)).all()) == 1
    finally:
        second.close()


def test_fallback_order_skips_labeled_texts_behind_a_held_one_and_undo_restores_them(make_store):
    store = make_store(200)
    a, _ = store.add_annotator("alice")
    b, _ = store.add_annotator("bob")
    order = list(store._order)
    assert store.next_item(a)["id"] == order[0]  # alice holds the first text and never answers
    item = store.next_item(b)["id"]
    served = []
    for _ in range(100):
        served.append(item)
        item = store.submit(b, item, "pos", next_item=True)["next"]["id"]
    assert served == order[1:101]  # pool order, the held text skipped
    assert item == order[101]
    # the labeled texts behind alice's were dropped from the scanned list (no per-request rescan of them)
    assert store._fallback_cursor == 0 and len(store._fallback) < 200 - 60
    store.undo(b)  # bob's last answer (order[100]) is retracted: that text must come back to the pool
    assert store.n_labeled == 99
    c, _ = store.add_annotator("carol")
    assert store.next_item(c)["id"] == order[101]  # bob holds order[100] again after the undo
    assert store.skip(b, order[100])["next"]["id"] == order[102]  # bob passes on it: free for the others
    d, _ = store.add_annotator("dave")
    assert store.next_item(d)["id"] == order[100]  # back in the pool, at its place in the order


@pytest.mark.parametrize(("mode", "pragma"), [("NORMAL", 1), ("FULL", 2), ("full", 2)])
def test_sqlite_synchronous_setting_reaches_every_connection(tmp_path, mode, pragma):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}", synchronous=mode)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == pragma
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


def test_server_default_durability_is_normal_and_bad_values_are_refused(make_store, tmp_path):
    store = make_store(3)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1
    with pytest.raises(ValueError, match="synchronous must be one of"):
        db.make_engine(f"sqlite:///{tmp_path / 'y.db'}", synchronous="OFF")


def test_security_headers_on_every_response_without_duplicates(make_store):
    client = TestClient(create_app(make_store(3), allowed_hosts=("testserver",)))
    for response in (client.get("/api/config"), client.get("/api/next"), client.get("/")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert len(response.headers.get_list("cache-control")) == 1
    assert client.get("/api/next").status_code == 401  # headers even on refusals
    refused = TestClient(create_app(make_store(3, name="q"), allowed_hosts=("testserver",)),
                         base_url="http://evil.example").get("/api/config")
    assert refused.status_code == 421 and refused.headers["x-content-type-options"] == "nosniff"


def _wal_pages_after_steady_commits(path, background: bool) -> tuple[int, db.Checkpointer | None]:
    engine = db.make_engine(f"sqlite:///{path}", autocheckpoint=False)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
        checkpointer = db.Checkpointer(engine, interval=0.01, restart_frames=50).start() if background else None
        for _ in range(300):  # one page-sized row per commit, a steady stream of writes
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 3000})
            time.sleep(0.001)
        if checkpointer is not None:
            checkpointer.stop()
        with engine.connect() as conn:
            page = conn.execute(text("PRAGMA page_size")).scalar()
        return path.with_name(path.name + "-wal").stat().st_size // page, checkpointer
    finally:
        engine.dispose()


def test_background_checkpoints_keep_the_wal_short_without_autocheckpoint(tmp_path):
    unbounded, _ = _wal_pages_after_steady_commits(tmp_path / "a.db", background=False)
    assert unbounded >= 300  # no checkpoint at all: every commit's page is still in the WAL
    bounded, checkpointer = _wal_pages_after_steady_commits(tmp_path / "b.db", background=True)
    assert checkpointer.restarts >= 1 and checkpointer.last[0] == 0  # the WAL was started over, not busy
    assert bounded < unbounded / 2


def test_store_checkpoints_in_the_background_and_stops_on_close(make_store):
    store = make_store(3)
    assert store._checkpointer is not None and store._checkpointer._thread.is_alive()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    store.close()
    assert not store._checkpointer._thread.is_alive()


def test_label_counts_count_each_text_once_by_its_latest_current_answer(make_store):
    store = make_store(5)
    a, _ = store.add_annotator("alice")
    b, _ = store.add_annotator("bob")
    first = store.next_item(a)["id"]
    store.submit(a, first, "pos")
    store.submit(b, first, "neg")  # a second annotator, later: the text counts once, as "neg"
    second = store.next_item(a)["id"]
    store.submit(a, second, "pos")
    store.submit(a, second, "neu")  # changed: the superseded "pos" no longer counts
    third = store.next_item(b)["id"]
    store.submit(b, third, "pos")
    assert store.label_counts() == {"pos": 1, "neg": 1, "neu": 1}
    store.undo(b)  # bob's "pos" on the third text is retracted
    assert store.label_counts() == {"pos": 0, "neg": 1, "neu": 1}


def test_a_read_first_transaction_survives_a_commit_from_another_connection_when_begun_as_a_writer(tmp_path):
    """SQLite: a deferred transaction that read before another connection committed cannot write (SQLITE_BUSY
    at once, whatever the busy timeout); db.writer begins it IMMEDIATE, so the other connection waits instead."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    other = sqlite3.connect(tmp_path / "w.db", timeout=0.2, isolation_level=None)

    def read_then_write(eng) -> None:
        with eng.begin() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
            with contextlib.suppress(sqlite3.OperationalError):  # the writer: locked out until we commit
                other.execute("INSERT INTO t VALUES (1)")
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")

    with pytest.raises(OperationalError, match="locked"):
        read_then_write(engine)  # deferred: the other connection's commit came between our read and write
    read_then_write(db.writer(engine))  # immediate: the other connection could not write at all
    assert [r[0] for r in other.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    other.close()
    engine.dispose()


def test_retiring_an_answer_uses_the_one_current_answer_index(make_store):
    """The UPDATE that retires an annotator's current answer must search the partial unique index by (text,
    annotator): with SQLAlchemy's "is_current = 1" SQLite could not use it and scanned the annotator's whole
    history on every answer, a cost that grew with every answer. A query plan, not a timing."""
    from labelwise.server.store import _RETIRE_CURRENT

    store = make_store(3)
    sql = str(_RETIRE_CURRENT.compile(store.engine))
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (False, 1, 1)).fetchall()
    assert "ux_labels_current" in " ".join(str(row[-1]) for row in plan), plan

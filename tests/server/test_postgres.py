"""The app's store on PostgreSQL (``labelwise new --db postgresql+psycopg://...``): the same library calls and
HTTP routes as on SQLite, each test in a database of its own that is created and dropped around it.

Runs where ``LABELWISE_TEST_POSTGRES_URL`` names a server and a role that may CREATE DATABASE (``.ci/run``
starts one on loopback and exports it); skipped elsewhere.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from labelwise.data import Corpus
from labelwise.server import db
from labelwise.server.app import create_app
from labelwise.server.export import export_project
from labelwise.server.project import create_project, open_project, project_url
from labelwise.server.review import ReviewQueue
from labelwise.server.store import Conflict, Store, utcnow
from labelwise.server.tables import Label, Lease

from .conftest import LABELS, annotators, make_corpus
from .test_review import records

pytestmark = pytest.mark.postgres
ENV = "LABELWISE_TEST_POSTGRES_URL"


@pytest.fixture
def pg_url():
    """A fresh, uniquely named database on the server of ``$LABELWISE_TEST_POSTGRES_URL``; dropped afterwards."""
    base = os.environ.get(ENV)
    if not base:
        pytest.skip(f"{ENV} is not set: no PostgreSQL server to test against (.ci/run starts one and sets it)")
    name = f"labelwise_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:  # a store a failed test left open must not keep the database alive
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                              "AND pid <> pg_backend_pid()"), {"d": name})
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(Config(str(db.ALEMBIC_INI))).get_current_head()


def label_of(key: str) -> str:
    """The answer every test gives to a text: a function of its key, so results can be checked against it."""
    return LABELS[int(key.removeprefix("id")) % len(LABELS)]


def test_new_project_on_postgres_migrates_imports_and_reopens(pg_url, tmp_path):
    data = tmp_path / "d.jsonl"
    rows = [{"id": f"t{i}", "text": f"第 {i} 条 text «{i}» 'quoted' \\ back"} for i in range(25)]
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    store = create_project(tmp_path / "p", data, labels=["pos", "neg"], db_url=pg_url)
    try:
        assert store.engine.dialect.name == "postgresql"
        assert db.current_revision(store.engine) == head_revision()
        assert set(inspect(store.engine).get_table_names()) >= {
            "projects", "items", "annotators", "labels", "leases", "skips", "model_runs", "reviews", "review_runs"}
        assert store.n_items == 25 and store.items_for_training()[1] == [r["text"] for r in rows]
        assert [r["key"] for r in store.search("«7»")] == ["t7"]
        assert [r["key"] for r in store.search("TEXT", limit=3)] == ["t0", "t1", "t2"]  # case-insensitive
    finally:
        store.close()
    assert project_url(tmp_path / "p") == pg_url  # project.json points at the database
    with pytest.raises(FileExistsError):
        Store.create(pg_url, make_corpus(3), name="again", labels=LABELS)
    reopened = open_project(tmp_path / "p")
    try:
        assert reopened.project.name == "p" and reopened.project.labels == ["pos", "neg"] and reopened.n_items == 25
    finally:
        reopened.close()


def test_failed_import_leaves_no_half_project(pg_url):
    """Create + import is one transaction, DDL included: a row PostgreSQL refuses mid-import leaves nothing."""
    corpus = make_corpus(12)
    corpus.texts[9] = "bad \x00 byte"  # PostgreSQL text cannot hold NUL; the first 9 rows were already sent
    with pytest.raises(Exception, match="(?i)nul|0x00"):
        Store.create(pg_url, corpus, name="p", labels=LABELS)
    engine = db.make_engine(pg_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_two_annotators_label_concurrently_without_double_leases(pg_url):
    n = 40
    Store.create(pg_url, make_corpus(n), name="p", labels=LABELS).close()
    store = Store(pg_url)
    people = {name: store.add_annotator(name)[0] for name in ("alice", "bob")}
    seen: dict[str, list[int]] = {name: [] for name in people}
    errors: list[BaseException] = []
    start = threading.Barrier(len(people))

    def annotate(name: str) -> None:
        try:
            who = people[name]
            start.wait()
            item = store.next_item(who, session=f"tab-{name}")
            while item is not None:
                seen[name].append(item["id"])
                item = store.submit(who, item["id"], label_of(item["key"]), session=f"tab-{name}",
                                    next_item=True)["next"]
        except BaseException as err:  # reported below, not lost in the thread
            errors.append(err)

    threads = [threading.Thread(target=annotate, args=(name,)) for name in people]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        assert all(seen.values()), {k: len(v) for k, v in seen.items()}  # both really labeled
        assert not set(seen["alice"]) & set(seen["bob"])  # no text went to both
        assert sorted(seen["alice"] + seen["bob"]) == sorted(store.item_ids)
        with store._session() as s:
            rows = s.execute(select(Label.item_id, Label.annotator_id, Label.value).where(Label.is_current)).all()
            assert s.scalar(select(func.count()).select_from(Lease)) == 0  # every lease was released
        by_item = {item_id: (who, value) for item_id, who, value in rows}
        assert len(rows) == len(by_item) == n
        keys = {pk: store._items[pk][0] for pk in store.item_ids}
        for name, who in people.items():
            assert sorted(i for i, (w, _) in by_item.items() if w == who) == sorted(seen[name])
        assert {i: v for i, (_, v) in by_item.items()} == {i: label_of(keys[i]) for i in store.item_ids}
        expected = {label: sum(label_of(k) == label for k in keys.values()) for label in LABELS}
        assert store.label_counts() == expected
        assert store.next_item(people["alice"], session="tab-alice") is None  # pool exhausted
    finally:
        store.close()


def test_a_live_lease_in_the_database_holds_across_servers_until_it_expires(pg_url):
    """Two stores (two server processes) on one database: the lease upsert refuses a text another process
    holds, and takes it over once that lease has expired (``ON CONFLICT .. DO UPDATE .. WHERE expired``)."""
    Store.create(pg_url, make_corpus(5), name="p", labels=LABELS).close()
    first, second = Store(pg_url, lease_seconds=1.5), Store(pg_url, lease_seconds=60)
    try:
        alice, _ = first.add_annotator("alice")
        bob, carol = second.add_annotator("bob")[0], second.add_annotator("carol")[0]
        target = first.item_ids[3]
        first.set_ranking([target])
        second.set_ranking([target])
        assert first.next_item(alice)["id"] == target
        assert second.next_item(bob)["id"] != target  # the database lease, not the cache, said no
        with first._session() as s:
            lease = s.get(Lease, target)
            assert lease.annotator_id == alice
            assert abs((lease.expires_at - utcnow()) - timedelta(seconds=1.5)) < timedelta(seconds=1.5)
        time.sleep(2.0)
        second._leases.pop(target, None)  # what the second process believed about the other's lease
        assert second.next_item(carol)["id"] == target  # expired: taken over in the same statement
        with second._session() as s:
            assert s.get(Lease, target).annotator_id == carol
    finally:
        first.close()
        second.close()


def test_a_text_answered_through_another_server_is_never_served(pg_url):
    """Two stores on one database, the second opened before the first records an answer: its cache of
    labeled texts does not know the answer, so it must ask the database before serving the text (and before
    handing a held text back)."""
    Store.create(pg_url, make_corpus(10), name="p", labels=LABELS).close()
    first, second = Store(pg_url), Store(pg_url)
    try:
        alice, _ = first.add_annotator("alice")
        bob = second.annotator_id("bob", create=True)
        held = second.next_item(bob, session="held")["id"]
        with pytest.raises(Conflict):  # the first store's cache does not know bob's lease; the lease table does
            first.submit(alice, held, "neg")
        with first._session() as s:  # bob's lease runs out
            s.get(Lease, held).expires_at = utcnow()
            s.commit()
        first.submit(alice, held, "neg")
        answered = first.next_item(alice)["id"]
        assert held == second._order[0] and answered == second._order[1]  # what the second would serve next
        first.submit(alice, answered, "pos")
        replaced = second.next_item(bob, session="held")["id"]
        assert replaced not in (held, answered)
        served = [replaced]
        for i in range(20):  # a fresh tab each time: every call leases a new text
            item = second.next_item(bob, session=f"tab{i}")
            if item is None:
                break
            served.append(item["id"])
        assert sorted(served) == sorted(set(second.item_ids) - {held, answered})  # the rest, each once
        assert second.n_labeled == 2
        with second._session() as s:
            assert {lease.item_id: lease.annotator_id for lease in s.scalars(select(Lease))} == dict.fromkeys(
                served, bob)
            assert s.scalar(select(func.count()).select_from(Label)) == 2
    finally:
        first.close()
        second.close()


def test_an_answer_committed_while_another_server_waits_for_its_lease_is_seen(pg_url):
    """The answer's transaction releases the answered text's lease; the other server's lease upsert on that
    text waits for it to end. The check for an answer runs after the upsert, so it sees the commit the upsert
    waited for (a check before the upsert would have found nothing and served the answered text)."""
    Store.create(pg_url, make_corpus(4), name="p", labels=LABELS).close()
    first, second = Store(pg_url), Store(pg_url)
    try:
        alice, _ = first.add_annotator("alice")
        bob = second.annotator_id("bob", create=True)
        target = first.next_item(alice)["id"]
        assert target == second._order[0]  # the text the second store tries first
        got: list = []
        with first.engine.connect() as conn:  # submit()'s writes, held uncommitted
            conn.execute(Lease.__table__.delete().where(Lease.item_id == target))
            conn.execute(Label.__table__.insert().values(item_id=target, annotator_id=alice, value="pos",
                                                         created_at=utcnow(), is_current=True, source="annotator"))
            waiter = threading.Thread(target=lambda: got.append(second.next_item(bob)))
            waiter.start()
            deadline = time.time() + 20
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock'")).scalar() == 0:
                assert time.time() < deadline and waiter.is_alive(), "the lease upsert never waited"
                time.sleep(0.02)
            conn.commit()
        waiter.join(30)
        assert got and got[0]["id"] != target
        assert second.n_labeled == 1
        with second._session() as s:
            assert s.get(Lease, target) is None and s.get(Lease, got[0]["id"]).annotator_id == bob
    finally:
        first.close()
        second.close()


def test_change_undo_history_export_and_restart(pg_url, tmp_path):
    Store.create(pg_url, make_corpus(6), name="p", labels=LABELS).close()
    store = Store(pg_url)
    try:
        alice, _ = store.add_annotator("alice")
        a = store.next_item(alice, session="t")
        b = store.submit(alice, a["id"], "pos", session="t", next_item=True)["next"]
        store.submit(alice, b["id"], "neu", session="t", next_item=False)
        changed = store.submit(alice, a["id"], "neg", session="t", next_item=False)["label_id"]
        # undo takes back the most recent answer: the change of a, so "pos" is current again
        assert store.undo(alice, session="t")["id"] == a["id"]
        assert store.current_labels() == {a["id"]: "pos", b["id"]: "neu"}
        assert store.undo(alice, session="t")["id"] == b["id"]
        assert store.current_labels() == {a["id"]: "pos"}
        history = store.label_history(a["id"])
        assert [(h["answer"], h["is_current"]) for h in history] == [("pos", True), ("neg", False)]
        assert history[0]["superseded_by"] == changed and history[1]["retracted_at"]
        [retracted] = store.label_history(b["id"])
        assert retracted["answer"] == "neu" and not retracted["is_current"] and retracted["retracted_at"]
        assert [h["item_id"] for h in store.history(alice)] == [a["id"]]
        assert store.label_counts() == {"pos": 1, "neg": 0, "neu": 0}

        path, n = export_project(store, "jsonl", tmp_path / "out.jsonl")
        exported = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert n == 1 and [(r["id"], r["label"], r["annotator"]) for r in exported] == [(a["key"], "pos", "alice")]
        when = datetime.fromisoformat(exported[0]["created_at"].removesuffix("Z"))
        assert abs(utcnow() - when) < timedelta(minutes=5)
        path, _ = export_project(store, "csv", tmp_path / "out.csv")
        assert list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))[0]["label"] == "pos"
    finally:
        store.close()
    again = Store(pg_url)  # a restart: the undone text is still leased to alice's tab and comes back first
    try:
        assert again.n_labeled == 1
        assert again.next_item(again.annotator_id("alice"), session="t")["id"] == b["id"]
    finally:
        again.close()


def test_multilabel_answers_count_and_export(pg_url):
    corpus = Corpus(ids=[f"m{i}" for i in range(4)], texts=[f"text {i}" for i in range(4)], task="multilabel",
                    label_set=list(LABELS))
    Store.create(pg_url, corpus, name="m", labels=LABELS).close()
    store = Store(pg_url)
    try:
        who, _ = store.add_annotator("ann")
        answers = [["neu", "pos"], ["pos", "neu"], ["neg"], []]
        for item_id, value in zip(store.item_ids, answers, strict=True):
            store.submit(who, item_id, value)
        assert store.label_counts() == {"pos": 2, "neg": 1, "neu": 2}
        exported = {r["key"]: r["answer"] for r in store.export_records()}
        assert exported == {"m0": ["pos", "neu"], "m1": ["pos", "neu"], "m2": ["neg"], "m3": []}
    finally:
        store.close()


def test_review_change_records_who_and_when(pg_url, tmp_path):
    data = records()
    for r in data:
        if r["id"] == "r8":
            r["label"] = "neg"  # r8's words are all positive
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    store = create_project(tmp_path / "p", path, labels=["pos", "neg"], import_labels=True, db_url=pg_url,
                           settings={"review_model": "tfidf-lr"})
    try:
        queue = ReviewQueue(store, mode="thread")
        rita, _ = store.add_annotator("rita")
        queue.start()
        assert queue.wait(120)
        assert queue.status()["last_run"]["status"] == "done", queue.status()
        first = queue.entries()[0]
        assert (first["key"], first["given"], first["suggested"]) == ("r8", "neg", "pos")
        before = utcnow()
        entry = queue.decide(first["id"], rita, "change")
        assert entry["decision"] == "change" and entry["reviewer"] == "rita"
        decided = datetime.fromisoformat(entry["decided_at"].removesuffix("Z"))
        assert before - timedelta(seconds=1) <= decided <= utcnow() + timedelta(seconds=1)
        assert [(h["annotator"], h["answer"], h["is_current"], h["source"]) for h in entry["history"]] == [
            ("import", "neg", False, "import"), ("rita", "pos", True, "review")]
        assert entry["history"][1]["review_id"] == entry["id"]
        status = queue.status()
        assert status["changed"] == 1 and status["pending"] == len(queue.entries(limit=1000))
        exported = {r["key"]: (r["answer"], r["annotator"]) for r in store.export_records()}
        assert exported["r8"] == ("pos", "rita") and len(exported) == 30
        assert store.label_counts() == {"pos": 15, "neg": 15}  # 14 + 16 imported (r8 wrong), r8 moved to pos
    finally:
        store.close()


def test_http_api_on_postgres(pg_url):
    Store.create(pg_url, make_corpus(8), name="p", labels=LABELS).close()
    store = Store(pg_url)
    try:
        app = create_app(store)
        clients = {}
        for name in ("alice", "bob"):
            client = TestClient(app)
            login = client.post("/api/login", json={"name": name})
            assert login.status_code == 200, login.text
            client.headers["X-CSRF-Token"] = login.json()["csrf"]
            clients[name] = client
        got = {name: client.get("/api/next").json()["item"] for name, client in clients.items()}
        assert got["alice"]["id"] != got["bob"]["id"]
        # bob may not answer the text alice holds
        taken = clients["bob"].post(f"/api/items/{got['alice']['id']}/label", json={"value": "pos"})
        assert taken.status_code == 409
        answered: dict[str, str] = {}
        for name, client in clients.items():
            item = got[name]
            for _ in range(3):
                out = client.post(f"/api/items/{item['id']}/label", json={"value": label_of(item["key"])})
                assert out.status_code == 200, out.text
                answered[item["key"]] = name
                item = out.json()["item"]
        undone = clients["bob"].post("/api/undo").json()["item"]
        del answered[undone["key"]]
        progress = clients["alice"].get("/api/progress")
        assert progress.status_code == 200, progress.text
        assert progress.json()["n_labels"] == 5
        assert progress.json()["counts"] == {lab: sum(label_of(k) == lab for k in answered) for lab in LABELS}
        detail = clients["alice"].get(f"/api/items/{undone['id']}").json()["history"]
        assert detail[0]["annotator"] == "bob" and detail[0]["retracted_at"]
        export = clients["alice"].get("/api/export")
        assert export.status_code == 200
        rows = [json.loads(line) for line in export.text.splitlines()]
        assert {r["id"]: (r["label"], r["annotator"]) for r in rows} == {
            k: (label_of(k), who) for k, who in answered.items()}
        found = clients["bob"].get("/api/search", params={"q": "NUMBER 3"}).json()["results"]
        assert [r["key"] for r in found] == ["id3"]
    finally:
        store.close()


def test_background_training_reads_and_records_on_postgres(pg_url, tmp_path):
    """The trainer's worker opens the database by URL itself; its runs and ranking are stored there and a
    restart serves the stored ranking."""
    from labelwise.demo import demo_records
    from labelwise.server.trainer import Trainer

    data, labels, descriptions = demo_records("en")
    gold = {r["id"]: r["label"] for r in data}
    store = create_project(tmp_path / "demo", data, labels=labels, descriptions=descriptions, db_url=pg_url,
                           settings={"retrain_every": 12, "model": "tfidf-lr", "ranked_size": 20})
    trainer = Trainer(store, mode="thread").start()
    try:
        assert trainer.wait_idle(120)
        who, _ = store.add_annotator("alice")
        item = store.next_item(who)
        for _ in range(24):
            item = store.submit(who, item["id"], gold[item["key"]], next_item=True)["next"]
        assert trainer.wait_idle(120) and trainer.last_error is None and trainer.rounds >= 2
        trainer.request()  # the round the 12th answer started may have seen more (see test_trainer.py)
        assert trainer.wait_idle(120) and trainer.last_error is None
        last = store.runs()[-1]
        assert last["error"] is None and last["n_labels"] == 24 and 0 <= last["accuracy"] <= 1
        ranking = list(store._ranking.order)
        assert len(ranking) == 20 and set(ranking).isdisjoint(store.current_labels())
    finally:
        trainer.stop()
        store.close()
    again = open_project(tmp_path / "demo")
    try:
        assert again._ranking.order == ranking and again.ranking_version == last["id"]
    finally:
        again.close()


def test_two_answers_per_text_across_two_processes(pg_url):
    """answers_per_text = 2 on PostgreSQL: the database check (one query with a count) keeps a complete text from
    a third annotator when the second answer came through another server process."""
    Store.create(pg_url, make_corpus(3), name="p", labels=LABELS, settings={"answers_per_text": 2}).close()
    first, second = Store(pg_url), Store(pg_url)
    try:
        a, b, c = annotators(first, "alice", "bob", "carol")
        item = first.next_item(a)["id"]
        first.submit(a, item, "pos")
        assert second.next_item(b) is not None  # the other process does not know alice began it ...
        second.submit(b, item, "neg")  # ... but bob answers it there (from a search, say)
        assert first.next_item(c)["id"] != item  # first's cache still counts one answer: the database says two
        assert first.n_complete == 1
        assert first.agreement() == {"texts": 1, "agreeing": 0, "alpha": 0.0}  # pos vs neg: counted by PostgreSQL
        third = Store(pg_url)  # a restart counts it complete too
        assert third.n_complete == 1
        third.close()
    finally:
        first.close()
        second.close()


def test_the_answer_in_use_on_postgres(pg_url):
    """The majority / tie / review rule is one windowed SQL query: the same answers on PostgreSQL."""
    from .test_overlap import check_answers_in_use

    Store.create(pg_url, make_corpus(6), name="p", labels=LABELS, settings={"answers_per_text": 3}).close()
    store = Store(pg_url)
    try:
        check_answers_in_use(store)
    finally:
        store.close()

"""ActiveLab in the app: with several annotators per text, a label check also ranks what to label again next
(GET /api/review/relabel), over texts answered by two people, by one, and by nobody."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from labelwise.server.app import create_app
from labelwise.server.project import create_project
from tests.server.test_review import logged_in, records, run_check


def test_relabel_offers_the_disputed_and_the_unplaceable_texts_first(tmp_path):
    data = records(30)
    truth = {r["id"]: r["label"] for r in data}
    rows = [dict(r) for r in data]
    rows += [{"id": "u_clear", "text": "a wonderful great film, truly superb"},
             {"id": "u_vague", "text": "a film seen on a tuesday"}]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    store = create_project(tmp_path / "p", path, labels=["pos", "neg"], import_labels=True,
                           settings={"review_model": "tfidf-lr"})
    try:
        app = create_app(store)
        key_of = {pk: key for pk, (key, _, _) in store._items.items()}
        pk_of = {key: pk for pk, key in key_of.items()}
        bob = logged_in(app, "bob")
        # bob agrees with the import on 20 texts and contradicts it on r4 (a clearly positive text)
        for key in [f"r{i}" for i in range(20)]:
            value = {"pos": "neg", "neg": "pos"}[truth[key]] if key == "r4" else truth[key]
            out = bob.post(f"/api/items/{pk_of[key]}/label", json={"value": value, "next": False})
            assert out.status_code == 200, out.text
        empty = bob.get("/api/review/relabel").json()
        assert empty == {"run_id": None, "entries": []}  # no check has run yet
        status = run_check(bob, app)
        assert status["last_run"]["status"] == "done" and status["last_run"]["n_relabel"] == 32

        carl = logged_in(app, "carl")  # has answered nothing: every text may be offered
        offered = carl.get("/api/review/relabel?limit=32").json()
        assert offered["run_id"] == status["last_run"]["id"]
        keys = [e["key"] for e in offered["entries"]]
        assert sorted(keys) == sorted(truth) + ["u_clear", "u_vague"]
        rank = {k: i for i, k in enumerate(keys)}
        # first the text two annotators split on and the unanswered one the model cannot place
        assert set(keys[:2]) == {"r4", "u_vague"}, keys
        assert rank["u_vague"] < rank["u_clear"]
        # a text answered once ranks above one answered twice the same way (same kind of text)
        twice = [rank[f"r{i}"] for i in range(20) if i != 4]
        once = [rank[f"r{i}"] for i in range(20, 30)]
        assert sum(once) / len(once) < sum(twice) / len(twice)
        first = offered["entries"][rank["r4"]]
        assert first["n_answers"] == 2 and first["item_id"] == pk_of["r4"] and 0 <= first["score"] <= 1
        assert {e["key"]: e["consensus"] for e in offered["entries"]}["u_vague"] is None

        # bob is not offered the texts he answered; the list is capped by limit
        for_bob = [e["key"] for e in bob.get("/api/review/relabel?limit=50").json()["entries"]]
        assert not set(for_bob) & {f"r{i}" for i in range(20)} and set(for_bob) >= {"u_vague", "r25"}
        assert len(carl.get("/api/review/relabel?limit=3").json()["entries"]) == 3
        # carl answers the top text: the count is current, and carl is no longer offered it
        carl.post(f"/api/items/{first['item_id']}/label", json={"value": "pos", "next": False})
        again = carl.get("/api/review/relabel?limit=32").json()["entries"]
        assert "r4" not in [e["key"] for e in again]
        assert [e["n_answers"] for e in bob.get("/api/review/relabel").json()["entries"] if e["key"] == "r4"] == []
        assert TestClient(app).get("/api/review/relabel").status_code == 401
    finally:
        store.close()

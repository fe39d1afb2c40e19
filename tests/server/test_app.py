"""HTTP API: sessions, tokens, CSRF, host check, inert texts, and the labeling round trip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelwise.server.app import STATIC, create_app
from labelwise.server.store import Store

from .conftest import make_corpus

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@pytest.fixture
def store(tmp_path):
    corpus = make_corpus(6)
    corpus.texts[0] = XSS
    store = Store.create(f"sqlite:///{tmp_path / 'a.db'}", corpus, name="p", labels=["pos", "neg", "neu"])
    yield store
    store.close()


def logged_in(app, name="alice") -> TestClient:
    client = TestClient(app)
    out = client.post("/api/login", json={"name": name})
    assert out.status_code == 200
    client.headers["X-CSRF-Token"] = out.json()["csrf"]
    return client


def test_label_round_trip_and_progress(store):
    client = logged_in(create_app(store))
    item = client.get("/api/next").json()["item"]
    out = client.post(f"/api/items/{item['id']}/label", json={"value": "neg"})
    assert out.status_code == 200
    assert out.json()["item"]["id"] != item["id"]
    history = client.get("/api/history").json()["history"]
    assert [(h["item_id"], h["answer"]) for h in history] == [(item["id"], "neg")]
    progress = client.get("/api/progress").json()
    assert progress["n_labels"] == 1 and progress["counts"] == {"pos": 0, "neg": 1, "neu": 0}
    assert progress["n_items"] == 6
    light = client.get("/api/progress?counts=false").json()  # the status line after each answer
    assert light["n_labels"] == 1 and light["counts"] is None and light["agreement"] is None
    bad = client.post(f"/api/items/{item['id']}/label", json={"value": "nope"})
    assert bad.status_code == 422 and "expected one of" in bad.json()["detail"]
    assert client.post("/api/undo").json()["item"]["id"] == item["id"]


def test_progress_reports_the_training_stage(store):
    class Busy:  # a trainer in the middle of its first embedding pass
        running, rounds, last_error = True, 0, None
        progress = {"stage": "embedding texts (e5)", "done": 1200, "total": 50000}

    model = logged_in(create_app(store, trainer=Busy())).get("/api/progress").json()["model"]
    assert model["training"] and model["stage"] == Busy.progress
    assert logged_in(create_app(store)).get("/api/progress").json()["model"]["stage"] is None


def test_login_names_are_checked_and_export_types_named(store):
    client = TestClient(create_app(store))
    assert client.post("/api/login", json={"name": "  "}).json()["detail"] == "give a name to log in"
    too_long = client.post("/api/login", json={"name": "x" * 201})
    assert too_long.status_code == 422 and "at most 200 characters" in too_long.json()["detail"]
    client = logged_in(create_app(store))
    types = {fmt: client.get(f"/api/export?format={fmt}").headers["content-type"]
             for fmt in ("jsonl", "csv", "label-studio", "doccano")}
    assert types == {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8",
                     "label-studio": "application/json; charset=utf-8",
                     "doccano": "application/x-ndjson; charset=utf-8"}


def test_every_api_route_needs_a_session(store):
    client = TestClient(create_app(store))
    for method, path in [("GET", "/api/next"), ("GET", "/api/history"), ("GET", "/api/progress"),
                         ("GET", "/api/search?q=a"), ("GET", "/api/export"), ("GET", "/api/items/1"),
                         ("POST", "/api/undo"), ("POST", "/api/items/1/label"), ("GET", "/api/me")]:
        assert client.request(method, path, json={"value": "pos"}).status_code == 401, path
    assert client.get("/api/config").status_code == 200
    assert client.get("/").status_code == 200


def test_csrf_header_required_for_cookie_writes(store):
    client = logged_in(create_app(store))
    item = client.get("/api/next").json()["item"]
    csrf = client.headers.pop("X-CSRF-Token")
    assert client.post(f"/api/items/{item['id']}/label", json={"value": "pos"}).status_code == 403
    client.headers["X-CSRF-Token"] = "0" * 64
    assert client.post(f"/api/items/{item['id']}/label", json={"value": "pos"}).status_code == 403
    client.headers["X-CSRF-Token"] = csrf
    assert client.post(f"/api/items/{item['id']}/label", json={"value": "pos"}).status_code == 200


def test_forged_session_cookie_rejected(store):
    client = logged_in(create_app(store))
    value = client.cookies.get("lw_session")
    aid, issued, sig = value.split(".")
    client.cookies.clear()
    client.cookies.set("lw_session", f"{int(aid) + 1}.{issued}.{sig}")
    assert client.get("/api/next").status_code == 401
    client.cookies.clear()
    client.cookies.set("lw_session", value)
    assert client.get("/api/next").status_code == 200


def test_token_mode(store):
    _, token = store.add_annotator("bob")
    app = create_app(store, require_token=True)
    client = TestClient(app)
    assert client.post("/api/login", json={"name": "bob"}).status_code == 401
    assert client.post("/api/login", json={"name": "bob", "token": "wrong"}).status_code == 401
    assert client.get("/api/next").status_code == 401
    ok = client.post("/api/login", json={"name": "bob", "token": token})
    assert ok.status_code == 200 and ok.json()["annotator"] == "bob"
    # bearer tokens for API clients: no cookie, no CSRF
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    item = api.get("/api/next").json()["item"]
    assert api.post(f"/api/items/{item['id']}/label", json={"value": "pos"}).status_code == 200
    assert TestClient(app, headers={"Authorization": "Bearer nope"}).get("/api/next").status_code == 401


def test_host_header_checked_on_loopback(store):
    app = create_app(store, allowed_hosts=("127.0.0.1", "localhost"))
    assert TestClient(app, base_url="http://evil.example").get("/api/config").status_code == 421
    assert TestClient(app, base_url="http://127.0.0.1:8000").get("/api/config").status_code == 200


def test_texts_are_data_never_markup(store):
    client = logged_in(create_app(store))
    results = client.get("/api/search", params={"q": "<script>"}).json()["results"]
    assert results[0]["text"] == XSS  # delivered verbatim as JSON data
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", script)
    assert "textContent" in script


def test_export_route(store):
    client = logged_in(create_app(store))
    item = client.get("/api/next").json()["item"]
    client.post(f"/api/items/{item['id']}/label", json={"value": "neu"})
    out = client.get("/api/export", params={"format": "doccano"})
    assert out.status_code == 200
    assert out.headers["content-disposition"].startswith("attachment")
    import json

    assert [json.loads(line)["label"] for line in out.text.splitlines()] == [["neu"]]
    assert client.get("/api/export", params={"format": "xml"}).status_code == 422


def test_static_files_served():
    assert (Path(STATIC) / "index.html").exists()

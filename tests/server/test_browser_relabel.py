"""In a real headless Chromium: with two annotators on some texts, the review view lists ActiveLab's texts to
label again; clicking the first opens it in the labeling view and a key press records a third answer."""

from __future__ import annotations

import json
import time

import pytest

from labelwise.server.project import create_project
from tests.server.conftest import login
from tests.server.test_browser import CHROMIUM, open_labeling_page
from tests.server.test_review import records

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (apt-get install chromium)"),
]


def test_relabel_list_opens_the_text_and_takes_an_answer(tmp_path, server_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    data = records(30)
    rows = [*data, {"id": "u_vague", "text": "a film seen on a tuesday"}, {"id": "u2", "text": "a lovely film"}]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    store = create_project(tmp_path / "p", path, labels=["pos", "neg"], import_labels=True,
                           settings={"review_model": "tfidf-lr"})
    pk_of = {key: pk for pk, (key, _, _) in store._items.items()}
    store.close()
    server = server_factory(tmp_path / "p")
    bob = login(server.url, "bob")
    for r in data[:20]:
        value = {"pos": "neg", "neg": "pos"}[r["label"]] if r["id"] == "r4" else r["label"]
        bob.post(f"/api/items/{pk_of[r['id']]}/label", json={"value": value, "next": False}).raise_for_status()
    bob.post("/api/review/run").raise_for_status()
    deadline = time.time() + 120
    while bob.get("/api/review").json()["running"] and time.time() < deadline:
        time.sleep(0.3)
    assert bob.get("/api/review").json()["last_run"]["status"] == "done"
    top = bob.get("/api/review/relabel?limit=1").json()["entries"][0]  # bob did not answer u_vague

    with sync_api.sync_playwright() as p:
        browser, page = open_labeling_page(p, server.url, "carl")
        page.keyboard.press("r")
        page.wait_for_selector("#relabel-list li")
        assert not page.is_hidden("#relabel-title")
        first = page.get_attribute("#relabel-list li", "data-item-id")
        assert int(first) in {pk_of["r4"], pk_of["u_vague"]}
        assert page.locator("#relabel-list li").count() == 10
        assert top["item_id"] in [int(x) for x in page.eval_on_selector_all(
            "#relabel-list li", "els => els.map(e => e.dataset.itemId)")]
        page.click("#relabel-list li")
        page.wait_for_selector("#review", state="hidden")
        page.wait_for_selector("#revisit-banner", state="visible")  # opened as a text to answer again
        assert page.get_attribute("#card", "data-item-id") == first
        page.keyboard.press("1")  # pos
        page.wait_for_selector("#revisit-banner", state="hidden")
        browser.close()
    answers = {h["annotator"]: h["answer"] for h in bob.get(f"/api/items/{first}").json()["history"]}
    assert answers.get("carl") == "pos"

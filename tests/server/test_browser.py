"""End to end in a real headless Chromium: create a project, label 30 texts by keyboard only, undo, change an
answer from the history list, reload, export, and check the export holds exactly those answers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labelwise.cli.main import main

CHROMIUM = Path(os.environ.get("LABELWISE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def open_labeling_page(playwright, url: str, annotator: str):
    """Launch headless Chromium, log in as ``annotator`` and wait for the first text; returns (browser, page).

    bypass_csp: the tests wait with evaluated expressions; it also means XSS checks rest on the UI rendering
    texts as text, not on the Content-Security-Policy header.
    """
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page.goto(url + "/")
    page.wait_for_selector("#login-name", state="visible")
    page.keyboard.type(annotator)
    page.keyboard.press("Enter")
    page.wait_for_selector("#card[data-item-id]:not([data-item-id=''])")
    return browser, page
LABELS = ["pos", "neg", "neu"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (apt-get install chromium)"),
]


def test_label_30_by_keyboard_undo_change_reload_export(tmp_path, server_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    data = tmp_path / "texts.jsonl"
    with data.open("w", encoding="utf-8") as fh:
        for i in range(60):
            text = f"Text number {i}: 这是第{i}条评论。" if i else '<img src=x onerror="window.pwned=1"> first'
            fh.write(json.dumps({"id": f"t{i}", "text": text}, ensure_ascii=False) + "\n")
    project = tmp_path / "proj"
    assert main(["new", str(project), "--data", str(data), "--labels", ",".join(LABELS),
                 "--descriptions", "pos=positive;neg=negative;neu=neither", "--retrain-every", "10",
                 "--model", "tfidf-lr"]) == 0
    server = server_factory(project, trainer="thread")
    shots = Path(os.environ.get("LABELWISE_SCREENSHOTS", tmp_path))
    expected: dict[str, str] = {}

    with sync_api.sync_playwright() as p:
        browser, page = open_labeling_page(p, server.url, "erin")

        def current() -> tuple[str, str]:
            return (page.get_attribute("#card", "data-item-id"),
                    page.inner_text("#item-key").removeprefix("id ").strip())

        for n in range(30):
            item_id, key = current()
            label_index = n % 3
            page.keyboard.press(str(label_index + 1))
            page.wait_for_function(f"document.querySelector('#card').dataset.itemId !== '{item_id}'")
            expected[key] = LABELS[label_index]
        assert page.evaluate("window.pwned") is None  # the payload text stayed text
        page.screenshot(path=str(shots / "labeling.png"))

        # undo the 30th answer: its text comes back
        last_key = list(expected)[-1]
        page.keyboard.press("u")
        page.wait_for_function(f"document.querySelector('#item-key').textContent === 'id {last_key}'")
        del expected[last_key]
        page.wait_for_function("document.querySelectorAll('#history li').length === 29")

        # change an earlier answer from the history list, keyboard only
        page.keyboard.press("h")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_selector("#revisit-banner", state="visible")
        _, changed_key = current()
        new_label = next(label for label in LABELS if label != expected[changed_key])
        page.keyboard.press(str(LABELS.index(new_label) + 1))
        page.wait_for_selector("#revisit-banner", state="hidden")
        expected[changed_key] = new_label
        page.wait_for_function(f"document.querySelector('#item-key').textContent === 'id {last_key}'")

        page.reload()
        page.wait_for_function(f"document.querySelector('#item-key').textContent === 'id {last_key}'")
        page.wait_for_function("document.querySelectorAll('#history li').length === 29")
        page.keyboard.press("p")
        page.wait_for_selector("#progress svg")
        page.wait_for_function("document.querySelector('#progress-summary').textContent.startsWith('29 of 60')")
        page.screenshot(path=str(shots / "progress.png"))
        with page.expect_download() as download:
            page.click("#export-jsonl")
        assert download.value.suggested_filename.endswith("-labels.jsonl")
        from_browser = download.value.path().read_text(encoding="utf-8").splitlines()
        page.keyboard.press("Escape")
        page.keyboard.press("?")
        page.wait_for_selector("#help", state="visible")
        browser.close()

    out = tmp_path / "export.jsonl"
    assert main(["export", str(project), "--format", "jsonl", "--out", str(out)]) == 0
    exported = {r["id"]: r["label"] for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert exported == expected
    assert len(exported) == 29
    assert {r["id"]: r["label"] for r in map(json.loads, from_browser)} == expected  # the Progress panel's link


@pytest.mark.parametrize(("stage", "shown"), [
    ({"stage": "embedding texts (e5)", "done": 1200, "total": 50000}, "training: embedding texts (e5) 1,200 / 50,000"),
    ({"stage": "building the e5 encoder (once per machine, up to a minute)", "done": 0, "total": 0},
     "training: building the e5 encoder (once per machine, up to a minute)"),
])
def test_status_line_shows_the_trainers_embedding_stage(tmp_path, server_factory, stage, shown):
    """While the first round builds its encoder or embeds the pool, the status line and the progress panel say
    so, with the count where the stage has one (the API's model.stage, injected into the real server's answer)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    data = tmp_path / "texts.jsonl"
    data.write_text("".join(json.dumps({"id": f"t{i}", "text": f"text {i}"}) + "\n" for i in range(5)))
    project = tmp_path / "proj"
    assert main(["new", str(project), "--data", str(data), "--labels", ",".join(LABELS), "--model", "tfidf-lr"]) == 0
    server = server_factory(project, trainer="off")

    def busy(route):
        body = route.fetch().json()
        body["model"].update(training=True, stage=stage)
        route.fulfill(json=body)

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(bypass_csp=True)
            page.route("**/api/progress*", busy)  # with or without ?counts=false
            page.goto(server.url + "/")
            page.wait_for_selector("#login-name", state="visible")
            page.keyboard.type("erin")
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('#status').textContent.includes('training:')")
            status = page.inner_text("#status")
            assert shown in status, status
            assert "/ 0" not in status
            page.keyboard.press("p")
            page.wait_for_function("document.querySelector('#progress-summary').textContent.includes('Training now')")
            summary = page.inner_text("#progress-summary")
            assert "Training now: " + shown.removeprefix("training: ") in summary, summary
        finally:
            browser.close()


def test_progress_panel_says_how_the_model_was_trained(tmp_path, server_factory):
    """The last round's notes (e5 prefix and when it was chosen, pseudo-labels), injected into the real server's
    answer, appear in the Progress panel's summary."""
    sync_api = pytest.importorskip("playwright.sync_api")
    data = tmp_path / "texts.jsonl"
    data.write_text("".join(json.dumps({"id": f"t{i}", "text": f"text {i}"}) + "\n" for i in range(5)))
    project = tmp_path / "proj"
    assert main(["new", str(project), "--data", str(data), "--labels", "pos,neg", "--model", "tfidf-lr"]) == 0
    server = server_factory(project, trainer="off")
    notes = {"e5_prefix": "query", "prefix_chosen_at": 100, "pseudo_labels": 4321}

    def with_notes(route):
        body = route.fetch().json()
        body["model"]["notes"] = notes
        route.fulfill(json=body)

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(bypass_csp=True)
            page.route("**/api/progress*", with_notes)
            page.goto(server.url + "/")
            page.wait_for_selector("#login-name", state="visible")
            page.keyboard.type("erin")
            page.keyboard.press("Enter")
            page.wait_for_selector("#login", state="hidden")
            page.wait_for_function("document.querySelector('#status').textContent.includes('labeled')")
            page.keyboard.press("p")
            sync_api.expect(page.locator("#progress-summary")).to_contain_text("prefix")
            summary = page.inner_text("#progress-summary")
            assert 'e5\'s "query: " prefix (chosen from the labels at 100 answers)' in summary, summary
            assert "also trained on 4,321 unlabeled texts it predicts with confidence" in summary, summary
        finally:
            browser.close()


def test_progress_panel_shows_agreement_and_alpha_with_overlap(tmp_path, server_factory):
    """Two answers per text: the Progress panel counts the texts answered alike and gives Krippendorff's alpha."""
    from .conftest import login

    sync_api = pytest.importorskip("playwright.sync_api")
    data = tmp_path / "texts.jsonl"
    data.write_text("".join(json.dumps({"id": f"t{i}", "text": f"text {i}"}) + "\n" for i in range(4)))
    project = tmp_path / "proj"
    assert main(["new", str(project), "--data", str(data), "--labels", ",".join(LABELS), "--model", "tfidf-lr",
                 "--answers-per-text", "2"]) == 0
    server = server_factory(project, trainer="off")
    alice, bob = login(server.url, "alice"), login(server.url, "bob")
    for alice_says, bob_says in [("pos", "pos"), ("pos", "neg")]:  # agree, then disagree: alpha 1 - 3 · 2 / 6
        item = alice.get("/api/next").json()["item"]
        alice.post(f"/api/items/{item['id']}/label", json={"value": alice_says, "next": False}).raise_for_status()
        assert bob.get("/api/next").json()["item"]["id"] == item["id"]  # the text alice began comes first
        bob.post(f"/api/items/{item['id']}/label", json={"value": bob_says, "next": False}).raise_for_status()
    with sync_api.sync_playwright() as p:
        browser, page = open_labeling_page(p, server.url, "erin")
        try:
            page.keyboard.press("p")
            page.wait_for_function("document.querySelector('#progress-summary').textContent.includes('α')")
            summary = page.inner_text("#progress-summary")
            assert "2 with all 2 answers" in summary and "agree on 1 of the 2 texts" in summary, summary
            assert "Krippendorff's α 0.00" in summary, summary
        finally:
            browser.close()

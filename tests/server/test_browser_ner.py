"""End to end in a real headless Chromium: label 3 NER sentences by keyboard only (accept the model's pre-filled
spans with Enter; remove spans with Backspace; select with Shift+arrows and press the entity key; an overlap is
refused with a message; Chinese per character), then check the export holds exactly those answers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from labelwise.cli.main import main

from .test_browser import CHROMIUM, open_labeling_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (apt-get install chromium)"),
]

NAMES = ["John", "Peter", "Paul", "Lisa", "Mark", "Emma", "Anna", "Tom"]
CITIES = ["Paris", "London", "Berlin", "Madrid", "Vienna", "Prague", "Oslo", "Rome"]
LABELED = [{"id": f"k{i}", "tokens": [NAMES[i], "lives", "in", CITIES[i], "."],
            "tags": ["B-PER", "O", "O", "B-LOC", "O"]} for i in range(8)]
TO_LABEL = [
    {"id": "u1", "tokens": ["Mary", "lives", "in", "Rome", "."]},
    {"id": "u2", "tokens": ["Yesterday", "Anna", "Smith", "visited", "Acme", "Corp", "in", "Oslo"]},
    {"id": "u3", "text": "张三去了北京。"},
]


def test_label_three_ner_sentences_by_keyboard_and_export(tmp_path, server_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    data = tmp_path / "ner.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in LABELED + TO_LABEL), encoding="utf-8")
    project = tmp_path / "proj"
    assert main(["new", str(project), "--data", str(data), "--task", "ner", "--labels", "PER,LOC,ORG",
                 "--import-labels", "--retrain-every", "50"]) == 0
    server = server_factory(project, trainer="thread")
    deadline = time.time() + 60  # the first CRF round (on the 8 imported sentences) pre-fills spans
    with httpx.Client(base_url=server.url) as client:
        client.post("/api/login", json={"name": "probe"}).raise_for_status()
        while client.get("/api/progress").json()["model"]["rounds"] < 1:
            assert time.time() < deadline, "no training round within 60 s"
            time.sleep(0.2)
    shots = Path(os.environ.get("LABELWISE_SCREENSHOTS", tmp_path))
    expected: dict[str, list[str]] = {}

    with sync_api.sync_playwright() as p:
        browser, page = open_labeling_page(p, server.url, "nia")

        def key() -> str:
            return page.inner_text("#item-key").removeprefix("id ").strip()

        def spans() -> list:
            return json.loads(page.get_attribute("#card", "data-spans") or "[]")

        def press(name: str, times: int = 1) -> None:
            for _ in range(times):
                page.keyboard.press(name)

        def clear_spans() -> None:  # Backspace on each pre-filled span, keyboard only
            while spans():
                press("Home")
                press("ArrowRight", spans()[0][0])
                press("Backspace")

        def submit() -> None:
            item_id = page.get_attribute("#card", "data-item-id")
            press("Enter")
            page.wait_for_function(f"document.querySelector('#card').dataset.itemId !== '{item_id}'")

        for _ in range(3):
            k = key()
            if k == "u1":  # accept the model's spans as they are
                page.wait_for_selector("#text mark.ent")
                page.screenshot(path=str(shots / "ner_prefilled.png"))
                prefilled = spans()
                assert prefilled, "the model pre-filled no span"
                tags = ["O"] * 5
                for start, end, label in prefilled:
                    tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
                expected[k] = tags
                submit()
            elif k == "u2":
                clear_spans()
                press("Home")
                press("ArrowRight")  # Anna
                press("Shift+ArrowRight")  # .. Smith
                press("1")  # PER
                press("ArrowRight", 2)  # Acme
                press("Shift+ArrowRight")  # .. Corp
                press("3")  # ORG
                press("ArrowRight", 2)  # Oslo
                press("2")  # LOC
                assert spans() == [[1, 3, "PER"], [4, 6, "ORG"], [7, 8, "LOC"]]
                expected[k] = ["O", "B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O", "B-LOC"]
                submit()
            else:
                assert k == "u3"
                clear_spans()
                press("Home")
                press("Shift+ArrowRight")  # 张三
                press("1")
                press("ArrowRight", 3)  # 北
                press("Shift+ArrowRight")  # 北京
                press("2")
                press("ArrowLeft")  # 北 again: 京 .. 北 overlaps the LOC span
                press("Shift+ArrowLeft")  # 了北
                press("1")
                page.wait_for_function("document.querySelector('#message').textContent.includes('overlaps')")
                assert "“北京” (LOC)" in page.inner_text("#message")
                page.screenshot(path=str(shots / "ner_chinese.png"))
                assert spans() == [[0, 2, "PER"], [4, 6, "LOC"]]
                expected[k] = ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"]
                submit()
        page.wait_for_function("document.querySelectorAll('#history li').length === 3")
        page.keyboard.press("r")  # the review view: too few labels for a check, and it says how many
        page.wait_for_selector("#review", state="visible")
        page.wait_for_function("document.querySelector('#review-message').textContent.includes('at least 20')")
        page.screenshot(path=str(shots / "review_too_few.png"))
        browser.close()

    out = tmp_path / "export.jsonl"
    assert main(["export", str(project), "--format", "jsonl", "--out", str(out)]) == 0
    exported = {r["id"]: r["tags"] for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert {k: v for k, v in exported.items() if k.startswith("u")} == expected
    assert len(exported) == 11
    doccano = tmp_path / "export-doccano.jsonl"
    assert main(["export", str(project), "--format", "doccano", "--out", str(doccano)]) == 0
    rows = {r["id"]: r for r in map(json.loads, doccano.read_text(encoding="utf-8").splitlines())}
    assert rows["u3"] == {"id": "u3", "text": "张三去了北京。", "label": [[0, 2, "PER"], [4, 6, "LOC"]]}
    assert rows["u2"]["label"] == [[10, 20, "PER"], [29, 38, "ORG"], [42, 46, "LOC"]]

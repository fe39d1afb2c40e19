"""A small bundled sample for ``labelwise demo``: 64 English and 64 Chinese texts written for labelwise, four
topics (sports, technology, food, travel), 16 texts per topic and language, with their labels."""

from __future__ import annotations

import json
from importlib import resources

LABELS = ["sports", "technology", "food", "travel"]
DESCRIPTIONS = {
    "sports": "games, athletes, matches, training",
    "technology": "software, devices, the internet, engineering",
    "food": "cooking, recipes, restaurants, eating",
    "travel": "trips, transport, places to stay, sightseeing",
}


def demo_records(lang: str = "both") -> tuple[list[dict], list[str], dict[str, str]]:
    """(records {"id", "text", "label"}, label set, label descriptions) for ``lang`` in en | zh | both."""
    if lang not in ("en", "zh", "both"):
        raise ValueError(f"lang must be 'en', 'zh' or 'both', got {lang!r}")
    records: list[dict] = []
    for code in ("en", "zh") if lang == "both" else (lang,):
        text = resources.files("labelwise.demo").joinpath(f"{code}.jsonl").read_text(encoding="utf-8")
        records.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return records, list(LABELS), dict(DESCRIPTIONS)

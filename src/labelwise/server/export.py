"""Exports of a project's current answers: jsonl, csv, label-studio (JSON tasks) and doccano (JSONL), one record
per text (its answer in use); ``answers``: every annotator's current answer, one JSONL record each (overlap,
agreement studies), in the jsonl layout.

Files are written atomically (a temporary file in the same folder, fsynced, then renamed over the target),
so a crash never leaves a half-written export.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelwise.data.io import write_atomic

FORMATS = ("jsonl", "csv", "label-studio", "doccano", "answers")
EXTENSIONS = {"jsonl": ".jsonl", "csv": ".csv", "label-studio": ".json", "doccano": ".jsonl", "answers": ".answers.jsonl"}
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "label-studio": "application/json",
               "doccano": "application/x-ndjson", "answers": "application/x-ndjson"}


def export_body(store: Any, fmt: str) -> tuple[str, int]:
    """The export of ``store`` in ``fmt`` and its number of records."""
    if fmt == "answers":
        records = store.export_records(every_answer=True)
        return render(records, "jsonl", task=store.project.task), len(records)
    records = store.export_records()
    return render(records, fmt, task=store.project.task), len(records)


def _as_list(answer: Any) -> list[str]:
    return [answer] if isinstance(answer, str) else list(answer)


def render(records: Sequence[dict[str, Any]], fmt: str, *, task: str) -> str:
    """The export file's content for ``records`` from :meth:`Store.export_records`."""
    if task == "ner":  # spans: labelwise.server.spans
        from labelwise.server.spans import render_ner

        return render_ner(records, fmt)
    if fmt == "jsonl":
        field = "label" if task == "multiclass" else "labels"
        return "".join(json.dumps({"id": r["id"], "text": r["text"], field: r["answer"],
                                   "annotator": r["annotator"], "created_at": r["created_at"]},
                                  ensure_ascii=False) + "\n" for r in records)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "text", "label" if task == "multiclass" else "labels", "annotator", "created_at"])
        for r in records:
            answer = r["answer"] if task == "multiclass" else "|".join(r["answer"])
            writer.writerow([r["key"], r["text"], answer, r["annotator"], r["created_at"]])
        return out.getvalue()
    if fmt == "label-studio":
        tasks = []
        for i, r in enumerate(records, start=1):
            tasks.append({
                "id": i,
                "data": {"text": r["text"], "id": r["id"]},
                "annotations": [{
                    "id": i,
                    "completed_by": r["annotator"],
                    "created_at": r["created_at"],
                    "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                "value": {"choices": _as_list(r["answer"])}}],
                }],
            })
        return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"
    if fmt == "doccano":
        return "".join(json.dumps({"id": r["id"], "text": r["text"], "label": _as_list(r["answer"])},
                                  ensure_ascii=False) + "\n" for r in records)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")


def export_project(store: Any, fmt: str, out: str | os.PathLike) -> tuple[Path, int]:
    """Write the project's current answers to ``out`` in ``fmt``; returns (path, number of records)."""
    body, n = export_body(store, fmt)
    return write_atomic(out, body), n

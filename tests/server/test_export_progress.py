"""Export formats (hand-written expected records) and the learning-curve forecast (hand-computed values)."""

from __future__ import annotations

import csv
import json
import math

import pytest

from labelwise.cli.main import main
from labelwise.server.export import render
from labelwise.server.progress import fit_learning_curve, forecast, predict_score

RECORDS = [
    {"key": "a", "id": "a", "text": "he said \"hi\", then left\n", "position": 0, "answer": "pos", "annotator": "ann",
     "created_at": "2025-01-01T00:00:00Z"},
    {"key": "b", "id": "b", "text": "好吃", "position": 1, "answer": "neg", "annotator": "bob",
     "created_at": "2025-01-01T00:00:01Z"},
]


def test_jsonl_and_doccano():
    lines = [json.loads(x) for x in render(RECORDS, "jsonl", task="multiclass").splitlines()]
    assert lines[1] == {"id": "b", "text": "好吃", "label": "neg", "annotator": "bob",
                        "created_at": "2025-01-01T00:00:01Z"}
    doccano = [json.loads(x) for x in render(RECORDS, "doccano", task="multiclass").splitlines()]
    assert doccano == [{"id": "a", "text": RECORDS[0]["text"], "label": ["pos"]},
                       {"id": "b", "text": "好吃", "label": ["neg"]}]
    ml = [{**RECORDS[0], "answer": ["x", "y"]}]
    assert json.loads(render(ml, "jsonl", task="multilabel"))["labels"] == ["x", "y"]


def test_csv_round_trips_quotes_and_newlines():
    rows = list(csv.reader(render(RECORDS, "csv", task="multiclass").splitlines(keepends=True)))
    assert rows[0] == ["id", "text", "label", "annotator", "created_at"]
    assert rows[1][:3] == ["a", RECORDS[0]["text"], "pos"]
    assert rows[2][:3] == ["b", "好吃", "neg"]


def test_label_studio_task_format():
    tasks = json.loads(render(RECORDS, "label-studio", task="multiclass"))
    assert tasks[0]["data"] == {"text": RECORDS[0]["text"], "id": "a"}
    result = tasks[1]["annotations"][0]["result"][0]
    assert result == {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}
    with pytest.raises(ValueError, match="unknown export format"):
        render(RECORDS, "xml", task="multiclass")


def test_power_law_fit_recovers_known_curve():
    # score(n) = 0.9 - 2 * n^-0.5  ->  n=100: 0.7, n=400: 0.8, n=1600: 0.85
    ns = [25, 100, 400, 1600]
    scores = [0.9 - 2 * n ** -0.5 for n in ns]
    assert scores[1:] == pytest.approx([0.7, 0.8, 0.85])
    fit = fit_learning_curve(ns, scores)
    assert fit["kind"] == "power-law"
    assert fit["params"] == pytest.approx([0.9, 2.0, 0.5], abs=1e-3)
    assert predict_score(fit, 6400) == pytest.approx(0.875, abs=1e-3)
    out = forecast(ns, scores, current=1600, more=[4800])
    assert out["more"] == [{"labels": 4800, "total": 6400, "score": pytest.approx(0.875, abs=1e-3)}]


def test_log_fit_with_two_points():
    # through (10, 0.5) and (100, 0.7): slope 0.2 / ln(10); at 20 labels: 0.5 + 0.2 * ln 2 / ln 10 = 0.5602
    fit = fit_learning_curve([10, 100], [0.5, 0.7])
    assert fit["kind"] == "log"
    assert predict_score(fit, 20) == pytest.approx(0.5 + 0.2 * math.log(2) / math.log(10))
    out = forecast([10, 100], [0.5, 0.7], current=100, more=[50, 100, 500])
    assert [m["labels"] for m in out["more"]] == [50, 100]  # a log fit is not extrapolated past 2x
    assert fit_learning_curve([10], [0.5]) is None


def test_forecast_stays_within_the_pool():
    ns, scores = [25, 100, 400, 1600], [0.9 - 2 * n**-0.5 for n in [25, 100, 400, 1600]]
    horizons = [m["labels"] for m in forecast(ns, scores, current=1600, pool=1700)["more"]]
    assert horizons == [50, 100]  # +500 would pass the 1,700 texts there are
    assert [m["labels"] for m in forecast(ns, scores, current=1600, pool=1620)["more"]] == [20]  # the rest
    assert forecast(ns, scores, current=1600, pool=1600)["more"] == []
    assert len(forecast(ns, scores, current=1600)["more"]) == 3  # no pool given: every horizon
    assert forecast([], [], current=0) is None


def test_cli_export_formats(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "x", "text": "one", "label": "pos"}\n{"id": "y", "text": "two"}\n', encoding="utf-8")
    project = tmp_path / "p"
    assert main(["new", str(project), "--data", str(data), "--labels", "pos,neg", "--import-labels"]) == 0
    for fmt, name in [("jsonl", "labels.jsonl"), ("csv", "labels.csv"), ("label-studio", "labels.json")]:
        assert main(["export", str(project), "--format", fmt]) == 0
        assert (project / "export" / name).exists()
    out = tmp_path / "dc.jsonl"
    assert main(["export", str(project), "--format", "doccano", "--out", str(out)]) == 0
    assert [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()] == [
        {"id": "x", "text": "one", "label": ["pos"]}]
    assert main(["export", str(tmp_path / "nope")]) == 2
    assert "not a labelwise project" in capsys.readouterr().err


def test_integer_ids_come_back_as_integers(tmp_path):
    """Ids the data gave as integers (or line numbers, when it gave none) are exported as integers, so the
    export joins back onto the data; text ids stay text."""
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"text": "one", "label": "pos"}\n{"text": "two", "label": "neg"}\n', encoding="utf-8")
    numbered = tmp_path / "numbered.jsonl"
    numbered.write_text('{"id": 7, "text": "one", "label": "pos"}\n{"id": "8", "text": "two", "label": "neg"}\n',
                        encoding="utf-8")
    exported = {}
    for data in (plain, numbered):
        project = tmp_path / data.stem
        assert main(["new", str(project), "--data", str(data), "--labels", "pos,neg", "--import-labels"]) == 0
        for fmt in ("jsonl", "doccano"):
            out = tmp_path / f"{data.stem}-{fmt}.jsonl"
            assert main(["export", str(project), "--format", fmt, "--out", str(out)]) == 0
            exported[data.stem, fmt] = [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()]
        out = tmp_path / f"{data.stem}.json"
        assert main(["export", str(project), "--format", "label-studio", "--out", str(out)]) == 0
        exported[data.stem, "label-studio"] = [t["data"]["id"] for t in json.loads(out.read_text(encoding="utf-8"))]
    assert {k: v for k, v in exported.items() if k[0] == "plain"} == {
        ("plain", "jsonl"): [0, 1], ("plain", "doccano"): [0, 1], ("plain", "label-studio"): [0, 1]}
    assert all(v == ["7", "8"] for k, v in exported.items() if k[0] == "numbered")  # mixed: all text

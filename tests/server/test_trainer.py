"""Background training: rankings and suggestions appear after k answers; a failing model never blocks."""

from __future__ import annotations

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
        assert trainer.rounds >= 2 and trainer.last_error is None
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

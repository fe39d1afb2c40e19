"""simulate_ner end to end on a small slice of the shared conll2003, and the entity-F1 metric."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labelwise.data import load_corpus
from labelwise.simulate.ner import entity_f1, resolve_amount, simulate_ner, write_ner_table

DATASETS = Path(os.environ.get("LABELWISE_DATASETS", Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"))


def test_entity_f1_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC"]]
    # 3 gold entities, 3 predicted, 2 correct: P = R = 2/3.
    assert entity_f1(gold, pred) == pytest.approx(2 / 3)
    # A span boundary error is a miss at entity level.
    assert entity_f1([["B-PER", "I-PER"]], [["B-PER", "O"]]) == 0.0


def test_resolve_amount():
    assert resolve_amount("5%", 1000) == 50
    assert resolve_amount(0.05, 1010) == 50
    assert resolve_amount(" 12 ", 1000) == 12
    assert resolve_amount("0.01%", 10) == 1
    with pytest.raises(ValueError, match="initial: expected a count"):
        resolve_amount("five", 10, name="initial")
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        resolve_amount(1.5, 10)


def _slice(split: str, n: int) -> list[dict]:
    path = DATASETS / "conll2003" / f"{split}.jsonl"
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path}")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for _, line in zip(range(n), fh, strict=False)]


def test_simulate_ner_results_structure(tmp_path):
    train = load_corpus(_slice("train", 200), task="ner")
    test = load_corpus(_slice("test", 100), task="ner")
    results = simulate_ner(train, test, strategies=["ltp", "mnlp"], initial="10%", batch=20, budget="30%",
                           seeds=2, model_options={"max_iterations": 20})
    assert results["task"] == "ner" and results["model"] == "crf" and results["metric"] == "entity_f1"
    assert 0.0 < results["full_data_score"] <= 1.0
    assert list(results["curves"]) == ["random", "ltp", "mnlp"]
    tokens_in_pool = sum(len(t) for t in train.tokens)
    for curve in results["curves"].values():
        assert curve["labels"] == [20, 40, 60]
        assert len(curve["mean"]) == len(curve["std"]) == len(curve["tokens"]) == 3
        assert all(0.0 <= m <= 1.0 for m in curve["mean"])
        assert len(curve["per_seed"]) == 2
        assert curve["tokens"] == sorted(curve["tokens"]) and curve["tokens"][-1] < tokens_in_pool
    # Every strategy shares the seed's initial sample: same first point, same tokens there.
    firsts = {name: (c["per_seed"][0][0], c["per_seed_tokens"][0][0]) for name, c in results["curves"].items()}
    assert len(set(firsts.values())) == 1
    for entry in results["savings"].values():
        assert set(entry) >= {"target_score", "labels_needed", "random_labels_needed", "savings", "token_savings"}
        assert entry["target_score"] == pytest.approx(results["curves"]["random"]["mean"][-1])
        if entry["labels_needed"] is not None:
            assert entry["savings"] == pytest.approx(1 - entry["labels_needed"] / 60)
    for timing in results["seconds"].values():
        assert set(timing) == {"featurize", "fit", "score", "select"} and timing["fit"] > 0
    table = results["table"]
    assert table["count"] == [20, 40, 60] and table["rate"] == pytest.approx([0.1, 0.2, 0.3])
    json.dumps(results)  # JSON-serializable
    text = write_ner_table(results, tmp_path / "table.md").read_text()
    assert "| 30 % | 60 |" in text and "ltp" in text


def test_simulate_ner_seed_protocol_schedule():
    train = load_corpus(_slice("train", 100), task="ner")
    test = load_corpus(_slice("test", 30), task="ner")
    results = simulate_ner(train, test, strategies=["random"], seeds=[7], protocol="seed",
                           model_options={"max_iterations": 5})
    assert results["curves"]["random"]["labels"] == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert results["settings"]["seeds"] == [7]


def test_simulate_ner_input_errors():
    train = load_corpus(_slice("train", 20), task="ner")
    with pytest.raises(ValueError, match="unknown NER strategies"):
        simulate_ner(train, train, strategies=["margin"])
    with pytest.raises(ValueError, match="larger than the pool"):
        simulate_ner(train, train, initial=10, batch=10, budget=30)

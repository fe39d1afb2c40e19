import json

import numpy as np
import pytest

from labelwise.data import Corpus
from labelwise.loop import ActiveLearner


def _corpus(n=90, task="multiclass"):
    words = {"sport": "match goal team player score", "food": "recipe cook taste kitchen bake",
             "tech": "computer software chip code server"}
    rng = np.random.default_rng(0)
    names = sorted(words)
    texts, labels = [], []
    for i in range(n):
        label = names[i % 3]
        vocab = words[label].split()
        texts.append(" ".join(rng.choice(vocab, size=5)) + f" item{i}")
        labels.append(label if task == "multiclass" else [label])
    return Corpus(ids=[f"t{i}" for i in range(n)], texts=texts, task=task, labels=labels, label_set=names)


def test_query_teach_retrain_moves_ids_between_pools():
    corpus = _corpus()
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="margin", retrain_every=5, seed=1)
    first = learner.query(6)  # no model yet: cold start by clusters
    assert len(first) == len(set(first)) == 6
    learner.teach(first, [corpus.labels[int(i[1:])] for i in first])
    assert learner.model is not None and learner.model_n_labels == 6  # 6 >= retrain_every
    assert set(first) == set(learner.labeled_ids)
    assert not set(first) & set(learner.unlabeled_ids)
    nxt = learner.query(10)
    assert not set(nxt) & set(first)
    proba = learner.predict_proba(nxt)
    assert proba.shape == (10, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_retrain_policy_counts_new_labels_only():
    corpus = _corpus()
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="random", retrain_every=4)
    learner.teach(["t0", "t1", "t2"], ["food", "sport", "tech"])
    assert learner.model is None
    learner.teach(["t0"], ["sport"])  # a changed answer is not a new label
    assert learner.model is None
    learner.teach(["t3"], ["food"])
    assert learner.model_n_labels == 4
    assert learner.answers()["t0"] == "sport"


def test_teach_rejects_unknown_label_and_unknown_id():
    learner = ActiveLearner(_corpus(), model="tfidf-lr", strategy="random")
    with pytest.raises(ValueError, match="not in the label set"):
        learner.teach(["t0"], ["weather"])
    with pytest.raises(KeyError, match="unknown id 'nope'"):
        learner.teach(["nope"], ["food"])
    assert learner.n_labeled == 0


def test_forget_returns_texts_to_the_pool():
    learner = ActiveLearner(_corpus(), model="tfidf-lr", strategy="random", retrain_every=0)
    learner.teach(["t0", "t1"], ["food", "sport"])
    learner.forget(["t0"])
    assert learner.labeled_ids == ["t1"] and "t0" in learner.unlabeled_ids


def test_query_excludes_given_ids():
    learner = ActiveLearner(_corpus(12), model="tfidf-lr", strategy="random", seed=3)
    got = learner.query(12, exclude=["t0", "t1"])
    assert sorted(got) == sorted(f"t{i}" for i in range(2, 12))


@pytest.mark.parametrize("refit", ["scratch", "warm"])
def test_save_and_load_resume_the_same_state(tmp_path, refit):
    corpus = _corpus()
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="entropy", retrain_every=3, refit=refit, seed=2)
    ids = learner.query(9)
    learner.teach(ids, [corpus.labels[int(i[1:])] for i in ids])
    learner.save(tmp_path / "state")
    learner.save(tmp_path / "state")  # overwrite in place works
    resumed = ActiveLearner.load(tmp_path / "state")
    assert resumed.labeled_ids == learner.labeled_ids
    assert resumed.answers() == learner.answers()
    assert (resumed.refit, resumed.strategy_name, resumed.retrain_every) == (refit, "entropy", 3)
    np.testing.assert_allclose(resumed.predict_proba(ids), learner.predict_proba(ids))
    assert resumed.query(5) == learner.query(5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_failed_save_keeps_the_previous_state(tmp_path, monkeypatch):
    corpus = _corpus()
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="random", retrain_every=0)
    learner.teach(["t0"], ["food"])
    learner.save(tmp_path / "state")
    learner.teach(["t1"], ["sport"])

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dumps", boom)
    with pytest.raises(OSError, match="disk full"):
        learner.save(tmp_path / "state")
    monkeypatch.undo()
    assert ActiveLearner.load(tmp_path / "state").labeled_ids == ["t0"]
    assert [p.name for p in tmp_path.iterdir()] == ["state"]


def test_save_refuses_a_folder_with_other_files(tmp_path):
    """save replaces its folder as a whole, so a folder holding the user's files is refused, untouched."""
    learner = ActiveLearner(_corpus(), model="tfidf-lr", strategy="random", retrain_every=0)
    learner.teach(["t0"], ["food"])
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a labelwise state folder.*notes.txt"):
        learner.save(folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileExistsError, match="not a directory"):
        learner.save(tmp_path / "afile")
    (tmp_path / "empty").mkdir()
    assert ActiveLearner.load(learner.save(tmp_path / "empty")).labeled_ids == ["t0"]


def test_multilabel_loop():
    corpus = _corpus(task="multilabel")
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="random", retrain_every=10, seed=0)
    ids = learner.query(30)
    learner.teach(ids, [corpus.labels[int(i[1:])] for i in ids])
    proba = learner.predict_proba()
    assert proba.shape == (90, 3)
    truth = np.array([[name in labels for name in corpus.label_set] for labels in corpus.labels])
    assert ((proba >= 0.5) == truth).mean() > 0.8


def test_committee_is_built_for_sample_strategies():
    corpus = _corpus()
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="bald", retrain_every=6, committee_size=3)
    ids = learner.query(6)
    learner.teach(ids, [corpus.labels[int(i[1:])] for i in ids])
    assert len(learner.model.members_) == 3
    assert len(learner.query(4)) == 4


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="refit"):
        ActiveLearner(_corpus(), refit="sometimes")
    with pytest.raises(ValueError, match="unknown model"):
        ActiveLearner(_corpus(), model="bert-svm")
    with pytest.raises(ValueError, match="rows"):
        ActiveLearner(_corpus(), features=np.zeros((3, 2)))


def test_geometry_strategies_see_a_dense_view_of_sparse_features():
    corpus = _corpus()
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="kmeans", seed=0)
    assert learner.embeddings.shape[0] == 90 and learner.embeddings.shape[1] <= 128
    assert isinstance(learner.embeddings, np.ndarray)
    np.testing.assert_allclose(np.linalg.norm(learner.embeddings, axis=1), 1, rtol=1e-5)
    picked = learner.query(3)
    # three well-separated topics: a cluster representative from each
    assert sorted(corpus.labels[int(i[1:])] for i in picked) == ["food", "sport", "tech"]


def test_contrastive_strategy_sees_the_models_predictions_for_labeled_texts():
    from labelwise.strategies.contrastive import contrastive_kl

    corpus = _corpus()
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy="cal", retrain_every=6, seed=0)
    ids = learner.query(6)
    learner.teach(ids, [corpus.labels[int(i[1:])] for i in ids])
    picked = learner.query(5)
    labeled = learner.positions(learner.labeled_ids)
    pool = learner.positions(learner.unlabeled_ids)
    expected = contrastive_kl(learner.predict_proba(learner.unlabeled_ids), learner.embeddings[pool],
                              learner.predict_proba(learner.labeled_ids), learner.embeddings[labeled], k=10)
    np.testing.assert_allclose(learner.strategy.last_scores, expected)
    assert set(picked) <= set(learner.unlabeled_ids)


def test_model_tuned_strategy_options_reach_the_default_strategy():
    # e5 + TF-IDF was measured best with an all-k-means cold-start batch; other models keep the top-margin share.
    corpus = _corpus()
    from labelwise.features import make_featurizer

    X = make_featurizer("tfidf").fit(corpus.texts).transform(corpus.texts)
    dense = np.asarray(X.todense())
    first = [f"t{i}" for i in range(6)]
    picked_from_scores = {}
    for model in ("e5-tfidf-lr", "minilm-tfidf-lr"):
        learner = ActiveLearner(corpus, model=model, strategy="default", seed=3, features=X, embeddings=dense)
        learner.teach(first, [corpus.labels[i] for i in range(6)])
        assert len(learner.query(20)) == 20  # 6 labels < 2 x 20: the cold-start batch
        picked_from_scores[model] = learner.strategy.last_scores is not None
    assert picked_from_scores == {"e5-tfidf-lr": False, "minilm-tfidf-lr": True}
    # balanced binary tasks: the e5 stack takes 20 % of that batch by margin, the MiniLM stack all k-means
    two = [i for i in range(len(corpus)) if corpus.labels[i] != "tech"]
    binary = Corpus(ids=[corpus.ids[i] for i in two], texts=[corpus.texts[i] for i in two], task="multiclass",
                    labels=[corpus.labels[i] for i in two], label_set=["food", "sport"])
    for model in ("e5-tfidf-lr", "minilm-tfidf-lr"):
        learner = ActiveLearner(binary, model=model, strategy="default", seed=3, features=X[two],
                                embeddings=dense[two])
        learner.teach(binary.ids[:6], binary.labels[:6])
        assert len(learner.query(20)) == 20
        picked_from_scores[model] = learner.strategy.last_scores is not None
    assert picked_from_scores == {"e5-tfidf-lr": True, "minilm-tfidf-lr": False}
    assert ActiveLearner(corpus, model="e5-tfidf-lr", strategy="margin").spec.strategy_options_for("margin") == {}


def _strategy_with_pseudo_labels(monkeypatch, recipe):
    """margin, asking the learner for pseudo-labels (registered for this test only)."""
    from dataclasses import replace

    from labelwise.strategies import registry

    factory = lambda: replace(registry.get_strategy("margin"), name="margin-pl-test", pseudo_labels=recipe)  # noqa: E731
    monkeypatch.setitem(registry._FACTORIES, "margin-pl-test", factory)
    return "margin-pl-test"


def test_a_strategy_with_pseudo_labels_trains_on_the_confident_pool_texts(monkeypatch):
    corpus = _corpus()
    name = _strategy_with_pseudo_labels(monkeypatch, {"threshold": 0.5, "weight": 0.5, "min_answers": 6})
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy=name, retrain_every=0, seed=1)
    plain = ActiveLearner(corpus, model="tfidf-lr", strategy="margin", retrain_every=0, seed=1)
    first = [f"t{i}" for i in range(3)]
    for each in (learner, plain):
        each.teach(first, [corpus.labels[i] for i in range(3)])
        each.retrain()
    assert learner.pseudo_labeled == 0  # 3 answers < min_answers
    np.testing.assert_allclose(learner.predict_proba(), plain.predict_proba())
    more = [f"t{i}" for i in range(3, 9)]
    for each in (learner, plain):
        each.teach(more, [corpus.labels[i] for i in range(3, 9)])
        each.retrain()
    assert 0 < learner.pseudo_labeled <= len(corpus) - 9
    assert not np.allclose(learner.predict_proba(), plain.predict_proba())


def test_pseudo_labels_are_looked_for_in_a_sample_of_a_large_pool(monkeypatch):
    corpus = _corpus()
    name = _strategy_with_pseudo_labels(monkeypatch, {"threshold": 0.5, "min_answers": 0, "max_candidates": 10})
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy=name, retrain_every=0, seed=2)
    learner.teach([f"t{i}" for i in range(9)], [corpus.labels[i] for i in range(9)])
    learner.retrain()
    plain = ActiveLearner(corpus, model="tfidf-lr", strategy="margin", retrain_every=0)
    plain.teach([f"t{i}" for i in range(9)], [corpus.labels[i] for i in range(9)])
    plain.retrain()
    confident = int((plain.predict_proba(plain.unlabeled_ids).max(axis=1) >= 0.5).sum())
    assert confident > 10 and 0 < learner.pseudo_labeled <= 10  # only 10 unlabeled texts were looked at


def test_a_bad_pseudo_label_recipe_fails_when_the_learner_is_made(monkeypatch):
    name = _strategy_with_pseudo_labels(monkeypatch, {"threshold": 0.2})
    with pytest.raises(ValueError, match="threshold"):
        ActiveLearner(_corpus(), model="tfidf-lr", strategy=name)


def test_pseudo_labels_for_binary_tasks_skip_a_three_class_corpus(monkeypatch):
    corpus = _corpus()  # three classes
    name = _strategy_with_pseudo_labels(monkeypatch, {"threshold": 0.5, "min_answers": 0, "max_classes": 2})
    learner = ActiveLearner(corpus, model="tfidf-lr", strategy=name, retrain_every=0)
    assert learner.pseudo_labelling is not None and not learner.trains_on_pseudo_labels
    learner.teach([f"t{i}" for i in range(9)], [corpus.labels[i] for i in range(9)])
    learner.retrain()
    assert learner.pseudo_labeled == 0


def test_the_default_strategy_gets_binary_pseudo_labels_with_the_e5_stack_only():
    from labelwise.loop.pipeline import BINARY_PSEUDO_LABELS, resolve_model

    assert resolve_model("e5-tfidf-lr").strategy_options_for("default")["pseudo_labels"] == BINARY_PSEUDO_LABELS
    assert BINARY_PSEUDO_LABELS["max_classes"] == 2
    assert "pseudo_labels" not in resolve_model("tfidf-lr").strategy_options_for("default")
    assert resolve_model("e5-tfidf-lr").strategy_options_for("margin") == {}

"""The "auto" e5 prefix: passage first, then the prefix whose view predicts the labels so far better."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import Corpus
from labelwise.loop import ActiveLearner
from labelwise.loop.view_choice import PREFIX_CHOICE_AT, choose_view, cross_validated_log_loss

N = 160


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.array(["neg", "pos"])[rng.integers(0, 2, N)]
    signal = np.where(labels == "pos", 1.0, -1.0)[:, None] * np.ones((N, 4)) + 0.5 * rng.normal(size=(N, 4))
    noise = rng.normal(size=(N, 4))
    corpus = Corpus(ids=list(range(N)), texts=[f"text {i}" for i in range(N)], task="multiclass",
                    labels=list(labels), label_set=["neg", "pos"])
    return corpus, signal, noise


def test_cross_validated_log_loss_prefers_the_view_with_signal():
    corpus, signal, noise = _data()
    y = corpus.label_matrix()
    options = {"C": 3.0}
    good = cross_validated_log_loss(signal, y, n_classes=2, classifier_options=options)
    bad = cross_validated_log_loss(noise, y, n_classes=2, classifier_options=options)
    assert good < 0.3 < np.log(2) - 0.1 < bad  # ln 2: a coin's loss on two classes
    assert choose_view({"passage": noise, "query": signal}, y, n_classes=2, classifier_options=options)[0] == "query"
    chosen, losses = choose_view({"a": signal, "b": signal}, y, n_classes=2, classifier_options=options)
    assert chosen == "a" and losses["a"] == losses["b"]  # a tie: the first named
    with pytest.raises(ValueError, match="at least 5 labels"):
        cross_validated_log_loss(signal[:3], y[:3], n_classes=2, classifier_options=options)


def _teach(learner, corpus, n):
    ids = [i for i in corpus.ids if i not in set(learner.labeled_ids)][: n - learner.n_labeled]
    learner.teach(ids, [corpus.labels[i] for i in ids])
    learner.retrain()


@pytest.mark.parametrize("better", ["query", "passage"])
def test_auto_starts_on_passage_and_takes_the_better_prefix_at_the_threshold(better):
    corpus, signal, noise = _data()
    views = {"passage": signal if better == "passage" else noise, "query": signal if better == "query" else noise}
    learner = ActiveLearner(corpus, model="e5-tfidf-lr", strategy="margin", retrain_every=0, feature_views=views)
    assert learner.e5_prefix == "passage" and learner.features is views["passage"]
    _teach(learner, corpus, PREFIX_CHOICE_AT - 1)
    assert learner.prefix_choice is None  # not yet
    _teach(learner, corpus, PREFIX_CHOICE_AT)
    choice = learner.prefix_choice
    assert choice["labels"] == PREFIX_CHOICE_AT and choice["chosen"] == better == learner.e5_prefix
    assert choice["log_loss"][better] < choice["log_loss"]["query" if better == "passage" else "passage"]
    assert learner.features is views[better]
    accuracy = (learner.predict_proba().argmax(1) == corpus.label_matrix()).mean()
    assert accuracy > 0.9  # the model was refit on the chosen view
    _teach(learner, corpus, PREFIX_CHOICE_AT + 20)
    assert learner.prefix_choice is choice  # decided once


def test_a_fixed_or_unknowable_prefix_is_never_changed():
    corpus, signal, noise = _data()
    views = {"passage": signal, "query": noise}
    fixed = ActiveLearner(corpus, model="e5-tfidf-lr", retrain_every=0, e5_prefix="query", feature_views=views)
    given = ActiveLearner(corpus, model="e5-tfidf-lr", retrain_every=0, features=noise)  # made elsewhere
    for learner in (fixed, given):
        _teach(learner, corpus, PREFIX_CHOICE_AT + 10)
        assert learner.prefix_choice is None and learner.features is noise
    assert ActiveLearner(corpus, model="tfidf-lr").e5_prefix is None  # no e5 part, nothing to choose
    with pytest.raises(ValueError, match="tfidf-lr has none"):
        ActiveLearner(corpus, model="tfidf-lr", e5_prefix="auto")
    with pytest.raises(ValueError, match="set passage or query for a multilabel task"):
        ActiveLearner(Corpus(ids=[0], texts=["x"], task="multilabel", label_set=["a", "b"]), model="e5-lr",
                      e5_prefix="auto")
    with pytest.raises(ValueError, match="feature_views holds"):
        ActiveLearner(corpus, model="e5-tfidf-lr", feature_views={"passage": signal})  # auto needs both


def test_the_choice_survives_save_and_load(tmp_path):
    corpus, signal, noise = _data()
    learner = ActiveLearner(corpus, model="e5-tfidf-lr", retrain_every=0,
                            feature_views={"passage": noise, "query": signal})
    _teach(learner, corpus, PREFIX_CHOICE_AT)
    learner.save(tmp_path / "state")
    loaded = ActiveLearner.load(tmp_path / "state", features=signal)
    assert loaded.e5_prefix == "query" and loaded.prefix_choice == learner.prefix_choice
    np.testing.assert_allclose(loaded.predict_proba(), learner.predict_proba())


class _PrefixView:
    """A featurizer stand-in whose vectors depend on the e5 prefix it was built with: the signal for one."""

    def __init__(self, prefix: str, informative: str, table: dict[str, np.ndarray]):
        self.prefix, self.informative, self.table = prefix, informative, table

    def fit(self, texts):
        return self

    def transform(self, texts):
        source = self.table["signal" if self.prefix == self.informative else "noise"]
        return source[[int(t.split()[1]) for t in texts]]

    def fit_transform(self, texts):
        return self.transform(texts)

    def geometry(self, X, seed=0):
        return X


def test_without_views_both_prefixes_are_featurized_and_the_corpus_again_after_a_switch(monkeypatch):
    import labelwise.features as features

    corpus, signal, noise = _data()
    built = []

    def make(name, **options):
        built.append(options["embedding_options"]["mode"])
        return _PrefixView(options["embedding_options"]["mode"], "query", {"signal": signal, "noise": noise})

    monkeypatch.setattr(features, "make_featurizer", make)
    learner = ActiveLearner(corpus, model="e5-tfidf-lr", strategy="default", retrain_every=0,
                            featurizer_options={"embedding_options": {"cache_dir": "x"}})
    _teach(learner, corpus, PREFIX_CHOICE_AT - 1)
    _teach(learner, corpus, PREFIX_CHOICE_AT)
    assert built == ["passage", "passage", "query", "query"]  # the corpus; both views of the labels; the corpus
    assert learner.e5_prefix == "query" and np.array_equal(learner.features, signal)
    assert np.array_equal(learner.embeddings, noise)  # k-means and diverse batches keep the passage geometry
    assert len(learner.query(10)) == 10

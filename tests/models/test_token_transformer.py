"""TransformerTagger on the offline MiniLM: marginals per word (first subword), tag order, MC dropout."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from labelwise.models.token_transformer import TransformerTagger  # noqa: E402

SENTENCES = [
    (["John", "lives", "in", "Paris", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
    (["Mary", "Smithson", "visited", "Londonderry", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
] * 4


def test_marginals_shapes_order_and_mc_dropout():
    tagger = TransformerTagger(types=["LOC", "PER"], epochs=1, batch_size=8, max_length=32, num_threads=1)
    X = tagger.featurize([s for s, _ in SENTENCES])
    # "Smithson" / "Londonderry" split into several subwords; only the first one carries the word's label.
    assert sum(w >= 0 for w in X[1]["first"]) == 5 and len(X[1]["input_ids"]) > 7
    tagger.fit(X, [t for _, t in SENTENCES])
    assert tagger.tags_ == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    marg = tagger.predict_marginals([["Paris", "is", "nice"], ["Bob"]])
    assert [m.shape for m in marg] == [(3, 5), (1, 5)]
    for m in marg:
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(tagger.predict_marginals([["Paris", "is", "nice"]])[0], marg[0], atol=1e-6)
    samples = tagger.predict_marginals_samples([["Paris", "is", "nice"]], k=3)
    assert samples[0].shape == (3, 3, 5)
    np.testing.assert_allclose(samples[0].sum(axis=2), 1.0, atol=1e-5)
    assert np.ptp(samples[0], axis=0).max() > 1e-4  # dropout on: the samples differ
    preds = tagger.predict([["Paris", "is", "nice"]])
    assert len(preds[0]) == 3 and all(t == "O" or t[:2] in ("B-", "I-") for t in preds[0])


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        TransformerTagger().predict_marginals([["a"]])
    with pytest.raises(ValueError, match="sentence 0: 1 tags for 2 tokens"):
        TransformerTagger(epochs=1, max_length=16).fit([["a", "b"]], [["O"]])

"""CRFTagger: marginals follow the tag order and sum to 1; features; pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from labelwise.models.crf import CRFTagger, token_features

SENTENCES = [
    (["John", "lives", "in", "Paris", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
    (["Mary", "Smith", "visited", "London", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
    (["Acme", "Corp", "hired", "John", "."], ["B-ORG", "I-ORG", "O", "B-PER", "O"]),
    (["Paris", "is", "big", "."], ["B-LOC", "O", "O", "O"]),
    (["Bob", "works", "at", "Acme", "Corp", "."], ["B-PER", "O", "O", "B-ORG", "I-ORG", "O"]),
] * 4


def fitted(**kw) -> CRFTagger:
    return CRFTagger(max_iterations=50, **kw).fit([s for s, _ in SENTENCES], [t for _, t in SENTENCES])


def test_marginals_sum_to_one_and_follow_tag_order():
    crf = fitted(types=["LOC", "MISC", "ORG", "PER"])
    assert crf.tags_ == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    marg = crf.predict_marginals([["John", "visited", "Paris", "."], ["Acme"]])
    assert [m.shape for m in marg] == [(4, 9), (1, 9)]
    for m in marg:
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-6)
    # MISC never occurs in training: probability 0 in its columns.
    assert not marg[0][:, 3:5].any()
    m = marg[0]
    assert m[0].argmax() == crf.tags_.index("B-PER")
    assert m[2].argmax() == crf.tags_.index("B-LOC")
    assert m[3].argmax() == crf.tags_.index("O")
    assert crf.predict([["John", "visited", "Paris", "."]]) == [["B-PER", "O", "B-LOC", "O"]]


def test_types_default_to_those_seen_and_unknown_type_is_an_error():
    assert fitted().tags_ == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    with pytest.raises(ValueError, match=r"\['LOC', 'ORG'\] are not in types"):
        fitted(types=["PER"])


def test_featurize_once_and_reuse_and_pickle():
    crf = CRFTagger(max_iterations=30)
    X = crf.featurize([s for s, _ in SENTENCES])
    crf.fit(X, [t for _, t in SENTENCES])
    a = crf.predict_marginals(X[:2])
    b = pickle.loads(pickle.dumps(crf)).predict_marginals([s for s, _ in SENTENCES[:2]])
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y)


def test_input_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        CRFTagger().predict([["a"]])
    with pytest.raises(ValueError, match="sentence 0: 1 tags for 2 tokens"):
        CRFTagger().fit([["a", "b"]], [["O"]])
    with pytest.raises(TypeError, match="list of token strings"):
        CRFTagger().fit(["a b"], [["O"]])


def test_features_english_and_chinese():
    f = token_features(["Acme", "Corp", "1996"])
    assert f[0]["w"] == "acme" and f[0]["shape"] == "Aa" and f[0]["BOS"] == 1.0 and f[0]["+1:w"] == "corp"
    assert f[2]["shape"] == "0" and f[2]["digit"] == 1.0 and f[2]["EOS"] == 1.0
    z = token_features(list("北京市"))
    assert z[1]["c"] == "京" and z[1]["b-1"] == "北京" and z[1]["b+1"] == "京市" and z[0]["c-1"] == "<s>"
    assert "w" not in z[0]

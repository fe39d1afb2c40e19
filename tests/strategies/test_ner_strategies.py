"""Sentence scorers over padded per-token marginals: hand-computed values, masks, equivariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelwise.strategies.ner import (
    NER_STRATEGIES,
    cost_aware,
    count_unseen_entities,
    get_ner_scorer,
    ltp,
    ltp_unseen,
    mnlp,
    nlc,
    pad_marginals,
    score_ner,
    token_entropy,
    trimmed_mean,
)

# Sentence A: 3 tokens with top probabilities 0.9, 0.6, 0.5; sentence B: 1 token, top 0.8. Two tags.
A = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
B = np.array([[0.8, 0.2]])


def padded(fill: float = 0.0):
    P, mask = pad_marginals([A, B])
    P[~mask] = fill
    return P, mask


def test_pad_marginals_shapes_and_mask():
    P, mask = pad_marginals([A, B])
    assert P.shape == (2, 3, 2)
    assert mask.tolist() == [[True, True, True], [True, False, False]]
    assert np.array_equal(P[1, 0], B[0]) and not P[1, 1:].any()
    with pytest.raises(ValueError, match="same number of tags"):
        pad_marginals([A, np.ones((2, 3)) / 3])


def test_nlc_hand():
    P, mask = padded()
    np.testing.assert_allclose(nlc(P, mask), [1 - (0.9 + 0.6 + 0.5) / 3, 1 - 0.8])


def test_trimmed_mean_hand():
    P, mask = padded()
    # trim 0.5 of 3 tokens: keep ceil(1.5) = 2 least confident (0.5, 0.6); 1 token: keep it.
    np.testing.assert_allclose(trimmed_mean(P, mask, trim=0.5), [1 - 0.55, 1 - 0.8])
    np.testing.assert_allclose(trimmed_mean(P, mask, trim=0.0), nlc(P, mask))
    # trim 0.9: keep max(1, ceil(0.3)) = 1 token, the least confident: LTP.
    np.testing.assert_allclose(trimmed_mean(P, mask, trim=0.9), ltp(P, mask))


def test_mnlp_hand():
    P, mask = padded()
    expected_a = -(math.log(0.9) + math.log(0.6) + math.log(0.5)) / 3
    np.testing.assert_allclose(mnlp(P, mask), [expected_a, -math.log(0.8)])


def test_token_entropy_hand():
    P, mask = padded()

    def h(p):
        return -sum(x * math.log(x) for x in p if x > 0)

    np.testing.assert_allclose(token_entropy(P, mask), [(h(A[0]) + h(A[1]) + h(A[2])) / 3, h(B[0])])


def test_ltp_hand_and_given_path():
    P, mask = padded()
    np.testing.assert_allclose(ltp(P, mask), [0.5, 0.2])
    # On the path (tag 1, tag 0, tag 0) sentence A's token probabilities are 0.1, 0.4, 0.5: lowest 0.1.
    path = np.array([[1, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(ltp(P, mask, path=path), [0.9, 0.2])
    np.testing.assert_allclose(mnlp(P, mask, path=path)[0], -(math.log(0.1) + math.log(0.4) + math.log(0.5)) / 3)


def test_ltp_unseen_hand():
    P, mask = padded()
    np.testing.assert_allclose(ltp_unseen(P, mask, [3, 20]), [0.95 * 0.5 + 0.05 * 0.3, 0.95 * 0.2 + 0.05 * 1.0])
    with pytest.raises(ValueError, match="shape"):
        ltp_unseen(P, mask, [1])


def test_cost_aware_hand():
    P, mask = padded()
    np.testing.assert_allclose(cost_aware(P, mask), [(1 - 0.9 * 0.6 * 0.5) / 3, (1 - 0.8) / 1])
    np.testing.assert_allclose(cost_aware(P, mask, costs=np.array([2.0, 4.0])), [(1 - 0.27) / 2, 0.2 / 4])


def test_count_unseen_entities():
    tokens = [["New", "York", "and", "Paris"], ["Bob"]]
    spans = [[(0, 2, "LOC"), (3, 4, "LOC")], [(0, 1, "PER")]]
    seen = {("Paris", "LOC"), ("Bob", "ORG")}
    assert count_unseen_entities(tokens, spans, seen).tolist() == [1, 1]


@pytest.mark.parametrize("name", sorted(NER_STRATEGIES))
@pytest.mark.parametrize("fill", [0.0, 0.37, np.nan])
def test_padding_never_affects_scores(name, fill):
    P, mask = padded(fill)
    alone_a = score_ner(name, A[None], np.ones((1, 3), bool), unseen=np.array([2]))
    alone_b = score_ner(name, B[None], np.ones((1, 1), bool), unseen=np.array([0]))
    both = score_ner(name, P, mask, unseen=np.array([2, 0]))
    np.testing.assert_allclose(both, [alone_a[0], alone_b[0]])
    # More padding columns change nothing either.
    P2, mask2 = pad_marginals([A, B], max_len=7)
    np.testing.assert_allclose(score_ner(name, P2, mask2, unseen=np.array([2, 0])), both)


@pytest.mark.parametrize("name", sorted(NER_STRATEGIES))
def test_empty_sentence_scores_zero(name):
    P = np.zeros((1, 2, 3))
    mask = np.zeros((1, 2), bool)
    assert score_ner(name, P, mask, unseen=np.array([0]))[0] == 0.0


def test_names_and_default():
    assert get_ner_scorer("default") is ltp
    assert len(score_ner("random", np.zeros((4, 1, 2)), np.ones((4, 1), bool), seed=0)) == 4
    with pytest.raises(ValueError, match="unknown NER strategy 'lc'"):
        get_ner_scorer("lc")
    with pytest.raises(ValueError, match="needs unseen"):
        score_ner("ltp-unseen", *padded())


@st.composite
def ragged(draw):
    n = draw(st.integers(1, 8))
    K = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    lengths = [draw(st.integers(1, 6)) for _ in range(n)]
    out = []
    for L in lengths:
        x = rng.random((L, K)) ** 3  # skewed, with near-zero entries
        out.append(x / x.sum(axis=1, keepdims=True))
    return out, draw(st.permutations(list(range(n))))


@settings(max_examples=40, deadline=None)
@given(ragged())
def test_permutation_equivariance_and_finite(data):
    sentences, perm = data
    P, mask = pad_marginals(sentences)
    unseen = np.arange(len(sentences)) % 3
    Pp, maskp = pad_marginals([sentences[i] for i in perm])
    for name in NER_STRATEGIES:
        s = score_ner(name, P, mask, unseen=unseen)
        sp = score_ner(name, Pp, maskp, unseen=unseen[perm])
        assert np.all(np.isfinite(s))
        np.testing.assert_allclose(sp, s[perm], rtol=1e-12, atol=1e-12)

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
    mnlp_sqrt,
    nlc,
    pad_marginals,
    score_ner,
    token_entropy,
    token_entropy_sqrt,
    total_token_entropy,
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


def test_mnlp_length_power_hand():
    P, mask = padded()
    nll_a = -(math.log(0.9) + math.log(0.6) + math.log(0.5))
    np.testing.assert_allclose(mnlp_sqrt(P, mask), [nll_a / math.sqrt(3), -math.log(0.8)])
    np.testing.assert_allclose(mnlp(P, mask, length_power=0.0), [nll_a, -math.log(0.8)])
    np.testing.assert_allclose(mnlp(P, mask, length_power=0.5), mnlp_sqrt(P, mask))
    with pytest.raises(ValueError, match="length_power"):
        mnlp(P, mask, length_power=2.0)


def test_mnlp_sqrt_ranks_between_mean_and_total():
    # S: 1 token, unsure (top 0.6); M: 4 tokens, 3 unsure; L: 16 tokens, 5 unsure (the rest certain).
    # Mean (MNLP) asks S first, total (length_power 0) asks L first, sqrt asks M first (3/2 > 5/4 > 1/1).
    def sent(L, unsure):
        m = np.tile([1.0, 0.0], (L, 1))
        m[:unsure] = [0.6, 0.4]
        return m

    P, mask = pad_marginals([sent(1, 1), sent(4, 3), sent(16, 5)])
    u = -math.log(0.6)
    np.testing.assert_allclose(mnlp(P, mask), [u, 3 * u / 4, 5 * u / 16])
    np.testing.assert_allclose(mnlp(P, mask, length_power=0.0), [u, 3 * u, 5 * u])
    np.testing.assert_allclose(mnlp_sqrt(P, mask), [u, 3 * u / 2, 5 * u / 4])
    assert np.argsort(-mnlp_sqrt(P, mask)).tolist() == [1, 2, 0]


def test_token_entropy_hand():
    P, mask = padded()

    def h(p):
        return -sum(x * math.log(x) for x in p if x > 0)

    np.testing.assert_allclose(token_entropy(P, mask), [(h(A[0]) + h(A[1]) + h(A[2])) / 3, h(B[0])])
    total_a = h(A[0]) + h(A[1]) + h(A[2])
    np.testing.assert_allclose(total_token_entropy(P, mask), [total_a, h(B[0])])
    np.testing.assert_allclose(token_entropy_sqrt(P, mask), [total_a / math.sqrt(3), h(B[0])])


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
    assert get_ner_scorer("default") is token_entropy_sqrt
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


@pytest.mark.parametrize("name", sorted(NER_STRATEGIES))
def test_float32_and_float64_marginals_agree(name):
    # The same marginals in both dtypes (padding NaN, lengths 1..12, 9 tags, skewed rows as a CRF gives):
    # scores within float32 rounding and the same ranking wherever float64 tells sentences apart.
    rng = np.random.default_rng(3)
    n, T, K = 400, 12, 9
    P64 = rng.gamma(0.3, size=(n, T, K))
    P64 /= P64.sum(axis=2, keepdims=True)
    mask = np.arange(T)[None, :] < rng.integers(1, T + 1, n)[:, None]
    P64[~mask] = np.nan
    P32 = P64.astype(np.float32)
    unseen = rng.integers(0, 4, n)
    s64 = score_ner(name, P64, mask, unseen=unseen)
    s32 = score_ner(name, P32, mask, unseen=unseen)
    assert s64.dtype == np.float64 and np.all(np.isfinite(s32))
    np.testing.assert_allclose(s32, s64, rtol=1e-5, atol=1e-6)
    order = np.argsort(s64, kind="stable")
    assert np.all(np.diff(s32[order]) >= -1e-5 * np.maximum(1.0, np.abs(s32[order][1:])))


def test_blocked_tag_reductions_match_numpy():
    # Several _BLOCK-sized slabs: every token's top probability and entropy equal NumPy's along axis 2.
    from labelwise.strategies.ner import _entropy, _top

    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.full(7, 0.4), size=(700, 30))  # 21,000 tokens > 2 blocks of 8192
    mask = np.arange(30)[None, :] < rng.integers(1, 31, 700)[:, None]
    np.testing.assert_array_equal(_top(P, mask), np.where(mask, P.max(axis=2), 1.0))
    h = -(P * np.log(np.where(P > 0, P, 1.0))).sum(axis=2)
    np.testing.assert_allclose(_entropy(P, mask), np.where(mask, h, 0.0), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(ltp(P, mask), 1.0 - np.where(mask, P.max(axis=2), 1.0).min(axis=1))

"""Sentence-level query strategies for sequence labeling (NER), over per-token label marginals.

Every scorer takes a padded marginals array ``P`` of shape ``(n, T, K)`` (sentence, token, tag; rows of valid
tokens sum to 1) and a boolean ``mask`` ``(n, T)`` (True for real tokens), and returns ``(n,)`` float64
scores, higher = ask first. Padding never affects a score: padded positions may hold anything (zeros, NaN).
All are vectorized (no Python loop over sentences); :func:`pad_marginals` builds ``P`` and ``mask`` from
ragged per-sentence arrays. Notation below: ``L`` = sentence length, ``c_t = max_k P[t, k]`` the top
probability of token ``t`` (the probability of the best path's tag when the best path is the per-token
argmax), ``H_t = -sum_k P[t, k] log P[t, k]``.

Names (command line and results.json): ``random``, ``nlc``, ``trimmed-mean``, ``mnlp``, ``mnlp-sqrt``,
``token-entropy``, ``token-entropy-sqrt``, ``total-token-entropy``, ``ltp``, ``ltp-unseen``, ``cost-aware``,
``default`` (= ``token-entropy-sqrt``). Reductions over the tag axis run on cache-sized transposed blocks in the input's
dtype (:func:`_per_token`); the rest works on the small ``(n, T)`` arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

__all__ = [
    "NER_STRATEGIES",
    "cost_aware",
    "count_unseen_entities",
    "get_ner_scorer",
    "ltp",
    "ltp_unseen",
    "mnlp",
    "mnlp_sqrt",
    "nlc",
    "pad_marginals",
    "random_scores",
    "score_ner",
    "token_entropy",
    "token_entropy_sqrt",
    "total_token_entropy",
    "trimmed_mean",
]

_TINY = 1e-12


def pad_marginals(
    marginals: Sequence[np.ndarray], *, max_len: int | None = None, dtype: np.dtype | type | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Ragged per-sentence ``(L_i, K)`` arrays -> padded ``(n, T, K)`` array (zeros) and ``(n, T)`` mask.

    ``T = max(L_i)`` unless ``max_len`` is given (longer sentences are then truncated). Empty sentences get
    an all-False mask row (their scores are defined as 0; see :func:`_check`).
    """
    if len(marginals) == 0:
        return np.zeros((0, 0, 0)), np.zeros((0, 0), dtype=bool)
    ks = {np.shape(m)[1] for m in marginals if np.ndim(m) == 2}
    if len(ks) != 1 or any(np.ndim(m) != 2 for m in marginals):
        raise ValueError("pad_marginals expects 2-D (tokens, tags) arrays with the same number of tags")
    lengths = np.fromiter((len(m) for m in marginals), dtype=np.int64, count=len(marginals))
    T = int(lengths.max()) if max_len is None else int(max_len)
    K = ks.pop()
    dt = dtype or np.result_type(*[np.asarray(m).dtype for m in marginals[:16]])
    out = np.zeros((len(marginals), T, K), dtype=dt)
    for i, m in enumerate(marginals):
        L = min(len(m), T)
        out[i, :L] = m[:L]
    mask = np.arange(T)[None, :] < np.minimum(lengths, T)[:, None]
    return out, mask


def _check(P: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate shapes; return (P, mask, lengths as float with 0 -> 1 to avoid 0/0)."""
    P = np.asarray(P)
    mask = np.asarray(mask, dtype=bool)
    if P.ndim != 3 or mask.shape != P.shape[:2]:
        raise ValueError(f"expected marginals (n, T, K) and mask (n, T), got {P.shape} and {mask.shape}")
    lengths = mask.sum(axis=1)
    return P, mask, np.maximum(lengths, 1).astype(np.float64)


# Tokens per block in :func:`_per_token`: a (K, block) slab stays in the CPU cache for K up to ~30 tags.
_BLOCK = 8192


def _per_token(P: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``reduce`` over the tag axis of ``P`` -> ``(n, T)`` in ``P``'s dtype, block by block.

    ``reduce`` gets a contiguous ``(K, m)`` slab (tags x tokens) and returns ``(m,)``. NumPy reduces a short
    last axis (K = 9) one token at a time (``P.max(axis=2)``, whatever the dtype); transposing cache-sized
    blocks first lets it run along the tokens with SIMD: the same values (no change of dtype), faster
    (benchmarks/ner_scoring_speed.py; the runs before and after are in benchmarks/RESULTS.md).
    """
    n, T, K = P.shape
    flat = P.reshape(n * T, K)
    out = np.empty(n * T, dtype=np.result_type(P.dtype, np.float32))
    with np.errstate(invalid="ignore", divide="ignore"):
        for s in range(0, n * T, _BLOCK):
            out[s : s + _BLOCK] = reduce(np.ascontiguousarray(flat[s : s + _BLOCK].T))
    return out.reshape(n, T)


def _length_norm(lengths: np.ndarray, length_power: float) -> np.ndarray:
    """``L^a``, the divisor of a summed token uncertainty (``a`` = 1: mean, 0: total, 0.5: in between)."""
    if not 0.0 <= length_power <= 1.0:
        raise ValueError(f"length_power must be in [0, 1], got {length_power}")
    return lengths**length_power


def _top(P: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``c_t = max_k P[t, k]`` with padding set to 1.0 (a certain token: neutral for min and for log)."""
    return np.where(mask, _per_token(P, lambda b: b.max(axis=0)), 1.0)


def _entropy(P: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``H_t = -sum_k P[t, k] log P[t, k]`` (``0 log 0 = 0``), padding set to 0."""

    def reduce(b: np.ndarray) -> np.ndarray:
        return -(b * np.log(np.maximum(b, np.finfo(b.dtype).tiny))).sum(axis=0)

    return np.where(mask, _per_token(P, reduce), 0.0)


def _path_prob(P: np.ndarray, mask: np.ndarray, path: np.ndarray | None) -> np.ndarray:
    """Probability of each token's tag on the best path: per-token argmax (``path=None``) or given tags."""
    if path is None:
        return _top(P, mask)
    path = np.asarray(path)
    if path.shape != mask.shape:
        raise ValueError(f"path must have shape {mask.shape} (sentences, tokens), got {path.shape}")
    idx = np.where(mask, path, 0).astype(np.intp)[..., None]
    return np.where(mask, np.take_along_axis(P, idx, axis=2)[..., 0], 1.0)


def nlc(P: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Normalized least confidence: ``1 - (1/L) sum_t c_t`` (mean of the tokens' top probabilities).

    The length-normalized token-level least confidence of Culotta & McCallum (2005, "Reducing labeling
    effort for structured prediction tasks"), as used in the seed study's "NLC".
    """
    P, mask, lengths = _check(P, mask)
    c = _top(P, mask)
    return np.where(mask.any(axis=1), 1.0 - np.where(mask, c, 0.0).sum(axis=1) / lengths, 0.0)


def trimmed_mean(P: np.ndarray, mask: np.ndarray, *, trim: float = 0.5) -> np.ndarray:
    """Trimmed-mean uncertainty: drop the ``trim`` share of most confident tokens, then ``1 - mean c_t``.

    Sentences are mostly ``O`` tokens the model is sure of; averaging over all of them drowns the few hard
    tokens (NLC's length bias). Keeping the ``m = max(1, ceil((1 - trim) L))`` least confident tokens fixes
    that; ``trim=0`` is :func:`nlc`, ``trim -> 1`` approaches :func:`ltp` (Liu et al. 2020 discuss both
    extremes; the trimmed mean is the seed study's middle ground).
    """
    if not 0.0 <= trim < 1.0:
        raise ValueError(f"trim must be in [0, 1), got {trim}")
    P, mask, _ = _check(P, mask)
    n_valid = mask.sum(axis=1)
    c = np.where(mask, _top(P, mask), np.inf)
    c.sort(axis=1)  # ascending: least confident first, padding (inf) last
    keep = np.maximum(1, np.ceil((1.0 - trim) * n_valid - 1e-9)).astype(np.intp)
    csum = np.cumsum(np.where(np.isfinite(c), c, 0.0), axis=1)
    kept = np.take_along_axis(csum, (keep - 1)[:, None], axis=1)[:, 0] if c.shape[1] else np.zeros(len(c))
    return np.where(n_valid > 0, 1.0 - kept / keep, 0.0)


def mnlp(
    P: np.ndarray, mask: np.ndarray, *, path: np.ndarray | None = None, length_power: float = 1.0
) -> np.ndarray:
    """Maximum normalized log-probability (Shen et al. 2017, "Deep active learning for NER", ICLR 2018).

    Paper: ``-(1/L) max_y log P(y | x)``. Here ``log P(y*|x) ~ sum_t log p_t(y*_t)`` with the best path
    ``y*`` the per-token argmax of the marginals (or ``path`` if given, e.g. the CRF's Viterbi path), so
    the score is ``-(1/L^a) sum_t log c_t`` (>= 0, higher = less sure) with ``a = length_power``: 1 is the
    paper's MNLP; 0 is the unnormalized sequence log-loss ``-log P(y*|x)``, the log form of sequence least
    confidence (Culotta & McCallum 2005), which Shen et al. normalize because it prefers long sentences;
    see :func:`mnlp_sqrt` for ``a = 0.5``.
    """
    P, mask, lengths = _check(P, mask)
    c = _path_prob(P, mask, path)
    return -np.log(np.maximum(c, _TINY)).sum(axis=1) / _length_norm(lengths, length_power)


def mnlp_sqrt(P: np.ndarray, mask: np.ndarray, *, path: np.ndarray | None = None) -> np.ndarray:
    """MNLP normalized by ``sqrt(L)`` instead of ``L``: ``-(1/sqrt(L)) sum_t log c_t`` (``mnlp-sqrt``).

    The two ends of :func:`mnlp`'s length normalization both go wrong when sentences are counted: dividing
    by ``L`` (MNLP, Shen et al. 2017) makes a short sentence with one unsure token score like a long
    sentence full of them, so MNLP picks short sentences (fewer tokens than a random sample of as many
    sentences; see the token counts in benchmarks/RESULTS.md); not dividing (``-log P(y*|x)``, sequence least confidence, Culotta & McCallum 2005;
    Settles & Craven 2008) picks the longest sentences, each additional unsure token adding as much as the
    first. ``sqrt(L)`` sits between them: the score grows with the number of unsure tokens, but a long
    sentence needs more of them to rank first; the sentences it picks have about the pool's average length.
    The exponent 0.5 is labelwise's choice, not a paper's, and was picked on conll2003 (the benchmark that
    reports it, against MNLP, LTP and total token entropy: benchmarks/RESULTS.md, "NER active learning");
    msra_ner is the check on a second language.
    """
    return mnlp(P, mask, path=path, length_power=0.5)


def token_entropy(P: np.ndarray, mask: np.ndarray, *, length_power: float = 1.0) -> np.ndarray:
    """Mean token entropy: ``(1/L^a) sum_t H_t`` with ``a = length_power`` (default 1: the mean; Settles &
    Craven 2008, "An analysis of active learning strategies for sequence labeling tasks", EMNLP, whose
    "total token entropy" is ``a = 0``, :func:`total_token_entropy`; ``a = 0.5``: :func:`token_entropy_sqrt`).
    """
    P, mask, lengths = _check(P, mask)
    return _entropy(P, mask).sum(axis=1) / _length_norm(lengths, length_power)


def total_token_entropy(P: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Total token entropy: ``sum_t H_t`` (Settles & Craven 2008's TTE, one of their two best strategies).

    Not divided by ``L``: a sentence scores by how much uncertainty it holds in all, so of two sentences
    with equally unsure tokens the one with more of them is asked first. That favours long sentences, which
    cost more tokens to annotate but, counted per sentence, teach most.
    """
    return token_entropy(P, mask, length_power=0.0)


def token_entropy_sqrt(P: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Token entropy normalized by ``sqrt(L)``: ``(1/sqrt(L)) sum_t H_t`` (``token-entropy-sqrt``).

    The entropy counterpart of :func:`mnlp_sqrt` (see there why ``sqrt(L)``): between the mean token entropy
    (short sentences first) and the total token entropy of Settles & Craven 2008 (long sentences first).
    """
    return token_entropy(P, mask, length_power=0.5)


def ltp(P: np.ndarray, mask: np.ndarray, *, path: np.ndarray | None = None) -> np.ndarray:
    """Lowest token probability (Liu et al. 2020, arXiv 2001.02524): ``1 - min_t p_t(y*_t)``.

    ``y*`` is the best path. Default: the per-token argmax of the marginals, so ``p_t(y*_t) = c_t``; with a
    CRF's marginals (which already account for transitions) this agrees with the Viterbi path on nearly
    every token. Pass ``path`` (``(n, T)`` tag indices, e.g. Viterbi) to score exactly the paper's path.
    Empty sentences score 0.
    """
    P, mask, _ = _check(P, mask)
    c = _path_prob(P, mask, path)
    return np.where(mask.any(axis=1), 1.0 - c.min(axis=1, initial=1.0), 0.0)


def ltp_unseen(
    P: np.ndarray,
    mask: np.ndarray,
    unseen: np.ndarray | Sequence[int],
    *,
    weight: float = 0.05,
    cap: int = 10,
    path: np.ndarray | None = None,
) -> np.ndarray:
    """LTP plus an unseen-entity bonus, as in the seed study:
    ``(1 - weight) * ltp + weight * min(unseen, cap) / cap`` (defaults 0.95 and 0.05, cap 10).

    ``unseen`` (n,): predicted entities per sentence whose surface form never occurred among the labeled
    entities (see :func:`count_unseen_entities`); new names are where a tagger learns most.
    """
    unseen = np.asarray(unseen, dtype=np.float64)
    if unseen.shape != (np.shape(P)[0],):
        raise ValueError(f"unseen must have shape ({np.shape(P)[0]},), got {unseen.shape}")
    return (1.0 - weight) * ltp(P, mask, path=path) + weight * np.minimum(unseen, cap) / cap


def cost_aware(
    P: np.ndarray, mask: np.ndarray, *, costs: np.ndarray | None = None, path: np.ndarray | None = None
) -> np.ndarray:
    """Informativeness per unit of annotation cost: ``(1 - prod_t p_t(y*_t)) / cost``.

    Informativeness is the sequence least confidence ``1 - P(y*|x)`` (Culotta & McCallum 2005; the
    sentence probability approximated by the product of the best path's token probabilities), which grows
    with length; the cost is the number of tokens (``costs`` overrides it, e.g. measured seconds), since
    long sentences take longer to annotate (Settles, Craven & Friedland 2008, "Active learning with real
    annotation costs"; Haertel et al. 2008, return on investment).
    """
    P, mask, lengths = _check(P, mask)
    c = _path_prob(P, mask, path)
    informativeness = -np.expm1(np.log(np.maximum(c, _TINY)).sum(axis=1))
    cost = lengths if costs is None else np.asarray(costs, dtype=np.float64)
    if cost.shape != lengths.shape or np.any(cost <= 0):
        raise ValueError(f"costs must be {lengths.shape} positive numbers")
    return informativeness / cost


def random_scores(n: int, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Uniform random scores in [0, 1): random sampling as a scorer."""
    return np.random.default_rng(seed).random(n)


def count_unseen_entities(
    tokens: Sequence[Sequence[str]],
    spans: Sequence[Iterable[tuple[int, int, str]]],
    seen: set[tuple[str, str]],
) -> np.ndarray:
    """Per sentence, how many (predicted) entity spans have a ``(surface, type)`` not in ``seen``.

    ``spans`` are token spans ``(start, end, type)`` (e.g. from :func:`labelwise.data.ner.bio_to_spans`);
    the surface is the span's tokens joined by a space.
    """
    out = np.zeros(len(tokens), dtype=np.int64)
    for i, (toks, sp) in enumerate(zip(tokens, spans, strict=True)):
        out[i] = sum((" ".join(toks[s:e]), t) not in seen for s, e, t in sp)
    return out


Scorer = Callable[..., np.ndarray]

NER_STRATEGIES: dict[str, Scorer] = {
    "nlc": nlc,
    "trimmed-mean": trimmed_mean,
    "mnlp": mnlp,
    "mnlp-sqrt": mnlp_sqrt,
    "token-entropy": token_entropy,
    "token-entropy-sqrt": token_entropy_sqrt,
    "total-token-entropy": total_token_entropy,
    "ltp": ltp,
    "ltp-unseen": ltp_unseen,
    "cost-aware": cost_aware,
}
# What labelwise recommends. The seed study's LTP needed 40 % of the sentences to come within 1 F1 point
# of the full-data CRF on conll2003; token-entropy-sqrt needed 30 % (each of 3 seeds at 30 %). On msra_ner
# it leads LTP from 10 % to 35 % of the pool (most at 10 %) and is within 0.3 F1 points of it at 40-50 %
# (benchmarks/RESULTS.md, "NER active learning").
_DEFAULT = "token-entropy-sqrt"
NAMES: tuple[str, ...] = ("random", *NER_STRATEGIES, "default")


def get_ner_scorer(name: str) -> Scorer:
    """The scorer for a strategy name (``default``: ``token-entropy-sqrt``); ``random`` has no marginals scorer."""
    key = _DEFAULT if name == "default" else name
    if key not in NER_STRATEGIES:
        raise ValueError(f"unknown NER strategy {name!r}; expected one of {', '.join(NAMES)}")
    return NER_STRATEGIES[key]


def score_ner(
    name: str,
    P: np.ndarray,
    mask: np.ndarray,
    *,
    unseen: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Scores ``(n,)`` of strategy ``name`` (``random`` ignores ``P``; ``ltp-unseen`` needs ``unseen``)."""
    if name == "random":
        return random_scores(np.shape(mask)[0], seed=seed)
    scorer = get_ner_scorer(name)
    if scorer is ltp_unseen:
        if unseen is None:
            raise ValueError("strategy 'ltp-unseen' needs unseen-entity counts (count_unseen_entities)")
        return ltp_unseen(P, mask, unseen)
    return scorer(P, mask)

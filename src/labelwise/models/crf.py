"""A linear-chain CRF tagger (python-crfsuite) with per-token label marginals: the fast NER default.

Hand-crafted token features: the lower-cased word, its shape, prefixes and suffixes, case and digit flags,
and the same for the neighbouring words. For Chinese (one token per character, as MSRA is labeled):
the character, its neighbours at -2..+2, and character bigrams around it. Features of a corpus are computed
once and reused across refits (``featurize`` / the ``features`` argument), which is where most time goes
otherwise in active learning.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwise.data.ner import is_cjk_text, tag_set

__all__ = ["CRFTagger", "token_features"]

FeatureSeq = Any  # pycrfsuite.ItemSequence

_SHAPE_UPPER = re.compile(r"[A-Z]+")
_SHAPE_LOWER = re.compile(r"[a-z]+")
_SHAPE_DIGIT = re.compile(r"[0-9]+")


def _shape(word: str) -> str:
    """Collapsed word shape: ``"McDonald's"`` -> ``"AaAa'a"``, ``"1996-08-22"`` -> ``"0-0-0"``."""
    s = _SHAPE_UPPER.sub("A", word)
    s = _SHAPE_LOWER.sub("a", s)
    return _SHAPE_DIGIT.sub("0", s)


def _word_features(word: str, prefix: str, out: dict[str, float | str]) -> None:
    low = word.lower()
    out[prefix + "w"] = low
    out[prefix + "shape"] = _shape(word)
    if word[:1].isupper():
        out[prefix + "title"] = 1.0
    if word.isupper():
        out[prefix + "upper"] = 1.0


def token_features(tokens: Sequence[str], *, chinese: bool | None = None) -> list[dict[str, float | str]]:
    """Feature dicts for each token of one sentence (English word features or Chinese character features)."""
    if chinese is None:
        chinese = bool(tokens) and all(len(t) == 1 for t in tokens) and is_cjk_text("".join(tokens))
    n = len(tokens)
    feats: list[dict[str, float | str]] = []
    if chinese:
        padded = ["<s2>", "<s>", *tokens, "</s>", "</s2>"]
        for i in range(n):
            j = i + 2
            c = padded[j]
            f: dict[str, float | str] = {"bias": 1.0, "c": c, "c-1": padded[j - 1], "c+1": padded[j + 1],
                                         "c-2": padded[j - 2], "c+2": padded[j + 2],
                                         "b-1": padded[j - 1] + c, "b+1": c + padded[j + 1],
                                         "b-1+1": padded[j - 1] + padded[j + 1]}
            if c.isdigit():
                f["digit"] = 1.0
            elif not c.isalnum():
                f["punct"] = 1.0
            feats.append(f)
        return feats
    for i, word in enumerate(tokens):
        low = word.lower()
        f = {"bias": 1.0, "p2": low[:2], "p3": low[:3], "s2": low[-2:], "s3": low[-3:], "len": str(min(len(word), 8))}
        _word_features(word, "", f)
        if word.isdigit():
            f["digit"] = 1.0
        if any(ch.isdigit() for ch in word):
            f["hasdigit"] = 1.0
        if "-" in word:
            f["hyphen"] = 1.0
        if i > 0:
            _word_features(tokens[i - 1], "-1:", f)
            f["-1:w|w"] = tokens[i - 1].lower() + "|" + low
        else:
            f["BOS"] = 1.0
        if i > 1:
            f["-2:w"] = tokens[i - 2].lower()
        if i < n - 1:
            _word_features(tokens[i + 1], "+1:", f)
            f["w|+1:w"] = low + "|" + tokens[i + 1].lower()
        else:
            f["EOS"] = 1.0
        if i < n - 2:
            f["+2:w"] = tokens[i + 2].lower()
        feats.append(f)
    return feats


class CRFTagger:
    """Linear-chain CRF (L-BFGS with elastic net, python-crfsuite) giving per-token tag marginals.

    ``fit(X, y)``: ``X`` is a list of token lists (or of precomputed :meth:`featurize` items), ``y`` BIO tag
    lists. ``predict_marginals(X)`` returns, per sentence, an ``(L_i, n_tags)`` float64 array whose columns
    follow :attr:`tags_` (``O``, ``B-t``, ``I-t`` per entity type in ``types``, or in the types seen when
    ``types`` is None); tags never seen in training get probability 0. ``predict(X)`` is the Viterbi path.
    Defaults (``c1=0.1, c2=0.05, max_iterations=60``) trade a little F1 for speed in active-learning loops.
    """

    def __init__(self, *, types: Sequence[str] | None = None, c1: float = 0.1, c2: float = 0.05,
                 max_iterations: int = 60, all_possible_transitions: bool = True,
                 chinese: bool | None = None):
        self.types = None if types is None else list(types)
        self.c1, self.c2, self.max_iterations = c1, c2, max_iterations
        self.all_possible_transitions = all_possible_transitions
        self.chinese = chinese
        self._model: bytes | None = None
        self._tagger = None
        self.tags_: list[str] = []

    # -- features -------------------------------------------------------------------------------------
    def featurize(self, sentences: Sequence[Sequence[str]]) -> list[FeatureSeq]:
        """Precompute per-sentence feature items (reusable across fits and predictions)."""
        import pycrfsuite

        return [pycrfsuite.ItemSequence(token_features(s, chinese=self.chinese)) for s in sentences]

    def _items(self, X: Sequence) -> list[FeatureSeq]:
        import pycrfsuite

        if len(X) and isinstance(X[0], pycrfsuite.ItemSequence):
            return list(X)
        for i, s in enumerate(X):
            if isinstance(s, str) or not all(isinstance(t, str) for t in s):
                raise TypeError(f"sentence {i}: expected a list of token strings or featurize() output")
        return self.featurize(X)

    # -- sklearn-style API ----------------------------------------------------------------------------
    def fit(self, X: Sequence, y: Sequence[Sequence[str]]) -> CRFTagger:
        """Train from scratch on sentences ``X`` with BIO tags ``y``."""
        import pycrfsuite

        items = self._items(X)
        if len(items) != len(y) or len(items) == 0:
            raise ValueError(f"fit needs as many tag lists as sentences (> 0), got {len(items)} and {len(y)}")
        trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
        trainer.set_params({"c1": self.c1, "c2": self.c2, "max_iterations": self.max_iterations,
                            "feature.possible_transitions": self.all_possible_transitions})
        seen_types = set()
        for i, (xs, ys) in enumerate(zip(items, y, strict=True)):
            if len(xs) != len(ys):
                raise ValueError(f"sentence {i}: {len(ys)} tags for {len(xs)} tokens")
            trainer.append(xs, list(ys))
            seen_types.update(t[2:] for t in ys if t != "O")
        if self.types is not None and not seen_types <= set(self.types):
            raise ValueError(f"tags of types {sorted(seen_types - set(self.types))} are not in types {self.types}")
        self.tags_ = tag_set(self.types if self.types is not None else sorted(seen_types))
        fd, path = tempfile.mkstemp(suffix=".crfsuite")
        os.close(fd)
        try:
            trainer.train(path)
            with open(path, "rb") as fh:
                self._model = fh.read()
        finally:
            os.unlink(path)
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self._model)
        self._model_tags = list(self._tagger.labels())
        return self

    def _check_fitted(self) -> None:
        if self._tagger is None:
            raise RuntimeError("CRFTagger is not fitted: call fit() first")

    def predict(self, X: Sequence) -> list[list[str]]:
        """Viterbi tag sequences."""
        self._check_fitted()
        return [self._tagger.tag(xs) for xs in self._items(X)]

    def predict_marginals(self, X: Sequence) -> list[np.ndarray]:
        """Per sentence an ``(L_i, len(tags_))`` array of marginals P(tag at t | sentence); rows sum to 1."""
        self._check_fitted()
        cols = [(self.tags_.index(t), t) for t in self._model_tags if t in self.tags_]
        tagger = self._tagger
        out = []
        for xs in self._items(X):
            L = len(xs)
            m = np.zeros((L, len(self.tags_)))
            if L:
                tagger.set(xs)
                for j, t in cols:
                    m[:, j] = [tagger.marginal(t, i) for i in range(L)]
            out.append(m)
        return out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_tagger"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._model is not None:
            import pycrfsuite

            self._tagger = pycrfsuite.Tagger()
            self._tagger.open_inmemory(self._model)

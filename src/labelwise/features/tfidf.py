"""TF-IDF over word n-grams and character n-grams, stacked; needs no tokenizer for Chinese."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from labelwise.features.base import Featurizer, check_texts, stable_digest, texts_digest
from labelwise.features.language import CJK_CLASS, is_cjk

#: Word tokens: every CJK character on its own (Chinese has no spaces; a run of Han characters is not a
#: word), otherwise runs of letters/digits, single characters included (scikit-learn's default pattern drops
#: one-character tokens, which would drop every Chinese character written alone).
WORD_TOKEN_PATTERN = f"(?u)[{CJK_CLASS}]|[^\\W{CJK_CLASS}]+"

_CHAR_ANALYZERS = ("auto", "char", "char_wb")


class TfidfFeaturizer(Featurizer):
    """Word (1–2)-gram and character n-gram TF-IDF, sublinear tf, each block L2-normalised, then the stacked
    row L2-normalised (so both blocks weigh the same and cosine = dot product).

    ``char_analyzer="auto"`` picks ``char`` n-grams 1–3 when the fitted texts are mostly CJK (no word
    boundaries to respect, one character is already a morpheme) and ``char_wb`` 2–4 otherwise.
    ``max_features`` caps each block's vocabulary by corpus frequency; ``min_df`` / ``max_df`` as in
    scikit-learn. Output: float32 CSR, shape (n_texts, n_word_features + n_char_features).
    """

    name = "tfidf"

    def __init__(self, *, word_ngram_range: tuple[int, int] = (1, 2), char_analyzer: str = "auto",
                 char_ngram_range: tuple[int, int] | None = None, max_features: int | None = 200_000,
                 min_df: int | float = 1, max_df: int | float = 1.0, lowercase: bool = True,
                 use_words: bool = True, use_chars: bool = True) -> None:
        if char_analyzer not in _CHAR_ANALYZERS:
            raise ValueError(f"char_analyzer must be one of {_CHAR_ANALYZERS}, got {char_analyzer!r}")
        for label, rng in (("word_ngram_range", word_ngram_range), ("char_ngram_range", char_ngram_range)):
            if rng is not None and (len(rng) != 2 or not 1 <= rng[0] <= rng[1]):
                raise ValueError(f"{label} must be (lo, hi) with 1 <= lo <= hi, got {rng!r}")
        if not (use_words or use_chars):
            raise ValueError("at least one of use_words, use_chars must be True")
        if max_features is not None and max_features < 1:
            raise ValueError(f"max_features must be a positive int or None, got {max_features!r}")
        self.word_ngram_range = tuple(word_ngram_range)
        self.char_analyzer = char_analyzer
        self.char_ngram_range = tuple(char_ngram_range) if char_ngram_range is not None else None
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.lowercase = lowercase
        self.use_words = use_words
        self.use_chars = use_chars
        self._blocks: list[tuple[str, TfidfVectorizer]] = []
        self._fit_digest: str | None = None
        self.resolved_char_: tuple[str, tuple[int, int]] | None = None

    def options(self) -> dict[str, Any]:
        return {"word_ngram_range": list(self.word_ngram_range), "char_analyzer": self.char_analyzer,
                "char_ngram_range": list(self.char_ngram_range) if self.char_ngram_range else None,
                "max_features": self.max_features, "min_df": self.min_df, "max_df": self.max_df,
                "lowercase": self.lowercase, "use_words": self.use_words, "use_chars": self.use_chars}

    def _vectorizer(self, **kw: Any) -> TfidfVectorizer:
        return TfidfVectorizer(sublinear_tf=True, norm="l2", dtype=np.float32, lowercase=self.lowercase,
                               max_features=self.max_features, min_df=self.min_df, max_df=self.max_df, **kw)

    def fit(self, texts: Sequence[str]) -> TfidfFeaturizer:
        """Learn both vocabularies and idf weights from ``texts`` (unsupervised)."""
        texts = check_texts(texts)
        if not texts:
            raise ValueError("tfidf: cannot fit on zero texts")
        analyzer, rng = self.char_analyzer, self.char_ngram_range
        if analyzer == "auto":
            analyzer = "char" if is_cjk(texts) else "char_wb"
        if rng is None:
            rng = (1, 3) if analyzer == "char" else (2, 4)
        self.resolved_char_ = (analyzer, rng)
        candidates = []
        if self.use_words:
            candidates.append(("word", self._vectorizer(analyzer="word", token_pattern=WORD_TOKEN_PATTERN,
                                                        ngram_range=self.word_ngram_range)))
        if self.use_chars:
            candidates.append(("char", self._vectorizer(analyzer=analyzer, ngram_range=rng)))
        blocks = []
        for kind, vec in candidates:
            try:
                vec.fit(texts)
            except ValueError as e:  # empty vocabulary (e.g. no word tokens at all): the other block carries it
                if "empty vocabulary" not in str(e) and "no terms remain" not in str(e):
                    raise
                continue
            blocks.append((kind, vec))
        if not blocks:
            raise ValueError("tfidf: the texts yield no word or character n-grams (all empty, or min_df/max_df "
                             f"too strict: min_df={self.min_df!r}, max_df={self.max_df!r})")
        self._blocks = blocks
        self._fit_digest = texts_digest(texts)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One L2-normalised float32 CSR row per text; n-grams unseen at fit time are ignored."""
        texts = check_texts(texts)
        if not self._blocks:
            raise RuntimeError("tfidf: call fit(texts) before transform(texts)")
        mats = [vec.transform(texts) for _, vec in self._blocks]
        X = mats[0] if len(mats) == 1 else sp.hstack(mats, format="csr")
        return normalize(X, norm="l2", copy=False).astype(np.float32, copy=False).tocsr()

    @property
    def n_features(self) -> int:
        """Output width (0 before fit)."""
        return sum(len(vec.vocabulary_) for _, vec in self._blocks)

    def feature_names(self) -> list[str]:
        """Column names, ``word:<ngram>`` then ``char:<ngram>``."""
        return [f"{kind}:{f}" for kind, vec in self._blocks for f in vec.get_feature_names_out()]

    @property
    def cache_key(self) -> str:
        """Depends on the options and on the exact texts fitted on (they fix vocabulary and idf)."""
        if self._fit_digest is None:
            raise RuntimeError("tfidf: cache_key is defined only after fit (the vocabulary depends on the texts)")
        return stable_digest("tfidf", 1, self.options(), self._fit_digest)

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "options": self.options(), "fitted": bool(self._blocks)}
        if self._blocks:
            d.update(n_features=self.n_features, cache_key=self.cache_key,
                     blocks={kind: len(vec.vocabulary_) for kind, vec in self._blocks},
                     char_analyzer=self.resolved_char_[0] if self.resolved_char_ else None,
                     char_ngram_range=list(self.resolved_char_[1]) if self.resolved_char_ else None)
        return d

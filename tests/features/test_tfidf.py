import math
import re

import numpy as np
import pytest

from labelwise.features import TfidfFeaturizer, make_featurizer
from labelwise.features.tfidf import WORD_TOKEN_PATTERN


def test_word_block_matches_hand_computed_tfidf():
    # n=2 texts; smooth idf = ln((1+n)/(1+df)) + 1; sublinear tf = 1 + ln(1) = 1 for single occurrences.
    f = TfidfFeaturizer(use_chars=False).fit(["a b", "a c"])
    X = f.transform(["a b"]).toarray()[0]
    names = f.feature_names()
    idf_rare = math.log(3 / 2) + 1  # 'b' and 'a b' occur in one text out of two
    raw = {"word:a": 1.0, "word:b": idf_rare, "word:a b": idf_rare}
    norm = math.sqrt(sum(v * v for v in raw.values()))
    expected = np.array([raw.get(n, 0.0) / norm for n in names])
    np.testing.assert_allclose(X, expected, rtol=1e-6)


def test_sublinear_tf_on_repeated_word():
    f = TfidfFeaturizer(use_chars=False, word_ngram_range=(1, 1)).fit(["x x x x y", "y"])
    row = dict(zip(f.feature_names(), f.transform(["x x x x y"]).toarray()[0], strict=True))
    # tf(x) = 1 + ln 4, idf(x) = ln(3/2) + 1; tf(y) = 1, idf(y) = ln(3/3) + 1 = 1.
    wx, wy = (1 + math.log(4)) * (math.log(1.5) + 1), 1.0
    assert row["word:x"] == pytest.approx(wx / math.hypot(wx, wy), rel=1e-6)
    assert row["word:y"] == pytest.approx(wy / math.hypot(wx, wy), rel=1e-6)


def test_word_tokens_split_cjk_characters_and_keep_single_letters():
    assert re.findall(WORD_TOKEN_PATTERN, "abc中文 def I") == ["abc", "中", "文", "def", "I"]


def test_english_shapes_norms_and_both_blocks():
    texts = ["The cat sat on the mat.", "Dogs bark loudly at night", "A cat and a dog"]
    f = make_featurizer("tfidf")
    X = f.fit_transform(texts)
    assert X.shape == (3, f.n_features)
    assert X.dtype == np.float32
    np.testing.assert_allclose(np.sqrt(X.multiply(X).sum(axis=1)).A1, 1.0, rtol=1e-5)
    d = f.describe()
    assert d["char_analyzer"] == "char_wb" and d["char_ngram_range"] == [2, 4]
    assert d["blocks"]["word"] > 0 and d["blocks"]["char"] > 0


def test_chinese_without_tokenizer_gives_nonempty_rows():
    texts = ["今天天气很好", "我喜欢吃苹果", "股市今天大涨", "好"]
    f = make_featurizer("tfidf").fit(texts)
    assert f.describe()["char_analyzer"] == "char"  # CJK corpus -> char n-grams 1-3
    X = f.transform(["好", "今天", "苹果很好吃"])
    assert (X.getnnz(axis=1) > 0).all()
    names = f.feature_names()
    assert "word:好" in names and "char:好" in names  # single Chinese characters survive both analyzers
    # Texts sharing characters are closer than texts sharing none.
    Y = f.transform(["今天天气很好", "今天股市", "苹果"]).toarray()
    assert Y[0] @ Y[1] > Y[0] @ Y[2]


def test_rows_follow_texts_and_unseen_text_is_zero_row():
    f = TfidfFeaturizer().fit(["alpha beta", "gamma delta"])
    X = f.transform(["gamma delta", "alpha beta", "zzz"]).toarray()
    Y = f.transform(["alpha beta", "gamma delta"]).toarray()
    np.testing.assert_allclose(X[0], Y[1])
    np.testing.assert_allclose(X[1], Y[0])
    assert not X[2].any()


def test_cache_key_depends_on_fit_texts_and_options():
    a = TfidfFeaturizer().fit(["x y", "z"]).cache_key
    assert a == TfidfFeaturizer().fit(["x y", "z"]).cache_key
    assert a != TfidfFeaturizer().fit(["x y", "w"]).cache_key
    assert a != TfidfFeaturizer(max_features=3).fit(["x y", "z"]).cache_key
    with pytest.raises(RuntimeError, match="after fit"):
        _ = TfidfFeaturizer().cache_key


def test_max_features_caps_each_block():
    f = TfidfFeaturizer(max_features=5).fit(["one two three four five six seven", "eight nine ten"])
    assert f.describe()["blocks"] == {"word": 5, "char": 5}


def test_errors_are_clear():
    with pytest.raises(RuntimeError, match="fit"):
        TfidfFeaturizer().transform(["x"])
    with pytest.raises(ValueError, match="zero texts"):
        TfidfFeaturizer().fit([])
    with pytest.raises(ValueError, match="no word or character n-grams"):
        TfidfFeaturizer().fit(["", ""])
    with pytest.raises(TypeError, match="single str"):
        TfidfFeaturizer().fit("not a list")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        TfidfFeaturizer().fit(["ok", None])
    with pytest.raises(ValueError, match="char_analyzer"):
        TfidfFeaturizer(char_analyzer="bytes")
    with pytest.raises(ValueError, match="unknown featurizer"):
        make_featurizer("bow")
    with pytest.raises(ValueError, match="no option"):
        make_featurizer("tfidf", ngrams=3)


def test_emoji_only_text_still_fits_via_characters():
    f = TfidfFeaturizer().fit(["🙂🙂", "🙁"])
    assert f.describe()["blocks"] == {"char": f.n_features}
    assert f.transform(["🙂"]).nnz > 0

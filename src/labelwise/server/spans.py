"""NER (span) projects in the app: loading, answer validation, suggestions, counts and exports.

An NER answer is stored as IOB2 tags, one per token of the item (``items.tokens``). Clients may send it as
tags, as token spans ``{"spans": [[start, end, label], ...]}`` (token indices, ``end`` exclusive) or as
character spans ``{"char_spans": [{"start", "end", "label"}, ...]}``; overlapping spans are rejected with a
message naming both. Conversions and tokenization are :mod:`labelwise.data.ner`'s; this module only adapts
them to the store and the export formats.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from labelwise.data import Corpus
from labelwise.data.ner import bio_to_spans, repair_bio, spans_to_bio, tags_to_char_spans

TokenSpan = tuple[int, int, str]


class SpanError(ValueError):
    """An NER answer the store refuses; the message says what was expected."""


# ------------------------------------------------------------------------------------------- loading
def load_ner_corpus(data: str | os.PathLike | Any, *, labels: Sequence[str], id_field: str = "id",
                    text_field: str | None = None, label_field: str | None = None) -> Corpus:
    """An NER corpus for a project: ``{"tokens", "tags"}`` or ``{"text", "spans"}`` records (English tokenized
    by rules, Chinese per character); an invalid BIO sequence or an entity type outside ``labels`` is a
    located :class:`labelwise.data.DataError`."""
    from labelwise.data import load_corpus
    from labelwise.data.ner import ner_record_parser

    if not labels:
        raise ValueError("an NER project needs at least one entity type, e.g. --labels PER,LOC,ORG")
    bad = [label for label in labels if not label or label != label.strip() or label == "O" or label[:2] in ("B-", "I-")]
    if bad:
        raise ValueError(f"entity types must be plain names like PER or LOC (no 'B-'/'I-' prefix, not 'O'); "
                         f"got {bad}")
    return load_corpus(data, task="ner", labels=list(labels), id_field=id_field, text_field=text_field,
                       label_field=label_field, require_labels=False, parser=ner_record_parser(on_invalid="reject"))


# ------------------------------------------------------------------------------------------ answers
def token_offsets(text: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Character offsets of ``tokens`` found in order in ``text`` (the item's text is built from its tokens,
    or its tokens from the text, so they are always found)."""
    out, pos = [], 0
    for i, token in enumerate(tokens):
        start = text.find(token, pos)
        if start < 0:
            raise ValueError(f"token {i} {token!r} not found in the text after character {pos}")
        out.append((start, start + len(token)))
        pos = start + len(token)
    return out


def _describe(span: TokenSpan) -> str:
    start, end, label = span
    return f"{label} on tokens {start}..{end - 1}" if end - start > 1 else f"{label} on token {start}"


def _token_spans(raw: Any, n_tokens: int, types: Sequence[str]) -> list[TokenSpan]:
    if not isinstance(raw, list):
        raise SpanError('expected "spans" to be a list of [start, end, label] token spans')
    spans: list[TokenSpan] = []
    for span in raw:
        if isinstance(span, Mapping):
            span = [span.get("start"), span.get("end"), span.get("label")]
        if (not isinstance(span, (list, tuple)) or len(span) != 3 or not all(isinstance(v, int) for v in span[:2])
                or isinstance(span[0], bool) or isinstance(span[1], bool)):
            raise SpanError(f"span {span!r}: expected [start, end, label] with integer token positions")
        start, end, label = int(span[0]), int(span[1]), span[2]
        if label not in types:
            raise SpanError(f"span {span!r}: label {label!r} is not one of the entity types {list(types)}")
        if not 0 <= start < end <= n_tokens:
            raise SpanError(f"span {span!r}: expected 0 <= start < end <= {n_tokens} (the text has {n_tokens} "
                            "tokens; end is exclusive)")
        spans.append((start, end, label))
    ordered = sorted(spans)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b[0] < a[1]:
            raise SpanError(f"overlapping spans: {_describe(a)} overlaps {_describe(b)}; an entity may not "
                            "overlap another (remove one first)")
    return ordered


def normalize_answer(value: Any, tokens: Sequence[str] | None, text: str, types: Sequence[str]) -> list[str]:
    """The answer as IOB2 tags (one per token), or :class:`SpanError` saying what was expected."""
    if not tokens:
        raise SpanError("this item has no tokens: it was not imported as an NER text")
    n = len(tokens)
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        if len(value) != n:
            raise SpanError(f"expected {n} BIO tags (one per token), got {len(value)}")
        try:
            fixed, changed = repair_bio(value)
        except ValueError as err:
            raise SpanError(str(err)) from None
        if changed:
            raise SpanError(f"invalid BIO: the I- tag at token {changed[0]} does not continue an entity of its "
                            "type (start an entity with B-)")
        unknown = sorted({t[2:] for t in fixed if t != "O"} - set(types))
        if unknown:
            raise SpanError(f"entity types {unknown} are not in the project's types {list(types)}")
        return fixed
    if isinstance(value, Mapping) and set(value) == {"spans"}:
        return spans_to_bio(n, _token_spans(value["spans"], n, types))
    if isinstance(value, Mapping) and set(value) == {"char_spans"}:
        offsets = token_offsets(text, tokens)
        raw = value["char_spans"]
        if not isinstance(raw, list):
            raise SpanError('expected "char_spans" to be a list of {"start", "end", "label"} objects')
        converted = []
        for span in raw:
            if not isinstance(span, Mapping) or not {"start", "end", "label"} <= set(span):
                raise SpanError(f'char span {span!r}: expected {{"start", "end", "label"}}')
            inside = [i for i, (s, e) in enumerate(offsets) if s >= span["start"] and e <= span["end"]]
            cut = [i for i, (s, e) in enumerate(offsets)
                   if s < span["end"] and e > span["start"] and i not in inside]
            if cut or not inside:
                raise SpanError(f"char span {dict(span)!r} does not cover whole tokens")
            converted.append([inside[0], inside[-1] + 1, span["label"]])
        return spans_to_bio(n, _token_spans(converted, n, types))
    raise SpanError('expected BIO tags (one per token), {"spans": [[start, end, label], ...]} with token '
                    'positions, or {"char_spans": [{"start", "end", "label"}, ...]}')


def answer_spans(tags: Sequence[str]) -> list[list[Any]]:
    """``[[start, end, label], ...]`` token spans of stored tags (what the UI draws)."""
    return [[s, e, t] for s, e, t in bio_to_spans(tags)]


def entity_counts(answers: Sequence[Sequence[str]], types: Sequence[str]) -> dict[str, int]:
    """Entities per type over all answers (the progress view's per-label counts for NER)."""
    counts = dict.fromkeys(types, 0)
    for tags in answers:
        for _, _, label in bio_to_spans(tags):
            counts[label] = counts.get(label, 0) + 1
    return counts


def suggestion_from_marginals(tags: Sequence[str], token_probs: Sequence[float]) -> dict[str, Any]:
    """The model's pre-filled spans for one sentence: the predicted tags, each span with its confidence (the
    lowest probability of its tokens' predicted tags) and the sentence's confidence (the lowest of all)."""
    probs = [float(p) for p in token_probs]
    spans = [[s, e, t, round(min(probs[s:e]), 4)] for s, e, t in bio_to_spans(tags)]
    return {"tags": list(tags), "spans": spans, "confidence": round(min(probs, default=1.0), 4)}


# ------------------------------------------------------------------------------------------ exports
def _char_spans(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    offsets = token_offsets(record["text"], record["tokens"])
    return tags_to_char_spans(offsets, record["answer"])


def render_ner(records: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """Export NER answers: ``jsonl`` ``{"id", "tokens", "tags", ...}`` (re-importable), ``doccano``
    ``{"id", "text", "label": [[start, end, label], ...]}`` (character offsets), ``label-studio`` (``labels``
    results with character offsets) and ``csv`` (id, text, space-joined tags, JSON character spans)."""
    if fmt == "jsonl":
        return "".join(json.dumps({"id": r["id"], "tokens": list(r["tokens"]), "tags": list(r["answer"]),
                                   "annotator": r["annotator"], "created_at": r["created_at"]},
                                  ensure_ascii=False) + "\n" for r in records)
    if fmt == "doccano":
        return "".join(json.dumps({"id": r["id"], "text": r["text"],
                                   "label": [[s["start"], s["end"], s["label"]] for s in _char_spans(r)]},
                                  ensure_ascii=False) + "\n" for r in records)
    if fmt == "label-studio":
        tasks = []
        for i, r in enumerate(records, start=1):
            result = [{"id": f"{i}-{j}", "from_name": "label", "to_name": "text", "type": "labels",
                       "value": {"start": s["start"], "end": s["end"], "text": r["text"][s["start"]:s["end"]],
                                 "labels": [s["label"]]}}
                      for j, s in enumerate(_char_spans(r))]
            tasks.append({"id": i, "data": {"text": r["text"], "id": r["id"]},
                          "annotations": [{"id": i, "completed_by": r["annotator"], "created_at": r["created_at"],
                                           "result": result}]})
        return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "text", "tags", "spans", "annotator", "created_at"])
        for r in records:
            spans = [[s["start"], s["end"], s["label"]] for s in _char_spans(r)]
            writer.writerow([r["key"], r["text"], " ".join(r["answer"]), json.dumps(spans, ensure_ascii=False),
                             r["annotator"], r["created_at"]])
        return out.getvalue()
    raise ValueError(f"unknown export format {fmt!r}; expected one of jsonl, csv, label-studio, doccano")


def check_ner_settings(settings: Mapping[str, Any]) -> None:
    """Refuse model or strategy names an NER project cannot use (at creation, not at the first retraining)."""
    from labelwise.strategies.ner import NAMES

    model = settings.get("model", "auto")
    if model not in ("auto", "crf"):
        raise ValueError(f"an NER project's model is 'auto' or 'crf' (a CRF tagger), got {model!r}")
    strategy = settings.get("strategy", "default")
    if strategy not in NAMES:
        raise ValueError(f"unknown NER strategy {strategy!r}; expected one of {', '.join(NAMES)}")

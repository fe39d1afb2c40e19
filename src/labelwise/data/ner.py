"""NER data helpers: BIO (IOB2) tags, character spans, tokenization, BIO repair.

Two record forms are supported and converted both ways:

- token form ``{"tokens": [...], "tags": [...]}`` with BIO (IOB2) tags, and
- span form ``{"text": "...", "spans": [{"start", "end", "label"}]}`` with character offsets
  (``end`` exclusive, as in Python slicing).

Tokenization: English (and other space-separated text) by rules (words, numbers, each punctuation mark on
its own); Chinese, Japanese and Korean per character, as MSRA is labeled. ``language="auto"`` picks per
character when the text contains CJK characters.

Invalid BIO (an ``I-X`` that does not continue an ``X`` entity) is repaired (``I-X`` becomes ``B-X``) with a
warning naming the line, or rejected with a :class:`DataError` naming the line (``on_invalid``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from labelwise.data.corpus import Corpus, DataError

Language = Literal["auto", "en", "zh"]
OnInvalid = Literal["repair", "reject"]

__all__ = [
    "BIOWarning",
    "bio_to_spans",
    "char_spans_to_tags",
    "entity_types",
    "is_cjk_text",
    "join_tokens",
    "ner_corpus",
    "ner_record_parser",
    "parse_ner_record",
    "repair_bio",
    "spans_to_bio",
    "tag_set",
    "tags_to_char_spans",
    "tokenize",
    "validate_bio",
]


class BIOWarning(UserWarning):
    """An invalid BIO sequence was repaired."""


# CJK Unified Ideographs (+ extension A, compatibility), kana, hangul, CJK punctuation and full-width forms.
_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_CJK_RE = re.compile(f"[{_CJK}]")
# English rules: dotted abbreviations (U.S.), numbers with separators (1,000.5, 1996-08-22), words with
# inner apostrophes or hyphens (don't, well-known), else any single non-space character (punctuation).
_EN_TOKEN_RE = re.compile(r"(?:[A-Za-z]\.){2,}|\d+(?:[.,:/-]\d+)*|\w+(?:['’-]\w+)*|\S")
_ZH_TOKEN_RE = re.compile(r"\S")


def is_cjk_text(text: str) -> bool:
    """True when ``text`` contains at least one CJK character (then tokens are single characters)."""
    return _CJK_RE.search(text) is not None


def tokenize(text: str, language: Language = "auto") -> list[tuple[str, int, int]]:
    """Split ``text`` into ``(token, start, end)`` triples with character offsets (``end`` exclusive).

    ``"en"``: rule-based words, numbers and punctuation; ``"zh"``: one token per non-space character;
    ``"auto"``: ``"zh"`` if the text contains CJK characters, else ``"en"``.
    """
    if language == "auto":
        language = "zh" if is_cjk_text(text) else "en"
    if language == "zh":
        pattern = _ZH_TOKEN_RE
    elif language == "en":
        pattern = _EN_TOKEN_RE
    else:
        raise ValueError(f"language must be 'auto', 'en' or 'zh', got {language!r}")
    return [(m.group(), m.start(), m.end()) for m in pattern.finditer(text)]


def join_tokens(tokens: Sequence[str]) -> str:
    """The text of a tokenized sentence: characters joined for CJK, else tokens joined by spaces."""
    if tokens and all(len(t) == 1 for t in tokens) and any(is_cjk_text(t) for t in tokens):
        return "".join(tokens)
    return " ".join(tokens)


def _split(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``; raises ValueError on anything else."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[0] in "BI" and tag[1] == "-":
        return tag[0], tag[2:]
    raise ValueError(f"invalid tag {tag!r}: expected 'O', 'B-<type>' or 'I-<type>'")


def repair_bio(tags: Sequence[str]) -> tuple[list[str], list[int]]:
    """Repair IOB2: an ``I-X`` not preceded by ``B-X``/``I-X`` becomes ``B-X``.

    Covers an ``I-`` at the start, after ``O``, and after another type (type switch). Returns the repaired
    tags and the 0-based token positions that changed. Raises ValueError for malformed tags.
    """
    out = list(tags)
    changed = []
    prev_type = ""
    for i, tag in enumerate(out):
        prefix, typ = _split(tag)
        if prefix == "I" and prev_type != typ:
            out[i] = "B-" + typ
            changed.append(i)
        prev_type = typ
    return out, changed


def validate_bio(
    tags: Sequence[str],
    *,
    on_invalid: OnInvalid = "repair",
    source: str | None = None,
    line: int | None = None,
) -> list[str]:
    """Checked IOB2 tags: repaired with a :class:`BIOWarning` or rejected with a :class:`DataError`.

    ``source`` and ``line`` (1-based) only go into the message.
    """
    if on_invalid not in ("repair", "reject"):
        raise ValueError(f"on_invalid must be 'repair' or 'reject', got {on_invalid!r}")
    try:
        fixed, changed = repair_bio(tags)
    except ValueError as err:
        raise DataError(str(err), source=source, line=line, field="tags") from None
    if changed:
        detail = ", ".join(f"token {i}: {tags[i]!r}" for i in changed[:5])
        more = f" (+{len(changed) - 5} more)" if len(changed) > 5 else ""
        if on_invalid == "reject":
            raise DataError(
                f"invalid BIO: I- tag does not continue an entity of its type at {detail}{more}",
                source=source, line=line, field="tags",
            )
        where = ", ".join(str(x) for x in (source, f"line {line}" if line is not None else None) if x)
        warnings.warn(
            f"{where + ': ' if where else ''}repaired invalid BIO (I- -> B-) at {detail}{more}",
            BIOWarning, stacklevel=2,
        )
    return fixed


def bio_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entities as ``(start, end, type)`` token spans (``end`` exclusive).

    A dangling ``I-X`` (invalid IOB2) starts a new entity, as :func:`repair_bio` would make it.
    """
    spans: list[tuple[int, int, str]] = []
    start, typ = -1, ""
    for i, tag in enumerate(tags):
        prefix, t = _split(tag)
        if prefix == "I" and t == typ and start >= 0:
            continue
        if start >= 0:
            spans.append((start, i, typ))
            start, typ = -1, ""
        if prefix != "O":
            start, typ = i, t
    if start >= 0:
        spans.append((start, len(tags), typ))
    return spans


def spans_to_bio(n_tokens: int, spans: Iterable[tuple[int, int, str]]) -> list[str]:
    """IOB2 tags for ``n_tokens`` tokens from ``(start, end, type)`` token spans; overlaps are an error."""
    tags = ["O"] * n_tokens
    for start, end, typ in sorted(spans):
        if not (0 <= start < end <= n_tokens):
            raise ValueError(f"span ({start}, {end}, {typ!r}) is outside 0..{n_tokens} or empty")
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"span ({start}, {end}, {typ!r}) overlaps another span")
        tags[start] = "B-" + typ
        for i in range(start + 1, end):
            tags[i] = "I-" + typ
    return tags


def char_spans_to_tags(
    offsets: Sequence[tuple[int, int]], spans: Iterable[Mapping | tuple[int, int, str]]
) -> list[str]:
    """IOB2 tags for tokens at character ``offsets`` from character spans.

    ``spans`` are dicts ``{"start", "end", "label"}`` or ``(start, end, label)``. A token belongs to a span
    when it lies inside it; a span boundary that cuts a token is an error (the span does not align with the
    tokenization), as is an overlap or a span covering no token.
    """
    token_spans = []
    for span in spans:
        start, end, label = (
            (span["start"], span["end"], span["label"]) if isinstance(span, Mapping) else span
        )
        if not isinstance(start, int) or not isinstance(end, int) or start >= end:
            raise ValueError(f"span {span!r}: start and end must be integers with start < end")
        if not isinstance(label, str) or not label:
            raise ValueError(f"span {span!r}: label must be a non-empty string")
        # Whitespace at a span's edges is tolerated: the span snaps inwards to the tokens it covers.
        inside = [i for i, (s, e) in enumerate(offsets) if s >= start and e <= end]
        cut = [i for i, (s, e) in enumerate(offsets) if s < end and e > start and not (s >= start and e <= end)]
        if cut:
            i = cut[0]
            raise ValueError(
                f"span {span!r} cuts token {i} at characters {offsets[i][0]}..{offsets[i][1]}: "
                "span boundaries must fall between tokens"
            )
        if not inside:
            raise ValueError(f"span {span!r} covers no token")
        token_spans.append((inside[0], inside[-1] + 1, label))
    return spans_to_bio(len(offsets), token_spans)


def tags_to_char_spans(
    offsets: Sequence[tuple[int, int]], tags: Sequence[str]
) -> list[dict[str, int | str]]:
    """Character spans ``[{"start", "end", "label"}]`` of the entities in ``tags`` (tokens at ``offsets``)."""
    if len(offsets) != len(tags):
        raise ValueError(f"{len(offsets)} token offsets for {len(tags)} tags")
    return [
        {"start": offsets[s][0], "end": offsets[e - 1][1], "label": typ} for s, e, typ in bio_to_spans(tags)
    ]


def entity_types(tag_lists: Iterable[Sequence[str]]) -> list[str]:
    """Sorted entity types appearing in BIO tag lists."""
    types = set()
    for tags in tag_lists:
        for tag in tags:
            if tag != "O":
                types.add(_split(tag)[1])
    return sorted(types)


def tag_set(types: Sequence[str]) -> list[str]:
    """The fixed BIO tag order used for model columns: ``O``, then ``B-t``, ``I-t`` for each type."""
    out = ["O"]
    for t in types:
        out += [f"B-{t}", f"I-{t}"]
    return out


def parse_ner_record(
    record: Mapping,
    *,
    on_invalid: OnInvalid = "repair",
    language: Language = "auto",
    source: str | None = None,
    line: int | None = None,
) -> tuple[list[str], list[str] | None, str]:
    """One NER record in either form -> ``(tokens, tags or None, text)``.

    Token form needs ``tokens`` (non-empty strings) and, when labeled, ``tags`` of the same length; span form
    needs ``text`` and optionally ``spans``. Errors are :class:`DataError` naming ``source``/``line``.
    """

    def fail(message: str, fld: str | None = None) -> DataError:
        return DataError(message, source=source, line=line, field=fld)

    if "tokens" in record:
        tokens = record["tokens"]
        if not isinstance(tokens, list) or not tokens:
            raise fail("expected a non-empty list of token strings", "tokens")
        if not all(isinstance(t, str) and t and not t.isspace() for t in tokens):
            raise fail("every token must be a non-empty, non-blank string", "tokens")
        tags = record.get("tags")
        if tags is not None:
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise fail("expected a list of BIO tag strings", "tags")
            if len(tags) != len(tokens):
                raise fail(f"{len(tags)} tags for {len(tokens)} tokens", "tags")
            tags = validate_bio(tags, on_invalid=on_invalid, source=source, line=line)
        return list(tokens), tags, join_tokens(tokens)
    if "text" in record:
        text = record["text"]
        if not isinstance(text, str) or not text.strip():
            raise fail("expected a non-empty text string", "text")
        triples = tokenize(text, language)
        tokens = [t for t, _, _ in triples]
        spans = record.get("spans")
        if spans is None:
            return tokens, None, text
        if not isinstance(spans, list):
            raise fail('expected a list of {"start", "end", "label"} objects', "spans")
        for span in spans:
            if not isinstance(span, Mapping) or not {"start", "end", "label"} <= set(span):
                raise fail(f'span {span!r}: expected {{"start", "end", "label"}}', "spans")
            start, end = span["start"], span["end"]
            if not (isinstance(start, int) and isinstance(end, int) and start >= 0 and end <= len(text)):
                raise fail(f"span {dict(span)!r} lies outside the text (length {len(text)})", "spans")
        try:
            tags = char_spans_to_tags([(s, e) for _, s, e in triples], spans)
        except ValueError as err:
            raise fail(str(err), "spans") from None
        return tokens, tags, text
    raise fail('expected an NER record with "tokens" (and "tags") or "text" (and "spans")')


def ner_corpus(
    tokens: Sequence[Sequence[str]],
    tags: Sequence[Sequence[str]] | None = None,
    *,
    ids: Sequence | None = None,
    types: Sequence[str] | None = None,
    texts: Sequence[str] | None = None,
    source: str | None = None,
) -> Corpus:
    """A ``task="ner"`` :class:`Corpus` from token lists and (optionally) BIO tags.

    ``label_set`` is the entity types (``types`` or those seen in ``tags``); tags are taken as valid IOB2
    (use :func:`validate_bio` / :func:`parse_ner_record` on untrusted input).
    """
    tokens = [list(t) for t in tokens]
    labels = None if tags is None else [list(t) for t in tags]
    if labels is not None:
        for i, (tok, tg) in enumerate(zip(tokens, labels, strict=True)):
            if len(tok) != len(tg):
                raise ValueError(f"record {i}: {len(tg)} tags for {len(tok)} tokens")
    return Corpus(
        ids=list(range(len(tokens))) if ids is None else list(ids),
        texts=list(texts) if texts is not None else [join_tokens(t) for t in tokens],
        task="ner",
        labels=labels,
        label_set=list(types) if types is not None else entity_types(labels or []),
        tokens=tokens,
        source=source,
    )


def ner_record_parser(*, on_invalid: OnInvalid = "repair", language: Language = "auto") -> Any:
    """A ``load_corpus`` :class:`~labelwise.data.loaders.TaskParser` for ``task="ner"`` reading both forms.

    Token form (``tokens`` + ``tags``; the tokens field is ``text_field``, default ``"tokens"``) or span form
    (``text`` + ``spans``, tokenized by :func:`tokenize` with ``language``). Invalid BIO is repaired (a note
    the loader turns into a ``DataWarning`` naming file and line) or rejected (a located ``DataError``).
    Register with ``register_task_parser("ner", ner_record_parser())``.
    """
    from labelwise.data.loaders import ParsedRecord, RecordError, TaskParser, _parse_ner

    if on_invalid not in ("repair", "reject"):
        raise ValueError(f"on_invalid must be 'repair' or 'reject', got {on_invalid!r}")

    def parse(record: Mapping[str, Any], opts: Any) -> Any:
        tokens_field = opts.text_field if isinstance(record.get(opts.text_field), list) else "tokens"
        if tokens_field in record:
            _parse_ner(record, opts)  # structure first: the loader's precise messages (token 3 is not a string…)
            tags_field, tags = opts.label_value(record)
            norm = {"tokens": record[tokens_field], "tags": tags}
        else:
            text_field = opts.text_field if isinstance(record.get(opts.text_field), str) else "text"
            tags_field = "spans"
            norm = {"text": record.get(text_field, record.get("text")), "spans": record.get("spans")}
            if norm["text"] is None:
                raise RecordError(f"missing tokens field {opts.text_field!r}: expected a token list (with "
                                  '"tags") or "text" (a string, with "spans")', opts.text_field)
        notes: list[str] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", BIOWarning)
                tokens, tags, text = parse_ner_record(norm, on_invalid=on_invalid, language=language)
            notes = [str(w.message) for w in caught if issubclass(w.category, BIOWarning)]
        except DataError as err:
            fld = {"tokens": tokens_field, "tags": tags_field}.get(err.field or "", err.field)
            raise RecordError(err.reason, fld) from None
        return ParsedRecord(text, tags, tokens, tuple(notes))

    return TaskParser(parse, lambda tags: set(entity_types([tags])), text_field="tokens", label_fields=("tags",))

"""Read JSONL, CSV/TSV, Parquet or a DataFrame into a validated :class:`Corpus`.

Everything is checked before any work starts: the whole input is read, every problem is collected, and
the first one is raised as a :class:`DataError` naming the file, the 1-based line (text files; in CSV the
physical line where the record starts, the header being line 1) or the 0-based row (DataFrame, Parquet,
in-memory records), the field, and what was expected. When more problems follow, the message says how
many and shows the next few; all of them are on the error's ``problems`` attribute.

Rules worth knowing (also in :func:`load_corpus`'s docstring):

- ids: every record has an ``id`` or none has one (a mix is an error, because a generated number could
  silently collide with a given id). Given ids are kept as they are (str or int; ``1`` and ``"1"`` count as
  the same id). Without ids, the id is the 0-based line number in JSON Lines (blank lines count, so the id
  points at the record's line) and the 0-based record number in CSV/TSV (a record may span lines), Parquet
  and DataFrames.
- unlabeled records (label field absent or null; an empty CSV cell) get the label ``None``, unless
  ``require_labels=True``. For multilabel, ``[]`` is a valid label: "none of the labels".
- labels are strings; integer labels are converted with ``str`` (so declared ``labels=[0, 1]`` works).

How a record becomes (text, label, tokens) is decided by a per-task :class:`TaskParser` in
:data:`TASK_PARSERS`; other tasks (or richer NER formats) plug in with :func:`register_task_parser`.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from labelwise.data.corpus import Corpus, DataError

__all__ = [
    "FORMATS",
    "DataWarning",
    "TASK_PARSERS",
    "ParseOptions",
    "ParsedRecord",
    "RecordError",
    "TaskParser",
    "load_corpus",
    "register_task_parser",
]

FORMATS: tuple[str, ...] = ("jsonl", "csv", "tsv", "parquet")
_SUFFIX_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".jsonlines": "jsonl",
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
}
_DEFAULT_DELIMITER = "|"
_MISSING = object()


# --------------------------------------------------------------------------------------------------------
# Per-task record parsers (the plug-in point)


class RecordError(Exception):
    """Raised by a record parser: what is wrong with one record. The loader adds file and line/row."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason, self.field = reason, field


@dataclass(frozen=True)
class ParseOptions:
    """What a record parser needs to know. ``label_fields`` are tried in order (first present wins)."""

    text_field: str
    label_fields: tuple[str, ...]
    id_field: str
    label_delimiter: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The fields to read from columnar sources (DataFrame, Parquet)."""
        return tuple(dict.fromkeys((self.text_field, *self.label_fields, self.id_field)))

    def label_value(self, record: Mapping[str, Any]) -> tuple[str, Any]:
        """(field name, value) of the first label field present and not null; value None if none is. NaN (what
        ``json.dumps`` writes for a missing value in a float column) counts as null, as in a DataFrame."""
        for name in self.label_fields:
            value = record.get(name)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                return name, value
        return self.label_fields[0], None


@dataclass(frozen=True)
class ParsedRecord:
    """One parsed record. ``notes``: non-fatal remarks (e.g. a repaired tag) that the loader turns into a
    :class:`DataWarning` naming the file and line/row."""

    text: str
    label: Any = None  # None = unlabeled
    tokens: list[str] | None = None
    notes: tuple[str, ...] = ()


class DataWarning(UserWarning):
    """A record was accepted with a change (see :attr:`ParsedRecord.notes`)."""


@dataclass(frozen=True)
class TaskParser:
    """How one task reads a record.

    - ``parse(record, options) -> ParsedRecord``; raises :class:`RecordError` for a bad record.
    - ``label_names(label) -> iterable of str``: the names checked against a declared label set and
      collected into ``label_set`` (multilabel: the list; NER: the entity types of the tags).
    - ``text_field`` / ``label_fields``: defaults when the caller does not name the fields.
    """

    parse: Callable[[Mapping[str, Any], ParseOptions], ParsedRecord]
    label_names: Callable[[Any], Iterable[str]]
    text_field: str = "text"
    label_fields: tuple[str, ...] = ("label",)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _parse_text(record: Mapping[str, Any], field: str) -> str:
    text = record.get(field, _MISSING)
    if text is _MISSING:
        raise RecordError(f"missing text field {field!r} (fields present: {', '.join(map(str, record)) or 'none'})",
                          field)
    if not isinstance(text, str):
        raise RecordError(f"text must be a string, got {_type_name(text)}", field)
    if not text.strip():
        raise RecordError("empty text" if not text else "text is only whitespace", field)
    if "\x00" in text:  # a NUL is corruption (binary in a text file); PostgreSQL cannot even store it
        raise RecordError(f"text contains a NUL character (\\x00) at offset {text.index(chr(0))}", field)
    return text


def _label_str(value: Any, field: str) -> str:
    """One label name: a non-blank string, or an integer (converted with str). A whole float such as ``1.0``
    (what a float column written to JSON gives) is that integer, as in a DataFrame (see :func:`_cell`)."""
    if isinstance(value, str):
        if not value.strip():
            raise RecordError("empty label (leave the field out or use null for an unlabeled record)", field)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        raise RecordError(f"a label must be a string or an integer, got the number {value!r}", field)
    raise RecordError(f"a label must be a string, got {_type_name(value)}", field)


def _parse_multiclass(record: Mapping[str, Any], opts: ParseOptions) -> ParsedRecord:
    text = _parse_text(record, opts.text_field)
    field, value = opts.label_value(record)
    if value is None:
        return ParsedRecord(text)
    if isinstance(value, (list, tuple)):
        raise RecordError(f"expected one label for task 'multiclass', got a list of {len(value)}; "
                          "use task='multilabel' for several labels per text", field)
    return ParsedRecord(text, _label_str(value, field))


def _parse_multilabel(record: Mapping[str, Any], opts: ParseOptions) -> ParsedRecord:
    text = _parse_text(record, opts.text_field)
    field, value = opts.label_value(record)
    if value is None:
        return ParsedRecord(text)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as err:
                raise RecordError(f"labels look like a JSON list but are not valid JSON: {err.msg}", field) from None
        elif not stripped:
            raise RecordError("empty labels string (use [] for 'no label', null or nothing for unlabeled)", field)
        else:
            delimiter = opts.label_delimiter or _DEFAULT_DELIMITER
            value = [part.strip() for part in stripped.split(delimiter)]
            if not all(value):
                raise RecordError(f"empty label between delimiters {delimiter!r} in {stripped!r}", field)
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise RecordError(f"labels must be a list or a delimited string, got {_type_name(value)}", field)
    names = [_label_str(item, field) for item in value]
    return ParsedRecord(text, list(dict.fromkeys(names)))  # duplicates dropped, order kept


_TAG_PREFIXES = frozenset("BIESLU")


def _is_tag(tag: Any) -> bool:
    return isinstance(tag, str) and (tag == "O" or (len(tag) > 2 and tag[1] == "-" and tag[0] in _TAG_PREFIXES))


def _all_str(items: Sequence[Any]) -> bool:
    return set(map(type, items)) <= {str}  # one C-level pass; str subclasses take the slow path


def _parse_ner(record: Mapping[str, Any], opts: ParseOptions) -> ParsedRecord:
    # Checks run per token; the fast paths (set operations) keep 44k MSRA sentences near a second.
    field = opts.text_field
    if field not in record and "tokens" in record:
        field = "tokens"  # callers that pass text_field="text" for every task still read token records
    tokens = record.get(field, _MISSING)
    if tokens is _MISSING:
        raise RecordError(f"missing tokens field {field!r}", field)
    if not isinstance(tokens, (list, tuple)):
        raise RecordError(f"tokens must be a list of strings, got {_type_name(tokens)}", field)
    if not tokens:
        raise RecordError("empty token list", field)
    if not _all_str(tokens) or "" in tokens:
        i, token = next((i, t) for i, t in enumerate(tokens) if not isinstance(t, str) or not t)
        raise RecordError(f"token {i} must be a non-empty string, got {token!r}", field)
    tokens = list(tokens)
    text = " ".join(tokens)
    field, tags = opts.label_value(record)
    if tags is None:
        return ParsedRecord(text, None, tokens)
    if not isinstance(tags, (list, tuple)):
        raise RecordError(f"tags must be a list of strings, got {_type_name(tags)}", field)
    if len(tags) != len(tokens):
        raise RecordError(f"{len(tags)} tags for {len(tokens)} tokens (expected one tag per token)", field)
    if not (_all_str(tags) and all(map(_is_tag, set(tags)))):
        i, tag = next((i, t) for i, t in enumerate(tags) if not _is_tag(t))
        raise RecordError(f"tag {i} is {tag!r}; expected 'O' or 'B-TYPE' / 'I-TYPE' (BIO)", field)
    return ParsedRecord(text, list(tags), tokens)


def _ner_label_names(tags: Sequence[str]) -> set[str]:
    """Entity types: ``PER`` from ``B-PER`` / ``I-PER``."""
    return {tag[2:] for tag in set(tags) if tag != "O"}


TASK_PARSERS: dict[str, TaskParser] = {
    "multiclass": TaskParser(_parse_multiclass, lambda label: (label,)),
    "multilabel": TaskParser(_parse_multilabel, lambda labels: labels, label_fields=("labels", "label")),
    "ner": TaskParser(_parse_ner, _ner_label_names, text_field="tokens", label_fields=("tags",)),
}


def register_task_parser(task: str, parser: TaskParser) -> None:
    """Make ``load_corpus(..., task=task)`` read records with ``parser`` (replaces an existing one)."""
    TASK_PARSERS[task] = parser


# --------------------------------------------------------------------------------------------------------
# Sources: each yields (location, record-or-problem) and raises DataError for whole-input problems.


@dataclass(frozen=True)
class _Loc:
    line: int | None = None
    row: int | None = None
    #: the id a record without one gets, when not its record number (JSON Lines: the 0-based line number)
    default_id: int | None = None


@dataclass(frozen=True)
class _Problem:
    reason: str
    field: str | None = None


_Item = tuple[_Loc, "Mapping[str, Any] | _Problem"]


def _open_binary(path: Path, name: str) -> IO[bytes]:
    try:
        return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise DataError("no such file", source=name) from None
    except IsADirectoryError:
        raise DataError("is a folder, expected a data file", source=name) from None


def _decode(raw: bytes, lineno: int) -> tuple[str, _Problem | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        problem = _Problem(f"not valid UTF-8: byte 0x{raw[err.start]:02x} at byte {err.start + 1} of the line "
                           "(save the file as UTF-8)")
        return raw.decode("utf-8", errors="replace"), problem
    if lineno == 1 and text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def _read_lines(f: IO[bytes], max_bytes: int) -> Iterator[tuple[bytes | None, int]]:
    """(line, size in bytes) per physical line; the line is None when longer than ``max_bytes``, and is
    then skipped in chunks, so one huge line never sits in memory whole."""
    chunk = max(max_bytes, 1 << 16)
    while True:
        raw = f.readline(max_bytes + 1)
        if not raw:
            return
        if len(raw) <= max_bytes:
            yield raw, len(raw)
            continue
        size = len(raw)
        while not raw.endswith(b"\n"):
            raw = f.readline(chunk)
            if not raw:
                break
            size += len(raw)
        yield None, size


def _too_long(size: int, max_bytes: int) -> _Problem:
    return _Problem(f"record is {size:,} bytes, more than max_record_bytes={max_bytes:,}")


def _jsonl_records(path: Path, name: str, max_bytes: int) -> Iterator[_Item]:
    with _open_binary(path, name) as f:
        for lineno, (raw, size) in enumerate(_read_lines(f, max_bytes), start=1):
            if raw is None:
                yield _Loc(line=lineno), _too_long(size, max_bytes)
                continue
            text, problem = _decode(raw, lineno)
            if problem is not None:
                yield _Loc(line=lineno), problem
                continue
            if not text.strip():
                continue
            try:
                record = json.loads(text.rstrip("\r\n"))
            except json.JSONDecodeError as err:
                if lineno == 1 and text.lstrip().startswith("[") and not text.rstrip().endswith("]"):
                    raise DataError("this looks like a JSON array; expected JSON Lines (one object per line)",
                                    source=name, line=1) from None
                yield _Loc(line=lineno), _Problem(f"invalid JSON: {err.msg.removesuffix(' at')} (column {err.colno})")
                continue
            if not isinstance(record, dict):
                yield _Loc(line=lineno), _Problem(f"expected a JSON object {{...}} per line, got "
                                                  f"{'a list' if isinstance(record, list) else _type_name(record)}")
                continue
            yield _Loc(line=lineno, default_id=lineno - 1), record


class _LineFeeder:
    """Decoded lines for csv.reader, counting lines and bytes and noting undecodable or too long lines
    (which are fed as empty lines, so the reader goes on to the next record)."""

    def __init__(self, f: IO[bytes], max_bytes: int):
        self._f, self._max_bytes = f, max_bytes
        self.lineno = 0
        self.bytes = 0
        self.problems: list[tuple[int, _Problem]] = []

    def __iter__(self) -> Iterator[str]:
        for raw, size in _read_lines(self._f, self._max_bytes):
            self.lineno += 1
            self.bytes += size
            if raw is None:
                self.problems.append((self.lineno, _too_long(size, self._max_bytes)))
                yield "\n"
                continue
            text, problem = _decode(raw, self.lineno)
            if problem is not None:
                self.problems.append((self.lineno, problem))
            yield text


def _csv_records(path: Path, name: str, delimiter: str, opts: ParseOptions, max_bytes: int) -> Iterator[_Item]:
    # The csv module refuses fields over 128 KiB by default; records up to max_record_bytes must pass.
    if csv.field_size_limit() < max_bytes + 1:
        csv.field_size_limit(max_bytes + 1)
    nullable = {*opts.label_fields, opts.id_field}  # an empty cell there means "absent"
    with _open_binary(path, name) as f:
        feeder = _LineFeeder(f, max_bytes)
        reader = csv.reader(feeder, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError("empty file: expected a header line and records", source=name) from None
        except csv.Error as err:
            raise DataError(f"bad quoting in the header: {err}", source=name, line=1) from None
        if feeder.problems:
            raise DataError(feeder.problems[0][1].reason, source=name, line=1)
        header = [column.strip() for column in header]
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise DataError(f"the header repeats column(s) {', '.join(repeated)}", source=name, line=1)
        if opts.text_field not in header:
            raise DataError(f"the header has no column {opts.text_field!r} (columns: {', '.join(header)}); "
                            "name it with text_field=", source=name, line=1, field=opts.text_field)
        end, seen_bytes, seen_problems = 1, feeder.bytes, len(feeder.problems)
        while True:
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                end = feeder.lineno
                if "end of data" in str(err):
                    reason = f"unterminated quoted field: a '\"' in this record is never closed (file ends at line {end})"
                else:
                    span = f" (the record runs over lines {start}-{end})" if end > start else ""
                    what = str(err)
                    if "new-line character seen in unquoted field" in what:
                        what = "a carriage return (\\r) inside an unquoted field; quote the field"
                    elif "expected after" in what:
                        what += ("; a field starting with '\"' is read as quoted, so its closing quote must end "
                                 "the field: quote the whole field and double the quotes inside, e.g. "
                                 "\"\"\"Great\"\" movie\"")
                    reason = f"bad CSV quoting: {what}{span}"
                yield _Loc(line=start), _Problem(reason)
                seen_bytes, seen_problems = feeder.bytes, len(feeder.problems)
                continue
            end = feeder.lineno
            size, seen_bytes = feeder.bytes - seen_bytes, feeder.bytes
            if len(feeder.problems) > seen_problems:  # an undecodable or too long line in this record
                yield _Loc(line=start), feeder.problems[seen_problems][1]
                seen_problems = len(feeder.problems)
                continue
            if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
                continue  # blank line
            if size > max_bytes:
                yield _Loc(line=start), _too_long(size, max_bytes)
                continue
            if len(row) != len(header):
                yield _Loc(line=start), _Problem(f"{len(row)} fields, but the header has {len(header)} "
                                                 f"(unquoted {delimiter!r} in a field?)")
                continue
            yield _Loc(line=start), {
                column: (None if cell == "" and column in nullable else cell) for column, cell in zip(header, row, strict=True)
            }


def _cell(value: Any, numeric: bool) -> Any:
    """Plain Python values from pandas / Arrow cells: NaN and NA become None, arrays lists."""
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalar or array
        value = value.tolist()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # pandas turns an int column with gaps into float; 3.0 in an id/label column means 3.
        if numeric and value.is_integer():
            return int(value)
    elif type(value).__name__ == "NAType":
        return None
    return value


def _column_records(columns: Mapping[str, Sequence[Any]], n: int, opts: ParseOptions) -> Iterator[_Item]:
    numeric = {*opts.label_fields, opts.id_field}
    names = list(columns)
    for i in range(n):
        record = {}
        for name in names:
            value = _cell(columns[name][i], name in numeric)
            if value is not None:
                record[name] = value
        yield _Loc(row=i), record


def _check_columns(present: Iterable[str], opts: ParseOptions, name: str) -> list[str]:
    present = [str(c) for c in present]
    if opts.text_field not in present:
        raise DataError(f"no column {opts.text_field!r} (columns: {', '.join(present)}); name it with text_field=",
                        source=name, field=opts.text_field)
    return [c for c in opts.columns if c in present]


def _dataframe_records(df: Any, name: str, opts: ParseOptions) -> Iterator[_Item]:
    columns = _check_columns(df.columns, opts, name)
    if len(df) == 0:
        raise DataError("empty DataFrame: no rows", source=name)
    return _column_records({c: df[c].tolist() for c in columns}, len(df), opts)


def _parquet_records(path: Path, name: str, opts: ParseOptions) -> Iterator[_Item]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        raise DataError("no such file", source=name)
    try:
        schema = pq.read_schema(path)
        columns = _check_columns(schema.names, opts, name)
        table = pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"not a readable Parquet file: {err}", source=name) from None
    if table.num_rows == 0:
        raise DataError("empty file: no rows", source=name)
    return _column_records({c: table.column(c).to_pylist() for c in columns}, table.num_rows, opts)


def _mapping_records(records: Sequence[Any]) -> Iterator[_Item]:
    for i, record in enumerate(records):
        if isinstance(record, Mapping):
            yield _Loc(row=i), record
        else:
            yield _Loc(row=i), _Problem(f"expected a mapping (dict) per record, got {_type_name(record)}")


def _detect_format(path: Path, fmt: str | None, name: str) -> str:
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        fmt = {"ndjson": "jsonl", "json": "jsonl", "pq": "parquet"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise DataError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", source=name)
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    detected = _SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None
    if detected is None:
        raise DataError(f"cannot tell the format from the name; pass fmt= one of {', '.join(FORMATS)}", source=name)
    return detected


def _records(source: Any, fmt: str | None, opts: ParseOptions, max_bytes: int) -> tuple[str, Iterator[_Item], bool]:
    """(display name, items, whether the source itself checks record sizes in bytes) for any source."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = str(path)
        kind = _detect_format(path, fmt, name)
        if kind == "jsonl":
            return name, _jsonl_records(path, name, max_bytes), True
        if kind in ("csv", "tsv"):
            return name, _csv_records(path, name, "," if kind == "csv" else "\t", opts, max_bytes), True
        return name, _parquet_records(path, name, opts), False
    if hasattr(source, "columns") and hasattr(source, "iloc"):  # a pandas DataFrame, without importing pandas
        return "<DataFrame>", _dataframe_records(source, "<DataFrame>", opts), False
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        return "<records>", _mapping_records(source), False
    raise TypeError(f"load_corpus reads a path, a pandas DataFrame or a list of dicts, not {_type_name(source)}")


# --------------------------------------------------------------------------------------------------------
# The loader


def _declared_labels(labels: Sequence[Any] | None) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        raise TypeError("labels must be a list of label names, not one string")
    names = []
    for value in labels:
        if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, str) and not value.strip()):
            raise ValueError(f"declared labels must be non-empty strings (or integers), got {value!r}")
        names.append(str(value))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"declared labels repeat {repeated}")
    return names


def _raise_collected(problems: list[DataError]) -> None:
    first = problems[0]
    first.problems = problems  # type: ignore[attr-defined]
    if len(problems) > 1:
        def where(p: DataError) -> str:
            parts = [f"line {p.line}" if p.line is not None else f"row {p.row}"]
            if p.field:
                parts.append(f"field {p.field!r}")
            return f"{', '.join(parts)}: {p.reason}"

        shown = "; ".join(where(p) for p in problems[1:4])
        more = "; ..." if len(problems) > 4 else ""
        # Keep .reason the first problem's own; only the message mentions the others.
        first.args = (f"{first} ({len(problems) - 1} more problem{'s' if len(problems) > 2 else ''}: {shown}{more})",)
    raise first


def load_corpus(
    source: str | os.PathLike[str] | Any,
    *,
    task: str = "multiclass",
    text_field: str | None = None,
    label_field: str | None = None,
    id_field: str = "id",
    labels: Sequence[str] | None = None,
    label_delimiter: str | None = None,
    require_labels: bool = False,
    max_record_bytes: int = 1_000_000,
    fmt: str | None = None,
    parser: TaskParser | None = None,
) -> Corpus:
    """Read and validate a labeled or unlabeled text collection.

    ``source``: a path (``.jsonl``/``.ndjson``/``.json`` lines, ``.csv``, ``.tsv``, ``.parquet``; any of them
    may be ``.gz``-compressed except Parquet; ``fmt`` overrides the suffix), a pandas DataFrame, or a list
    of dicts. Text files are UTF-8 (a BOM is accepted).

    Fields: ``text_field`` defaults to ``"text"`` (``"tokens"`` for ``task="ner"``); ``label_field`` to
    ``"label"`` (multiclass), ``"labels"`` then ``"label"`` (multilabel, per record) or ``"tags"`` (ner).
    Multi-label values are a list, a JSON-list string (``'["a","b"]'``) or a string split on
    ``label_delimiter`` (default ``"|"``).

    ``labels`` declares the label set (in model-column order; entity types for NER); a label outside it is
    an error. Without it, ``label_set`` is the sorted labels seen.

    ids: every record has ``id_field`` or none has (mixing is an error); given ids are kept as they are (str or
    int, ``1`` and ``"1"`` clash); else the id is the 0-based line number (JSON Lines; blank lines count) or
    record number (CSV/TSV, Parquet, DataFrame, records).

    Raises :class:`DataError` (with ``.source``, ``.line`` or ``.row``, ``.field``, ``.reason`` and
    ``.problems``, the list of all problems found) for any bad record, duplicate id, record larger than
    ``max_record_bytes``, bad CSV quoting, undecodable bytes or an empty input.

    ``parser`` overrides the registered :class:`TaskParser` of ``task`` for this call (e.g. NER with
    ``ner_record_parser(on_invalid="reject")``).
    """
    if parser is None:
        if task not in TASK_PARSERS:
            raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASK_PARSERS)}")
        parser = TASK_PARSERS[task]
    opts = ParseOptions(
        text_field=text_field or parser.text_field,
        label_fields=(label_field,) if label_field else parser.label_fields,
        id_field=id_field,
        label_delimiter=label_delimiter,
    )
    declared = _declared_labels(labels)
    declared_set = None if declared is None else set(declared)
    name, items, sized = _records(source, fmt, opts, max_record_bytes)

    ids: list[Any] = []
    texts: list[str] = []
    all_labels: list[Any] = []
    tokens: list[list[str] | None] = []
    seen_labels: set[str] = set()
    seen_ids: dict[str, _Loc] = {}
    first_id_presence: tuple[bool, _Loc] | None = None
    problems: list[DataError] = []
    n_records = 0

    def problem(loc: _Loc, reason: str, field: str | None = None) -> None:
        problems.append(DataError(reason, source=name, line=loc.line, row=loc.row, field=field))

    def describe(loc: _Loc) -> str:
        return f"line {loc.line}" if loc.line is not None else f"row {loc.row}"

    for loc, record in items:
        number = n_records
        n_records += 1
        if isinstance(record, _Problem):
            problem(loc, record.reason, record.field)
            continue
        try:
            parsed = parser.parse(record, opts)
        except RecordError as err:
            problem(loc, err.reason, err.field)
            continue
        for note in parsed.notes:
            where = f"line {loc.line}" if loc.line is not None else f"row {loc.row}"
            warnings.warn(f"{name}, {where}: {note}", DataWarning, stacklevel=2)
        if not sized and len(parsed.text) * 4 > max_record_bytes:
            size = len(parsed.text.encode("utf-8"))
            if size > max_record_bytes:
                problem(loc, f"text is {size:,} bytes, more than max_record_bytes={max_record_bytes:,}", opts.text_field)
                continue
        if parsed.label is None:
            if require_labels:
                problem(loc, f"no label (field {' or '.join(map(repr, opts.label_fields))}); "
                             "require_labels=True", opts.label_fields[0])
                continue
        else:
            names = parser.label_names(parsed.label)
            if declared_set is not None:
                unknown = [n for n in names if n not in declared_set]
                if unknown:
                    problem(loc, f"label {unknown[0]!r} is not in the declared labels {declared}",
                            opts.label_value(record)[0])
                    continue
            seen_labels.update(names)

        raw_id = record.get(opts.id_field)
        has_id = raw_id is not None
        if first_id_presence is None:
            first_id_presence = (has_id, loc)
        elif has_id != first_id_presence[0]:
            other = describe(first_id_presence[1])
            problem(loc, f"this record has no {opts.id_field!r} but {other} has one; give every record an id or none"
                    if not has_id else
                    f"this record has an {opts.id_field!r} but {other} has none; give every record an id or none",
                    opts.id_field)
            continue
        if has_id:
            if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or raw_id == "":
                problem(loc, f"id must be a non-empty string or an integer, got {raw_id!r}", opts.id_field)
                continue
            record_id = raw_id
        else:
            record_id = number if loc.default_id is None else loc.default_id
        key = str(record_id)
        if key in seen_ids:
            problem(loc, f"duplicate id {record_id!r} (first on {describe(seen_ids[key])})", opts.id_field)
            continue
        seen_ids[key] = loc

        ids.append(record_id)
        texts.append(parsed.text)
        all_labels.append(parsed.label)
        tokens.append(parsed.tokens)

    if problems:
        _raise_collected(problems)
    if not texts:
        raise DataError("empty file: no records" if sized else "empty input: no records", source=name)
    labeled = any(label is not None for label in all_labels)
    return Corpus(
        ids=ids,
        texts=texts,
        task=task,  # type: ignore[arg-type]
        labels=all_labels if labeled else None,
        label_set=declared if declared is not None else sorted(seen_labels),
        tokens=tokens if any(t is not None for t in tokens) else None,  # type: ignore[arg-type]
        source=name,
    )

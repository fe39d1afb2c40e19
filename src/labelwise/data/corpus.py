"""The validated, in-memory form of a labeled or unlabeled text collection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Task = Literal["multiclass", "multilabel", "ner"]
TASKS: tuple[str, ...] = ("multiclass", "multilabel", "ner")


class DataError(ValueError):
    """Bad input data: says which file, which line or row, and what was expected.

    ``line`` is 1-based for text files (what an editor shows); ``row`` is the 0-based record index for
    DataFrames and Parquet. Either may be None when the problem concerns the whole input.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 row: int | None = None, field: str | None = None):
        self.source, self.line, self.row, self.field, self.reason = source, line, row, field, message
        where = []
        if source:
            where.append(str(source))
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass
class Corpus:
    """Texts with stable ids and (optionally) labels.

    - ``ids``: one per record, unique; str or int (records without an id get their 0-based line number in JSON
      Lines, else their record number).
    - ``texts``: the raw texts (for NER: tokens joined by spaces, or characters joined for Chinese).
    - ``labels``: per record, a str (multiclass), a list[str] (multilabel), a list[str] of BIO tags (ner),
      or None where unlabeled; ``labels`` itself is None for a fully unlabeled corpus.
    - ``label_set``: the ordered label vocabulary (declared, or sorted labels seen); model columns follow it.
      For NER it is the entity types (``PER``, ``LOC``, …), not the BIO tags.
    - ``tokens``: NER only, per record the token list.
    """

    ids: list
    texts: list[str]
    task: Task = "multiclass"
    labels: list | None = None
    label_set: list[str] = field(default_factory=list)
    tokens: list[list[str]] | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts):
            raise ValueError(f"{len(self.ids)} ids for {len(self.texts)} texts")
        if self.labels is not None and len(self.labels) != len(self.texts):
            raise ValueError(f"{len(self.labels)} labels for {len(self.texts)} texts")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def is_labeled(self) -> bool:
        return self.labels is not None and all(label is not None for label in self.labels)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Corpus:
        """A new Corpus with the records at ``indices`` (positions, not ids), label set kept."""
        idx = [int(i) for i in indices]
        return Corpus(
            ids=[self.ids[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            task=self.task,
            labels=None if self.labels is None else [self.labels[i] for i in idx],
            label_set=list(self.label_set),
            tokens=None if self.tokens is None else [self.tokens[i] for i in idx],
            source=self.source,
        )

    def label_matrix(self) -> np.ndarray:
        """Labels as model targets: (n,) int class indices (multiclass) or (n, L) 0/1 (multilabel)."""
        if self.labels is None:
            raise ValueError("corpus has no labels")
        return encode_labels(self.labels, self.label_set, self.task)


def encode_labels(labels: Sequence, label_set: Sequence[str], task: Task) -> np.ndarray:
    """Map labels to class indices (multiclass, shape (n,)) or an indicator matrix (multilabel, (n, L))."""
    index = {label: i for i, label in enumerate(label_set)}
    try:
        if task == "multiclass":
            return np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
        if task == "multilabel":
            out = np.zeros((len(labels), len(label_set)), dtype=np.int8)
            for row, names in enumerate(labels):
                for name in names:
                    out[row, index[name]] = 1
            return out
    except KeyError as err:
        raise ValueError(f"label {err.args[0]!r} is not in the label set {list(label_set)}") from None
    raise ValueError(f"encode_labels does not handle task {task!r}")


def decode_labels(y: np.ndarray, label_set: Sequence[str], task: Task) -> list:
    """Inverse of :func:`encode_labels`."""
    if task == "multiclass":
        return [label_set[int(i)] for i in y]
    return [[label_set[j] for j in np.flatnonzero(row)] for row in y]

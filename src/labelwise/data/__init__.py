"""Loading and validating text data."""

from labelwise.data.corpus import TASKS, Corpus, DataError, Task, decode_labels, encode_labels
from labelwise.data.io import atomic_path, write_atomic, write_jsonl
from labelwise.data.loaders import (
    FORMATS,
    TASK_PARSERS,
    DataWarning,
    ParsedRecord,
    ParseOptions,
    RecordError,
    TaskParser,
    load_corpus,
    register_task_parser,
)
from labelwise.data.ner import ner_record_parser

# NER records come as {"tokens", "tags"} or {"text", "spans"}; invalid BIO is repaired with a located warning.
register_task_parser("ner", ner_record_parser())

__all__ = [
    "FORMATS",
    "TASKS",
    "TASK_PARSERS",
    "Corpus",
    "DataError",
    "DataWarning",
    "ParseOptions",
    "ParsedRecord",
    "RecordError",
    "Task",
    "TaskParser",
    "decode_labels",
    "encode_labels",
    "load_corpus",
    "register_task_parser",
    "atomic_path",
    "write_atomic",
    "write_jsonl",
]

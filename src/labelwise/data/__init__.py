"""Loading and validating text data."""

from labelwise.data.corpus import TASKS, Corpus, DataError, Task, decode_labels, encode_labels
from labelwise.data.io import write_jsonl
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
    "write_jsonl",
]

"""Loading and validating text data."""

from labelwise.data.corpus import TASKS, Corpus, DataError, Task, decode_labels, encode_labels

__all__ = ["TASKS", "Corpus", "DataError", "Task", "decode_labels", "encode_labels"]

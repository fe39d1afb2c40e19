"""Argument types shared by the subcommands (argparse ``type=`` callables with clear errors)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type accepting integers >= ``minimum``; anything else is a usage error naming the bound."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value!r}")
        return number

    return parse


def output_problem(path: Path, *, kind: str = "file") -> str | None:
    """Why an output ``kind`` ("file" or "directory") could not be written at ``path``, or None. Checked before a
    long run, so a typo in an output path fails at once instead of after minutes of work."""
    if path.exists():
        if kind == "file" and path.is_dir():
            return "is a directory; expected a file name"
        if kind == "directory" and not path.is_dir():
            return "exists and is not a directory"
        return None if os.access(path, os.W_OK) else "is not writable"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is a file, not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable"
    return None

#: labelwise.loop.E5_PREFIX_SETTINGS, written out so that parsing arguments does not import numpy (a test keeps
#: them equal)
E5_PREFIX_SETTINGS = ("auto", "passage", "query")

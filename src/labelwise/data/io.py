"""Small file helpers shared by loaders and exports."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def _json_default(value: Any) -> Any:
    """Let exports hold numpy scalars and arrays (probabilities, indices) without manual conversion."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def write_jsonl(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write one JSON object per line (UTF-8, non-ASCII kept readable); return the number written.

    Atomic: the lines go to a temporary file in the same folder, which then replaces ``path`` with
    ``os.replace``, so readers never see a half-written file and a crash leaves the old file intact.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, default=_json_default))
                out.write("\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates the file 0600; keep the mode of the file being replaced, else 0644.
        # (Reading the umask would need os.umask(), which briefly changes it for every thread.)
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return count

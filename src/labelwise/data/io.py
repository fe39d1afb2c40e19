"""Small file helpers shared by loaders and exports."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
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


def _mode_for(target: Path) -> int:
    """The permission bits a replacement of ``target`` gets: those of the file it replaces, else 0644.

    mkstemp creates files 0600, which would leave results unreadable to the rest of a team. (Reading the umask
    would need os.umask(), which briefly changes it for every thread.)
    """
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o644


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends normally the file written there replaces
    ``path`` (``os.replace``), otherwise it is deleted. Readers see the old file or the complete new one.

    ``suffix``: for writers that pick the format from the name (matplotlib's ``savefig``: ``.png``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8, or bytes) to ``path`` atomically (:func:`atomic_path`), synced to
    disk; returns the path."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return Path(path)


def write_jsonl(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write one JSON object per line (UTF-8, non-ASCII kept readable); return the number written.

    Atomic (:func:`atomic_path`): readers never see a half-written file and a crash leaves the old file intact.
    """
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, default=_json_default))
            out.write("\n")
            count += 1
        out.flush()
        os.fsync(out.fileno())
    return count

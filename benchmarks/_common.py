"""Shared bits of the benchmark scripts: where the data is, and appending a dated section to RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("LABELWISE_DATASETS", ROOT / ".." / "shared" / "datasets")).resolve()
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def datasets_dir() -> Path:
    """The shared datasets (never copied into the repository); LABELWISE_DATASETS overrides."""
    return DATASETS


def machine() -> str:
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        uname = platform.platform()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{uname}; nproc={os.cpu_count()}; load avg {load}; python {platform.python_version()}"


def command() -> str:
    return " ".join(["python", *[a if re.fullmatch(r"[\w./,=:%-]+", a) else repr(a) for a in sys.argv]])


def append_dated(title: str, body: str) -> Path:
    """Append an entry stamped with date, command and machine to the section headed ``## title`` of RESULTS.md.

    Earlier entries stay: a rerun adds to the record instead of overwriting the comparison it was part of.
    """
    entry = f"### {dt.date.today().isoformat()}\n\nCommand: `{command()}`  \nMachine: {machine()}\n\n{body.strip()}\n"
    return append_results(entry, f"## {title}")


def report(title: str, script: str, argv: list[str] | None, body: str, *, section: str,
           write: bool = True) -> None:
    """Print a dated entry (title, exact command, machine, body) and append it to ``section`` of RESULTS.md."""
    cmd = f"python benchmarks/{script} " + " ".join(argv if argv is not None else sys.argv[1:])
    entry = (f"### {dt.date.today().isoformat()}: {title}\n\nCommand: `{cmd.strip()}`  \n"
             f"Machine: `{machine()}`\n\n{body.rstrip()}\n")
    print(entry)
    if write:
        print(f"appended to {append_results(entry, section)}")


def append_results(entry: str, section: str) -> Path:
    """Insert ``entry`` at the end of ``section`` of RESULTS.md (section and file created if missing)."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if section not in text:
        text = text.rstrip("\n") + f"\n\n{section}\n"
    start = text.index(section) + len(section)
    nxt = text.find("\n## ", start)
    end = len(text) if nxt == -1 else nxt + 1
    body = text[start:end].rstrip("\n")
    text = text[:start] + body + "\n\n" + entry.rstrip("\n") + "\n" + ("\n" + text[end:] if nxt != -1 else "")
    RESULTS.write_text(text, encoding="utf-8")
    return RESULTS

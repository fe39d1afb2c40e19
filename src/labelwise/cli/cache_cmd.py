"""`labelwise cache info | prune | clear`: inspect and shrink the on-disk embedding cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _size(value: str) -> int:
    from labelwise.features.cache import parse_size

    try:
        return parse_size(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def human(n: int) -> str:
    """``n`` bytes in the largest binary unit below it (1536 -> '1.5 KB'), the units ``--max-size`` accepts."""
    for unit, scale in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def register(subparsers) -> None:
    p = subparsers.add_parser("cache", help="inspect, prune or clear the embedding cache",
                              description="The on-disk cache of sentence embeddings (one SQLite file). Sizes "
                                          "take units B, KB, MB, GB, TB (powers of 1024).")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", type=Path, default=None,
                        help="cache directory (default: $LABELWISE_CACHE_DIR or ~/.cache/labelwise/embeddings)")
    q = sub.add_parser("info", parents=[common], help="path, rows and size on disk")
    q.set_defaults(handler=cmd_info)
    q = sub.add_parser("prune", parents=[common], help="delete least recently used vectors until the file fits",
                       description="Delete the least recently used vectors until the cache file fits in "
                                   "--max-size, then compact it so the disk space is freed.")
    q.add_argument("--max-size", required=True, type=_size, metavar="SIZE", help="e.g. 500MB or 2GB")
    q.set_defaults(handler=cmd_prune)
    q = sub.add_parser("clear", parents=[common], help="delete every cached vector")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.set_defaults(handler=cmd_clear)


def _open(args: argparse.Namespace):
    """The cache in ``--dir`` if it exists (never creates one), else None with an error printed."""
    from labelwise.features.cache import CACHE_FILE, EmbeddingCache, default_cache_dir

    directory = (args.dir or default_cache_dir()).expanduser()
    if not (directory / CACHE_FILE).is_file():
        print(f"labelwise cache: error: no embedding cache at {directory / CACHE_FILE}", file=sys.stderr)
        return None
    return EmbeddingCache(directory, max_bytes=None)


def cmd_info(args: argparse.Namespace) -> int:
    cache = _open(args)
    if cache is None:
        return 2
    stats = cache.stats()  # opens (and migrates) the file first, so the size below is the current one
    print(f"path: {cache.path}")
    print(f"rows: {sum(s['rows'] for s in stats.values())}")
    print(f"size on disk: {human(cache.size_bytes())} ({cache.size_bytes()} bytes)")
    for dtype, s in stats.items():
        print(f"  {dtype}: {s['rows']} rows, {human(s['vector_bytes'])} of vectors")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    cache = _open(args)
    if cache is None:
        return 2
    before = cache.size_bytes()
    deleted = cache.prune(args.max_size)
    print(f"deleted {deleted} vectors; size on disk {human(before)} -> {human(cache.size_bytes())} "
          f"(limit {human(args.max_size)})")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    cache = _open(args)
    if cache is None:
        return 2
    if not args.yes:
        if not sys.stdin.isatty():
            print("labelwise cache: error: refusing to clear without confirmation; pass --yes",
                  file=sys.stderr)
            return 2
        answer = input(f"Delete all {len(cache)} cached vectors in {cache.path}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("cache kept")
            return 1
    n = len(cache)
    cache.clear()
    print(f"deleted {n} vectors; size on disk {human(cache.size_bytes())}")
    return 0

"""The `labelwise` command: each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys

# (module under labelwise.cli, its subcommands). Each module has `register(subparsers)`; the handlers it sets
# with `set_defaults(handler=...)` take the parsed args and return an exit code.
_COMMAND_MODULES = ("simulate_cmd", "app_cmd", "noise_cmd", "cache_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelwise",
        description="Active learning for text labeling: label what teaches the model most.",
    )
    from labelwise import __version__

    parser.add_argument("--version", action="version", version=f"labelwise {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"labelwise.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"labelwise.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from labelwise.data import DataError

    try:
        return int(handler(args) or 0)
    except DataError as err:
        print(f"labelwise: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labelwise: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

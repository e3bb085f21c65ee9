"""The `movierec` command line. Each subcommand lives in its own module of this package and
offers `register(subparsers)`; modules are discovered, so adding a command edits nothing here.
Packages that build on core (movierec-viz's `report`, the app's `serve`) add subcommands through
the `movierec.cli` entry-point group, so core never imports them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from importlib.metadata import entry_points

from movierec.core.errors import MovierecError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(
        prog="movierec",
        description="Movie recommenders on Netflix Prize and MovieLens data.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument(
        "--accelerator",
        choices=("auto", "tpu", "gpu", "cpu"),
        help="device for the deep-learning engines (default: $MOVIEREC_ACCELERATOR or auto)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    for entry_point in sorted(entry_points(group="movierec.cli"), key=lambda e: e.name):
        entry_point.load()(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `movierec` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.accelerator:
        os.environ["MOVIEREC_ACCELERATOR"] = args.accelerator
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except MovierecError as error:
        print(f"movierec: error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"movierec: error: {error.filename or error}: file not found", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("movierec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

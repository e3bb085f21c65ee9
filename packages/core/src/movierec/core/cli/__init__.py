"""The `movierec` command line. Each subcommand lives in its own module of this package and
offers `register(subparsers)`; modules are discovered, so adding a command edits nothing here.
Packages that build on core (movierec-viz's `report`, the app's `serve`) add subcommands through
the `movierec.cli` entry-point group, so core never imports them.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import pkgutil
import sys
import traceback
from importlib.metadata import entry_points

from movierec.core.cli._common import CommandLineParser, UsageError
from movierec.core.errors import MovierecError

VERBOSE_HELP = "log progress details; on an internal error, show the traceback"
EXIT_STATUS = """exit status:
  0  done
  1  internal error (a bug): one line, the full traceback with -v; or the output could not be
     written (disk full, I/O error): one 'movierec: error:' line says so
  2  bad input: a bad argument, a missing or malformed file, an engine that cannot run on the
     data, or a benchmark in which no engine ran; one 'movierec: error:' line names the value
  130  interrupted
  141  the reader of the output went away (a closed pipe, as in '| head'): nothing is printed,
     the status a shell reports for a Unix tool ended by SIGPIPE"""
#: 128 + SIGPIPE: what a shell reports when `yes | head` ends `yes`
EXIT_BROKEN_PIPE = 141
#: write errors that are the machine's state, not a bug and not bad input
_OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.EROFS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = CommandLineParser(
        prog="movierec",
        description="Movie recommenders on Netflix Prize and MovieLens data.",
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    parser.add_argument(
        "--accelerator",
        choices=("auto", "tpu", "gpu", "cpu", "multiworker"),
        help="device for the deep-learning engines (default: $MOVIEREC_ACCELERATOR or auto); "
        "multiworker: data-parallel over the machines named in $TF_CONFIG",
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
    for command in subparsers.choices.values():
        _accept_verbose(command)
    return parser


def _accept_verbose(command: argparse.ArgumentParser) -> None:
    """-v also after the command name; SUPPRESS keeps a -v given before it."""
    try:
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    except argparse.ArgumentError:
        pass  # the command defines its own -v


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `movierec` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"movierec: error: {error}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0
    if args.accelerator:
        os.environ["MOVIEREC_ACCELERATOR"] = args.accelerator
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not after main has returned
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except MovierecError as error:
        print(f"movierec: error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"movierec: error: {error.filename or error}: file not found", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno in _OUTPUT_ERRORS and error.filename is None:
            return _output_failed(error)
        if error.filename is None:
            return _internal_error(error, args.verbose)
        print(f"movierec: error: {error.filename}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("movierec: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug, not bad input: say so, and keep the traceback one flag away
        return _internal_error(error, args.verbose)


def _closed_pipe() -> int:
    """The reader closed the pipe: end quietly, and keep Python's exit-time flush from complaining."""
    _silence_stdout()
    return EXIT_BROKEN_PIPE


def _output_failed(error: OSError) -> int:
    """Writing the output failed for a reason of the machine's (ENOSPC ...): one line, status 1."""
    _silence_stdout()
    print(f"movierec: error: cannot write the output: {error.strerror or error}", file=sys.stderr)
    return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the buffered rest goes nowhere instead of failing again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (e.g. captured in tests): nothing to silence
        pass


def _internal_error(error: BaseException, verbose: bool) -> int:
    """Exit status 1 for a bug: the traceback with -v, else one line saying how to get it."""
    if verbose:
        traceback.print_exception(error)
    else:
        print(f"movierec: internal error: {type(error).__name__}: {_first_line(error)} "
              "(this is a bug; rerun with -v for the traceback)", file=sys.stderr)
    return 1


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else ""


if __name__ == "__main__":
    sys.exit(main())

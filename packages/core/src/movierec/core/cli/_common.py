"""Arguments and output helpers shared by subcommands: argument types that check values as they
are parsed, one-line usage errors, output paths checked before any work, and data loading."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from movierec.core.errors import DataError, MovierecError, excerpt


class UsageError(MovierecError):
    """A command-line argument that is missing or malformed (exit status 2)."""


class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one `movierec: error:` line (raised, printed by `main`)."""

    def error(self, message: str) -> NoReturn:
        """Raise the message as a UsageError that points at this command's --help."""
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _whole_number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {excerpt(text)}") from None


def k_value(text: str) -> int:
    """Type of -k: a whole number accepted by the engines' own check (check_k)."""
    from movierec.core.models.base import check_k

    try:
        return check_k(_whole_number(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def min_ratings_value(text: str) -> int:
    """Type of --min-ratings: a whole number accepted by the engines' own check (check_min_ratings)."""
    from movierec.core.models.base import check_min_ratings

    try:
        return check_min_ratings(_whole_number(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_count(text: str) -> int:
    """Type of counts such as --sample: a whole number >= 1."""
    number = _whole_number(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {excerpt(text)}")
    return number


def seed_value(text: str) -> int:
    """Type of --seed: a whole number >= 0 (numpy's generators refuse negative seeds)."""
    number = _whole_number(text)
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {excerpt(text)}")
    return number


def finite_number(text: str) -> float:
    """Type of ratings such as --threshold: a finite number (nan and inf compare false with everything)."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {excerpt(text)}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {excerpt(text)}")
    return number


def check_output_file(path: str, option: str) -> Path:
    """The file an option names, checked before any work: not a folder, in a folder we can write."""
    if not path.strip():
        raise UsageError(f"{option}: the file name is empty")
    target = _expanded(path, option)
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name inside it, e.g. {target / 'benchmark.json'}")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise UsageError(f"{option} {path}: the file exists and cannot be written")
        return target
    _check_creatable(target.parent, path, option)
    return target


def check_output_folder(path: str, option: str) -> Path:
    """The folder an option names, checked before any work: a folder (or creatable) that we can write."""
    if not path.strip():
        raise UsageError(f"{option}: the folder name is empty")
    target = _expanded(path, option)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a folder")
    _check_creatable(target, path, option)
    return target


def _expanded(path: str, option: str) -> Path:
    """`path` with ~ expanded; an unknown ~user is a usage error."""
    from movierec.core.data.files import expand_user

    try:
        return expand_user(path)
    except DataError as error:
        raise UsageError(f"{option} {error}") from None


def _check_creatable(folder: Path, path: str, option: str) -> None:
    """The nearest existing folder at or above `folder` is a writable folder (the rest is created)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: cannot write in {folder}")


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The dataset spec and the loading options every data command takes."""
    parser.add_argument("dataset", metavar="DATASET", help="'sample', 'netflix:DIR' or 'movielens:DIR'")
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="skip malformed rating lines and count them, instead of stopping at the first",
    )
    parser.add_argument(
        "--metadata",
        metavar="CSV",
        help="overviews to join: a movies_metadata.csv or an overview file keyed by ids",
    )
    parser.add_argument(
        "--links",
        metavar="CSV",
        help="Netflix id map (netflix_imdb_tmdb.csv); default: the one inside the Netflix directory",
    )


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    """-k, --min-ratings and --json, as every command that prints a list of movies takes them."""
    parser.add_argument("-k", "--k", type=k_value, default=10, help="how many movies (default 10)")
    parser.add_argument("--min-ratings", type=min_ratings_value, default=0,
                        help="leave out movies with fewer training ratings (default 0: keep all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def load_from_args(args: argparse.Namespace, need_ratings: bool = False) -> Any:
    """Load the dataset named on the command line; with `need_ratings`, an empty one is an error."""
    from movierec.core.data import load_dataset

    dataset = load_dataset(args.dataset, lenient=args.lenient, metadata=args.metadata, links=args.links)
    if need_ratings and len(dataset.ratings) == 0:
        skipped = f", {dataset.skipped_lines:,} malformed lines skipped" if dataset.skipped_lines else ""
        raise DataError(f"{dataset.spec}: no ratings loaded{skipped}; `movierec stats` shows what was found")
    return dataset


def print_json(value: Any) -> None:
    """Print one JSON document to stdout."""
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")

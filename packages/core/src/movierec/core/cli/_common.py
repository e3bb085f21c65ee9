"""Arguments and output helpers shared by subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


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


def load_from_args(args: argparse.Namespace) -> Any:
    """Load the dataset named on the command line."""
    from movierec.core.data import load_dataset

    return load_dataset(args.dataset, lenient=args.lenient, metadata=args.metadata, links=args.links)


def print_json(value: Any) -> None:
    """Print one JSON document to stdout."""
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")

"""`movierec stats DATASET [--json]`: what a dataset holds.

DATASET is 'sample', 'netflix:DIR' or 'movielens:DIR'. A Netflix directory may hold the Kaggle
files (combined_data_*.txt, movie_titles.csv), the original ones (training_set/mv_*.txt,
movie_titles.txt) or both; a netflix_imdb_tmdb.csv inside it links titles to TMDB/IMDb ids
(--links names one elsewhere). --metadata joins overviews (movies_metadata.csv or an overview
file keyed by ids) and the notes say how many titles matched.
"""

from __future__ import annotations

import argparse

from movierec.core.cli._common import add_dataset_arguments, load_from_args, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `stats` subcommand."""
    parser = subparsers.add_parser(
        "stats",
        help="summarize a dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dataset_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the dataset and print its summary."""
    stats = load_from_args(args).stats()
    if args.json:
        print_json(stats)
        return 0
    width = max(len(k) for k in stats)
    for key, value in stats.items():
        if key == "notes":
            for note in value:
                print(f"{'note':<{width}}  {note}")
        elif isinstance(value, float) and key == "density":
            print(f"{key:<{width}}  {value:.4%}")
        elif isinstance(value, int):
            print(f"{key:<{width}}  {value:,}")
        else:
            print(f"{key:<{width}}  {value}")
    return 0

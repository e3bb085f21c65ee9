"""`movierec predict netflix:DIR --engine NAME --qualifying OUT`: a Netflix Prize submission file.

The engine is fitted on every rating of the folder, then predicts each line of its qualifying.txt:
OUT repeats that file's `MovieID:` lines, each followed by one predicted rating (clipped to 1..5,
three decimals) per qualifying line, in the same order, as the Prize took its submissions. The
engine name and OUT are checked before the data is loaded; a folder without qualifying.txt is an
error. Engines whose `predict` takes a `date` get each qualifying line's date.
"""

from __future__ import annotations

import argparse

from movierec.core.cli._common import add_dataset_arguments, check_output_file, load_from_args
from movierec.core.errors import DataError, UnsupportedError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predict", help="predict the Netflix Prize's qualifying set", description=__doc__)
    add_dataset_arguments(parser)
    parser.add_argument("--engine", required=True, help="a rating engine's name, e.g. baseline")
    parser.add_argument("--qualifying", metavar="OUT", required=True,
                        help="write the predictions for qualifying.txt to this file (the Prize's format)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from movierec.core.evaluation.qualifying import write_qualifying
    from movierec.core.models.registry import create_engine

    engine = create_engine(args.engine)  # an unknown name fails before the data is loaded
    if not engine.predicts_ratings:
        raise UnsupportedError(f"{args.engine} ranks movies but does not predict ratings; "
                               "--qualifying needs a rating engine, e.g. baseline")
    output = check_output_file(args.qualifying, "--qualifying")
    dataset = load_from_args(args, need_ratings=True)
    if dataset.qualifying is None:
        raise DataError(f"{dataset.spec}: no qualifying.txt in the folder; --qualifying predicts its lines "
                        "(the Netflix Prize download has it beside probe.txt)")
    engine.fit(dataset.ratings, dataset.movies)
    rows = len(dataset.qualifying)
    if args.quiet:
        write_qualifying(engine, dataset.qualifying, output)
    else:
        from tqdm.auto import tqdm

        with tqdm(total=rows, unit="line", desc="qualifying") as bar:
            write_qualifying(engine, dataset.qualifying, output, progress=bar.update)
    print(f"wrote {rows:,} predictions for {dataset.qualifying['movie'].nunique():,} movies to {output}")
    return 0

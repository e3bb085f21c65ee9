"""`movierec report DATASET --out DIR [--benchmark JSON ...]`: every chart as HTML and PNG, with an index.html."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `report` subcommand (entry point of the `movierec.cli` group)."""
    from movierec.core.cli._common import add_dataset_arguments

    parser = subparsers.add_parser("report", help="write every chart as HTML and PNG", description=__doc__)
    add_dataset_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write (created)")
    parser.add_argument(
        "--benchmark", action="append", default=[], metavar="JSON",
        help="benchmark file written by `movierec benchmark` (repeatable): adds heatmaps and fit-time charts",
    )
    parser.add_argument("--no-png", action="store_true", help="HTML only (no browser needed)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the dataset and benchmarks, write the report, print the index path."""
    from movierec.core.cli._common import check_output_folder, load_from_args
    from movierec.core.evaluation.results import load_benchmark
    from movierec.viz.report import benchmark_charts, data_charts, write_report

    check_output_folder(args.out, "--out")  # before hours of chart rendering, not after
    results = [(Path(path), load_benchmark(path)) for path in args.benchmark]
    charts = data_charts(load_from_args(args))
    stems = [path.stem for path, _ in results]
    for path, result in results:
        name = path.stem if stems.count(path.stem) == 1 else f"{path.parent.name}_{path.stem}"
        charts.extend(benchmark_charts(result, name))
    index = write_report(charts, args.out, png=not args.no_png)
    print(index)
    return 0

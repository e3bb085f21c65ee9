"""`movierec benchmark DATASET --engines mean,baseline | --suite classic --split kfold:5 --json OUT`.

Fits every engine on the same folds and prints mean +- std over folds; `--json` writes the tidy
table (format movierec-benchmark/1) that `movierec report` and the app read. Arguments and the
--json path are checked before any data is loaded. An engine that cannot run on the data is left
out of the table and named on stderr (exit status 0 when at least one engine ran, 2 when none did).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from movierec.core.cli._common import (
    UsageError,
    add_dataset_arguments,
    check_output_file,
    finite_number,
    k_value,
    load_from_args,
    positive_count,
    seed_value,
)
from movierec.core.data.split import SPLIT_HELP, parse_split
from movierec.core.errors import MovierecError

SUITES = ("classic", "surprise", "deep", "lightfm", "ensemble", "all")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("benchmark", help="compare engines on the same folds", description=__doc__)
    add_dataset_arguments(parser)
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--engines", metavar="NAMES", help="comma-separated engine names (default: mean,baseline)")
    chosen.add_argument("--suite", choices=SUITES, help="every installed engine of a family")
    parser.add_argument("--split", default="kfold:5",
                        help=f"{SPLIT_HELP} (default kfold:5); predefined = MovieLens 100k's u1..u5")
    parser.add_argument("-k", "--k", type=k_value, default=10, help="length of the top-k lists (default 10)")
    parser.add_argument("--sample", type=positive_count, metavar="N",
                        help="benchmark on a seeded random sample of N ratings")
    parser.add_argument("--seed", type=seed_value, default=42, help="seed of the split and the sample (default 42)")
    parser.add_argument("--threshold", type=finite_number, help="count only test movies rated >= this as relevant")
    parser.add_argument("--json", metavar="OUT", help="write the tidy result table to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def selected_engines(engines: str | None, suite: str | None) -> list[str]:
    """Engine names from --engines or --suite, checked against the registry."""
    from movierec.core.models.registry import ENGINES, engine_names

    if suite:
        names = engine_names(None if suite == "all" else suite, available_only=True)
        if not names:
            raise MovierecError(f"suite {suite!r}: none of its engines is installed here")
        return names
    names = [n.strip() for n in ("mean,baseline" if engines is None else engines).split(",") if n.strip()]
    if not names:
        raise UsageError(f"--engines {engines!r}: no engine names; give e.g. --engines mean,baseline")
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        raise MovierecError(f"unknown engine(s) {', '.join(unknown)}; known engines: {', '.join(ENGINES)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"--engines {engines!r}: {', '.join(repeated)} listed more than once")
    return names


def run(args: argparse.Namespace) -> int:
    from movierec.core.accelerator import is_chief
    from movierec.core.evaluation import run_benchmark

    engines = selected_engines(args.engines, args.suite)
    split = parse_split(args.split)
    output = None if args.json is None else check_output_file(args.json, "--json")
    dataset = load_from_args(args, need_ratings=True)
    result = run_benchmark(
        dataset, split, engines, k=args.k, seed=args.seed, sample=args.sample,
        threshold=args.threshold, progress=not args.quiet,
    )
    failures = result.failures
    if len(failures) == len(engines):
        for engine, message in failures.items():
            print(f"movierec: {engine} failed: {message}", file=sys.stderr)
        raise MovierecError(f"no engine could run on {dataset.spec} with split {split}: see the reasons above")
    print(summary_text(result.summary()))
    print(f"\n{result.protocol}")
    for engine, message in failures.items():
        print(f"movierec: warning: {engine} failed and is not in the table: {message}", file=sys.stderr)
    if failures:
        print(f"movierec: warning: {len(failures)} of {len(engines)} engines failed", file=sys.stderr)
    if output is not None and is_chief():  # in multi-worker training only the chief writes
        print(f"wrote {result.save(output)}")
    return 0


def summary_text(summary: pd.DataFrame) -> str:
    """Engines as rows, metrics as 'mean +- std' columns, plus fit and predict seconds."""
    if summary.empty:
        return "no results"
    cells = summary.assign(text=[
        f"{m:.4f}" if s == 0 else f"{m:.4f}±{s:.4f}" for m, s in zip(summary["mean"], summary["std"])
    ])
    metrics = list(dict.fromkeys(summary["metric"]))
    engines = list(dict.fromkeys(summary["engine"]))
    table = cells.pivot(index="engine", columns="metric", values="text").reindex(index=engines, columns=metrics)
    seconds = summary.groupby("engine", sort=False)[["fit_seconds", "predict_seconds"]].max()
    table["fit s"] = seconds["fit_seconds"].map("{:.2f}".format)
    table["predict s"] = seconds["predict_seconds"].map("{:.2f}".format)
    return table.fillna("-").to_string()

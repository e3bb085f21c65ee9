"""Netflix ratings loading: movierec's parser against the notebook's method, on a generated file.

Generates (and caches) a combined_data_1.txt-like file: 24,053,764 ratings over 4,499 movies
and about 470k customers, dates 1999-11-11..2005-12-31. Each method runs in its own subprocess,
so peak RSS (VmHWM) is measured per method. The notebook's method is pandas read_csv, then one
`.loc` slice per movie between header rows, then concat; its counts are shown against the truth.

    hatch run python benchmarks/bench_loading.py --repeat 3       # the full 24M-rating file
    hatch run python benchmarks/bench_loading.py --ratings 2000000
    hatch run python benchmarks/bench_loading.py --files 4 --ratings 25120127   # full-Prize scale
    hatch run python benchmarks/bench_loading.py --skip-notebook --repeat 3 --baseline /tmp/old/src
    hatch run python benchmarks/bench_loading.py --repeat 3 --csv-libraries   # polars and pyarrow too

movierec's figure is the whole folder loader (`load_netflix`: parsing, then the check for repeated
(user, movie) pairs), as `load_dataset("netflix:DIR")` runs it. --csv-libraries also reads the
first file into the same table with the block parser alone, with polars and with pyarrow.

--baseline SRC times the parser of another source tree (a folder holding movierec/, e.g. an
older commit's packages/core/src, from `git archive`) alternately with this one: before/after
figures met under the same machine load.

Wall time and CPU time (user + system, parsing only: imports happen before the clock starts)
are both printed, best of --repeat runs; the methods alternate, so both meet the same machine
load. Files go to benchmarks/out/ (or --cache DIR); delete them to regenerate.
"""

from __future__ import annotations

import importlib.util

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

COMBINED_DATA_1 = 24_053_764  # ratings in the real combined_data_1.txt
MOVIES_PER_FILE = 4_499
FULL_PRIZE = 100_480_507

MOVIEREC_METHOD = """
import json, sys, time
from pathlib import Path
from movierec.core.data import netflix
from movierec.core.data.spec import load_netflix
reader = getattr(netflix, "reader", netflix)  # WORKERS lives in the reader module; a --baseline tree may lack it
reader.WORKERS = int(sys.argv[1]) or reader.WORKERS
paths = [Path(p) for p in sys.argv[2:]]
start, cpu = time.perf_counter(), time.process_time()
dataset = load_netflix(paths[0].parent, spec="bench")  # the whole loader: parse, repeat check
ratings = dataset.ratings
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "ratings": len(ratings), "workers": reader.WORKERS,
                  "movies": int(ratings["movie"].nunique()), "repeated": dataset.repeated_ratings,
                  "table_bytes": int(ratings.memory_usage(deep=True).sum()),
                  "peak_rss": _peak()}))
"""

# --csv-libraries: one combined_data file to the canonical table, by the block parser alone and by
# the two CSV libraries. The libraries check field types only: a damaged header, a rating of 7
# or a line before any header would need checks of their own to be named by file and line.
PARSER_METHOD = """
import json, sys, time
from movierec.core.data.netflix import read_netflix_ratings
start, cpu = time.perf_counter(), time.process_time()
ratings = read_netflix_ratings(sys.argv[1]).ratings
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "ratings": len(ratings), "movies": int(ratings["movie"].nunique()),
                  "peak_rss": _peak()}))
"""

#: the end of the polars and pyarrow methods: from `table` and `movie`, the frame movierec returns, then the figures
TABLE_REPORT = """
ratings = pd.DataFrame({"user": table["user"].to_numpy(), "movie": movie,
                        "rating": table["rating"].to_numpy(),
                        "date": table["date"].to_numpy().astype("datetime64[s]")})
del table
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "ratings": len(ratings), "movies": int(ratings["movie"].nunique()),
                  "peak_rss": _peak()}))
"""

POLARS_METHOD = """
import json, sys, time
import pandas as pd, polars as pl
start, cpu = time.perf_counter(), time.process_time()
raw = pl.read_csv(sys.argv[1], has_header=False, new_columns=["user", "rating", "date"],
                  schema_overrides={"user": pl.Utf8, "rating": pl.Int8, "date": pl.Utf8},
                  truncate_ragged_lines=True)  # a header line 'MovieID:' has one field
header = raw["rating"].is_null()
table = raw.select(
    user=pl.when(~header).then(pl.col("user")).cast(pl.Int32),
    movie=pl.when(header).then(pl.col("user").str.strip_suffix(":")).cast(pl.Int32).forward_fill(),
    rating=pl.col("rating").cast(pl.Float32),
    date=pl.col("date").str.to_datetime("%Y-%m-%d", time_unit="ms"),
).filter(~header)
del raw, header
movie = table["movie"].to_numpy()
""" + TABLE_REPORT

PYARROW_METHOD = """
import json, sys, time
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.csv as csv
start, cpu = time.perf_counter(), time.process_time()
headers = []  # (physical row, text) of each 'MovieID:' line, which has one field, not three
def header(row):
    headers.append((row.number, row.text))
    return "skip"
table = csv.read_csv(
    sys.argv[1],
    # one thread: only then does the handler learn the row number that places a header
    read_options=csv.ReadOptions(column_names=["user", "rating", "date"], use_threads=False),
    parse_options=csv.ParseOptions(invalid_row_handler=header),
    convert_options=csv.ConvertOptions(column_types={"user": pa.int32(), "rating": pa.float32(), "date": pa.date32()}),
)
rows = np.array([number for number, _ in headers], dtype=np.int64)
first = rows - 1 - np.arange(len(rows))  # the first kept row under each header
counts = np.diff(np.r_[first, table.num_rows])
movie = np.repeat(np.array([int(text[:-1]) for _, text in headers], dtype=np.int32), counts)
""" + TABLE_REPORT

NOTEBOOK_METHOD = """
import json, sys, time
from collections import deque
import pandas as pd
start, cpu = time.perf_counter(), time.process_time()
df_raw = pd.read_csv(sys.argv[1], header=None, names=["User", "Rating", "Date"], usecols=[0, 1, 2])
tmp_movies = df_raw[df_raw["Rating"].isna()]["User"].reset_index()
movie_indices = [[index, int(movie[:-1])] for index, movie in tmp_movies.values]
shifted_movie_indices = deque(movie_indices)
shifted_movie_indices.rotate(-1)
user_data = []
for [df_id_1, movie_id], [df_id_2, next_movie_id] in zip(movie_indices, shifted_movie_indices):
    if df_id_1 == df_id_2:
        tmp_df = df_raw.loc[df_id_1 + 1 : df_id_2 - 1].copy()
    else:
        tmp_df = df_raw.loc[df_id_1 + 1 : df_id_2].copy()
    tmp_df["Movie"] = movie_id
    user_data.append(tmp_df)
df = pd.concat(user_data)
del user_data, df_raw
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "ratings": len(df), "movies": int(df["Movie"].nunique()),
                  "header_rows_leaked": int(df["Rating"].isna().sum()),
                  "table_bytes": int(df.memory_usage(deep=True).sum()),
                  "peak_rss": _peak()}))
"""

PEAK = """
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""


LIBRARY_METHODS = {"block parser": PARSER_METHOD, "polars": POLARS_METHOD, "pyarrow": PYARROW_METHOD}


def generate(cache: Path, n_ratings: int, n_files: int) -> tuple[list[Path], int]:
    """Write (or reuse) n_files combined_data files; return them and the true rating count."""
    from movierec.core.data.synthetic import write_netflix_ratings

    folder = cache / f"netflix_{n_files}x{n_ratings}"
    folder.mkdir(parents=True, exist_ok=True)
    paths, total = [], 0
    for index in range(n_files):
        path = folder / f"combined_data_{index + 1}.txt"
        count_file = path.with_suffix(".count")
        if not (path.exists() and count_file.exists()):
            started = time.perf_counter()
            count = write_netflix_ratings(
                path, n_ratings, n_movies=MOVIES_PER_FILE, first_movie=1 + index * MOVIES_PER_FILE,
                seed=index,
            )
            count_file.write_text(str(count))
            print(f"generated {path} ({count:,} ratings) in {time.perf_counter() - started:.0f} s")
        paths.append(path)
        total += int(count_file.read_text())
    return paths, total


def run_once(code: str, args: list[str], source: Path | None = None) -> dict:
    """Run one method in a fresh interpreter (movierec from `source` if given); return its report."""
    _warm_cache([Path(a) for a in args if a.endswith(".txt")])
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", PEAK + code, *args], capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise SystemExit(f"method failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def best(reports: list[dict]) -> dict:
    """The lowest wall and CPU times over repeated runs (each may come from another run)."""
    fastest = min(reports, key=lambda report: report["cpu"])
    return fastest | {"seconds": min(report["seconds"] for report in reports)}


def _warm_cache(paths: list[Path]) -> None:
    """Read the files once, so neither method pays for the disk and both read from memory."""
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass


def main(argv: list[str] | None = None) -> None:
    """Command line: generate, parse both ways, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=COMBINED_DATA_1, help="ratings per file")
    parser.add_argument("--files", type=int, default=1, help="combined_data files (movierec only if > 1)")
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--skip-notebook", action="store_true", help="time movierec alone")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method; the fastest counts")
    parser.add_argument(
        "--workers", type=int, default=0, help="parser threads (default: the library's choice)"
    )
    parser.add_argument(
        "--baseline", type=Path, default=None,
        help="a source folder holding another movierec (e.g. an older commit) to time alternately",
    )
    parser.add_argument(
        "--csv-libraries", action="store_true",
        help="also read the first file with polars and pyarrow (pip install polars pyarrow: not project "
             "dependencies), against the block parser alone",
    )
    args = parser.parse_args(argv)
    if args.csv_libraries:
        missing = [name for name in ("polars", "pyarrow") if importlib.util.find_spec(name) is None]
        if missing:
            parser.error(f"--csv-libraries needs {' and '.join(missing)}: pip install {' '.join(missing)}")

    paths, truth = generate(args.cache, args.ratings, args.files)
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} file(s), {size / 2**20:,.0f} MiB, {truth:,} ratings")
    compare = len(paths) == 1 and not args.skip_notebook
    ours_runs, notebook_runs, baseline_runs = [], [], []
    library_runs: dict[str, list[dict]] = {name: [] for name in LIBRARY_METHODS} if args.csv_libraries else {}
    for _ in range(args.repeat):  # interleaved, so all methods meet the same machine load
        ours_runs.append(run_once(MOVIEREC_METHOD, [str(args.workers), *map(str, paths)]))
        for name, runs in library_runs.items():
            runs.append(run_once(LIBRARY_METHODS[name], [str(paths[0])]))
        if compare:
            notebook_runs.append(run_once(NOTEBOOK_METHOD, [str(paths[0])]))
        if args.baseline is not None:
            baseline_runs.append(run_once(MOVIEREC_METHOD, [str(args.workers), *map(str, paths)], args.baseline))
    ours = best(ours_runs)
    gib = 2**30
    if baseline_runs:
        base = best(baseline_runs)
        print(
            f"baseline : {base['seconds']:6.2f} s (CPU {base['cpu']:6.2f} s)  peak RSS "
            f"{base['peak_rss'] / gib:5.2f} GiB  {base['ratings']:,} ratings  ({args.baseline})"
        )
    print(
        f"movierec : {ours['seconds']:6.2f} s (CPU {ours['cpu']:6.2f} s)  "
        f"peak RSS {ours['peak_rss'] / gib:5.2f} GiB  {ours['ratings']:,} ratings, "
        f"{ours['movies']:,} movies, {ours['repeated']:,} repeated pairs, {ours['workers']} thread(s)  "
        f"({ours['table_bytes'] / ours['ratings']:.1f} bytes/rating in the table)"
    )
    if ours["ratings"] != truth:
        raise SystemExit(f"movierec counted {ours['ratings']:,} ratings, expected {truth:,}")
    if library_runs:
        parser_alone = best(library_runs["block parser"])
        for name, runs in library_runs.items():
            lib = best(runs)
            print(
                f"  {name:13s}: {lib['seconds']:6.2f} s (CPU {lib['cpu']:6.2f} s)  peak RSS "
                f"{lib['peak_rss'] / gib:5.2f} GiB  {lib['ratings']:,} ratings, {lib['movies']:,} movies  "
                f"({lib['seconds'] / parser_alone['seconds']:.2f}x the block parser's wall time)"
            )
    if compare:
        notebook = best(notebook_runs)
        kept = notebook["ratings"] - notebook["header_rows_leaked"]
        print(
            f"notebook : {notebook['seconds']:6.2f} s (CPU {notebook['cpu']:6.2f} s)  "
            f"peak RSS {notebook['peak_rss'] / gib:5.2f} GiB  {notebook['ratings']:,} rows, "
            f"{notebook['movies']:,} movies ({notebook['header_rows_leaked']:,} header rows "
            f"leaked, {truth - kept:,} ratings dropped: the last movie)"
        )
        print(
            f"speed-up {notebook['seconds'] / ours['seconds']:.1f}x wall, "
            f"{notebook['cpu'] / ours['cpu']:.1f}x CPU; "
            f"peak memory {ours['peak_rss'] / notebook['peak_rss']:.2f} of the notebook's"
        )
    if ours["ratings"] < 10_000_000:
        return  # below that the interpreter's own memory dominates the rate
    per_rating = ours["peak_rss"] / ours["ratings"]
    print(
        f"peak RSS per rating: {per_rating:.1f} bytes; "
        f"full Netflix Prize ({FULL_PRIZE:,} ratings) at that rate: {per_rating * FULL_PRIZE / gib:.2f} GiB"
    )


if __name__ == "__main__":
    main()

"""Time the MovieLens ratings reader on a generated ratings.csv against plain pandas read_csv.

    hatch run python benchmarks/bench_movielens_loading.py [N_RATINGS]   (default 5,000,000)

Each method runs in a fresh process so peak RSS is its own. A second file with one malformed
line appended shows the cost of the checked, lenient re-read.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
OUT = Path(__file__).resolve().parent / "out" / "movielens"

CHILD = r'''
import resource, sys, time
import pandas as pd
from movierec.core.data.rating_file import read_rating_file
path, how = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if how.startswith("movierec"):
    table, skipped = read_rating_file(path, ",", "userId,movieId,rating,timestamp", lenient=True)
else:  # the obvious alternative: read_csv with inferred dtypes, then to_datetime
    table = pd.read_csv(path)
    table["date"] = pd.to_datetime(table["timestamp"], unit="s")
    skipped = 0
elapsed = time.perf_counter() - t
print(f"{how},{len(table)},{skipped},{elapsed:.2f},{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
'''


def generate(folder: Path) -> Path:
    """Write a ratings.csv of N rows in the MovieLens 25M layout (cached between runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ratings.csv"
    if path.exists() and path.stat().st_size > N * 20:
        return path
    rng = np.random.default_rng(0)
    users = np.sort(rng.integers(1, 162_542, N))
    movies = rng.integers(1, 209_172, N)
    ratings = rng.integers(1, 11, N) / 2
    stamps = rng.integers(789_652_009, 1_574_327_703, N)
    with open(path, "w") as out:
        out.write("userId,movieId,rating,timestamp\n")
        for start in range(0, N, 1_000_000):
            s = slice(start, start + 1_000_000)
            columns = [users[s].astype(str), movies[s].astype(str), np.char.mod("%.1f", ratings[s]), stamps[s].astype(str)]
            block = columns[0]
            for column in columns[1:]:
                block = np.char.add(np.char.add(block, ","), column)
            out.write("\n".join(block.tolist()) + "\n")
    return path


def main() -> None:
    path = generate(OUT / "good")
    bad = OUT / "bad" / "ratings.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, bad)
    with open(bad, "a") as handle:
        handle.write("1,x,4.0,1\n")
    print(f"{N:,} ratings, {path.stat().st_size / 1e6:.0f} MB")
    results = {}
    for how, file in (("pandas-default", path), ("movierec", path), ("movierec-bad-line", bad)):
        out = subprocess.run([sys.executable, "-c", CHILD, str(file), how], capture_output=True, text=True, check=True)
        name, rows, skipped, seconds, rss = out.stdout.strip().split(",")
        results[name] = (float(seconds), float(rss))
        print(f"{name:18s} rows={rows} skipped={skipped} wall={seconds}s peak_rss={rss}MB")
    base = results["pandas-default"]
    for name in ("movierec", "movierec-bad-line"):
        print(f"{name}: {base[0] / results[name][0]:.2f}x faster, {results[name][1] / base[1]:.2f}x the peak memory of pandas-default")


if __name__ == "__main__":
    main()

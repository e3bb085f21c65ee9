"""The Netflix Prize protocol on generated data: reading probe.txt and qualifying.txt, the probe
split and the qualifying writer, at a size given by --ratings.

Generates (and caches under benchmarks/out/prize/) combined_data files in the Prize layout (as
bench_loading.py does: 25,120,127 ratings a file at most, 4,499 movies each), then probe.txt and
qualifying.txt beside them with synthetic.write_prize_files (1.4 % of the ratings as probe pairs,
2.8 % as qualifying lines, the Prize's shares). One fresh interpreter then times each step and
prints its wall and CPU time and the peak RSS (VmHWM) so far:

    hatch run python benchmarks/bench_probe.py                       # 2M ratings
    hatch run python benchmarks/bench_probe.py --ratings 24053764    # combined_data_1.txt's size
    hatch run python benchmarks/bench_probe.py --ratings 100480507   # the whole Prize

The steps: load_netflix (ratings, probe and qualifying files), read_probe and read_qualifying
again on their own, the probe split (iter_folds), fitting the engine on all ratings (--engine,
default baseline; shown, not part of the writer), and write_qualifying.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_loading import MOVIES_PER_FILE, PEAK, generate  # noqa: E402

PER_FILE = 25_120_127  # ratings a generated file holds at most (a quarter of the Prize)

STEPS = """
import json, sys, time
from pathlib import Path
from movierec.core.data import iter_folds
from movierec.core.data.netflix import load_netflix
from movierec.core.data.netflix.prize import read_probe, read_qualifying
from movierec.core.evaluation.qualifying import write_qualifying
from movierec.core.models.registry import create_engine
folder, engine_name, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
report = {}
def step(name, work):
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    report[name] = {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "peak_rss": _peak()}
    return result
dataset = step("load_netflix (ratings, probe, qualifying)", lambda: load_netflix(folder, spec="bench"))
step("read_probe alone", lambda: read_probe(folder / "probe.txt"))
step("read_qualifying alone", lambda: read_qualifying(folder / "qualifying.txt"))
fold = step("probe split", lambda: next(iter_folds(dataset, "probe")))
sizes = {"ratings": len(dataset.ratings), "probe": len(dataset.probe), "qualifying": len(dataset.qualifying),
         "train": len(fold.train), "test": len(fold.test)}
del fold
engine = step(f"fit {engine_name} on all ratings", lambda: create_engine(engine_name).fit(dataset.ratings))
step("write_qualifying", lambda: write_qualifying(engine, dataset.qualifying, out))
print(json.dumps({"steps": report, "sizes": sizes}))
"""


def prize_folder(cache: Path, n_ratings: int) -> tuple[Path, int]:
    """A cached folder of generated combined_data files plus probe.txt and qualifying.txt."""
    from movierec.core.data.synthetic import write_prize_files

    n_files = -(-n_ratings // PER_FILE)
    per_file = -(-n_ratings // n_files)
    paths, total = generate(cache / "prize", per_file, n_files)  # apart from bench_loading's files
    folder = paths[0].parent
    if not (folder / "qualifying.txt").exists():
        started = time.perf_counter()
        sizes = write_prize_files(folder)
        print(f"generated probe.txt ({sizes['probe']:,} pairs) and qualifying.txt "
              f"({sizes['qualifying']:,} lines) in {time.perf_counter() - started:.0f} s")
    return folder, total


def main(argv: list[str] | None = None) -> None:
    """Command line: generate, run the steps in a fresh interpreter, print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=2_000_000, help="ratings in all (default 2,000,000)")
    parser.add_argument("--engine", default="baseline", help="engine that predicts the qualifying set")
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)

    folder, total = prize_folder(args.cache, args.ratings)
    size = sum(p.stat().st_size for p in folder.glob("*.txt"))
    print(f"{folder}: {total:,} ratings in {len(list(folder.glob('combined_data_*.txt')))} file(s) "
          f"of {MOVIES_PER_FILE:,} movies each, {size / 2**20:,.0f} MiB with probe and qualifying")
    out = args.cache / "qualifying_predictions.txt"
    result = subprocess.run(
        [sys.executable, "-c", PEAK + STEPS, str(folder), args.engine, str(out)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the steps failed:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    sizes = report["sizes"]
    print(f"{sizes['ratings']:,} ratings, {sizes['probe']:,} probe pairs (train {sizes['train']:,}, "
          f"test {sizes['test']:,}), {sizes['qualifying']:,} qualifying lines")
    for name, figures in report["steps"].items():
        print(f"  {name:42s} {figures['seconds']:7.2f} s (CPU {figures['cpu']:7.2f} s)  "
              f"peak RSS so far {figures['peak_rss'] / 2**30:5.2f} GiB")
    head = out.read_text().splitlines()[:4]
    print(f"{out}: first lines {head}")


if __name__ == "__main__":
    main()

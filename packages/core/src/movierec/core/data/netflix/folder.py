"""A Netflix Prize folder, in the Kaggle layout (combined_data_*.txt), the original one
(training_set/mv_*.txt) or both, loaded into one Dataset."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from movierec.core.data.files import reading
from movierec.core.data.metadata import NETFLIX_LINKS, attach_netflix_links
from movierec.core.data.netflix import reader
from movierec.core.data.netflix.prize import find_prize_files, read_probe, read_qualifying
from movierec.core.data.netflix.reader import RatingColumns, parse_ratings_into, read_movie_titles
from movierec.core.data.tables import Dataset, make_movies, runs_of
from movierec.core.errors import DataError


def load_netflix(
    directory: str | Path, spec: str, lenient: bool = False, links: str | Path | None = None
) -> Dataset:
    """Load a Netflix Prize directory in the Kaggle or the original layout, or both.

    Kaggle's combined_data_*.txt files are read first; a per-movie mv_NNNNNNN.txt file (in
    training_set/, or directly in the directory, with a note) is read only when no combined file
    holds its movie, so each rating counts once. A movie in two combined files, or two per-movie
    files of one movie (mv_0000001.txt and mv_1.txt), is an error naming both files. A header
    repeated within one file merges its ratings (noted); a (user, movie) pair rated more than
    once keeps its last rating (counted in `Dataset.repeated_ratings`). A directory that yields
    no rating is an error saying what was found. Titles come from movie_titles.csv (or .txt);
    TMDB/IMDb ids from `links`, by default the netflix_imdb_tmdb.csv in the directory. The
    Prize's probe.txt and qualifying.txt, where present, become `Dataset.probe` and
    `Dataset.qualifying` (prize.py: their rules).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: Netflix directory not found")
    with reading(directory):
        return _load_netflix(directory, spec, lenient, links)


def _load_netflix(directory: Path, spec: str, lenient: bool, links: str | Path | None) -> Dataset:
    combined = sorted(directory.glob("combined_data_*.txt"), key=_natural_key)
    per_movie = _per_movie_files([directory / "training_set", directory])
    titles_path = next(
        (p for p in (directory / "movie_titles.csv", directory / "movie_titles.txt") if p.exists()),
        None,
    )
    if not combined and not per_movie and titles_path is None:
        raise DataError(
            f"{directory}: no Netflix Prize files (expected combined_data_*.txt or "
            "training_set/mv_*.txt, and movie_titles.csv or movie_titles.txt)"
        )
    notes: list[str] = []
    columns = RatingColumns(sum(_size(p) for p in [*combined, *per_movie.values()]))
    skipped = 0
    source_of: dict[int, Path] = {}
    empty: list[Path] = []
    repeated: list[str] = []
    for path in combined:
        before = columns.size
        lines, headers = parse_ratings_into(path, columns, lenient=lenient)
        skipped += lines
        if columns.size == before:
            empty.append(path)
        unique, counts = np.unique(headers, return_counts=True)
        if (counts > 1).any():
            repeated.append(f"{path.name} ({int((counts - 1).sum())}, e.g. movie {int(unique[counts > 1][0])})")
        for movie in unique.tolist():
            if source_of.setdefault(movie, path) != path:
                raise DataError(
                    f"movie {movie} appears in both {source_of[movie]} and {path}; "
                    "remove the file that repeats it so no rating counts twice"
                )
    covered = [m for m in per_movie if m in source_of]
    for movie, path in per_movie.items():
        if movie in source_of:
            continue
        before = columns.size
        lines, headers = parse_ratings_into(path, columns, lenient=lenient)
        skipped += lines
        if columns.size == before:
            empty.append(path)
        strangers = sorted(set(headers.tolist()) - {movie})
        if strangers:
            raise DataError(f"{path}: holds movie {strangers[0]}, expected only movie {movie}")
        source_of[movie] = path
    if combined and per_movie:
        notes.append(
            f"both layouts present: read {len(combined)} combined_data file(s) and "
            f"{len(per_movie) - len(covered)} training_set file(s); skipped {len(covered)} "
            "training_set/mv_*.txt file(s) whose movies the combined files hold, "
            "so no rating counts twice"
        )
    loose = [p for p in per_movie.values() if p.parent == directory]
    if loose:
        notes.append(
            f"read {len(loose)} mv_*.txt file(s) placed directly in {directory} "
            "(the original layout keeps them in training_set/)"
        )
    if columns.size == 0:
        raise DataError(_no_ratings(directory, combined, per_movie, titles_path, skipped))
    if empty:
        notes.append(f"{len(empty)} ratings file(s) hold no rating, e.g. {empty[0].name}")
    if repeated:
        notes.append(
            "movie headers repeated within a file, their ratings merged: " + "; ".join(repeated[:3])
        )
    ratings = columns.to_frame()
    # The headers name every movie read: cheaper than a unique() over 100M ratings.
    headers = np.array(sorted(source_of), dtype=np.int32)
    if titles_path is not None:
        movies = read_movie_titles(titles_path)
    else:
        movies = make_movies(headers, [f"movie {i}" for i in headers])
        notes.append("no movie_titles file: titles are 'movie <id>'")
    untitled = np.setdiff1d(headers, movies["movie"].to_numpy())
    if len(untitled):
        notes.append(f"{len(untitled)} movie(s) of the ratings files have no title, e.g. movie {untitled[0]}")
    links_path = Path(links) if links is not None else directory / NETFLIX_LINKS
    if links is not None or links_path.exists():
        movies, linked = attach_netflix_links(movies, links_path)
        notes.append(f"{links_path.name}: TMDB/IMDb ids for {linked} of {len(movies)} titles")
    if skipped:
        notes.append(f"{skipped} malformed rating line(s) skipped (lenient mode)")
    dataset = Dataset(spec=spec, ratings=ratings, movies=movies, skipped_lines=skipped, notes=notes, lenient=lenient)
    if pairs_repeat(columns.user[: columns.size], columns.movie[: columns.size]):
        dataset.drop_repeated_ratings()  # rare: the whole-table rule keeps the last of each pair
    _read_prize_files(dataset, directory, lenient)
    return dataset


def _read_prize_files(dataset: Dataset, directory: Path, lenient: bool) -> None:
    """Attach probe.txt and qualifying.txt where the folder has them, skips counted and noted."""
    for name, path in find_prize_files(directory).items():
        read = read_probe if name == "probe" else read_qualifying
        parsed = read(path, lenient=lenient)
        rows = parsed.rows
        if parsed.skipped_lines:
            dataset.skipped_lines += parsed.skipped_lines
            dataset.notes.append(f"{path.name}: {parsed.skipped_lines} malformed line(s) skipped (lenient mode)")
        if parsed.repeated_headers:
            dataset.notes.append(f"{path.name}: {parsed.repeated_headers} movie header(s) repeated, their lines merged")
        if name == "probe":
            repeated = rows.duplicated(["user", "movie"]).to_numpy()
            if repeated.any():
                rows = rows[~repeated].reset_index(drop=True)
                dataset.notes.append(
                    f"{path.name}: {int(repeated.sum())} repeated (user, movie) pair(s) dropped: the first is kept"
                )
            dataset.probe = rows
        else:
            dataset.qualifying = rows
        dataset.prize_files[name] = path


def pairs_repeat(user: np.ndarray, movie: np.ndarray, workers: int | None = None) -> bool:
    """Whether a (user, movie) pair occurs twice, checked one movie at a time.

    In these files a movie's ratings sit together under its header (a header repeated within a
    file adds a second run of the same movie; a movie in two files is refused), so a pair can
    only repeat inside one movie's rows: sorting each movie's user ids costs a fraction of one
    sort of 64-bit keys over all ratings, and no key array is allocated.
    """
    if len(user) < 2:
        return False
    workers = reader.WORKERS if workers is None else workers
    starts, stops = runs_of(movie)
    run_movie = movie[starts]
    runs: list[list[tuple[int, int]]] = [[(int(a), int(b))] for a, b in zip(starts, stops)]
    if len(np.unique(run_movie)) < len(run_movie):  # a header repeated within a file
        by_movie: dict[int, list[tuple[int, int]]] = {}
        for m, run in zip(run_movie.tolist(), runs):
            by_movie.setdefault(m, []).extend(run)
        runs = list(by_movie.values())
    # numpy's sort releases the GIL: the movies are shared among threads in interleaved slices
    tasks = [runs[i::workers] for i in range(max(1, workers))]
    if len(tasks) == 1 or len(user) < 1 << 20:
        return any(_repeat_in(user, task) for task in tasks)
    with ThreadPoolExecutor(len(tasks)) as pool:
        return any(pool.map(lambda task: _repeat_in(user, task), tasks))


def _repeat_in(user: np.ndarray, movies: list[list[tuple[int, int]]]) -> bool:
    """Whether any of these movies (each a list of row ranges) holds one user twice."""
    for ranges in movies:
        if len(ranges) == 1:
            start, stop = ranges[0]
            users = np.sort(user[start:stop])
        else:
            users = np.sort(np.concatenate([user[a:b] for a, b in ranges]))
        if len(users) > 1 and (users[1:] == users[:-1]).any():
            return True
    return False


def _no_ratings(
    directory: Path, combined: list[Path], per_movie: dict[int, Path], titles: Path | None, skipped: int
) -> str:
    """Say what a Netflix directory that yielded no rating holds, and what is missing."""
    found = [f"{len(combined)} combined_data_*.txt file(s) ({_some_names(combined)})"] if combined else []
    if per_movie:
        found.append(f"{len(per_movie)} mv_*.txt file(s) ({_some_names(list(per_movie.values()))})")
    elif (directory / "training_set").is_dir():
        found.append("a training_set/ folder without mv_*.txt files")
    if titles is not None:
        found.append(titles.name)
    why = f", {skipped} malformed line(s) skipped" if skipped else ""
    return (
        f"{directory}: no ratings found (found {', '.join(found)}{why}); expected 'MovieID:' header "
        "lines followed by 'CustomerID,Rating,Date' lines in combined_data_*.txt or "
        "training_set/mv_*.txt"
    )


def _some_names(paths: list[Path]) -> str:
    """The first three file names, then '...'."""
    return ", ".join(p.name for p in paths[:3]) + (", ..." if len(paths) > 3 else "")


def _per_movie_files(folders: list[Path]) -> dict[int, Path]:
    """Per-movie files by movie id; two files of one movie (mv_0000001.txt, mv_1.txt) are an error."""
    files: dict[int, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("mv_*.txt")):
            number = path.stem[3:]
            if not (number.isascii() and number.isdigit()):
                raise DataError(f"{path}: expected a per-movie file name like mv_0000001.txt")
            movie = int(number)
            if movie in files:
                raise DataError(
                    f"{files[movie]} and {path} are both files of movie {movie}; remove one so "
                    "that no rating is lost or counted twice"
                )
            files[movie] = path
    return files


def _size(path: Path) -> int:
    """The byte size of a ratings file (a folder of that name is an error)."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a ratings file")
    return path.stat().st_size


def _natural_key(path: Path) -> tuple[int, str]:
    """combined_data_2 before combined_data_10; names without a number last."""
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return (int(digits) if digits else 1 << 30, path.name)

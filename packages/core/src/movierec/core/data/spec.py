"""Dataset specs: one string names a dataset everywhere (`sample`, `netflix:DIR`, `movielens:DIR`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.metadata import attach_overviews, read_movies_metadata
from movierec.core.data.netflix import read_movie_titles, read_netflix_ratings
from movierec.core.data.tables import Dataset, empty_ratings, make_movies
from movierec.core.errors import DataError

SPEC_HELP = "'sample', 'netflix:DIR' or 'movielens:DIR'"


def sample_dir() -> Path:
    """The embedded `data_samples/` folder (MOVIEREC_SAMPLE_DIR overrides)."""
    override = os.environ.get("MOVIEREC_SAMPLE_DIR")
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "data_samples"
        if (candidate / "combined_data_1.txt").exists():
            return candidate
    raise DataError(
        "the embedded sample (data_samples/) was not found next to the movierec sources; "
        "set MOVIEREC_SAMPLE_DIR to its folder"
    )


def load_dataset(spec: str, lenient: bool = False, metadata: str | Path | None = None) -> Dataset:
    """Load the dataset a spec names; `lenient` skips and counts malformed rating lines."""
    kind, _, location = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "sample" and not location:
        directory = sample_dir()
        dataset = load_netflix(directory, spec="sample", lenient=lenient)
        metadata = metadata or directory / "movies_metadata.csv"
        genres = directory / "movie_genres.csv"
        if genres.exists():
            table = pd.read_csv(genres, dtype={"movie": np.int32, "genres": str})
            dataset.movies["genres"] = dataset.movies["movie"].map(
                table.set_index("movie")["genres"]
            ).astype("string")
    elif kind == "netflix" and location:
        dataset = load_netflix(Path(location).expanduser(), spec=spec, lenient=lenient)
    elif kind == "movielens" and location:
        from movierec.core.data.movielens import load_movielens

        dataset = load_movielens(Path(location).expanduser(), spec=spec)
    else:
        raise DataError(f"unknown dataset spec {spec!r}: expected {SPEC_HELP}")
    if metadata is not None:
        table, skipped = read_movies_metadata(metadata)
        id_column = "tmdb_id" if "tmdb_id" in dataset.movies.columns else None
        dataset.movies, report = attach_overviews(
            dataset.movies, table, source=Path(metadata).name, skipped_rows=skipped, id_column=id_column
        )
        dataset.notes.append(report.sentence())
    return dataset


def load_netflix(directory: Path, spec: str, lenient: bool = False) -> Dataset:
    """Load a Netflix Prize directory in the Kaggle or the original layout (or both)."""
    if not directory.is_dir():
        raise DataError(f"{directory}: Netflix directory not found")
    notes: list[str] = []
    combined = sorted(directory.glob("combined_data_*.txt"))
    per_movie = sorted((directory / "training_set").glob("mv_*.txt"))
    if combined and per_movie:
        notes.append(
            f"both layouts present: read {len(combined)} combined_data file(s), "
            f"ignored {len(per_movie)} training_set/mv_*.txt files so no rating counts twice"
        )
        files = combined
    else:
        files = combined or per_movie
    titles_path = next(
        (p for p in (directory / "movie_titles.csv", directory / "movie_titles.txt") if p.exists()),
        None,
    )
    if not files and titles_path is None:
        raise DataError(
            f"{directory}: no Netflix Prize files (expected combined_data_*.txt or "
            "training_set/mv_*.txt, and movie_titles.csv or movie_titles.txt)"
        )
    parts = []
    skipped = 0
    for path in files:
        parsed = read_netflix_ratings(path, lenient=lenient)
        parts.append(parsed.ratings)
        skipped += parsed.skipped_lines
    ratings = pd.concat(parts, ignore_index=True) if parts else empty_ratings()
    if titles_path is not None:
        movies = read_movie_titles(titles_path)
    else:
        ids = np.unique(ratings["movie"].to_numpy())
        movies = make_movies(ids, [f"movie {i}" for i in ids])
        notes.append("no movie_titles file: titles are 'movie <id>'")
    if skipped:
        notes.append(f"{skipped} malformed rating line(s) skipped (lenient mode)")
    return Dataset(spec=spec, ratings=ratings, movies=movies, skipped_lines=skipped, notes=notes)

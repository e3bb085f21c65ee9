"""Dataset specs: one string names a dataset everywhere (`sample`, `netflix:DIR`, `movielens:DIR`).

This module only dispatches by name; each source has its own loader (`data/netflix/`,
`data/movielens.py`). Netflix TMDB/IMDb ids: a `netflix_imdb_tmdb.csv` (the Netflix-Prize-IMDB-TMDB
map) inside the Netflix directory is used automatically; `links=PATH` names one elsewhere.
MovieLens ids come from the directory's `links.csv`. Metadata (`metadata=PATH`) is joined through
these ids, else through normalized title and year; Dataset.notes says how many titles matched.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.files import check_regular_file, expand_user
from movierec.core.data.metadata import attach_overviews, read_metadata
from movierec.core.data.netflix import load_netflix
from movierec.core.data.tables import Dataset
from movierec.core.errors import DataError, excerpt

__all__ = ["SPEC_HELP", "load_dataset", "load_netflix", "sample_dir"]

SPEC_HELP = "'sample', 'netflix:DIR' or 'movielens:DIR'"


def sample_dir() -> Path:
    """The embedded `data_samples/` folder: $MOVIEREC_SAMPLE_DIR, else next to the sources or cwd.

    A regular (non-editable) install, as a Hugging Face Space makes, leaves the sources in
    site-packages, so the working directory (the checkout) is searched too.
    """
    override = os.environ.get("MOVIEREC_SAMPLE_DIR")
    if override:
        return Path(override)
    for parent in [*Path(__file__).resolve().parents, Path.cwd()]:
        candidate = parent / "data_samples"
        if (candidate / "combined_data_1.txt").exists():
            return candidate
    raise DataError(
        "the embedded sample (data_samples/) was not found next to the movierec sources; "
        "set MOVIEREC_SAMPLE_DIR to its folder"
    )


def load_dataset(
    spec: str,
    lenient: bool = False,
    metadata: str | Path | None = None,
    links: str | Path | None = None,
) -> Dataset:
    """Load the dataset a spec names; `lenient` skips and counts malformed rating lines.

    `metadata`: a movies_metadata.csv or an overview file whose overviews are joined to the
    titles. `links`: a Netflix id-map file (default: netflix_imdb_tmdb.csv in the directory).
    """
    kind, _, location = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "sample" and not location:
        dataset = _load_sample(lenient, links)
        metadata = metadata or sample_dir() / "movies_metadata.csv"
    elif kind == "netflix" and location:
        dataset = load_netflix(expand_user(location), spec=spec, lenient=lenient, links=links)
    elif kind == "movielens" and location:
        from movierec.core.data.movielens import load_movielens

        dataset = load_movielens(expand_user(location), spec=spec, lenient=lenient)
    else:
        raise DataError(f"unknown dataset spec {excerpt(spec)}: expected {SPEC_HELP}")
    dataset.lenient = lenient
    if metadata is not None:
        dataset.movies, report = attach_overviews(dataset.movies, read_metadata(metadata))
        dataset.notes.append(report.sentence())
    return dataset


def _load_sample(lenient: bool, links: str | Path | None) -> Dataset:
    """The embedded sample: a Netflix folder plus its genres file."""
    directory = sample_dir()
    dataset = load_netflix(directory, spec="sample", lenient=lenient, links=links)
    genres = directory / "movie_genres.csv"
    if genres.exists():
        table = pd.read_csv(check_regular_file(genres), dtype={"movie": np.int32, "genres": str})
        dataset.movies["genres"] = dataset.movies["movie"].map(table.set_index("movie")["genres"]).astype("string")
    return dataset

"""MovieLens user tags (`tags.csv` of the latest/20M/25M releases): each movie's distinct tags.

Tags are free text that users attach to movies ("pixar", "time travel"). The text engines read
them, next to the genres and the title words, for movies that have no overview.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.core.data.files import check_regular_file
from movierec.core.errors import DataError

TAGS_HEADER = ("userId", "movieId", "tag", "timestamp")
#: joins a movie's tags in the `tags` column, as genres are joined
SEPARATOR = "|"


@dataclass(frozen=True)
class Tags:
    """Each tagged movie's distinct tags (most used first), and what the file held."""

    by_movie: pd.Series  # movie id -> "tag|tag|...", string dtype
    rows: int
    empty: int  # rows whose tag is blank: skipped, and counted here

    def sentence(self) -> str:
        """One line for Dataset.notes."""
        skipped = f"; {self.empty:,} empty tag(s) skipped" if self.empty else ""
        return f"tags.csv: {self.rows:,} tags on {len(self.by_movie):,} movies, used as movie text{skipped}"


def read_tags(path: str | Path) -> Tags:
    """Read a MovieLens tags.csv; a missing column or a non-integer movie id is a DataError naming the line."""
    path = check_regular_file(path, "tags file")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: not a tags CSV ({str(error).strip()[:200]})") from None
    missing = [column for column in ("movieId", "tag") if column not in table.columns]
    if missing:
        raise DataError(f"{path}:1: missing column(s) {', '.join(missing)}; expected {','.join(TAGS_HEADER)}")
    ids = pd.to_numeric(table["movieId"], errors="coerce")
    bad = (ids.isna() | (ids % 1 != 0)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}:{row + 2}: movie id {table['movieId'].iloc[row][:40]!r} is not an integer")
    # a '|' inside a tag would split it in the joined column
    tags = table["tag"].str.replace(SEPARATOR, " ", regex=False).str.strip()
    blank = tags == ""
    frame = pd.DataFrame({"movie": ids[~blank].astype(np.int64), "tag": tags[~blank]})
    frame["key"] = frame["tag"].str.lower()
    # one spelling per tag and movie (the first seen), ordered by how many users gave it
    counted = frame.groupby(["movie", "key"], sort=False).agg(tag=("tag", "first"), uses=("tag", "size"))
    counted = counted.reset_index().sort_values(["movie", "uses"], ascending=[True, False], kind="stable")
    by_movie = counted.groupby("movie", sort=True)["tag"].agg(SEPARATOR.join).astype("string")
    return Tags(by_movie=by_movie, rows=int((~blank).sum()), empty=int(blank.sum()))


def attach_tags(movies: pd.DataFrame | None, path: str | Path) -> tuple[pd.DataFrame | None, str]:
    """`movies` with a `tags` column from tags.csv (NA for untagged movies), and the note to report."""
    tags = read_tags(path)
    if movies is not None:
        movies = movies.assign(tags=movies["movie"].astype(np.int64).map(tags.by_movie).astype("string"))
    return movies, tags.sentence()

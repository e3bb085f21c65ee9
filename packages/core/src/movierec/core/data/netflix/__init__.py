"""Netflix Prize files: the folder loader (`folder`), the file reader (`reader`) and the fast
parser of one block of lines (`block`)."""

from movierec.core.data.netflix.block import DEFAULT_LAYOUT, LineLayout
from movierec.core.data.netflix.folder import load_netflix
from movierec.core.data.netflix.reader import (
    ParsedRatings,
    RatingColumns,
    parse_ratings_into,
    read_movie_titles,
    read_netflix_ratings,
)

__all__ = [
    "DEFAULT_LAYOUT",
    "LineLayout",
    "ParsedRatings",
    "RatingColumns",
    "load_netflix",
    "parse_ratings_into",
    "read_movie_titles",
    "read_netflix_ratings",
]

"""Data layer: loaders for Netflix Prize and MovieLens files, filters, splits, sparse matrices."""

from movierec.core.data.fetch import fetch_movielens
from movierec.core.data.filters import FilterReport, default_thresholds, filter_min_counts
from movierec.core.data.matrix import IdIndex, RatingMatrix, build_matrix
from movierec.core.data.movielens import load_movielens, resolve_movielens
from movierec.core.data.spec import load_dataset, sample_dir
from movierec.core.data.split import Fold, iter_folds, parse_split
from movierec.core.data.tables import Dataset, make_movies, make_ratings

__all__ = [
    "Dataset",
    "FilterReport",
    "Fold",
    "IdIndex",
    "RatingMatrix",
    "build_matrix",
    "default_thresholds",
    "fetch_movielens",
    "filter_min_counts",
    "iter_folds",
    "load_dataset",
    "load_movielens",
    "make_movies",
    "make_ratings",
    "parse_split",
    "resolve_movielens",
    "sample_dir",
]

"""Data layer: loaders for Netflix Prize and MovieLens files, filters, splits, sparse matrices."""

from movierec.core.data.spec import load_dataset, sample_dir
from movierec.core.data.tables import Dataset, make_movies, make_ratings

__all__ = ["Dataset", "load_dataset", "make_movies", "make_ratings", "sample_dir"]

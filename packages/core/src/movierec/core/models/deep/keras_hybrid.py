"""`keras_hybrid`: user and movie embeddings plus the movie's TF-IDF overview vector.

The notebook's hybrid: the TF-IDF vector as a sparse input through Dense 128 relu and Dense 32
relu, concatenated with both embeddings, Dense 512 relu, Dropout 0.2, one output. It crashed
feeding a scipy CSR matrix with `validation_split`; here each batch gathers its movies' rows from
the CSR matrix inside the training step and hands Keras a `tf.SparseTensor`, so training and
validation stream sparse batches; the first overview layer gathers the kernel rows of the
batch's terms, so its gradient is sparse too. Movies without an overview (or unseen at fit
time) get a zero vector with a learned "no overview" indicator column, so they still get a
prediction. A movies table without any overview (ml-latest-small, which has genres and user tags)
gives each movie's whole text instead (`text.movie_texts`: genres, tags and title words).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.core.errors import DataError
from movierec.core.models.deep.keras_common import dense_weights, keras_training, sparse_input_dense_class
from movierec.core.models.deep.keras_deep import KerasDeep
from movierec.core.models.registry import register
from movierec.core.models.text import has_text, movie_texts, text_tfidf


@register(family="deep", summary="Keras embeddings plus TF-IDF overview vectors", requires="tensorflow")
class KerasHybrid(KerasDeep):
    """Collaborative embeddings plus overview text, as in the notebook's hybrid network."""

    name = "keras_hybrid"

    uses_overviews = True

    @keras_training()
    def __init__(
        self,
        user_dim: int = 10,
        movie_dim: int = 10,
        overview_units: tuple[int, ...] = (128, 32),
        hidden_units: tuple[int, ...] = (512,),
        activation: str = "relu",
        dropout: float = 0.2,
        use_biases: bool = True,
        max_features: int = 20_000,
        min_df: int = 2,
    ) -> None:
        self.user_dim = user_dim
        self.movie_dim = movie_dim
        self.overview_units = overview_units
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.use_biases = use_biases
        self.max_features = max_features
        self.min_df = min_df

    # ------------------------------------------------------------------ overview vectors
    def _prepare(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        if movies is None:
            raise DataError("keras_hybrid reads movie text: pass the movies table to fit(ratings, movies)")
        # overviews only where the table has some: genre and title words for the rest made fold-1
        # RMSE worse (0.8673 against 0.8626); a table without a single overview (ml-latest-small,
        # Netflix titles) gives each movie's whole text instead: genres, user tags and title words
        if "overview" in movies.columns:
            overviews = movies[["movie", "overview"]]
            if has_text(movie_texts(overviews, self.movies_.ids)).any():
                movies = overviews
        described = has_text(movie_texts(movies, self.movies_.ids))  # one per rated movie
        if not described.any():
            raise DataError("keras_hybrid: none of the rated movies has any text (an overview, genres or tags)")
        tfidf, _ = text_tfidf(
            movies,
            self.movies_.ids,
            max_features=self.max_features,
            min_df=min(self.min_df, int(described.sum())),
            dtype=np.float32,
        )
        n_terms = tfidf.shape[1]
        # rows: every rated movie + the unknown row; last column: the "no overview" indicator
        placed = sp.csr_matrix(
            (tfidf.data, tfidf.indices, np.r_[tfidf.indptr, tfidf.indptr[-1]]), shape=(len(self.movies_) + 1, n_terms + 1)
        )
        missing = np.r_[~described, True]
        indicator = sp.csr_matrix(
            (np.ones(int(missing.sum()), np.float32), (np.flatnonzero(missing), np.full(int(missing.sum()), n_terms))),
            shape=(len(self.movies_) + 1, n_terms + 1),
        )
        matrix = (placed + indicator).tocsr()
        matrix.sort_indices()
        self.overviews_ = matrix.astype(np.float32)
        self.overview_count_ = int(described.sum())
        self.vocabulary_size_ = n_terms

    def _batch_map(self, tf: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
        matrix = self.overviews_
        columns = tf.RaggedTensor.from_row_splits(matrix.indices.astype(np.int64), matrix.indptr.astype(np.int64))
        values = tf.RaggedTensor.from_row_splits(matrix.data.astype(np.float32), matrix.indptr.astype(np.int64))
        width = matrix.shape[1]

        def add_overviews(features: dict[str, Any]) -> dict[str, Any]:
            movie = tf.cast(features["movie"], tf.int64)
            batch_columns = tf.gather(columns, movie)
            indices = tf.stack([batch_columns.value_rowids(), batch_columns.flat_values], axis=1)
            dense_shape = tf.stack([tf.shape(movie, out_type=tf.int64)[0], tf.constant(width, tf.int64)])
            overview = tf.SparseTensor(indices, tf.gather(values, movie).flat_values, dense_shape)
            return {**features, "overview": overview}

        return add_overviews

    def _movie_features(self, keras: Any, inputs: dict[str, Any]) -> list[Any]:
        inputs["overview"] = keras.Input(shape=(self.overviews_.shape[1],), sparse=True, name="overview")
        tower = inputs["overview"]
        for index, units in enumerate(self.overview_units):
            kernel = self._initializer(keras, "glorot_uniform", 40 + index)
            # the first layer reads the sparse TF-IDF rows: only the batch's terms are touched
            layer = sparse_input_dense_class() if index == 0 else keras.layers.Dense
            tower = layer(int(units), activation="relu", kernel_initializer=kernel, name=f"overview_{index}")(tower)
        return [tower]

    def _movie_representation(self, model: Any) -> np.ndarray:
        tower = self.overviews_
        for kernel, bias in dense_weights(model, [f"overview_{i}" for i in range(len(self.overview_units))]):
            tower = np.maximum(np.asarray(tower @ kernel) + bias, 0.0)
        return np.hstack([self.movie_embeddings_, tower]).astype(np.float32)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        matrix = self.overviews_
        return {
            **super()._state(),
            "overview_indptr": matrix.indptr,
            "overview_indices": matrix.indices,
            "overview_data": matrix.data,
            "overview_shape": np.asarray(matrix.shape),
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        super()._set_state(state)
        shape = tuple(int(v) for v in state["overview_shape"])
        self.overviews_ = sp.csr_matrix(
            (state["overview_data"], state["overview_indices"], state["overview_indptr"]), shape=shape
        )
        self.overview_count_ = int(shape[0] - self.overviews_[:, -1].getnnz())
        self.vocabulary_size_ = shape[1] - 1

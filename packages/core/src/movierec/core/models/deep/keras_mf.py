"""`keras_mf`: matrix factorization in Keras (dot product of embeddings, biases, global mean).

The notebook's model was the bare dot product of two 10-dimensional he_normal embeddings trained
one epoch with batch 256; those values remain available as parameters. The defaults add what
makes it a real model: user and movie biases around the global mean, L2 on the looked-up vectors
(per rating, like Funk SVD), and early stopping on a validation part of the training data.
`batch_size=None` and `learning_rate=None` (defaults) pick them from the data size
(`KerasRecommender._batch_and_rate`): batch 1024 on ml-latest-small, 16384 on Netflix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from movierec.core.models.deep.keras_common import BatchGradients, KerasRecommender, embedding_table, keras_training
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register
from movierec.core.models.vectors import ridge


@register(family="deep", summary="Keras matrix factorization with biases and L2", requires="tensorflow")
class KerasMF(KerasRecommender):
    """Biased matrix factorization trained with lazy (sparse) Adam on shuffled mini-batches."""

    base_learning_rate = 0.002

    name = "keras_mf"

    @renamed_params(factors="n_factors")
    @keras_training(n_epochs=40, reg=0.1)
    def __init__(self, n_factors: int = 64, initializer: str = "random_normal") -> None:
        self.n_factors = n_factors
        self.initializer = initializer

    def _build_model(self, keras: Any, n_users: int, n_movies: int) -> Any:
        layers = keras.layers
        user = keras.Input(shape=(), dtype="int32", name="user")
        movie = keras.Input(shape=(), dtype="int32", name="movie")
        init = self._initializer
        user_vector = embedding_table(keras, n_users, self.n_factors, "user_embedding", self.reg, init(keras, self.initializer, 1))(user)
        movie_vector = embedding_table(keras, n_movies, self.n_factors, "movie_embedding", self.reg, init(keras, self.initializer, 2))(movie)
        user_bias = embedding_table(keras, n_users, 1, "user_bias", self.reg, "zeros")(user)
        movie_bias = embedding_table(keras, n_movies, 1, "movie_bias", self.reg, "zeros")(movie)
        dot = layers.Dot(axes=1, name="dot")([user_vector, movie_vector])
        rating = layers.Add(name="rating")([dot, user_bias, movie_bias])
        return keras.Model(inputs={"user": user, "movie": movie}, outputs=rating, name="keras_mf")

    def _closed_form(self, tf: Any, model: Any) -> BatchGradients:
        """The gradient rows of mean squared error + reg * (|u|^2 + |m|^2 + b_u^2 + b_m^2) / batch.

        That is the loss the tape sees (Keras divides the activity regularizer by the batch); the
        formula takes fewer ops than the tape's backward pass.
        """
        names = [variable.path.split("/")[0] for variable in model.trainable_variables]
        tables = {name: variable.value for name, variable in zip(names, model.trainable_variables)}
        reg = float(self.reg)

        def rows(user: Any, movie: Any, target: Any) -> tuple[list[Any], Any]:
            looked_up = {
                "user_embedding": tf.gather(tables["user_embedding"], user),
                "movie_embedding": tf.gather(tables["movie_embedding"], movie),
                "user_bias": tf.gather(tables["user_bias"], user),
                "movie_bias": tf.gather(tables["movie_bias"], movie),
            }
            user_vector, movie_vector = looked_up["user_embedding"], looked_up["movie_embedding"]
            error = (
                tf.reduce_sum(user_vector * movie_vector, axis=1)
                + looked_up["user_bias"][:, 0]
                + looked_up["movie_bias"][:, 0]
                - target
            )
            count = tf.maximum(tf.cast(tf.size(target), tf.float32), 1.0)
            scaled, decay = (2.0 / count * error)[:, None], 2.0 * reg / count
            grads = {
                "user_embedding": scaled * movie_vector,
                "movie_embedding": scaled * user_vector,
                "user_bias": scaled,
                "movie_bias": scaled,
            }
            out = [grads[name] + decay * looked_up[name] for name in names]
            return out, tf.reduce_sum(tf.square(error))

        return BatchGradients(rows, ["user" if name.startswith("user") else "movie" for name in names])

    def _read_weights(self, model: Any) -> None:
        self._read_embeddings(model)
        self.movie_vectors_ = self.movie_embeddings_

    def _interaction(self, user_vectors: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        # user_vectors is one row per movie, or one vector broadcast over all of them
        return (self.movie_vectors_[movie_idx] * user_vectors).sum(axis=-1)

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        # one matrix product for a batch of known users, in float64 like _score_vector so that a
        # batch row and a single user's scores rank near-ties the same way
        n = len(self.movies_)
        movies = self.movie_vectors_[:n].astype(np.float64)
        scores = self.user_vectors_[user_idx].astype(np.float64) @ movies.T
        scores += self.global_mean_ + self.user_bias_[user_idx, None] + self.movie_bias_[None, :n]
        return scores

    def _score_vector(self, vector: np.ndarray, bias: float) -> np.ndarray:
        # one matrix-vector product over all movies (unknown row excluded)
        n = len(self.movies_)
        movies = self.movie_vectors_[:n].astype(np.float64)
        return self.global_mean_ + bias + self.movie_bias_[:n] + movies @ np.asarray(vector, dtype=np.float64)

    def _fit_user(self, movie_idx: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
        # The loss is mean squared error + reg * (|u|^2 + b^2), as in training: ridge regression
        # (scaled by the number of ratings, the mean's denominator).
        penalty = len(target) * max(self.reg, 1e-6)
        vector, bias = ridge(self.movie_vectors_[movie_idx], target, penalty, intercept_penalty=penalty)
        return vector.astype(np.float32), bias

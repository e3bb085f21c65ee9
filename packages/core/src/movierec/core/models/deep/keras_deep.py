"""`keras_deep`: user and movie embeddings concatenated, then dense layers, one output.

The notebook's network is the default shape: 20- and 10-dimensional embeddings, one Dense 256
layer, one output. Its Dense 256 had no activation, which makes the whole network linear in the
embeddings (it cannot learn a user-movie interaction); `activation="linear"` restores that, the
default is relu. Depth and widths are `hidden_units`; biases, L2 and dropout are parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from movierec.core.models.deep.keras_common import (
    DenseHead,
    KerasRecommender,
    check_activation,
    dense_weights,
    embedding_table,
    head_fold_in,
    keras_training,
)
from movierec.core.models.registry import register


@register(family="deep", summary="Keras concatenated embeddings and dense layers", requires="tensorflow")
class KerasDeep(KerasRecommender):
    """Concatenated embeddings and a dense head, trained with lazy Adam on shuffled mini-batches."""

    base_learning_rate = 0.003

    name = "keras_deep"

    @keras_training()
    def __init__(
        self,
        user_dim: int = 20,
        movie_dim: int = 10,
        hidden_units: tuple[int, ...] = (256,),
        activation: str = "relu",
        dropout: float = 0.0,
        use_biases: bool = True,
    ) -> None:
        self.user_dim = user_dim
        self.movie_dim = movie_dim
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.use_biases = use_biases

    # ------------------------------------------------------------------ the network
    def _build_model(self, keras: Any, n_users: int, n_movies: int) -> Any:
        check_activation(self.activation)
        layers = keras.layers
        inputs = {
            "user": keras.Input(shape=(), dtype="int32", name="user"),
            "movie": keras.Input(shape=(), dtype="int32", name="movie"),
        }
        init = self._initializer
        user_vector = embedding_table(keras, n_users, self.user_dim, "user_embedding", self.reg, init(keras, "random_normal", 1))(inputs["user"])
        movie_parts = [
            embedding_table(keras, n_movies, self.movie_dim, "movie_embedding", self.reg, init(keras, "random_normal", 2))(inputs["movie"])
        ]
        movie_parts += self._movie_features(keras, inputs)
        hidden = layers.Concatenate(name="concat")([user_vector, *movie_parts])
        for index, units in enumerate(self.hidden_units):
            kernel = init(keras, "glorot_uniform", 10 + index)
            hidden = layers.Dense(int(units), activation=self.activation, kernel_initializer=kernel, name=f"hidden_{index}")(hidden)
            if self.dropout:
                hidden = layers.Dropout(self.dropout, seed=self._seed(20 + index), name=f"dropout_{index}")(hidden)
        rating = layers.Dense(1, kernel_initializer=init(keras, "glorot_uniform", 30), name="output")(hidden)
        if self.use_biases:
            user_bias = embedding_table(keras, n_users, 1, "user_bias", self.reg, "zeros")(inputs["user"])
            movie_bias = embedding_table(keras, n_movies, 1, "movie_bias", self.reg, "zeros")(inputs["movie"])
            rating = layers.Add(name="rating")([rating, user_bias, movie_bias])
        return keras.Model(inputs=inputs, outputs=rating, name=self.name or "keras_deep")

    def _movie_features(self, keras: Any, inputs: dict[str, Any]) -> list[Any]:
        """More movie-side tensors to concatenate (the hybrid adds the overview tower)."""
        return []

    def _movie_representation(self, model: Any) -> np.ndarray:
        """Every movie's concatenated movie-side vector (unknown row last)."""
        return self.movie_embeddings_

    # ------------------------------------------------------------------ numpy answers
    def _read_weights(self, model: Any) -> None:
        if self.use_biases:
            self._read_embeddings(model)
        else:
            self.user_vectors_ = np.asarray(model.get_layer("user_embedding").embeddings.numpy(), np.float32)
            self.movie_embeddings_ = np.asarray(model.get_layer("movie_embedding").embeddings.numpy(), np.float32)
            self.user_bias_ = np.zeros(len(self.user_vectors_), np.float32)
            self.movie_bias_ = np.zeros(len(self.movie_embeddings_), np.float32)
        self.head_ = DenseHead(dense_weights(model, self._head_layers()), self.activation, self.user_vectors_.shape[1])
        self.movie_vectors_ = self._movie_representation(model)
        self.movie_part_ = self.head_.movie_part(self.movie_vectors_)

    def _interaction(self, user_vectors: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        return self.head_.forward(user_vectors, self.movie_part_[movie_idx])

    def _head_layers(self) -> list[str]:
        """The model's dense layers after concat([user vector, movie representation]), in order."""
        return [f"hidden_{i}" for i in range(len(self.hidden_units))] + ["output"]

    def _fit_user(self, movie_idx: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
        # the model's own head, every weight frozen; the unknown user's row is the start
        user_dim, reg = self.user_vectors_.shape[1], max(self.reg, 1e-3)
        fold_in = self._derived("fold_in", lambda: head_fold_in(self.model_, self._head_layers(), user_dim, reg))
        return fold_in(self.movie_vectors_[movie_idx], target, self.user_vectors_[-1], float(self.user_bias_[-1]))

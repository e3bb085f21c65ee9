"""What the Keras engines share: the tf.data pipeline, the training loop, progress, save/load.

Keras trains the model inside the accelerator's distribution strategy; afterwards the learned
weights are read back into numpy arrays (user vectors and biases, a movie representation and
biases, and the interaction: a dot product or a dense head), so that `predict`, `recommend`,
`similar_movies` and fold-in are vectorized numpy on any machine, and a saved `.keras` file gives
the same answers as the model that wrote it. Row `n` of every user and movie table is the
"unknown" row: the mean of the learned rows, used for ids unseen at fit time.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.accelerator import distribution_strategy
from movierec.core.errors import DataError
from movierec.core.models.base import Recommender
from movierec.core.models.vectors import cached_unit_rows

ProgressCallback = Callable[[float, str], None]
MODEL_FILE = "model.keras"
ACTIVATIONS = ("relu", "linear", "tanh")
# numpy chunk size for predictions: bounds memory of the dense head's activations
_CHUNK = 65_536


def import_keras() -> tuple[Any, Any]:
    """Import TensorFlow and Keras quietly (C++ logs off unless the user set a level)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    import keras

    return tf, keras


# ---------------------------------------------------------------------- the input pipeline
def make_dataset(
    tf: Any,
    features: dict[str, np.ndarray],
    target: np.ndarray | None,
    batch_size: int,
    shuffle: bool,
    seed: int,
    batch_map: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    drop_remainder: bool = False,
) -> Any:
    """A shuffled, batched, prefetched tf.data pipeline; `batch_map` adds per-batch inputs."""
    data = (features,) if target is None else (features, target.reshape(-1, 1))
    dataset = tf.data.Dataset.from_tensor_slices(data)
    if shuffle:
        count = len(next(iter(features.values())))
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if batch_map is not None:
        if target is None:
            dataset = dataset.map(lambda x: (batch_map(x),), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            dataset = dataset.map(lambda x, y: (batch_map(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def progress_callback(keras: Any, progress: ProgressCallback, epochs: int, steps: int) -> Any:
    """A Keras callback that reports (fraction, message) about 20 times per epoch and per epoch end."""

    class _Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0
            self.every = max(1, steps // 20)

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if (batch + 1) % self.every == 0:
                done = (self.epoch + (batch + 1) / steps) / epochs
                progress(min(done, 1.0), f"epoch {self.epoch + 1}/{epochs}")

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            figures = ", ".join(f"{k} {v:.4f}" for k, v in logs.items() if "rmse" in k)
            progress((epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs} done" + (f": {figures}" if figures else ""))

    return _Progress()


# ---------------------------------------------------------------------- a dense head in numpy
@dataclass
class DenseHead:
    """The dense layers after concat([user vector, movie representation]), evaluated in numpy.

    The first layer's movie half is applied once per movie (`movie_part`), so scoring every
    movie for one user costs one small matrix product per layer.
    """

    layers: list[tuple[np.ndarray, np.ndarray]]  # hidden layers, then the 1-unit output layer
    activation: str
    user_dim: int

    def movie_part(self, movie_vectors: np.ndarray) -> np.ndarray:
        """The first layer's pre-activation contribution of each movie row (bias included)."""
        weights, bias = self.layers[0]
        return movie_vectors @ weights[self.user_dim :] + bias

    def forward(self, user_vectors: np.ndarray, movie_part: np.ndarray) -> np.ndarray:
        """Interaction scores of row pairs (user_vectors[i], movie_part[i]); user may broadcast."""
        hidden = user_vectors @ self.layers[0][0][: self.user_dim] + movie_part
        for weights, bias in self.layers[1:]:
            hidden = _activate(hidden, self.activation) @ weights + bias
        return hidden[..., 0]

    def fit_user(
        self,
        movie_part: np.ndarray,
        target: np.ndarray,
        init_vector: np.ndarray,
        init_bias: float,
        l2: float,
        steps: int = 300,
        learning_rate: float = 0.05,
    ) -> tuple[np.ndarray, float]:
        """Fit one user vector and bias to `target` (centred ratings minus movie biases), Adam in numpy."""
        params = np.concatenate([init_vector, [init_bias]]).astype(np.float64)
        first = self.layers[0][0][: self.user_dim].astype(np.float64)
        moments = np.zeros_like(params), np.zeros_like(params)
        n = len(target)
        for step in range(1, steps + 1):
            vector, bias = params[:-1], params[-1]
            # forward, keeping pre-activations for the backward pass
            pre = [vector @ first + movie_part]
            for weights, layer_bias in self.layers[1:]:
                pre.append(_activate(pre[-1], self.activation) @ weights + layer_bias)
            error = pre[-1][:, 0] + bias - target
            grad_out = (2.0 / n) * error[:, None]
            for index in range(len(self.layers) - 1, 0, -1):
                grad_out = (grad_out @ self.layers[index][0].T) * _derivative(pre[index - 1], self.activation)
            grad = np.concatenate([grad_out.sum(axis=0) @ first.T, [(2.0 / n) * error.sum()]])
            grad += 2.0 * l2 * params
            params = _adam_step(params, grad, moments, step, learning_rate)
        return params[:-1], float(params[-1])


def _activate(values: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(values, 0.0)
    if activation == "tanh":
        return np.tanh(values)
    return values


def _derivative(pre: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return (pre > 0).astype(pre.dtype)
    if activation == "tanh":
        return 1.0 - np.tanh(pre) ** 2
    return np.ones_like(pre)


def _adam_step(
    params: np.ndarray, grad: np.ndarray, moments: tuple[np.ndarray, np.ndarray], step: int, rate: float
) -> np.ndarray:
    first, second = moments
    first *= 0.9
    first += 0.1 * grad
    second *= 0.999
    second += 0.001 * grad**2
    corrected = first / (1 - 0.9**step)
    return params - rate * corrected / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)


def with_unknown_row(table: np.ndarray) -> np.ndarray:
    """Replace the last row (the unknown id) by the mean of the learned rows."""
    table = np.array(table, dtype=np.float32)
    table[-1] = table[:-1].mean(axis=0)
    return table


def check_activation(activation: str) -> str:
    """Validate a hidden-layer activation name."""
    if activation not in ACTIVATIONS:
        raise DataError(f"activation {activation!r} is not supported; expected one of {', '.join(ACTIVATIONS)}")
    return activation


# ---------------------------------------------------------------------- the shared engine
class KerasRecommender(Recommender):
    """Base of the Keras engines: training through tf.data in a distribution strategy, numpy answers.

    Subclasses set the hyper-parameters in `__init__` (at least those read here: epochs,
    batch_size, learning_rate, l2, validation_fraction, patience, seed, accelerator, verbose,
    progress, deterministic) and implement `_build_model`, `_read_weights`, `_interaction` and `_fit_user`.
    Seeding calls `keras.utils.set_random_seed`, which also seeds Python's and numpy's global
    generators.
    """

    has_similar_movies = True
    supports_fold_in = True
    # not a hyper-parameter: excluded from saved parameters and cache keys
    _runtime_params = ("progress",)

    epochs: int
    batch_size: int
    learning_rate: float
    l2: float
    validation_fraction: float
    patience: int
    seed: int
    accelerator: str | None
    verbose: int
    progress: ProgressCallback | None
    deterministic: bool

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, without run-time hooks such as the progress callback."""
        return {k: v for k, v in super().get_params().items() if k not in self._runtime_params}

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build_model(self, keras: Any, n_users: int, n_movies: int) -> Any:
        """The Keras model from inputs 'user', 'movie' (+ engine inputs) to the centred rating."""

    @abstractmethod
    def _read_weights(self, model: Any) -> None:
        """Set the numpy state (user_vectors_, user_bias_, movie_vectors_, movie_bias_, ...)."""

    @abstractmethod
    def _interaction(self, user_vectors: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """Interaction scores of user vectors (rows, or one broadcast vector) with movies."""

    @abstractmethod
    def _fit_user(self, movie_idx: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
        """A new user's vector and bias from centred ratings of known movies (movie side frozen)."""

    def _prepare(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        """Engine-specific preparation before the model is built (e.g. overview vectors)."""

    def _batch_map(self, tf: Any) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        """A per-batch transformation of the inputs (e.g. gathering sparse overview rows)."""
        return None

    # ------------------------------------------------------------------ training
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        tf, keras = import_keras()
        keras.utils.set_random_seed(self.seed)
        if self.deterministic:
            # process-wide: TensorFlow has no per-model switch
            tf.config.experimental.enable_op_determinism()
        strategy = distribution_strategy(self.accelerator)  # an absent device fails before any work
        self._prepare(ratings, movies)
        user_idx = self.users_.index_of(ratings["user"].to_numpy()).astype(np.int32)
        movie_idx = self.movies_.index_of(ratings["movie"].to_numpy()).astype(np.int32)
        target = (ratings["rating"].to_numpy(np.float64) - self.global_mean_).astype(np.float32)

        order = np.random.default_rng(self.seed).permutation(len(target))
        n_valid = int(round(len(target) * self.validation_fraction)) if self.validation_fraction > 0 else 0
        if n_valid >= len(target):
            raise DataError(f"validation_fraction={self.validation_fraction} leaves no ratings to train on")
        valid, train = np.sort(order[:n_valid]), np.sort(order[n_valid:])

        replicas = strategy.num_replicas_in_sync
        global_batch = int(self.batch_size) * replicas
        on_tpu = "TPU" in type(strategy).__name__
        with strategy.scope():
            model = self._build_model(keras, len(self.users_), len(self.movies_))
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
                loss="mse",
                metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
            )

        def dataset(rows: np.ndarray, shuffle: bool) -> Any:
            features = {"user": user_idx[rows], "movie": movie_idx[rows]}
            return make_dataset(
                tf, features, target[rows], global_batch, shuffle, self.seed, self._batch_map(tf), on_tpu
            )

        callbacks = []
        validation = None
        if n_valid:
            validation = dataset(valid, shuffle=False)
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_rmse", patience=self.patience, restore_best_weights=True
                )
            )
        steps = max(1, -(-len(train) // global_batch))
        if self.progress is not None:
            callbacks.append(progress_callback(keras, self.progress, self.epochs, steps))
        history = model.fit(
            dataset(train, shuffle=True),
            validation_data=validation,
            epochs=self.epochs,
            callbacks=callbacks,
            verbose=self.verbose,
            shuffle=False,  # the tf.data pipeline shuffles
        )
        self.history_ = {k: [float(v) for v in values] for k, values in history.history.items()}
        self.epochs_run_ = len(next(iter(self.history_.values()), []))
        self._set_unknown_rows(model)
        self.model_ = model
        self._read_weights(model)
        if self.progress is not None:
            self.progress(1.0, f"trained {self.epochs_run_} epoch(s)")

    @staticmethod
    def _set_unknown_rows(model: Any) -> None:
        """Write the mean of the learned rows into every embedding's unknown (last) row."""
        for layer in model.layers:
            if type(layer).__name__ == "Embedding":
                layer.embeddings.assign(with_unknown_row(np.asarray(layer.embeddings.numpy())))

    def _read_embeddings(self, model: Any) -> None:
        """The tables every engine has: user/movie vectors and biases (unknown row last)."""
        self.user_vectors_ = _embedding(model, "user_embedding")
        self.movie_embeddings_ = _embedding(model, "movie_embedding")
        self.user_bias_ = _embedding(model, "user_bias")[:, 0]
        self.movie_bias_ = _embedding(model, "movie_bias")[:, 0]

    # ------------------------------------------------------------------ answers (numpy)
    def _unknown_to_last(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        user_idx = np.where(np.asarray(user_idx) < 0, len(self.users_), user_idx)
        movie_idx = np.where(np.asarray(movie_idx) < 0, len(self.movies_), movie_idx)
        return user_idx, movie_idx

    def _clip(self, scores: np.ndarray) -> np.ndarray:
        low, high = self.rating_range_
        return np.clip(scores, low, high)

    def _predict_indexed(self, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        user_idx, movie_idx = self._unknown_to_last(user_idx, movie_idx)
        out = np.empty(len(user_idx), dtype=np.float64)
        for start in range(0, len(user_idx), _CHUNK):
            users = user_idx[start : start + _CHUNK]
            movies = movie_idx[start : start + _CHUNK]
            out[start : start + _CHUNK] = (
                self.global_mean_
                + self.user_bias_[users]
                + self.movie_bias_[movies]
                + self._interaction(self.user_vectors_[users], movies)
            )
        return self._clip(out)

    def _score_user(self, user_idx: int) -> np.ndarray:
        return self._score_vector(self.user_vectors_[user_idx], float(self.user_bias_[user_idx]))

    def _score_vector(self, vector: np.ndarray, bias: float) -> np.ndarray:
        """Scores of every known movie for one user vector and bias, in one batched step."""
        movies = np.arange(len(self.movies_))
        scores = self.global_mean_ + bias + self.movie_bias_[movies] + self._interaction(vector, movies)
        return self._clip(scores)

    def _similar_scores(self, movie_idx: int) -> np.ndarray:
        unit = cached_unit_rows(self, self._similarity_vectors())[: len(self.movies_)]
        return unit @ unit[movie_idx]

    def _similarity_vectors(self) -> np.ndarray:
        """The learned movie representation compared by cosine in `similar_movies`."""
        return self.movie_vectors_

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        target = ratings - self.global_mean_ - self.movie_bias_[movie_idx]
        vector, bias = self._fit_user(movie_idx, target)
        return self._score_vector(vector, bias)

    # ------------------------------------------------------------------ persistence
    def _save_extra(self, folder: Path) -> None:
        self.model_.save(folder / MODEL_FILE)

    def _load_extra(self, folder: Path) -> None:
        path = folder / MODEL_FILE
        if not path.exists():
            raise DataError(f"{folder}: {MODEL_FILE} is missing")
        _, keras = import_keras()
        self.model_ = keras.saving.load_model(path, compile=False)
        self._read_weights(self.model_)


def embedding_table(keras: Any, rows: int, width: int, name: str, l2: float, init: str = "random_normal") -> Any:
    """An Embedding with one extra row for unknown ids, L2 on the looked-up vectors (per rating)."""
    reg = keras.regularizers.L2(l2) if l2 else None
    return keras.layers.Embedding(rows + 1, width, embeddings_initializer=init, activity_regularizer=reg, name=name)


def _embedding(model: Any, name: str) -> np.ndarray:
    return np.asarray(model.get_layer(name).embeddings.numpy(), dtype=np.float32)


def dense_weights(model: Any, names: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of named Dense layers, as float32 numpy."""
    weights = []
    for name in names:
        kernel, bias = model.get_layer(name).get_weights()
        weights.append((np.asarray(kernel, dtype=np.float32), np.asarray(bias, dtype=np.float32)))
    return weights

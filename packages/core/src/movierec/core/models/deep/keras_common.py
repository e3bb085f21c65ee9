"""What the Keras engines share: training settings, sparse training, numpy answers, fold-in, save/load.

The training settings are declared once (`KerasTraining`, added to each engine's `__init__` by
`keras_training`). The model is a Keras 3 model; `keras_train` trains it with lazy Adam on the
rows each batch touches (see there why). Afterwards the learned weights are read back into numpy
arrays (user vectors and biases, a movie representation and biases, and the interaction: a dot
product or a dense head), so that `predict`, `recommend` and `similar_movies` are vectorized numpy
on any machine, and a saved `.keras` file gives the same answers as the model that wrote it. A
new user is folded in by ridge regression (dot product) or through the model's own dense head
with every model weight frozen (`head_fold_in`). Row `n`
of every user and movie table is the "unknown" row: the mean of the rows learned from training
ratings, used for ids unseen at fit time and for ids whose every rating fell into the validation
part (those are never offered as similar titles either: their vector carries no evidence).
"""

from __future__ import annotations

import functools
import inspect
import random
import threading
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from movierec.core.accelerator import distribution_strategy
from movierec.core.errors import DataError
from movierec.core.models.base import Recommender
from movierec.core.models.deep.keras_train import (  # noqa: F401 (import_keras and the layers are used by the engines)
    BatchGradients,
    LazyAdam,
    TrainData,
    import_keras,
    make_steps,
    op_determinism,
    sparse_embedding_class,
    sparse_input_dense_class,
    train_loop,
)
from movierec.core.models.params import renamed_params
from movierec.core.models.vectors import cached_unit_rows, evidence_weight, factor_reasons

ProgressCallback = Callable[[float, str], None]
MODEL_FILE = "model.keras"
ACTIVATIONS = ("relu", "linear", "tanh")
# numpy chunk size for predictions: bounds memory of the dense head's activations
_CHUNK = 65_536



# ---------------------------------------------------------------------- the dense head
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


def _activate(values: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(values, 0.0)
    if activation == "tanh":
        return np.tanh(values)
    return values


def head_fold_in(
    model: Any, layer_names: list[str], user_dim: int, reg: float, steps: int = 300, learning_rate: float = 0.05
) -> Callable[[np.ndarray, np.ndarray, np.ndarray, float], tuple[np.ndarray, float]]:
    """A function fitting one new user's vector and bias through the model's own dense head.

    Every model weight stays frozen: the only variables are the user's vector and bias, fitted to
    the loss of training (mean squared error + reg * (|u|^2 + b^2)) by Adam, `steps` steps from
    the given start, in one compiled tf.function. The function takes the rated movies'
    representations (what the head reads after the user vector) and the centred targets.
    """
    tf, _ = import_keras()
    first, *rest = [model.get_layer(name) for name in layer_names]
    vector = tf.Variable(tf.zeros([user_dim]), name="fold_in_vector")
    bias = tf.Variable(0.0, name="fold_in_bias")
    # Adam's moments per variable; the update is TensorFlow's fused Adam kernel: on this problem of
    # a few dozen numbers Keras' optimizer object made the fold-in 1.5x slower than the kernel
    moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in (vector, bias)]
    lock = threading.Lock()  # the variables are shared: one fold-in at a time per engine

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([user_dim], tf.float32),
            tf.TensorSpec([], tf.float32),
        ]
    )
    def fit(movies: Any, target: Any, start_vector: Any, start_bias: Any) -> tuple[Any, Any]:
        vector.assign(start_vector)
        bias.assign(start_bias)
        for first_moment, second_moment in moments:  # a new user starts Adam afresh
            first_moment.assign(tf.zeros_like(first_moment))
            second_moment.assign(tf.zeros_like(second_moment))
        # the first layer's movie half is the same at every step: applied once (2x faster)
        movie_part = tf.matmul(movies, first.kernel[user_dim:]) + first.bias
        for step in tf.range(1, steps + 1):
            with tf.GradientTape() as tape:
                user_part = tf.linalg.matvec(first.kernel[:user_dim], vector, transpose_a=True)
                rows = first.activation(user_part + movie_part)
                for layer in rest:
                    rows = layer(rows)
                error = rows[:, 0] + bias - target
                loss = tf.reduce_mean(tf.square(error)) + reg * (tf.reduce_sum(tf.square(vector)) + tf.square(bias))
            done = tf.cast(step, tf.float32)
            grads = tape.gradient(loss, [vector, bias])
            for variable, grad, (first_moment, second_moment) in zip((vector, bias), grads, moments):
                tf.raw_ops.ResourceApplyAdam(
                    var=variable.handle, m=first_moment.handle, v=second_moment.handle,
                    beta1_power=0.9**done, beta2_power=0.999**done, lr=learning_rate,
                    beta1=0.9, beta2=0.999, epsilon=1e-8, grad=grad,
                )
        return tf.identity(vector), tf.identity(bias)

    def fit_user(
        movies: np.ndarray, target: np.ndarray, start_vector: np.ndarray, start_bias: float
    ) -> tuple[np.ndarray, float]:
        with lock:
            fitted_vector, fitted_bias = fit(
                np.asarray(movies, np.float32), np.asarray(target, np.float32),
                np.asarray(start_vector, np.float32), np.float32(start_bias),
            )
        return fitted_vector.numpy(), float(fitted_bias.numpy())

    return fit_user


def with_unknown_row(table: np.ndarray, trained: np.ndarray | None = None) -> np.ndarray:
    """The last row (unknown id) and untrained rows set to the mean of the trained rows."""
    table = np.array(table, dtype=np.float32)
    trained = np.ones(len(table) - 1, dtype=bool) if trained is None else np.asarray(trained, dtype=bool)
    learned = table[:-1][trained]
    mean = learned.mean(axis=0) if len(learned) else np.zeros(table.shape[1], np.float32)
    table[-1] = mean
    table[:-1][~trained] = mean
    return table


def check_activation(activation: str) -> str:
    """Validate a hidden-layer activation name."""
    if activation not in ACTIVATIONS:
        raise DataError(f"activation {activation!r} is not supported; expected one of {', '.join(ACTIVATIONS)}")
    return activation


# ---------------------------------------------------------------------- the training settings
@dataclass(frozen=True)
class KerasTraining:
    """The training settings every Keras engine takes, declared once (`keras_training` adds them)."""

    n_epochs: int = 30
    #: None: from the data size (`KerasRecommender._batch_and_rate`)
    batch_size: int | None = None
    #: None: the engine's `base_learning_rate` scaled to the batch
    learning_rate: float | None = None
    #: L2 weight on the looked-up vectors and biases, per rating
    reg: float = 0.02
    validation_fraction: float = 0.05
    patience: int = 3
    #: the smallest fall of validation RMSE that resets the patience of early stopping (the kept
    #: weights are still the lowest validation RMSE's)
    min_delta: float = 0.0
    random_state: int = 42
    accelerator: str | None = None
    verbose: int = 0
    #: called with (fraction, message) during training; a run-time hook, never saved
    progress: ProgressCallback | None = None
    deterministic: bool = True


#: the training settings' names before the shared vocabulary (they work for one more release)
OLD_TRAINING_NAMES = {"epochs": "n_epochs", "l2": "reg", "seed": "random_state"}

_Init = TypeVar("_Init", bound=Callable[..., None])


def keras_training(**defaults: Any) -> Callable[[_Init], _Init]:
    """Decorate a Keras engine's `__init__`: it also takes every `KerasTraining` setting, keyword-only.

    `defaults` changes a setting's default for this engine (keras_mf: `n_epochs=40, reg=0.1`). The
    decorated `__init__` shows the engine's own arguments followed by the settings, which is where
    scikit-learn reads the parameters from; the settings' old names work with a DeprecationWarning.
    """
    settings = {field.name: field for field in fields(KerasTraining)}
    unknown = sorted(set(defaults) - set(settings))
    if unknown:
        raise TypeError(
            f"keras_training: {', '.join(unknown)} is not a training setting; expected some of {', '.join(settings)}"
        )
    values = {name: defaults.get(name, field.default) for name, field in settings.items()}

    def decorate(init: _Init) -> _Init:
        own = inspect.signature(init)
        clash = sorted(set(own.parameters) & set(settings))
        if clash:
            raise TypeError(f"{init.__qualname__} declares the training setting(s) {', '.join(clash)} itself")
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=values[name], annotation=field.type)
            for name, field in settings.items()
        ]

        @functools.wraps(init)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            for name, default in values.items():
                setattr(self, name, kwargs.pop(name, default))
            init(self, *args, **kwargs)

        wrapper.__signature__ = own.replace(parameters=[*own.parameters.values(), *extra])  # type: ignore[attr-defined]
        return renamed_params(**OLD_TRAINING_NAMES)(wrapper)  # type: ignore[arg-type]

    return decorate


# ---------------------------------------------------------------------- the shared engine
class KerasRecommender(Recommender):
    """Base of the Keras engines: sparse training in a distribution strategy, numpy answers.

    Subclasses decorate `__init__` with `keras_training` (the settings read here are
    `KerasTraining`'s) and implement `_build_model`, `_read_weights`, `_interaction` and
    `_fit_user`. Randomness is local to the engine: every initializer and dropout layer gets a
    seed derived from `random_state` (`_initializer`, `_seed`), and batches come from a numpy
    generator seeded with it; no global generator is touched.
    """

    # not a hyper-parameter: excluded from saved parameters and cache keys
    _runtime_params = ("progress",)

    #: the learning rate at batch 512; `learning_rate=None` scales it to the batch
    base_learning_rate: float = 0.002

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

    def _closed_form(self, tf: Any, model: Any) -> BatchGradients | None:
        """The training loss's gradients as a formula, where the engine has one (else the tape's)."""
        return None

    # ------------------------------------------------------------------ training
    def _seed(self, offset: int) -> int:
        """A seed for one random component (initializer, dropout), derived from `random_state`."""
        return (int(self.random_state) * 7919 + offset) % (2**31 - 1)

    def _initializer(self, keras: Any, name: str, offset: int) -> Any:
        """A Keras initializer by name, seeded from `random_state` (stateless: the same on every worker)."""
        initializer = keras.initializers.get(name)
        config = initializer.get_config()
        if "seed" in config:
            initializer = type(initializer).from_config({**config, "seed": self._seed(offset)})
        return initializer

    def _batch_and_rate(self, n_train: int) -> tuple[int, float]:
        """Batch size and learning rate; `None` picks them from the data size.

        Small data needs many updates per epoch (ml-latest-small's RMSE grows from batch 1024
        on), big data needs big batches to keep steps few: the automatic batch is the power of two
        nearest 1/100 of the training ratings, between 1024 and 16384; the automatic rate is the
        engine's rate at batch 512 scaled by sqrt(batch / 512), as Adam's noise scale suggests.
        """
        batch = self.batch_size
        if batch is None:
            batch = int(2 ** np.clip(np.round(np.log2(max(n_train, 1) / 100)), 10, 14))
        if int(batch) < 1:
            raise DataError(f"batch_size must be a positive integer or None, got {batch!r}")
        rate = self.learning_rate
        if rate is None:
            rate = self.base_learning_rate * float(np.sqrt(int(batch) / 512))
        return int(batch), float(rate)

    def _validation_split(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions (sorted) of the seeded validation rows and of the training rows among `n` ratings."""
        order = np.random.default_rng(self.random_state).permutation(n)
        n_valid = int(round(n * self.validation_fraction)) if self.validation_fraction > 0 else 0
        if n_valid >= n:
            raise DataError(f"validation_fraction={self.validation_fraction} leaves no ratings to train on")
        return np.sort(order[:n_valid]), np.sort(order[n_valid:])

    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        if not float(self.min_delta) >= 0.0:
            raise DataError(f"min_delta must be a number >= 0 (an RMSE gain), got {self.min_delta!r}")
        tf, keras = import_keras()
        # first TensorFlow work: a multi-worker strategy must exist before any other op
        strategy = distribution_strategy(self.accelerator)  # an absent device fails before any work
        self._prepare(ratings, movies)
        user_idx = self.users_.index_of(ratings["user"].to_numpy()).astype(np.int32)
        movie_idx = self.movies_.index_of(ratings["movie"].to_numpy()).astype(np.int32)
        target = (ratings["rating"].to_numpy(np.float64) - self.global_mean_).astype(np.float32)

        valid, train = self._validation_split(len(target))
        n_valid = len(valid)
        self.user_trained_ = np.bincount(user_idx[train], minlength=len(self.users_)) > 0
        self.movie_trained_ = np.bincount(movie_idx[train], minlength=len(self.movies_)) > 0
        train_data = TrainData(user_idx[train], movie_idx[train], target[train])
        valid_data = TrainData(user_idx[valid], movie_idx[valid], target[valid]) if n_valid else None
        n_train = len(train)
        del user_idx, movie_idx, target, train, valid  # at 100M ratings each copy is ~0.4 GB

        self.batch_size_, self.learning_rate_ = self._batch_and_rate(n_train)
        tpu = "TPU" in type(strategy).__name__
        restore = op_determinism(tf, self.deterministic)
        python_state = random.getstate()  # Keras draws default seeds from Python's generator
        try:
            with strategy.scope():
                model = self._build_model(keras, len(self.users_), len(self.movies_))
                variables = [v.value for v in model.trainable_variables]
                # XLA on a TPU cannot compile the row deduplication: dense updates there
                optimizer = LazyAdam(tf, variables, self.learning_rate_, sparse=not tpu)
            steps = make_steps(
                tf, strategy, model, optimizer, self._batch_map(tf), self.global_mean_, self.rating_range_,
                closed_form=self._closed_form(tf, model),
            )
            result = train_loop(
                tf,
                strategy,
                model,
                optimizer,
                steps,
                train_data,
                valid_data,
                {"epochs": self.n_epochs, "batch_size": self.batch_size_ * strategy.num_replicas_in_sync,
                 "patience": self.patience, "min_delta": self.min_delta, "seed": self.random_state},
                self.progress if self.verbose == 0 else _printing(self.progress),
            )
        finally:
            random.setstate(python_state)
            restore()
        result.record(self)
        self._set_unknown_rows(model)
        self.model_ = model
        self._read_weights(model)
        if self.progress is not None:
            self.progress(1.0, f"trained {self.epochs_run_} epoch(s), best {self.best_epoch_}")

    def _set_unknown_rows(self, model: Any) -> None:
        """Unknown (last) rows and rows without training ratings become the mean of trained rows."""
        for layer in model.layers:
            if isinstance(layer, sparse_embedding_class()):
                trained = self.user_trained_ if layer.name.startswith("user") else self.movie_trained_
                layer.embeddings.assign(with_unknown_row(np.asarray(layer.embeddings.numpy()), trained))

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
        return out

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        return np.vstack([self._score_vector(self.user_vectors_[i], float(self.user_bias_[i])) for i in user_idx])

    def _score_vector(self, vector: np.ndarray, bias: float) -> np.ndarray:
        """Scores of every known movie for one user vector and bias, in one batched step."""
        movies = np.arange(len(self.movies_))
        return self.global_mean_ + bias + self.movie_bias_[movies] + self._interaction(vector, movies)

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        # movies without training ratings hold the mean vector, not evidence: never offered; a
        # rarely rated movie's vector is mostly its random start: its cosine counts less
        if not self.movie_trained_[movie_idx]:
            return np.full(len(self.movies_), np.nan)
        unit = cached_unit_rows(self, self._similarity_vectors())[: len(self.movies_)]
        cosine = (unit @ unit[movie_idx]) * evidence_weight(self.ratings_per_movie())
        return np.where(self.movie_trained_, cosine, np.nan)

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Per movie, the liked movies the user rated that lie closest to it in the learned movie space.

        The rule is `factor_reasons`' (the model's bias part, global mean + user bias + movie bias,
        is each rated movie's expected rating); a movie without training ratings holds no learned
        position, so it gets no reason.
        """
        index = self._known_user(user)
        rated = self.seen_.indices[self.seen_.indptr[index]: self.seen_.indptr[index + 1]]
        expected = self.global_mean_ + float(self.user_bias_[index]) + self.movie_bias_[rated].astype(np.float64)
        unit = cached_unit_rows(self, self._similarity_vectors())
        out = factor_reasons(self, index, movies, unit, expected)
        positions = self.movies_.index_of(np.atleast_1d(np.asarray(movies)))
        return [None if p >= 0 and not self.movie_trained_[p] else reason for p, reason in zip(positions, out)]

    def _similarity_vectors(self) -> np.ndarray:
        """The learned movie representation compared by cosine in `similar_movies`."""
        return self.movie_vectors_

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        target = ratings - self.global_mean_ - self.movie_bias_[movie_idx]
        vector, bias = self._fit_user(movie_idx, target)
        return self._score_vector(vector, bias)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {"user_trained": self.user_trained_, "movie_trained": self.movie_trained_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.user_trained_ = np.asarray(state["user_trained"], dtype=bool)
        self.movie_trained_ = np.asarray(state["movie_trained"], dtype=bool)

    def _save_extra(self, folder: Path) -> None:
        self.model_.save(folder / MODEL_FILE)

    def _load_extra(self, folder: Path) -> None:
        path = folder / MODEL_FILE
        if not path.exists():
            raise DataError(f"{folder}: {MODEL_FILE} is missing")
        _, keras = import_keras()
        sparse_embedding_class()  # registers the layer class the file names
        self.model_ = keras.saving.load_model(path, compile=False)
        self._read_weights(self.model_)


def embedding_table(keras: Any, rows: int, width: int, name: str, reg: float, init: Any = "random_normal") -> Any:
    """An Embedding with one extra row for unknown ids, L2 weight `reg` on the looked-up vectors (per rating)."""
    regularizer = keras.regularizers.L2(reg) if reg else None
    return sparse_embedding_class()(
        rows + 1, width, embeddings_initializer=init, activity_regularizer=regularizer, name=name
    )


def _printing(progress: ProgressCallback | None) -> ProgressCallback:
    """With verbose > 0: print epoch ends (and still call the app's progress callback)."""

    def report(fraction: float, message: str) -> None:
        if "done" in message:
            print(message, flush=True)
        if progress is not None:
            progress(fraction, message)

    return report


def _embedding(model: Any, name: str) -> np.ndarray:
    return np.asarray(model.get_layer(name).embeddings.numpy(), dtype=np.float32)


def dense_weights(model: Any, names: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of named Dense layers, as float32 numpy."""
    weights = []
    for name in names:
        kernel, bias = model.get_layer(name).get_weights()
        weights.append((np.asarray(kernel, dtype=np.float32), np.asarray(bias, dtype=np.float32)))
    return weights

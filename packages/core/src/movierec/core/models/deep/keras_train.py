"""The Keras engines' training loop: sparse (lazy) Adam on the rows a batch touches, numpy batches.

Keras' `model.fit` with Adam decays the moments of every row of every embedding table at every
step, so one step costs O(users x factors) whatever the batch: with Netflix's 480k users that is
all the time there is. Here the gradients of the embedding tables stay `tf.IndexedSlices`; the
rows a batch touches are deduplicated, and only their moments and values are gathered, updated
and scattered back (lazy Adam, as TensorFlow Addons' LazyAdam); dense weights (the deep engines'
head) get ordinary Adam. Batches are slices of one seeded numpy permutation per epoch, so the
input pipeline costs a few numpy gathers per step.

An engine may give its gradients in closed form (`BatchGradients`: keras_mf does): then the
forward pass and every table's gradient rows take a handful of ops, and on one device the batch's
user and movie ids are deduplicated once for all the tables they index (keras_mf's epoch about 5
to 10 % shorter than through the tape, measured back to back on 1M ratings).

Under a distribution strategy (several GPUs, or several workers with MultiWorkerMirroredStrategy)
every replica takes its share of each global batch, the gradients are all-reduced inside the
replica context (sparse ones by all-gather), and `strategy.extended.update` applies the same
update to every copy of the weights. Keras' own `fit` fails under MultiWorkerMirroredStrategy in
Keras 3 (keras-team/keras#20585); this loop does not go through it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# the largest batch evaluated at once in validation (bounds memory of a dense head's activations)
_EVAL_BATCH = 65_536


def import_keras() -> tuple[Any, Any]:
    """Import TensorFlow and Keras quietly (C++ logs off unless the user set a level)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    import keras

    return tf, keras


_SPARSE_EMBEDDING: list[Any] = []


def sparse_embedding_class() -> Any:
    """Keras' Embedding whose lookup reads only the asked rows (registered for `.keras` loading).

    Keras' own lookup reads the whole table into a tensor first; once a table has had sparse
    updates TensorFlow copies it on every such read (copy-on-read), so each step would cost
    O(rows x width). `tf.gather` on the variable itself is a ResourceGather of the rows alone,
    and its gradient stays `tf.IndexedSlices`.
    """
    if not _SPARSE_EMBEDDING:
        tf, keras = import_keras()

        @keras.saving.register_keras_serializable(package="movierec")
        class SparseEmbedding(keras.layers.Embedding):
            def call(self, inputs: Any) -> Any:
                return tf.gather(self.embeddings.value, tf.cast(inputs, tf.int32))

        @keras.saving.register_keras_serializable(package="movierec")
        class SparseInputDense(keras.layers.Dense):
            """Dense on a sparse input as a weighted sum of gathered kernel rows (sparse gradient)."""

            def call(self, inputs: Any) -> Any:
                ids = tf.SparseTensor(inputs.indices, inputs.indices[:, 1], inputs.dense_shape)
                out = tf.nn.safe_embedding_lookup_sparse(self.kernel.value, ids, inputs, combiner="sum")
                return self.activation(out + self.bias)

            def compute_output_shape(self, input_shape: Any) -> Any:
                return (input_shape[0], self.units)

        _SPARSE_EMBEDDING.extend([SparseEmbedding, SparseInputDense])
    return _SPARSE_EMBEDDING[0]


def sparse_input_dense_class() -> Any:
    """Keras' Dense for a sparse input whose kernel gradient holds only the rows the batch uses.

    A Dense layer on a sparse input multiplies by the whole kernel and its gradient is dense
    (vocabulary x units per step); gathering the kernel rows of the batch's terms makes the
    gradient `tf.IndexedSlices`, so lazy Adam updates only those rows.
    """
    sparse_embedding_class()
    return _SPARSE_EMBEDDING[1]


def op_determinism(tf: Any, wanted: bool) -> Callable[[], None]:
    """Turn TensorFlow's op determinism on for one fit; the returned function restores the setting."""
    from tensorflow.python.framework import config  # the public API has no switch back

    if not wanted or config.is_op_determinism_enabled():
        return lambda: None
    config.enable_op_determinism()
    return config.disable_op_determinism


@dataclass
class TrainData:
    """Index arrays of the ratings (int32 positions, float32 centred targets)."""

    user: np.ndarray
    movie: np.ndarray
    target: np.ndarray

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The (user, movie, target) arrays of the given rows."""
        return self.user[rows], self.movie[rows], self.target[rows]


@dataclass
class BatchGradients:
    """An engine's closed-form gradients: `rows(user, movie, target)` gives, per trainable variable
    (in `model.trainable_variables` order), the gradient rows of the batch's lookups, and the sum
    of squared errors; `keys[i]` names the input ("user" or "movie") whose ids index variable i.

    The gradients must be those of the loss the tape sees: mean squared error on the batch plus
    the model's losses (tests/test_keras_engines.py compares them with the tape's; keras_mf is
    the one engine with a formula).
    """

    rows: Callable[[Any, Any, Any], tuple[list[Any], Any]]
    keys: list[str]


@dataclass
class LoopResult:
    """What training leaves: per-epoch history, epochs run, the best epoch (1-based)."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs_run: int = 0
    best_epoch: int = 0
    averaged: int = 0  # with settings["average"]: epochs whose weights were averaged (0: the best epoch's kept)

    def record(self, engine: Any) -> None:
        """Set the engine's history_, epochs_run_ and best_epoch_ from this result."""
        engine.history_ = self.history
        engine.epochs_run_ = self.epochs_run
        engine.best_epoch_ = self.best_epoch


class LazyAdam:
    """Adam whose sparse updates touch only the rows in the gradient (moments of others stay put)."""

    def __init__(self, tf: Any, variables: list[Any], learning_rate: float, sparse: bool = True) -> None:
        self.tf = tf
        self.learning_rate = float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = 0.9, 0.999, 1e-7
        self.sparse = sparse
        # slots are made in the caller's scope, so they live wherever the weights live
        self.first = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in variables]
        self.second = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in variables]
        self.iterations = tf.Variable(
            0, dtype=tf.int64, trainable=False, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
        )

    def apply(
        self, strategy: Any | None, grads: list[Any], variables: list[Any], unique: list[Any] | None = None
    ) -> None:
        """One step on every variable: on every copy through `strategy` (cross-replica context), else in place.

        `unique[i]`, where given, is `tf.unique` of variable i's gradient indices, computed once
        for all the tables one input indexes (one device only).
        """
        tf = self.tf
        step = tf.cast(self.iterations + 1, tf.float32)
        rate = self.learning_rate * tf.sqrt(1.0 - self.beta_2**step) / (1.0 - self.beta_1**step)
        unique = unique or [None] * len(variables)
        for var, grad, first, second, rows in zip(variables, grads, self.first, self.second, unique):
            if strategy is None:
                self._update(var, grad, first, second, rate, rows)
            else:
                strategy.extended.update(var, self._update, args=(grad, first, second, rate), group=False)
        self.iterations.assign_add(1)

    def _moments(self, first: Any, second: Any, values: Any, rate: Any) -> tuple[Any, Any, Any]:
        """Adam's new moments of some rows and the step to subtract from them."""
        tf = self.tf
        b1, b2 = self.beta_1, self.beta_2
        m = b1 * first + (1.0 - b1) * values
        v = b2 * second + (1.0 - b2) * tf.square(values)
        return m, v, rate * m / (tf.sqrt(v) + self.epsilon)

    def _update(self, var: Any, grad: Any, first: Any, second: Any, rate: Any, unique: Any = None) -> None:
        tf = self.tf
        if isinstance(grad, tf.IndexedSlices) and self.sparse:
            rows, position = unique if unique is not None else tf.unique(grad.indices)
            values = tf.math.unsorted_segment_sum(grad.values, position, tf.shape(rows)[0])
            m, v, change = self._moments(tf.gather(first, rows), tf.gather(second, rows), values, rate)
            first.scatter_update(tf.IndexedSlices(m, rows))
            second.scatter_update(tf.IndexedSlices(v, rows))
            var.scatter_sub(tf.IndexedSlices(change, rows))
            return
        m, v, change = self._moments(first, second, tf.convert_to_tensor(grad), rate)
        first.assign(m)
        second.assign(v)
        var.assign_sub(change)


def _scaled(tf: Any, grad: Any, factor: float) -> Any:
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(grad.values * factor, grad.indices, grad.dense_shape)
    return grad * factor


def make_steps(
    tf: Any,
    strategy: Any,
    model: Any,
    optimizer: LazyAdam,
    batch_map: Callable[[dict[str, Any]], dict[str, Any]] | None,
    global_mean: float,
    rating_range: tuple[float, float],
    closed_form: BatchGradients | None = None,
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The compiled train and evaluation steps; each returns (sum of squared errors, count).

    With `closed_form` the gradients come from the engine's formula instead of the tape.
    """
    variables = [v.value for v in model.trainable_variables]
    replicas = strategy.num_replicas_in_sync
    low, high = float(rating_range[0]) - global_mean, float(rating_range[1]) - global_mean

    def inputs_of(user: Any, movie: Any) -> dict[str, Any]:
        inputs = {"user": user, "movie": movie}
        return batch_map(inputs) if batch_map is not None else inputs

    def tape_gradients(user: Any, movie: Any, target: Any) -> tuple[list[Any], Any]:
        with tf.GradientTape() as tape:
            predicted = tf.reshape(model(inputs_of(user, movie), training=True), [-1])
            squared = tf.reduce_sum(tf.square(predicted - target))
            loss = squared / tf.maximum(tf.cast(tf.size(target), tf.float32), 1.0)
            if model.losses:  # the L2 on looked-up vectors (Keras divides it by the batch)
                loss += tf.add_n(model.losses)
        return tape.gradient(loss, variables), squared

    def replica_train(user: Any, movie: Any, target: Any) -> tuple[Any, Any]:
        count = tf.cast(tf.size(target), tf.float32)
        if closed_form is None:
            grads, squared = tape_gradients(user, movie, target)
        else:
            rows, squared = closed_form.rows(user, movie, target)
            ids = {"user": user, "movie": movie}
            grads = [
                tf.IndexedSlices(values, ids[key], tf.constant(list(var.shape), tf.int32))
                for values, key, var in zip(rows, closed_form.keys, variables)
            ]
        unique = None
        if replicas == 1 and closed_form is not None and optimizer.sparse:  # dense updates (TPU) take no row ids
            once = {key: tf.unique(ids[key]) for key in sorted(set(closed_form.keys))}
            unique = [once[key] for key in closed_form.keys]
        return apply_on_replicas(tf, replicas, optimizer, grads, variables, (squared, count), unique)

    def replica_eval(user: Any, movie: Any, target: Any) -> tuple[Any, Any]:
        predicted = tf.clip_by_value(tf.reshape(model(inputs_of(user, movie), training=False), [-1]), low, high)
        squared = tf.reduce_sum(tf.square(predicted - target))
        count = tf.cast(tf.size(target), tf.float32)
        if replicas > 1:
            squared, count = tf.distribute.get_replica_context().all_reduce("sum", [squared, count])
        return squared, count

    return compile_step(tf, strategy, replica_train), compile_step(tf, strategy, replica_eval)


def apply_on_replicas(
    tf: Any, replicas: int, optimizer: LazyAdam, grads: list[Any], variables: list[Any],
    totals: tuple[Any, Any], unique: list[Any] | None = None,
) -> tuple[Any, Any]:
    """Inside a replica: all-reduce the gradients and a (loss sum, count) pair, apply one step on every copy.

    On one device the variables are updated in place. Every training step of the Keras engines
    ends here, whatever its loss (squared error of a rating, cross-entropy of a next movie).
    """
    if replicas == 1:  # plain variables on one device: update in place
        optimizer.apply(None, grads, variables, unique)
        return totals
    context = tf.distribute.get_replica_context()
    grads = [_scaled(tf, g, 1.0 / replicas) for g in context.all_reduce("sum", grads)]
    summed, count = context.all_reduce("sum", list(totals))
    context.merge_call(lambda strategy, g: optimizer.apply(strategy, g, variables), args=(grads,))
    return summed, count


def compile_step(tf: Any, strategy: Any, replica_fn: Callable[..., Any]) -> Callable[..., Any]:
    """A tf.function running `replica_fn` on every replica; returns its (sum, count), equal on all after the all-reduce."""

    @tf.function(reduce_retracing=True)
    def step(*args: Any) -> tuple[Any, Any]:
        summed, count = strategy.run(replica_fn, args=args)
        # after the all-reduce every replica holds the same totals
        return strategy.experimental_local_results(summed)[0], strategy.experimental_local_results(count)[0]

    return step


def _distributed(strategy: Any, arrays: tuple[np.ndarray, ...]) -> tuple[Any, ...]:
    """Each replica's share (rows id::replicas) of a global batch, as the strategy's inputs."""
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return arrays
    return tuple(
        strategy.experimental_distribute_values_from_function(
            lambda context, a=array: a[context.replica_id_in_sync_group :: replicas]
        )
        for array in arrays
    )


def train_loop(
    tf: Any,
    strategy: Any,
    model: Any,
    optimizer: LazyAdam,
    steps: tuple[Callable[..., Any], Callable[..., Any]],
    train: TrainData,
    valid: TrainData | None,
    settings: dict[str, Any],
    progress: Callable[[float, str], None] | None,
) -> LoopResult:
    """Epochs over seeded permutations, early stopping on validation RMSE, best weights restored.

    `settings`: epochs, batch_size (global), patience, min_delta, seed, and optionally metric:
    "rmse" (the default; steps return squared errors) or "loss" (steps return a summed loss such as
    cross-entropy; the mean is the figure, "rmse" in what follows reads as it), and eval_batch (rows
    evaluated at once, default 65,536). Training stops after
    `patience` epochs in a row that do not lower validation RMSE by more than `min_delta` below its
    last such fall (Keras' EarlyStopping counts the same way); the weights kept are those of the
    epoch with the lowest validation RMSE, which a gain smaller than `min_delta` may still be
    (Keras would keep the last epoch that counted). With `settings["average"]` true they are
    instead the mean of that epoch's weights and every later epoch's (stochastic weight
    averaging, Izmailov et al. 2018, over the epochs early stopping waited through).
    """
    train_step, eval_step = steps
    epochs, batch, patience = int(settings["epochs"]), int(settings["batch_size"]), int(settings["patience"])
    min_delta = float(settings.get("min_delta", 0.0))
    rooted = settings.get("metric", "rmse") == "rmse"
    replicas = strategy.num_replicas_in_sync
    n = len(train.target)
    # with several replicas every share of a batch must be non-empty: drop the last partial batch
    n_steps = max(1, n // batch) if replicas > 1 else max(1, -(-n // batch))
    every = max(1, n_steps // 20)
    rng = np.random.default_rng(settings["seed"])
    result = LoopResult()
    lowest, mark, best_weights, waited = np.inf, np.inf, None, 0
    average = bool(settings.get("average", False))
    summed_weights, summed = None, 0  # with average: the best epoch's weights plus every later epoch's
    for epoch in range(epochs):
        order = rng.permutation(n)
        totals = []
        for index in range(n_steps):
            rows = order[index * batch : (index + 1) * batch]
            totals.append(train_step(*_distributed(strategy, train.take(rows))))
            if progress is not None and (index + 1) % every == 0:
                progress(min((epoch + (index + 1) / n_steps) / epochs, 1.0), f"epoch {epoch + 1}/{epochs}")
        squared, count = (float(np.sum([float(t[i]) for t in totals])) for i in (0, 1))
        _record(result.history, "loss", squared / max(count, 1.0))
        if rooted:
            _record(result.history, "rmse", float(np.sqrt(squared / max(count, 1.0))))
        result.epochs_run = epoch + 1
        if valid is None:
            result.best_epoch = epoch + 1
            _epoch_done(progress, epoch, epochs, result.history)
            continue
        val_rmse = evaluate(strategy, eval_step, valid, root=rooted, batch=int(settings.get("eval_batch", _EVAL_BATCH)))
        _record(result.history, "val_loss", val_rmse**2 if rooted else val_rmse)
        if rooted:
            _record(result.history, "val_rmse", val_rmse)
        _epoch_done(progress, epoch, epochs, result.history)
        if val_rmse < lowest:
            lowest, result.best_epoch = val_rmse, epoch + 1
            best_weights = model.get_weights()
            summed_weights, summed = ([np.array(w, dtype=np.float64) for w in best_weights], 1) if average else (None, 0)
        elif average and summed_weights is not None:
            for total, weight in zip(summed_weights, model.get_weights()):
                total += weight
            summed += 1
        if val_rmse < mark - min_delta:
            mark, waited = val_rmse, 0
        else:
            waited += 1
            if waited >= patience:
                break
    if summed > 1:
        model.set_weights([(total / summed).astype(weight.dtype) for total, weight in zip(summed_weights, best_weights)])
        result.averaged = summed
    elif best_weights is not None and result.best_epoch != result.epochs_run:
        model.set_weights(best_weights)
    return result


def evaluate(
    strategy: Any, eval_step: Callable[..., Any], data: Any, root: bool = True, batch: int = _EVAL_BATCH
) -> float:
    """RMSE of clipped predictions over `data` (or the mean loss, `root=False`), in batches (the same on every worker)."""
    replicas = strategy.num_replicas_in_sync
    n = len(data.target)
    squared = count = 0.0
    for start in range(0, n, batch):
        rows = np.arange(start, min(start + batch, n))
        if replicas > 1 and len(rows) < replicas:
            rows = np.resize(rows, replicas)  # every replica needs a row; the repeat is negligible
        s, c = eval_step(*_distributed(strategy, data.take(rows)))
        squared, count = squared + float(s), count + float(c)
    mean = squared / max(count, 1.0)
    return float(np.sqrt(mean)) if root else float(mean)


def _record(history: dict[str, list[float]], key: str, value: float) -> None:
    history.setdefault(key, []).append(float(value))


def _epoch_done(progress: Callable[[float, str], None] | None, epoch: int, epochs: int, history: dict) -> None:
    if progress is None:
        return
    shown = "rmse" if "rmse" in history else "loss"
    figures = ", ".join(f"{key} {values[-1]:.4f}" for key, values in history.items() if shown in key)
    progress((epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs} done: {figures}")

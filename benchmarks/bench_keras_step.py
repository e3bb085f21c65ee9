"""Where a keras_mf training step goes: the update rule against the forward and gradient pass.

keras_mf's step at Netflix-size tables, written out in plain TensorFlow on the same shapes
(420k users x 17.7k movies, 64 factors (its default), biases, L2 on the looked-up rows, batch 8,192 over 1M
generated ratings), timed with four update rules in one run:

- `gradients`: the forward pass and the gradients, applied nowhere (what any update adds to);
- `sgd`: plain sparse SGD, `scatter_sub` of the gradient rows;
- `lazy_adam`: movierec's `LazyAdam` (deduplicated rows, their two moments gathered, updated and
  scattered back with the values), the engines' optimizer;
- `adagrad`: TensorFlow's fused sparse Adagrad kernel on the deduplicated rows.

Each prints seconds per epoch (the best of `--epochs` epochs after a first, traced one) and
ratings per second, and its ratio to `lazy_adam`.

    hatch run python benchmarks/bench_keras_step.py
    hatch run python benchmarks/bench_keras_step.py --batch 16384 --rules lazy_adam,adagrad
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

RULES = ("gradients", "sgd", "lazy_adam", "adagrad")


def step_function(tf, rule: str, tables: list, learning_rate: float, factors: int):
    """A compiled step for one update rule over (user vectors, movie vectors, user bias, movie bias)."""
    from movierec.core.models.deep.keras_train import LazyAdam

    adam = LazyAdam(tf, tables, learning_rate) if rule == "lazy_adam" else None
    accumulators = [tf.Variable(tf.fill(t.shape, 0.1)) for t in tables] if rule == "adagrad" else []

    @tf.function
    def step(user, movie, target):
        with tf.GradientTape() as tape:
            user_vector, movie_vector = tf.gather(tables[0], user), tf.gather(tables[1], movie)
            predicted = (tf.reduce_sum(user_vector * movie_vector, axis=1)
                         + tf.gather(tables[2], user)[:, 0] + tf.gather(tables[3], movie)[:, 0])
            count = tf.cast(tf.size(target), tf.float32)
            loss = tf.reduce_sum(tf.square(predicted - target)) / count
            loss += 0.1 * (tf.reduce_sum(tf.square(user_vector)) + tf.reduce_sum(tf.square(movie_vector))) / count
        grads = tape.gradient(loss, tables)
        if rule == "gradients":  # keep the gradients alive so the graph computes them
            return loss + tf.add_n([tf.reduce_sum(g.values) for g in grads]) * 0.0
        if rule == "lazy_adam":
            adam.apply(None, grads, tables)
            return loss
        for table, grad, accumulator in zip(tables, grads, accumulators or [None] * len(tables)):
            if rule == "sgd":
                table.scatter_sub(tf.IndexedSlices(grad.values * learning_rate * 50.0, grad.indices))
            else:
                rows, position = tf.unique(grad.indices)
                values = tf.math.unsorted_segment_sum(grad.values, position, tf.shape(rows)[0])
                tf.raw_ops.ResourceSparseApplyAdagradV2(var=table.handle, accum=accumulator.handle, lr=0.05,
                                                        epsilon=1e-7, grad=values, indices=rows)
        return loss

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=420_000)
    parser.add_argument("--movies", type=int, default=17_700)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8_192)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the first (traced) one")
    parser.add_argument("--rules", default=",".join(RULES))
    args = parser.parse_args(argv)
    from movierec.core.models.deep.keras_train import import_keras

    tf, _ = import_keras()
    rng = np.random.default_rng(0)
    users = rng.integers(0, args.users, args.ratings).astype(np.int32)
    popularity = rng.lognormal(0.0, 1.2, args.movies)
    movies = rng.choice(args.movies, args.ratings, p=popularity / popularity.sum()).astype(np.int32)
    target = rng.normal(0.0, 1.0, args.ratings).astype(np.float32)
    print(f"machine: {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}; {args.ratings:,} ratings, "
          f"{args.users:,} x {args.movies:,} tables, {args.factors} factors, batch {args.batch:,}")
    results: dict[str, float] = {}
    for rule in [r.strip() for r in args.rules.split(",") if r.strip()]:
        tables = [tf.Variable(tf.random.normal([args.users + 1, args.factors], stddev=0.05)),
                  tf.Variable(tf.random.normal([args.movies + 1, args.factors], stddev=0.05)),
                  tf.Variable(tf.zeros([args.users + 1, 1])), tf.Variable(tf.zeros([args.movies + 1, 1]))]
        step = step_function(tf, rule, tables, 0.008, args.factors)
        order = rng.permutation(args.ratings)
        times = []
        for _ in range(args.epochs + 1):
            began = time.perf_counter()
            for start in range(0, args.ratings, args.batch):
                rows = order[start:start + args.batch]
                step(users[rows], movies[rows], target[rows])
            times.append(time.perf_counter() - began)
        results[rule] = min(times[1:])
    base = results.get("lazy_adam")
    for rule, seconds in results.items():
        ratio = f"   {base / seconds:4.2f}x lazy_adam's speed" if base else ""
        print(f"  {rule:<10} {seconds:6.2f} s per epoch   {args.ratings / seconds:>10,.0f} ratings / s{ratio}")


if __name__ == "__main__":
    main()

"""The Keras engines' training loop: early stopping and the weights it keeps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from movierec.core.models.deep import keras_train

tf = pytest.importorskip("tensorflow")


@dataclass
class _Rows:
    target: np.ndarray

    def take(self, rows: np.ndarray) -> tuple[np.ndarray]:
        return (self.target[rows],)


class _Steps:
    """A model whose one weight counts the epochs trained, with a scripted validation loss per epoch."""

    def __init__(self, losses: list[float]) -> None:
        self.weight, self.losses = np.zeros(3, np.float32), iter(losses)

    def get_weights(self) -> list[np.ndarray]:
        return [self.weight.copy()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.weight = np.array(weights[0], np.float32)

    def train(self, target: np.ndarray) -> tuple[float, float]:
        self.weight += 1.0 / 4  # four steps an epoch: after epoch e the weight is e
        return 0.0, float(len(target))

    def evaluate(self, target: np.ndarray) -> tuple[float, float]:
        return next(self.losses) * len(target), float(len(target))


def _run(losses: list[float], average: bool) -> tuple[keras_train.LoopResult, np.ndarray]:
    steps = _Steps(losses)
    settings = {"epochs": len(losses), "batch_size": 2, "patience": 3, "seed": 0, "metric": "loss", "average": average}
    result = keras_train.train_loop(tf, tf.distribute.get_strategy(), steps, None, (steps.train, steps.evaluate),
                                    _Rows(np.arange(8)), _Rows(np.arange(2)), settings, None)
    return result, steps.weight


def test_early_stopping_keeps_the_best_epochs_weights() -> None:
    result, weight = _run([3.0, 1.0, 2.0, 1.5, 4.0, 0.5, 0.1], average=False)
    assert (result.best_epoch, result.epochs_run, result.averaged) == (2, 5, 0)  # epochs 3-5 no better: stop
    np.testing.assert_allclose(weight, 2.0)


def test_averaging_keeps_the_mean_of_the_best_epoch_and_every_later_one() -> None:
    result, weight = _run([3.0, 1.0, 2.0, 1.5, 4.0, 0.5, 0.1], average=True)
    assert (result.best_epoch, result.epochs_run, result.averaged) == (2, 5, 4)
    np.testing.assert_allclose(weight, np.mean([2.0, 3.0, 4.0, 5.0]))


def test_averaging_the_last_epoch_alone_keeps_it() -> None:
    result, weight = _run([3.0, 2.0, 1.0], average=True)
    assert (result.best_epoch, result.epochs_run, result.averaged) == (3, 3, 0)
    np.testing.assert_allclose(weight, 3.0)

"""The accelerator toggle: auto | tpu | gpu | cpu, and the strategy it gives (selection logic on CPU)."""

from __future__ import annotations

import logging

import pytest

from movierec.core.accelerator import (
    AcceleratorError,
    choose_device,
    distribution_strategy,
    resolve_accelerator,
)
from movierec.core.errors import MovierecError


def no_tpu() -> object:
    # what TPUClusterResolver raises on a machine without a TPU
    raise ValueError("Please provide a TPU Name to connect to.")


def no_gpus() -> list:
    return []


def two_gpus() -> list:
    return ["/physical_device:GPU:0", "/physical_device:GPU:1"]


def test_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("MOVIEREC_ACCELERATOR", "gpu")
    assert resolve_accelerator("CPU") == "cpu"
    assert resolve_accelerator() == "gpu"


def test_default_is_auto(monkeypatch):
    monkeypatch.delenv("MOVIEREC_ACCELERATOR", raising=False)
    assert resolve_accelerator() == "auto"


def test_unknown_accelerator_names_its_source(monkeypatch):
    monkeypatch.setenv("MOVIEREC_ACCELERATOR", "quantum")
    with pytest.raises(MovierecError, match="MOVIEREC_ACCELERATOR.*'quantum'.*auto, tpu, gpu, cpu"):
        resolve_accelerator()


def test_auto_falls_back_to_cpu_when_the_tpu_resolver_fails():
    choice = choose_device("auto", tpu_resolver=no_tpu, list_gpus=no_gpus, try_tpu=True)
    assert (choice.kind, choice.count) == ("cpu", 1)


def test_auto_prefers_a_reachable_tpu():
    resolver = object()
    choice = choose_device("auto", tpu_resolver=lambda: resolver, list_gpus=two_gpus, try_tpu=True)
    assert choice.kind == "tpu" and choice.resolver is resolver


def test_auto_uses_all_visible_gpus_when_no_tpu():
    choice = choose_device("auto", tpu_resolver=no_tpu, list_gpus=two_gpus, try_tpu=True)
    assert (choice.kind, choice.count) == ("gpu", 2)


def test_auto_skips_the_tpu_probe_without_a_tpu_hint(monkeypatch):
    for key in ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_WORKER_ID", "KAGGLE_TPU", "TPU_ACCELERATOR_TYPE"):
        monkeypatch.delenv(key, raising=False)
    calls = []

    def counting_resolver() -> object:
        calls.append(1)
        raise ValueError("no TPU")

    choose_device("auto", tpu_resolver=counting_resolver, list_gpus=no_gpus)
    monkeypatch.setenv("TPU_NAME", "local")
    choose_device("auto", tpu_resolver=counting_resolver, list_gpus=no_gpus)
    assert calls == [1]


def test_explicit_tpu_that_is_not_there_is_a_clear_error():
    with pytest.raises(AcceleratorError, match="'tpu' was requested but no TPU is reachable"):
        choose_device("tpu", tpu_resolver=no_tpu, list_gpus=two_gpus)


def test_explicit_gpu_that_is_not_there_is_a_clear_error():
    with pytest.raises(AcceleratorError, match="'gpu' was requested but TensorFlow sees no GPU"):
        distribution_strategy("gpu", tpu_resolver=no_tpu, list_gpus=no_gpus)


def test_explicit_cpu_never_probes_devices():
    def fail() -> list:
        raise AssertionError("cpu must not probe devices")

    assert choose_device("cpu", tpu_resolver=fail, list_gpus=fail).kind == "cpu"


def test_cpu_strategy_pins_one_cpu_replica():
    strategy = distribution_strategy("cpu")
    assert type(strategy).__name__ == "OneDeviceStrategy"
    assert strategy.num_replicas_in_sync == 1


def test_auto_without_devices_gives_the_default_strategy_and_logs_the_choice(caplog):
    import tensorflow as tf

    with caplog.at_level(logging.INFO, logger="movierec.core.accelerator"):
        strategy = distribution_strategy("auto", tpu_resolver=no_tpu, list_gpus=no_gpus, try_tpu=True)
    assert strategy is tf.distribute.get_strategy()
    assert "accelerator auto: cpu" in caplog.text


def test_engine_with_unavailable_gpu_fails_before_training(sample, monkeypatch):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    from movierec.core.models.registry import create_engine

    monkeypatch.setenv("MOVIEREC_ACCELERATOR", "gpu")
    engine = create_engine("keras_mf", n_epochs=1)
    with pytest.raises(AcceleratorError, match="gpu"):
        engine.fit(sample.ratings.head(2000))

"""The accelerator toggle: `auto | tpu | gpu | cpu` -> a TensorFlow distribution strategy.

One setting for the whole project: the argument wins, else `MOVIEREC_ACCELERATOR` (which the
CLI's `--accelerator` flag sets), else `auto`. TensorFlow is imported only when a strategy is
asked for, so importing this module (and `movierec.core`) stays cheap.

The device probes are parameters (`tpu_resolver`, `list_gpus`) so the selection logic runs the
same code path with a resolver that fails or a machine that has no GPU.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from movierec.core.errors import MovierecError

ACCELERATORS = ("auto", "tpu", "gpu", "cpu")
ENV_VAR = "MOVIEREC_ACCELERATOR"
# Environment variables that say a TPU may be attached (Cloud TPU VMs, Colab, Kaggle).
_TPU_HINTS = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_WORKER_ID", "KAGGLE_TPU", "TPU_ACCELERATOR_TYPE")

log = logging.getLogger(__name__)
_STRATEGIES: dict[str, Any] = {}


class AcceleratorError(MovierecError):
    """An accelerator was asked for by name and is not there."""


def resolve_accelerator(name: str | None = None) -> str:
    """The accelerator to use: `name`, else $MOVIEREC_ACCELERATOR, else 'auto' (validated)."""
    source = "argument"
    if name is None or name == "":
        name = os.environ.get(ENV_VAR) or "auto"
        source = ENV_VAR
    value = str(name).strip().lower()
    if value not in ACCELERATORS:
        raise AcceleratorError(
            f"{source}: unknown accelerator {name!r}; expected one of {', '.join(ACCELERATORS)}"
        )
    return value


@dataclass(frozen=True)
class DeviceChoice:
    """What the selection found: the device kind, how many, and the TPU resolver when it is one."""

    kind: str  # tpu | gpu | cpu
    count: int
    reason: str
    resolver: Any = None


def default_tpu_resolver() -> Any:
    """Connect to a reachable TPU and initialize it; raise when there is none."""
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return resolver


def default_list_gpus() -> list[Any]:
    """The GPUs TensorFlow can see."""
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def tpu_hinted() -> bool:
    """Whether the environment says a TPU may be attached (so `auto` tries the resolver)."""
    return any(os.environ.get(key) for key in _TPU_HINTS) or os.path.exists("/dev/accel0")


def choose_device(
    accelerator: str | None = None,
    tpu_resolver: Callable[[], Any] | None = None,
    list_gpus: Callable[[], list[Any]] | None = None,
    try_tpu: bool | None = None,
) -> DeviceChoice:
    """Pick the device for `accelerator`; `auto` falls back tpu -> gpu -> cpu, names must exist.

    `try_tpu` says whether `auto` probes for a TPU (default: only when the environment hints at
    one, because the resolver can wait on network metadata lookups elsewhere).
    """
    wanted = resolve_accelerator(accelerator)
    tpu_resolver = tpu_resolver or default_tpu_resolver
    list_gpus = list_gpus or default_list_gpus
    if wanted == "cpu":
        return DeviceChoice("cpu", 1, "cpu requested")
    if wanted == "tpu" or (wanted == "auto" and (tpu_hinted() if try_tpu is None else try_tpu)):
        try:
            resolver = tpu_resolver()
        except Exception as error:  # the resolver raises ValueError, RuntimeError, NotFoundError...
            if wanted == "tpu":
                raise AcceleratorError(
                    f"accelerator 'tpu' was requested but no TPU is reachable ({error}); "
                    f"use --accelerator auto, gpu or cpu"
                ) from error
            log.debug("no TPU reachable: %s", error)
        else:
            return DeviceChoice("tpu", 1, "TPU reachable", resolver)
    if wanted in ("gpu", "auto"):
        try:
            gpus = list_gpus()
        except Exception as error:
            gpus = []
            log.debug("listing GPUs failed: %s", error)
        if gpus:
            return DeviceChoice("gpu", len(gpus), f"{len(gpus)} GPU(s) visible")
        if wanted == "gpu":
            raise AcceleratorError(
                "accelerator 'gpu' was requested but TensorFlow sees no GPU "
                "(no CUDA driver or device); use --accelerator auto or cpu"
            )
    return DeviceChoice("cpu", 1, "no TPU or GPU found" if wanted == "auto" else "cpu requested")


def distribution_strategy(
    accelerator: str | None = None,
    tpu_resolver: Callable[[], Any] | None = None,
    list_gpus: Callable[[], list[Any]] | None = None,
    try_tpu: bool | None = None,
) -> Any:
    """The tf.distribute strategy for `accelerator`: TPUStrategy, Mirrored, OneDevice or default.

    With the default probes the strategy is made once per accelerator and process (a TPU is
    initialized only once); injected probes always run the selection again.
    """
    import tensorflow as tf

    wanted = resolve_accelerator(accelerator)
    cacheable = tpu_resolver is None and list_gpus is None and try_tpu is None
    if cacheable and wanted in _STRATEGIES:
        return _STRATEGIES[wanted]
    choice = choose_device(wanted, tpu_resolver, list_gpus, try_tpu)
    if choice.kind == "tpu":
        strategy = tf.distribute.TPUStrategy(choice.resolver)
    elif choice.kind == "gpu" and choice.count > 1:
        strategy = tf.distribute.MirroredStrategy()
    elif choice.kind == "gpu":
        strategy = tf.distribute.OneDeviceStrategy("/gpu:0")
    elif choice.reason == "cpu requested":
        # The default strategy would still place ops on a GPU if one exists.
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    else:
        strategy = tf.distribute.get_strategy()
    log.info(
        "accelerator %s: %s (%s, %d replica(s))",
        wanted,
        choice.kind,
        choice.reason,
        strategy.num_replicas_in_sync,
    )
    if cacheable:
        _STRATEGIES[wanted] = strategy
    return strategy

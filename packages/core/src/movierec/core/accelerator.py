"""The accelerator toggle: `auto | tpu | gpu | cpu | multiworker` -> a TensorFlow distribution strategy.

One setting for the whole project: the argument wins, else `MOVIEREC_ACCELERATOR` (which the
CLI's `--accelerator` flag sets), else `auto`. TensorFlow is imported only when a strategy is
asked for, so importing this module (and `movierec.core`) stays cheap.

`multiworker` trains data-parallel on several machines with MultiWorkerMirroredStrategy, set up
by the standard `TF_CONFIG` variable (see docs/multiworker.md): every worker runs the same
command, and only the chief (`is_chief()`) writes outputs.

The device probes are parameters (`tpu_resolver`, `list_gpus`) so the selection logic runs the
same code path with a resolver that fails or a machine that has no GPU.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from movierec.core.errors import MovierecError

ACCELERATORS = ("auto", "tpu", "gpu", "cpu", "multiworker")
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

    kind: str  # tpu | gpu | cpu | multiworker
    count: int
    reason: str
    resolver: Any = None


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a multi-worker cluster, read from TF_CONFIG."""

    workers: int
    task_type: str
    index: int
    has_chief: bool = False

    @property
    def chief(self) -> bool:
        """Whether this task writes the outputs: the 'chief' task, else worker 0 when there is none."""
        return self.task_type == "chief" or (self.task_type == "worker" and self.index == 0 and not self.has_chief)


def read_tf_config(text: str | None = None) -> ClusterTask:
    """Parse TF_CONFIG (default: the environment's); AcceleratorError saying what is wrong."""
    text = os.environ.get("TF_CONFIG") if text is None else text
    example = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
    if not text or not text.strip():
        raise AcceleratorError(f"accelerator 'multiworker' needs the TF_CONFIG environment variable, e.g. {example}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise AcceleratorError(f"TF_CONFIG is not valid JSON ({error}): expected e.g. {example}") from error
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise AcceleratorError(f"TF_CONFIG needs a 'cluster' and a 'task' object; got {text!r}")
    members = {kind: hosts for kind, hosts in cluster.items() if kind in ("chief", "worker")}
    for kind, hosts in members.items():
        if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and ":" in h for h in hosts):
            raise AcceleratorError(f"TF_CONFIG cluster.{kind} must be a list of 'host:port' strings; got {hosts!r}")
    if "worker" not in members:
        raise AcceleratorError(f"TF_CONFIG cluster has no 'worker' list; got {cluster!r}")
    kind, index = task.get("type"), task.get("index")
    if kind not in members or not isinstance(index, int) or not 0 <= index < len(members[kind]):
        raise AcceleratorError(
            f"TF_CONFIG task {task!r} does not name a member of the cluster "
            f"(type one of {', '.join(members)}, index 0..{len(members.get(kind, [0])) - 1})"
        )
    workers = sum(len(hosts) for hosts in members.values())
    return ClusterTask(workers, kind, index, has_chief="chief" in members)


def is_chief(accelerator: str | None = None) -> bool:
    """Whether this process writes outputs: always, unless multi-worker training says it is not the chief.

    Multi-worker training is on when `accelerator` (or $MOVIEREC_ACCELERATOR) says so, or when an
    engine in this process has already made the multi-worker strategy.
    """
    if resolve_accelerator(accelerator) != "multiworker" and "multiworker" not in _STRATEGIES:
        return True
    return read_tf_config().chief


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
    if wanted == "multiworker":
        task = read_tf_config()
        return DeviceChoice("multiworker", task.workers, f"TF_CONFIG: {task.task_type} {task.index} of {task.workers}")
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
    """The tf.distribute strategy for `accelerator`: TPUStrategy, MultiWorkerMirrored, Mirrored, OneDevice or default.

    With the default probes the strategy is made once per accelerator and process (a TPU is
    initialized only once); injected probes always run the selection again.
    """
    import tensorflow as tf

    wanted = resolve_accelerator(accelerator)
    cacheable = tpu_resolver is None and list_gpus is None and try_tpu is None
    if cacheable and wanted in _STRATEGIES:
        return _STRATEGIES[wanted]
    choice = choose_device(wanted, tpu_resolver, list_gpus, try_tpu)
    if choice.kind == "multiworker":
        # one strategy per process, made before other TensorFlow work (TensorFlow's requirement)
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    elif choice.kind == "tpu":
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

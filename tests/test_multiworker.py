"""Multi-worker training: two local worker processes on loopback ports train keras_mf (and keras_sasrec) together.

Each worker runs the same program with its own TF_CONFIG (MultiWorkerMirroredStrategy); the
chief (worker 0) saves the engine and its test RMSE, the other worker writes nothing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from movierec.core.accelerator import AcceleratorError, choose_device, is_chief, read_tf_config

WORKER = """
import json, sys
from pathlib import Path
import numpy as np
from movierec.core.accelerator import is_chief
from movierec.core.data import load_dataset
from movierec.core.data.split import iter_folds
from movierec.core.models.registry import create_engine

out = Path(sys.argv[1])
sample = load_dataset("sample")
fold = next(iter_folds(sample.ratings.head(12000), "holdout:0.2", seed=5))
engine = create_engine("keras_mf", n_factors=16, n_epochs=5, batch_size=1024, learning_rate=0.01,
                       validation_fraction=0.1, accelerator="multiworker")
engine.fit(fold.train)
truth = fold.test["rating"].to_numpy()
rmse = float(np.sqrt(np.mean((engine.predict(fold.test["user"], fold.test["movie"]) - truth) ** 2)))
mean_rmse = float(np.sqrt(np.mean((fold.train["rating"].mean() - truth) ** 2)))
if is_chief():
    engine.save(out / "engine")
    (out / "result.json").write_text(json.dumps({"rmse": rmse, "mean_rmse": mean_rmse, "epochs": engine.epochs_run_}))
print("finished", rmse, flush=True)
"""


SEQUENCE_WORKER = """
import sys
from pathlib import Path
from movierec.core.accelerator import is_chief
from movierec.core.data import load_dataset
from movierec.core.models.registry import create_engine

out = Path(sys.argv[1])
ratings = load_dataset("sample").ratings.head(6000)
engine = create_engine("keras_sasrec", n_factors=8, max_len=10, blocks=1, n_epochs=2, batch_size=32, negatives=32,
                       accelerator="multiworker")
engine.fit(ratings)
user = int(ratings["user"].iloc[0])
scores = engine.recommend(user, k=5)["score"].tolist()
if is_chief():
    engine.save(out / "engine")
print("finished", engine.epochs_run_, " ".join(f"{s:.6f}" for s in scores), flush=True)
"""


def _run_workers(tmp_path: Path, program: str, timeout: int = 240) -> list[str]:
    """Run `program` as two local workers (worker 0 the chief); their outputs, both having succeeded."""
    ports = free_ports(2)
    script = tmp_path / "worker.py"
    script.write_text(program)
    processes = []
    for index in range(2):
        out = tmp_path / f"worker{index}"
        out.mkdir()
        env = {**os.environ, "TF_CONFIG": tf_config(ports, index), "TF_CPP_MIN_LOG_LEVEL": "3"}
        env.pop("MOVIEREC_ACCELERATOR", None)
        processes.append(
            subprocess.Popen([sys.executable, str(script), str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]
        assert "finished" in output
    return outputs


def test_two_local_workers_train_keras_sasrec_through_the_same_loop(tmp_path):
    outputs = _run_workers(tmp_path, SEQUENCE_WORKER)
    lines = [output.strip().splitlines()[-1].split()[1:] for output in outputs]
    # both workers hold the same model: the same epochs and the same scores
    assert lines[0][0] == lines[1][0] == "2"
    np.testing.assert_allclose([float(v) for v in lines[0][1:]], [float(v) for v in lines[1][1:]], rtol=1e-4)
    assert (tmp_path / "worker0" / "engine" / "engine.json").exists()
    assert not any((tmp_path / "worker1").iterdir())  # only the chief writes


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def test_two_local_workers_train_and_the_chief_writes_a_model_better_than_the_mean(tmp_path):
    outputs = _run_workers(tmp_path, WORKER)
    chief_result = json.loads((tmp_path / "worker0" / "result.json").read_text())
    assert chief_result["rmse"] < chief_result["mean_rmse"] - 0.02, chief_result
    assert (tmp_path / "worker0" / "engine" / "model.keras").exists()
    assert not any((tmp_path / "worker1").iterdir())  # only the chief writes
    # both workers hold the same model: their test RMSE agrees
    rmse = [float(output.strip().splitlines()[-1].split()[-1]) for output in outputs]
    np.testing.assert_allclose(rmse[0], rmse[1], rtol=1e-5)


def test_missing_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(AcceleratorError, match="needs the TF_CONFIG environment variable"):
        choose_device("multiworker")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"cluster": {"worker": ["a:1"]}}', "needs a 'cluster' and a 'task'"),
        ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "list of 'host:port'"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "does not name a member"),
        ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "no 'worker' list"),
    ],
)
def test_malformed_tf_config_names_what_is_wrong(text, message):
    with pytest.raises(AcceleratorError, match=message):
        read_tf_config(text)


def test_only_worker_zero_or_the_chief_writes(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config([1, 2], 1))
    assert not is_chief("multiworker") and is_chief("cpu")
    monkeypatch.setenv("TF_CONFIG", tf_config([1, 2], 0))
    assert is_chief("multiworker")
    with_chief = {"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}
    assert not read_tf_config(json.dumps(with_chief)).chief
    assert read_tf_config(json.dumps({**with_chief, "task": {"type": "chief", "index": 0}})).chief

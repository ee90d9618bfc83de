"""Two replicas on gloo (CPU), started by `cnnlab launch` in a subprocess, against a one-process run.

The reference is the same script run in this process with the same global
batch: data-parallel training must give the same weights and the same logs.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
WORKER = HERE / "distributed_worker.py"
REPO = HERE.parent.parent
# A failing run must end well within this; the test fails rather than hangs.
RUN_TIMEOUT_SECONDS = 120


def _launch(*launch_args, script_args=(), env=None, timeout=RUN_TIMEOUT_SECONDS):
    command = [sys.executable, "-m", "cnnlab.distribute.launch", *launch_args, str(WORKER), *script_args]
    environment = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout)


def _one_process(mode, run_dir, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(HERE))
    import distributed_worker

    os.makedirs(run_dir, exist_ok=True)
    return distributed_worker.run(mode, str(run_dir), None)


def _files(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


def _assert_same_training(result, reference):
    assert result["replicas"] == 2 and reference["replicas"] == 1
    for got, want in zip(result["weights"], reference["weights"]):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)
    assert result["history"].keys() == reference["history"].keys()
    for name, values in reference["history"].items():
        np.testing.assert_allclose(result["history"][name], values, rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(result["evaluate"], reference["evaluate"], rtol=1e-5)
    np.testing.assert_allclose(result["predict"], reference["predict"], atol=1e-5)
    assert result["learning_rate"] == pytest.approx(reference["learning_rate"])


@pytest.fixture(scope="module")
def two_replica_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_replicas")
    run_dir, results = root / "run", root / "results"
    run_dir.mkdir()
    results.mkdir()
    done = _launch("-n", "2", script_args=("train", str(run_dir), str(results)))
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((results / f"rank{r}.json").read_text()) for r in range(2)]
    return run_dir, ranks


def test_two_replicas_end_with_the_weights_and_logs_of_one_process(two_replica_run, tmp_path, monkeypatch):
    _, ranks = two_replica_run
    reference = _one_process("train", tmp_path / "reference", monkeypatch)
    # Early stopping and ReduceLROnPlateau decided on the same epochs as in one process.
    assert len(reference["history"]["loss"]) < 4, "the reference run should stop early"
    for result in ranks:
        _assert_same_training(result, reference)


def test_every_replica_logs_the_same_numbers(two_replica_run):
    _, (rank0, rank1) = two_replica_run
    assert rank0["history"] == rank1["history"]
    assert rank0["weights"] == rank1["weights"]
    assert rank0["evaluate"] == rank1["evaluate"]


def test_only_rank_0_writes_checkpoints_and_logs(two_replica_run, tmp_path, monkeypatch):
    run_dir, ranks = two_replica_run
    _one_process("train", tmp_path / "reference", monkeypatch)
    assert _files(run_dir) == _files(tmp_path / "reference") == ["ckpt.cnnlab", "history.csv"]
    # One header and one row per epoch: a second writer would have added its own rows.
    rows = (run_dir / "history.csv").read_text().splitlines()
    assert len(rows) == 1 + len(ranks[0]["history"]["loss"])


def test_a_worker_that_dies_stops_the_run_with_its_rank_and_cause(tmp_path):
    start = time.monotonic()
    done = _launch("-n", "2", script_args=("die", str(tmp_path), str(tmp_path)), timeout=90)
    elapsed = time.monotonic() - start
    assert done.returncode == 1
    message = done.stderr.splitlines()[-1]
    assert message.startswith("cnnlab launch: error: ")
    assert "rank 1 (local rank 1" in message and "exited with exit code 3" in message
    assert elapsed < 60
    assert not list(tmp_path.glob("rank*.json"))


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_a_rendezvous_that_cannot_complete_times_out_with_endpoint_and_arrivals(tmp_path):
    endpoint = f"localhost:{_free_port()}"
    done = _launch("--nnodes", "2", "--node-rank", "0", "--rdzv-endpoint", endpoint, "--join-timeout", "3",
                   script_args=("train", str(tmp_path), str(tmp_path)), timeout=90)
    assert done.returncode == 1
    message = done.stderr.splitlines()[-1]
    assert f"the rendezvous at {endpoint} did not complete within 3 s" in message
    assert "1 of 2 nodes (1 of 2 worker processes) arrived" in message
    assert "same command" in message and "firewall" in message


@pytest.mark.slow
def test_two_machines_on_localhost_train_like_one_process(tmp_path, monkeypatch):
    endpoint = f"localhost:{_free_port()}"
    results, run_dir = tmp_path / "results", tmp_path / "run"
    results.mkdir()
    run_dir.mkdir()
    nodes = []
    for node_rank in (0, 1):
        command = [sys.executable, "-m", "cnnlab.distribute.launch", "--nnodes", "2", "--node-rank", str(node_rank),
                   "--rdzv-endpoint", endpoint, "--rdzv-id", "two-nodes", "-n", "1", str(WORKER), "train",
                   str(run_dir), str(results)]
        nodes.append(subprocess.Popen(command, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for node in nodes:
        _, err = node.communicate(timeout=RUN_TIMEOUT_SECONDS)
        assert node.returncode == 0, err[-3000:]
    reference = _one_process("train", tmp_path / "reference", monkeypatch)
    for r in range(2):
        _assert_same_training(json.loads((results / f"rank{r}.json").read_text()), reference)
    assert _files(run_dir) == ["ckpt.cnnlab", "history.csv"]


@pytest.mark.slow
def test_backup_and_restore_resumes_a_distributed_run(tmp_path, monkeypatch):
    run_dir, results = tmp_path / "run", tmp_path / "results"
    run_dir.mkdir()
    results.mkdir()
    crashed = _launch("-n", "2", script_args=("resume", str(run_dir), str(results)), env={"CRASH_AT_EPOCH": "1"})
    assert crashed.returncode == 1 and "simulated crash after epoch 1" in crashed.stderr
    assert _files(run_dir / "backup")  # rank 0 left its backup
    resumed = _launch("-n", "2", script_args=("resume", str(run_dir), str(results)))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    reference = _one_process("resume", tmp_path / "reference", monkeypatch)
    for r in range(2):
        result = json.loads((results / f"rank{r}.json").read_text())
        for got, want in zip(result["weights"], reference["weights"]):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)
        # The resumed fit ran epochs 2 and 3 only.
        np.testing.assert_allclose(result["history"]["loss"], reference["history"]["loss"][2:], rtol=1e-5)
    assert not (run_dir / "backup").exists()  # deleted by rank 0 when fit finished


def _docs_script(tmp_path):
    import re

    page = (REPO / "docs" / "distributed.md").read_text(encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_text(re.findall(r"```python\n(.*?)```", page, flags=re.S)[0], encoding="utf-8")
    return script


def test_docs_script_runs_as_a_plain_script(tmp_path, monkeypatch, capsys):
    script = _docs_script(tmp_path)
    monkeypatch.chdir(tmp_path)
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), {"__name__": "__main__"})
    assert "replicas: 1" in capsys.readouterr().out
    assert _files(tmp_path) == ["best.cnnlab", "history.csv", "train.py"]


@pytest.mark.slow
def test_docs_script_runs_unchanged_on_two_replicas(tmp_path):
    script = _docs_script(tmp_path)
    command = [sys.executable, "-m", "cnnlab.distribute.launch", "-n", "2", str(script)]
    done = subprocess.run(command, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stderr[-3000:]
    # Both workers print "replicas: 2" to one stdout; print() writes its parts separately, so they may interleave.
    assert done.stdout.count("replicas:") == 2 and "".join(done.stdout.replace("replicas:", "").split()) == "22"
    assert _files(tmp_path) == ["best.cnnlab", "history.csv", "train.py"]

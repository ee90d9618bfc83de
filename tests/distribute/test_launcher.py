"""`cnnlab launch` without starting processes: torchrun arguments and failure messages."""

import signal
from types import SimpleNamespace

import pytest

from cnnlab.distribute import launch
from cnnlab.errors import ConfigError


def test_one_machine_runs_standalone_with_the_script_and_its_arguments_last():
    args = launch.torchrun_args("train.py", ["--epochs", "3"], nproc_per_node=2)
    assert args == ["--nproc-per-node", "2", "--max-restarts", "0", "--standalone", "train.py", "--epochs", "3"]


def test_several_machines_use_the_c10d_rendezvous_at_the_endpoint():
    args = launch.torchrun_args("train.py", nproc_per_node=4, nnodes=2, node_rank=1, rdzv_endpoint="node0:29400",
                                rdzv_id="run7", join_timeout=30)
    text = " ".join(args)
    assert "--nnodes 2 --rdzv-backend c10d --rdzv-endpoint node0:29400 --rdzv-id run7" in text
    assert "--node-rank 1" in text and "--rdzv-conf join_timeout=30" in text
    assert "--standalone" not in args


def test_module_runs_with_torchruns_module_flag():
    args = launch.torchrun_args("cnnlab.cli.main", ["train"], nproc_per_node=2, module=True)
    assert args[-3:] == ["--module", "cnnlab.cli.main", "train"]


def test_several_machines_without_an_endpoint_are_refused():
    with pytest.raises(ConfigError, match="rdzv_endpoint"):
        launch.torchrun_args("train.py", nnodes=2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_process_counts_must_be_positive_ints(bad):
    with pytest.raises(ConfigError, match="Received: nproc_per_node"):
        launch.torchrun_args("train.py", nproc_per_node=bad)


def _failure(local_rank, exitcode, message="<NONE>"):
    return SimpleNamespace(local_rank=local_rank, pid=100 + local_rank, exitcode=exitcode,
                           error_file_data={"message": message})


def test_worker_failure_message_names_the_failed_rank_its_cause_and_the_stopped_ranks():
    failures = {1: _failure(1, 3), 0: _failure(0, -signal.SIGTERM)}
    text = launch._worker_failure_message(failures, "train.py")
    assert "rank 1 (local rank 1, pid 101) exited with exit code 3" in text
    assert "stopped rank(s) 0" in text


def test_a_killed_worker_is_reported_by_signal_name():
    text = launch._worker_failure_message({0: _failure(0, -signal.SIGKILL)}, "train.py")
    assert "killed by SIGKILL (often out of memory)" in text


def test_rendezvous_message_says_endpoint_arrivals_and_what_to_check():
    text = launch._rendezvous_message("localhost:29999", nnodes=2, nproc=3, nodes_seen=1, join_timeout=5)
    assert "localhost:29999" in text and "within 5 s" in text
    assert "1 of 2 nodes (3 of 6 worker processes) arrived" in text
    assert "firewall" in text and "--rdzv-id" in text

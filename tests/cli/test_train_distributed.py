"""`cnnlab train --distributed N`: the same run folder, written once, by N data-parallel processes."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_distributed_train_writes_one_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", "train", "--model", "lenet5", "--data", "digits", "--epochs", "1",
         "--limit", "300", "--distributed", "2", "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=180, env={**__import__("os").environ, "TMPDIR": str(scratch)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"history.csv", "model.cnnlab", "report.html", "run.json"} <= {p.name for p in out.iterdir()}
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "finished"
    assert run["config"]["distributed"] == 2
    assert len((out / "history.csv").read_text().strip().splitlines()) == 2  # header + one epoch, written once
    assert not list(scratch.glob("cnnlab-replica-*"))  # the second replica cleaned up its scratch folder

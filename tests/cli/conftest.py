"""Run the ``cnnlab`` command in a subprocess, as a user would."""

import os
import subprocess
import sys

import pytest


def run_cli(*args, cwd=None, entry_point=False, timeout=300):
    """Run ``cnnlab ARGS`` and return the CompletedProcess (text output)."""
    command = [os.path.join(os.path.dirname(sys.executable), "cnnlab")] if entry_point else \
        [sys.executable, "-m", "cnnlab.cli.main"]
    env = dict(os.environ, COLUMNS="120", MPLBACKEND="Agg")
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One short training run on digits, shared by the tests that need a trained model."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = run_cli("train", "--model", "lenet5", "--data", "digits", "--epochs", "2", "--limit", "300",
                     "--batch-size", "64", "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result

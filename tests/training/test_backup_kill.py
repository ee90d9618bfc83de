"""``BackupAndRestore`` against a real crash: a training process killed with SIGKILL and started again.

Most of the time goes to starting Python and importing torch, so the process
that resumes is started early, next to the one that will be killed, and waits
on its stdin until the kill: it reads the backup only after the crash. Torch
runs on one thread: on a busy 2-core machine two threads per process spin
against each other and make this tiny model 10x slower.
"""

import os
import runpy
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import torch

EPOCHS = 6
KILL_AFTER_EPOCH = 2  # 0-based: killed once epochs 0..2 are done (and backed up)

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import torch
    import cnnlab
    from cnnlab import callbacks, layers

    out, backup_dir, progress, slow = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    if sys.argv[5:] == ["wait"]:
        sys.stdin.readline()  # started ahead of time: go on once the other run is dead
    torch.set_num_threads(1)
    cnnlab.utils.set_random_seed(1234)
    rng = np.random.default_rng(0)
    x = rng.random((96, 6), dtype=np.float32)
    y = rng.integers(0, 3, 96)
    model = cnnlab.Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                               layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu")

    def mark(epoch, logs):
        with open(progress, "a") as f:
            f.write(f"{epoch}\\n")
        if slow and epoch == KILL_AFTER_EPOCH:
            time.sleep(60)  # wait here, after epoch's backup, to be killed

    cbs = [callbacks.BackupAndRestore(backup_dir), callbacks.LambdaCallback(on_epoch_end=mark)]
    model.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0, callbacks=cbs)
    np.savez(out, *model.get_weights())
    """
).replace("KILL_AFTER_EPOCH", str(KILL_AFTER_EPOCH)).replace("EPOCHS", str(EPOCHS))


def _run(tmp_path, name, slow, wait=False):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    args = [sys.executable, str(script), str(tmp_path / f"{name}.npz"), str(tmp_path / f"{name}-backup"),
            str(tmp_path / f"{name}.progress"), "1" if slow else "0", *(["wait"] if wait else [])]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _epochs_done(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _weights(path):
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def _run_here(tmp_path, name, monkeypatch):
    """The uninterrupted reference run, in this process (one interpreter start less)."""
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    monkeypatch.setattr(sys, "argv", ["train.py", str(tmp_path / f"{name}.npz"), str(tmp_path / f"{name}-backup"),
                                      str(tmp_path / f"{name}.progress"), "0"])
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        torch.set_num_threads(threads)


def _kill_if_running(process):
    if process.poll() is None:
        process.kill()
        process.wait()


def test_killed_run_resumes_to_same_weights_as_uninterrupted(tmp_path, monkeypatch):
    crashed = _run(tmp_path, "crash", slow=True)
    resumed = _run(tmp_path, "crash", slow=False, wait=True)
    try:
        _run_here(tmp_path, "ref", monkeypatch)
        progress = tmp_path / "crash.progress"
        deadline = time.monotonic() + 30
        while KILL_AFTER_EPOCH not in _epochs_done(progress):
            assert crashed.poll() is None, crashed.stderr.read().decode()
            assert time.monotonic() < deadline, "the training script made no progress"
            time.sleep(0.02)
        os.kill(crashed.pid, signal.SIGKILL)  # inside the sleep after epoch 2's backup
        crashed.wait()
        assert not (tmp_path / "crash.npz").exists()

        assert resumed.poll() is None, resumed.stderr.read().decode()  # still waiting: it has not trained yet
        _, stderr = resumed.communicate(b"go\n", timeout=60)
        assert resumed.returncode == 0, stderr.decode()
    finally:
        _kill_if_running(crashed)
        _kill_if_running(resumed)
    done = _epochs_done(progress)
    assert done == list(range(KILL_AFTER_EPOCH + 1)) + list(range(KILL_AFTER_EPOCH + 1, EPOCHS))
    ref, got = _weights(tmp_path / "ref.npz"), _weights(tmp_path / "crash.npz")
    assert len(ref) == len(got) == 4
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))
    assert not (tmp_path / "crash-backup").exists()  # deleted after the finished run

"""Nothing is lost: ``fit`` killed (SIGKILL) or interrupted (SIGINT) at chosen points, and failing disks.

After every kill the last checkpoint loads and holds the last complete epoch,
and the next run resumes with ``BackupAndRestore`` to exactly the weights of
an uninterrupted run with the same seed.
"""

from __future__ import annotations

import csv
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from robust_record import record

import cnnlab
from cnnlab import callbacks, layers
from cnnlab.errors import CheckpointError

CHILD = Path(__file__).with_name("kill_child.py")
EPOCHS, KILL_EPOCH = 5, 2  # as in kill_child.py


def _start(work: Path, point: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen([sys.executable, str(CHILD), str(work), point], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _progress(work: Path) -> list[str]:
    path = work / "progress"
    return path.read_text().splitlines() if path.exists() else []


def _wait_until_at(proc: subprocess.Popen, work: Path, point: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while f"at {point}" not in _progress(work):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, f"the child never reached {point}"
        time.sleep(0.02)


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run's final weights (started once, read when first needed)."""
    work = tmp_path_factory.mktemp("reference")
    proc = _start(work, "none")
    cache = {}

    def get():
        if "weights" not in cache:
            assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
            cache["weights"] = _weights(work / "final.npz")
        return cache["weights"]

    yield get
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# (point, the epoch the checkpoint must hold after the kill)
KILL_POINTS = [
    ("batch", KILL_EPOCH - 1),  # mid-epoch
    ("write:model", KILL_EPOCH - 1),  # half of the checkpoint's bytes written
    ("write:backup", KILL_EPOCH),  # the checkpoint is done; the backup is half-written
    pytest.param("epoch_end", KILL_EPOCH, marks=pytest.mark.slow),  # right after every file of the epoch
    pytest.param("rename", KILL_EPOCH - 1, marks=pytest.mark.slow),  # temp file complete, not yet renamed
    pytest.param("write:backup-json", KILL_EPOCH, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("point, held_epoch", KILL_POINTS)
def test_sigkill_leaves_a_loadable_checkpoint_and_resumes_to_the_same_weights(tmp_path, reference, point,
                                                                              held_epoch):
    crashed = _start(tmp_path, point)
    _wait_until_at(crashed, tmp_path, point)
    os.kill(crashed.pid, signal.SIGKILL)
    crashed.wait()
    assert not (tmp_path / "final.npz").exists()

    loaded = cnnlab.load_model(tmp_path / "ckpt.cnnlab")
    assert _same(loaded.get_weights(), _weights(tmp_path / f"epoch{held_epoch}.npz"))
    cnnlab.load_model(tmp_path / "best.cnnlab")
    leftovers = sorted(p.name for p in tmp_path.rglob("*.tmp"))

    resumed = _start(tmp_path, "none")
    assert resumed.wait(timeout=60) == 0, resumed.stderr.read().decode()
    assert _same(_weights(tmp_path / "final.npz"), reference())
    assert _same(cnnlab.load_model(tmp_path / "ckpt.cnnlab").get_weights(),
                 _weights(tmp_path / f"epoch{EPOCHS - 1}.npz"))
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[-1]["epoch"] == str(EPOCHS - 1)
    assert not (tmp_path / "backup").exists()  # removed by the finished run, stale temp files included
    record("kill_point", point=point, signal="SIGKILL", checkpoint_epoch=held_epoch + 1,
           leftover_temp_files=len(leftovers), resumed_identical=True)


def test_sigint_stops_cleanly_and_keeps_checkpoints_and_log(tmp_path):
    proc = _start(tmp_path, "sigint")
    _wait_until_at(proc, tmp_path, "sigint")
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130, proc.stderr.read().decode()
    progress = _progress(tmp_path)
    assert progress.index("train_end") < progress.index("interrupted")  # on_train_end ran before fit returned
    last_done = _weights(tmp_path / f"epoch{KILL_EPOCH - 1}.npz")
    assert _same(cnnlab.load_model(tmp_path / "ckpt.cnnlab").get_weights(), last_done)
    cnnlab.load_model(tmp_path / "best.cnnlab")
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == [str(e) for e in range(KILL_EPOCH)]
    assert all(float(r["loss"]) > 0 for r in rows)
    assert (tmp_path / "backup" / "state.json").is_file()  # kept to resume from
    record("kill_point", point="sigint mid-epoch", signal="SIGINT", checkpoint_epoch=KILL_EPOCH,
           leftover_temp_files=len(list(tmp_path.rglob("*.tmp"))), resumed_identical=None)


# ----------------------------------------------------------------- failing disks, in process
def _tiny():
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", device="cpu")
    return model


def _break_at_epoch(epoch: int, action):
    return callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: action() if e == epoch else None)


def _disk_full(monkeypatch):
    import cnnlab.io.native as native

    real = native.atomic_write

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    import contextlib

    @contextlib.contextmanager
    def full(path, mode="wb", **kwargs):
        with real(path, mode, **kwargs) as fh:
            yield Full(fh)

    return lambda: monkeypatch.setattr(native, "atomic_write", full)


def _read_only(monkeypatch):
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    return lambda: monkeypatch.setattr(os, "open", refuse)


@pytest.mark.parametrize("failure, make, fragment", [
    ("disk full (ENOSPC)", _disk_full, "the disk is full"),
    ("read-only file system (EROFS)", _read_only, "read-only"),
])
def test_failing_checkpoint_disk_raises_checkpoint_error_and_keeps_the_previous_file(tmp_path, monkeypatch,
                                                                                      failure, make, fragment):
    path = tmp_path / "ckpt" / "m.cnnlab"
    model = _tiny()
    dumps = []
    cbs = [callbacks.LambdaCallback(on_epoch_end=lambda e, logs: dumps.append(model.get_weights())),
           callbacks.ModelCheckpoint(str(path)), _break_at_epoch(1, make(monkeypatch))]
    x, y = np.random.default_rng(0).random((8, 4), dtype=np.float32), np.arange(8) % 3
    with pytest.raises(CheckpointError, match=fragment) as info:
        model.fit(x, y, epochs=3, verbose=0, callbacks=cbs)
    assert str(path) in str(info.value) and "previous file" in str(info.value)
    monkeypatch.undo()
    assert _same(cnnlab.load_model(path).get_weights(), dumps[0])
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.cnnlab"]  # no temp file left
    record("disk_failure", failure=failure, error="CheckpointError", previous_checkpoint_intact=True)


def test_checkpoint_directory_removed_between_epochs_is_recreated(tmp_path):
    folder = tmp_path / "ckpt"
    model = _tiny()
    cbs = [callbacks.ModelCheckpoint(str(folder / "m.cnnlab")), callbacks.BackupAndRestore(str(tmp_path / "bk")),
           _break_at_epoch(1, lambda: (shutil.rmtree(folder), shutil.rmtree(tmp_path / "bk")))]
    x, y = np.random.default_rng(0).random((8, 4), dtype=np.float32), np.arange(8) % 3
    model.fit(x, y, epochs=2, verbose=0, callbacks=cbs)
    # Keras creates a missing checkpoint folder; the newest epoch is written again, nothing else is lost.
    assert _same(cnnlab.load_model(folder / "m.cnnlab").get_weights(), model.get_weights())
    record("disk_failure", failure="checkpoint folder removed between epochs", error="none (folder recreated)",
           previous_checkpoint_intact=True)

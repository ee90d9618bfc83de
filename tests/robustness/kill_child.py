"""The training script the kill-point tests start, kill and start again.

Usage: ``python kill_child.py WORK_DIR POINT``. ``POINT`` names where the
script stops and waits to be killed at epoch ``KILL_EPOCH`` (``none`` runs to
the end). Every epoch's weights are dumped to ``WORK_DIR/epoch{e}.npz`` before
the checkpoint is written, so the parent can tell which epoch a checkpoint holds.
"""

import contextlib
import os
import sys
import time

import numpy as np

import cnnlab
import cnnlab.callbacks.checkpoint as checkpoint_module
import cnnlab.io.native as native_module
from cnnlab import callbacks, layers

EPOCHS = 5
KILL_EPOCH = 2
work, point = sys.argv[1], sys.argv[2]
state = {"epoch": -1}


def mark(text: str) -> None:
    with open(os.path.join(work, "progress"), "a") as f:
        f.write(text + "\n")


def stop_here(text: str) -> None:
    """Tell the parent where we are, then wait for its signal."""
    mark(f"at {text}")
    time.sleep(120)


class _HalfWrite:
    """A file whose first write stops half-way: the kill lands in the middle of a checkpoint's bytes."""

    def __init__(self, fh, name):
        self._fh, self._name = fh, name

    def write(self, data):
        if state["epoch"] == KILL_EPOCH and point == f"write:{self._name}":
            self._fh.write(data[: len(data) // 2])
            self._fh.flush()
            os.fsync(self._fh.fileno())
            stop_here(point)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)


def _slow(real):
    @contextlib.contextmanager
    def atomic_write(path, mode="wb", **kwargs):
        path = os.fspath(path)
        name = "backup-json" if path.endswith(".json") else "backup" if "state-epoch" in path else "model"
        with real(path, mode, **kwargs) as fh:
            yield _HalfWrite(fh, name)
    return atomic_write


native_module.atomic_write = _slow(native_module.atomic_write)
checkpoint_module.atomic_write = _slow(checkpoint_module.atomic_write)
real_replace = os.replace


def replace(src, dst):  # the kill lands after the temp file is complete, before the rename
    if state["epoch"] == KILL_EPOCH and point == "rename" and str(dst).endswith("ckpt.cnnlab"):
        stop_here(point)
    return real_replace(src, dst)


os.replace = replace

cnnlab.utils.set_random_seed(1234)
rng = np.random.default_rng(0)
x = rng.random((96, 6), dtype=np.float32)
y = rng.integers(0, 3, 96)
model = cnnlab.Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                           layers.Dense(3, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu")


def epoch_begin(epoch, logs):
    state["epoch"] = epoch


def batch_end(batch, logs):
    if state["epoch"] == KILL_EPOCH and batch == 2 and point in ("batch", "sigint"):
        stop_here(point)


def dump(epoch, logs):
    np.savez(os.path.join(work, f"epoch{epoch}.npz"), *model.get_weights())


def epoch_end(epoch, logs):
    mark(f"epoch {epoch}")
    if epoch == KILL_EPOCH and point == "epoch_end":
        stop_here(point)


cbs = [
    callbacks.LambdaCallback(on_epoch_begin=epoch_begin, on_epoch_end=dump, on_train_batch_end=batch_end),
    callbacks.ModelCheckpoint(os.path.join(work, "ckpt.cnnlab")),
    callbacks.ModelCheckpoint(os.path.join(work, "best.cnnlab"), monitor="loss", save_best_only=True),
    callbacks.BackupAndRestore(os.path.join(work, "backup")),
    callbacks.CSVLogger(os.path.join(work, "log.csv"), append=True),
    callbacks.LambdaCallback(on_epoch_end=epoch_end, on_train_end=lambda logs: mark("train_end")),
]
try:
    model.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0, callbacks=cbs)
except KeyboardInterrupt:
    mark("interrupted")
    sys.exit(130)
np.savez(os.path.join(work, "final.npz"), *model.get_weights())

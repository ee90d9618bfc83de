"""A training script run by the distributed tests, alone or under torchrun.

    python worker.py MODE RUN_DIR RESULT_DIR

MODE ``train``: a seeded SGD run with callbacks that write into RUN_DIR;
each rank writes what it ended with to RESULT_DIR/rank<r>.json.
MODE ``die``: rank 1 calls ``os._exit(3)`` at its third batch.
MODE ``resume``: like ``train`` with ``BackupAndRestore``; with
``CRASH_AT_EPOCH`` set, every rank raises at the end of that epoch.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import cnnlab
from cnnlab import callbacks, distribute, layers

# 36 samples in global batches of 7: five full batches split 4 + 3, then a
# last batch of 1 sample, which leaves rank 1 with an empty shard.
N_SAMPLES, GLOBAL_BATCH, EPOCHS, SEED = 36, 7, 4, 1234


def data():
    rng = np.random.RandomState(0)
    x = rng.rand(N_SAMPLES + 10, 6, 6, 1).astype("float32")
    y = (x.reshape(len(x), -1).mean(axis=1) * 30).astype("int64") % 3
    return (x[:N_SAMPLES], y[:N_SAMPLES]), (x[N_SAMPLES:], y[N_SAMPLES:])


def build(strategy):
    with strategy.scope():
        model = cnnlab.Sequential([
            layers.Input((6, 6, 1)),
            layers.Conv2D(3, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer=cnnlab.optimizers.SGD(learning_rate=0.1, momentum=0.5),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run(mode: str, run_dir: str, result_dir: str | None) -> dict:
    rank = int(os.environ.get("RANK", "0"))
    # Each rank starts from different random weights: fit must broadcast rank 0's.
    cnnlab.backend.set_random_seed(SEED + rank)
    strategy = distribute.MirroredStrategy()
    model = build(strategy)
    (x, y), (xv, yv) = data()
    cbs = [
        callbacks.CSVLogger(os.path.join(run_dir, "history.csv")),
        callbacks.ModelCheckpoint(os.path.join(run_dir, "ckpt.cnnlab")),
        callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0, min_delta=1e-3),
        callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=1e-3),
    ]
    if mode == "die":
        cbs.append(callbacks.LambdaCallback(on_train_batch_begin=_die_on_rank_1))
    if mode == "resume":
        cbs = [callbacks.BackupAndRestore(os.path.join(run_dir, "backup")),
               callbacks.LambdaCallback(on_epoch_end=_maybe_crash)]
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, validation_data=(xv, yv), callbacks=cbs,
                        verbose=0)
    result = {
        "replicas": strategy.num_replicas_in_sync,
        "weights": [w.tolist() for w in model.get_weights()],
        "history": history.history,
        "evaluate": model.evaluate(xv, yv, batch_size=3, verbose=0),
        "predict": model.predict(xv, verbose=0).tolist(),
        "learning_rate": float(model.optimizer.learning_rate),
    }
    if result_dir is not None:
        with open(os.path.join(result_dir, f"rank{rank}.json"), "w", encoding="utf-8") as f:
            json.dump(result, f)
    return result


def _die_on_rank_1(batch, logs=None):
    if int(os.environ.get("RANK", "0")) == 1 and batch == 2:
        os._exit(3)


def _maybe_crash(epoch, logs=None):
    if str(epoch) == os.environ.get("CRASH_AT_EPOCH"):
        raise SystemExit(f"simulated crash after epoch {epoch}")


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)

"""Runner for the tools that speak the Keras API: cnnlab, Keras 3 on TensorFlow, Keras 3 on torch.

The model code is the same for all of them (``models.keras_model``); only the
imported module changes. ``cnnlab-bf16`` is cnnlab with the global dtype
policy set to ``mixed_bfloat16`` before any model is built. Prints one
``BENCH_RESULT {json}`` line.

Usage: python bench/run_keras_api.py --tool cnnlab|cnnlab-bf16|keras-tf|keras-torch --task train|time90 [options]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import common
import models
import numpy as np
import tools

TOOLS = ("cnnlab", "cnnlab-bf16", "cnnlab-fp16", "keras-tf", "keras-torch")
DEMO_SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "fashion_mnist_cnn.py"
TARGET_ACCURACY = 0.90  # the main job's goal (issue 6)


def import_tool(tool: str, n_threads: int):
    """The Keras-API module of ``tool``, with intra-op threads set to ``n_threads``; and its versions.

    For cnnlab's tools the global dtype policy is set here (``tools.POLICIES``),
    before any model is built or compiled, so every task of the runner
    (training configs and the main job) trains under it.
    """
    if tool in tools.CNNLAB_TOOLS:
        import torch

        import cnnlab

        torch.set_num_threads(n_threads)
        cnnlab.mixed_precision.set_global_policy(tools.POLICIES[tool])
        return cnnlab, {"cnnlab": getattr(cnnlab, "__version__", "?"), "torch": torch.__version__}
    os.environ["KERAS_BACKEND"] = "tensorflow" if tool == "keras-tf" else "torch"
    if tool == "keras-tf":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        backend_version = {"tensorflow": tf.__version__}
    else:
        import torch

        torch.set_num_threads(n_threads)
        backend_version = {"torch": torch.__version__}
    import keras

    return keras, {"keras": keras.__version__, **backend_version}


def epoch_callback(keras, on_begin, on_end):
    """A ``keras.callbacks.Callback`` (or cnnlab's) calling ``on_begin()``/``on_end()`` around each epoch."""

    class _EpochHooks(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            on_begin()

        def on_epoch_end(self, epoch, logs=None):
            on_end()

    return _EpochHooks()


def train(keras, args) -> dict:
    """Fit ``args.model`` for ``args.epochs`` epochs on the 48k split, then predict the 10k test set."""
    keras.utils.set_random_seed(args.seed)
    data = common.bench_split("nhwc")
    x, y = data["x_train"], data["y_train"]
    if args.samples:
        x, y = x[:args.samples], y[:args.samples]
    model = models.keras_model(keras, args.model)
    clock = common.EpochClock()
    with common.RssSampler() as rss:
        hooks = epoch_callback(keras, clock.begin, lambda: (clock.end(), rss.mark()))
        model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=2, callbacks=[hooks])
    rss_fit = common.ru_maxrss_mb()
    probs, predict_seconds = common.timed_predict(
        lambda a: model.predict(a, batch_size=common.PREDICT_BATCH, verbose=0), data["x_test"], args.predict_repeats)
    return {
        "epoch_seconds": clock.seconds,
        "seconds_per_epoch": tools.median_after_first(clock.seconds),
        "samples": len(x),
        "test_accuracy": common.accuracy(probs, data["y_test"]),
        "predict_seconds": predict_seconds,
        "predict_images_per_s": len(data["x_test"]) / min(predict_seconds),
        "rss_fit_peak_mb": rss_fit,
        "rss_fit_sampled_peak_mb": rss.peak,
        "rss_epoch_end_mb": rss.marks,
        "ru_maxrss_mb": common.ru_maxrss_mb(),
    }


def time_to_target(keras, args) -> dict:
    """The main job's recipe (examples/fashion_mnist_cnn.py): wall time of fit until test accuracy >= 90%.

    The test set is evaluated at each epoch end with the clock paused; fit
    stops at the first epoch that reaches the target. The dtype policy is the
    runner's (``import_tool``), as ``CNNLAB_DEMO_POLICY`` sets it for the script.
    """
    setup_start = time.perf_counter()
    recipe = tools.demo_recipe(DEMO_SCRIPT.read_text(), os.environ)
    keras.utils.set_random_seed(42)
    (x, y), (x_test, y_test) = common.load_raw()
    x = x.reshape(-1, 28, 28, 1) / 255.0
    x_test = x_test.reshape(-1, 28, 28, 1) / 255.0
    split = np.load(args.split_file)
    train_idx, val_idx = split["train"], split["val"]
    if args.samples:  # a shorter run, for trying the harness out
        train_idx = train_idx[:args.samples]
    x_train, x_val, y_train, y_val = x[train_idx], x[val_idx], y[train_idx], y[val_idx]
    model = models.keras_model(keras, "cnn")
    state = {"start": 0.0, "paused": 0.0, "epochs": [], "reached": None}

    def on_end():
        elapsed = time.perf_counter() - state["start"] - state["paused"]
        pause = time.perf_counter()
        _, acc = model.evaluate(x_test, y_test, batch_size=common.PREDICT_BATCH, verbose=0)
        state["paused"] += time.perf_counter() - pause
        state["epochs"].append({"seconds": elapsed, "test_accuracy": float(acc)})
        if acc >= TARGET_ACCURACY and state["reached"] is None:
            state["reached"] = elapsed
            model.stop_training = True

    suffix = ".cnnlab" if args.tool in tools.CNNLAB_TOOLS else ".keras"
    with tempfile.TemporaryDirectory() as run_dir:
        callbacks = [
            epoch_callback(keras, lambda: None, on_end),
            keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "best" + suffix), save_best_only=True),
            keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True),
            keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv")),
        ]
        setup_seconds = time.perf_counter() - setup_start
        state["start"] = time.perf_counter()
        model.fit(x_train, y_train, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                  validation_data=(x_val, y_val), callbacks=callbacks, verbose=2)
    return {"recipe": recipe, "setup_seconds": setup_seconds, "seconds_to_target": state["reached"],
            "target_accuracy": TARGET_ACCURACY, "epochs_run": state["epochs"]}


def _policy_name(keras) -> str:
    """The global dtype policy the runner trains under, read back from the framework itself."""
    return keras.mixed_precision.global_policy().name


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=TOOLS, required=True)
    parser.add_argument("--task", choices=("train", "time90"), default="train")
    parser.add_argument("--model", choices=models.MODELS, default="cnn")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=0, help="train on the first N samples only (0: all 48k)")
    parser.add_argument("--predict-repeats", type=int, default=3)
    parser.add_argument("--split-file", help="npz with the main job's train/val indices (time90)")
    args = parser.parse_args(argv)
    n_threads = common.threads()
    keras, versions = import_tool(args.tool, n_threads)
    head = {"tool": args.tool, "task": args.task, "threads": n_threads, "versions": versions,
            "python": platform.python_version(), "policy": _policy_name(keras)}
    if args.task == "train":
        head.update({"model": args.model, "batch_size": args.batch_size, "epochs": args.epochs, "seed": args.seed})
        common.emit({**head, **train(keras, args)})
    else:
        common.emit({**head, **time_to_target(keras, args)})


if __name__ == "__main__":
    sys.exit(main())

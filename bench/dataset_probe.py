"""What a tf.data-style pipeline costs against fitting from arrays, and how many decode workers AUTOTUNE should use.

Three measurements, each in interleaved rounds (so drifts in machine load hit every variant alike), medians:

1. ``iterate``: one epoch of Fashion-MNIST-sized random data (60000x28x28x1 float32, int labels), batch 32:
   the trainer's array intake (a randperm per epoch, then ``index_select`` per batch) against
   ``Dataset.from_tensor_slices((x, y)).shuffle(60000).batch(32).prefetch(AUTOTUNE)``, plus the same with
   one step of a small torch CNN per batch.
2. ``fit``: ``cnnlab.Sequential`` (bench/models.py ``cnn``) ``fit(x, y)`` against ``fit(dataset)`` on the first
   ``--fit-steps`` batches.
3. ``decode``: a folder of 500x375 JPEGs (``image_dataset_from_directory``, 180x180 RGB, batch 32) read with the
   decode map in the main process or in 1 or 2 DataLoader workers, alone and with a training step per batch.

Prints the ratios (dataset / arrays; workers / main process) and one ``BENCH_RESULT {json}`` line.

Usage: OMP_NUM_THREADS=2 python bench/dataset_probe.py [--rounds 3] [--fit-steps 300] [--images 320]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
import torch

import cnnlab
from cnnlab.data import _workers

try:
    import models
except ImportError:  # run from the repository root
    from bench import models

BATCH = 32


def _array_epoch(x: torch.Tensor, y: torch.Tensor, step=None) -> None:
    """The trainer's array intake: one permutation per epoch, then index slices."""
    order = torch.randperm(len(x))
    for chunk in order.split(BATCH):
        xb, yb = x.index_select(0, chunk), y.index_select(0, chunk)
        if step:
            step(xb, yb)


def _dataset_epoch(dataset, step=None) -> None:
    for xb, yb in dataset:
        if step:
            step(xb, yb)


def _torch_step():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(4),
                              torch.nn.Flatten(), torch.nn.Linear(8 * 7 * 7, 10))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)

    def step(xb, yb):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(xb.permute(0, 3, 1, 2)), yb)
        loss.backward()
        optimizer.step()

    return step


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _rounds(variants: dict, rounds: int) -> dict:
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(_timed(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def iterate(rounds: int) -> dict:
    x = torch.rand(60000, 28, 28, 1)
    y = torch.randint(0, 10, (60000,))
    dataset = cnnlab.data.Dataset.from_tensor_slices((x, y)).shuffle(60000).batch(BATCH).prefetch(
        cnnlab.data.AUTOTUNE)
    step = _torch_step()
    return _rounds({
        "arrays": lambda: _array_epoch(x, y),
        "dataset": lambda: _dataset_epoch(dataset),
        "arrays+step": lambda: _array_epoch(x, y, step),
        "dataset+step": lambda: _dataset_epoch(dataset, step),
    }, rounds)


def fit(rounds: int, steps: int) -> dict:
    n = steps * BATCH
    x = np.random.rand(n, 28, 28, 1).astype("float32")
    y = np.random.randint(0, 10, n)
    dataset = cnnlab.data.Dataset.from_tensor_slices((x, y)).shuffle(n).batch(BATCH).prefetch(cnnlab.data.AUTOTUNE)
    model = models.keras_model(cnnlab, "cnn")
    model.fit(x[:BATCH * 5], y[:BATCH * 5], batch_size=BATCH, epochs=1, verbose=0)  # warm-up
    return _rounds({
        "fit arrays": lambda: model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0),
        "fit dataset": lambda: model.fit(dataset, epochs=1, verbose=0),
    }, rounds)


def decode(rounds: int, images: int) -> dict:
    from PIL import Image

    folder = tempfile.mkdtemp(prefix="cnnlab-decode-")
    rng = np.random.default_rng(0)
    for i in range(images):
        os.makedirs(os.path.join(folder, f"c{i % 2}"), exist_ok=True)
        pixels = rng.integers(0, 255, (375, 500, 3), dtype=np.uint8)  # Cats-vs-Dogs-sized photos
        Image.fromarray(pixels).save(os.path.join(folder, f"c{i % 2}", f"{i}.jpg"), quality=90)
    dataset = cnnlab.utils.image_dataset_from_directory(folder, image_size=(180, 180), batch_size=BATCH,
                                                        seed=0, verbose=False)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(16, 2))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)

    def step(xb, yb):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(xb.permute(0, 3, 1, 2) / 255), yb.long()).backward()
        optimizer.step()

    def epoch(workers: int, train: bool):
        def run():
            _workers.AUTOTUNE_WORKERS = workers
            _dataset_epoch(dataset, step if train else None)
        return run

    return _rounds({f"{'train' if train else 'read'} {w} workers": epoch(w, train)
                    for train in (False, True) for w in (0, 1, 2)}, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fit-steps", type=int, default=300)
    parser.add_argument("--images", type=int, default=320)
    parser.add_argument("--only", choices=["iterate", "fit", "decode"])
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    result = {}
    if args.only in (None, "iterate"):
        t = iterate(args.rounds)
        result.update(t)
        print(f"iterate one epoch (60000, batch 32): arrays {t['arrays']:.3f}s, dataset {t['dataset']:.3f}s, "
              f"ratio {t['dataset'] / t['arrays']:.2f}; with a torch step: arrays {t['arrays+step']:.2f}s, "
              f"dataset {t['dataset+step']:.2f}s, ratio {t['dataset+step'] / t['arrays+step']:.3f}")
    if args.only in (None, "fit"):
        t = fit(args.rounds, args.fit_steps)
        result.update(t)
        print(f"fit one epoch ({args.fit_steps} steps): arrays {t['fit arrays']:.2f}s, dataset "
              f"{t['fit dataset']:.2f}s, ratio {t['fit dataset'] / t['fit arrays']:.3f}")
    if args.only in (None, "decode"):
        t = decode(args.rounds, args.images)
        result.update(t)
        for mode in ("read", "train"):
            base = t[f"{mode} 0 workers"]
            print(f"decode {args.images} JPEGs, {mode}: " + ", ".join(
                f"{w} workers {t[f'{mode} {w} workers']:.2f}s (x{t[f'{mode} {w} workers'] / base:.2f})"
                for w in (0, 1, 2)))
    print("BENCH_RESULT " + json.dumps({k: round(v, 4) for k, v in result.items()}))


if __name__ == "__main__":
    main()

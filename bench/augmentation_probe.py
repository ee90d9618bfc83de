"""How much an augmentation front end slows training: fit of the two-conv CNN with and without it.

The model is the main job's CNN (bench/models.py ``cnn``, examples/fashion_mnist_cnn.py) on random
Fashion-MNIST-sized data (28x28x1, 10 classes). The augmented variant puts
``RandomFlip("horizontal") + RandomRotation(0.1) + RandomZoom(0.1)`` in front. Rounds alternate between
the two so drifts in machine load hit both alike; the median step times and their ratio are printed,
with one ``BENCH_RESULT {json}`` line.

Usage: OMP_NUM_THREADS=2 python bench/augmentation_probe.py [--steps 300] [--rounds 3] [--batch 64]
"""

from __future__ import annotations

import argparse
import statistics
import time

import common
import models
import numpy as np

import cnnlab


def _model(augment: bool):
    plain = models.keras_model(cnnlab, "cnn")
    if not augment:
        return plain
    front = [cnnlab.layers.RandomFlip("horizontal"), cnnlab.layers.RandomRotation(0.1),
             cnnlab.layers.RandomZoom(0.1)]
    model = cnnlab.Sequential([cnnlab.layers.Input((28, 28, 1)), *front, *plain.layers])
    model.compile(optimizer=cnnlab.optimizers.Adam(learning_rate=models.ADAM_LR, epsilon=models.KERAS_ADAM_EPSILON),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _seconds_per_step(model, x, y, batch: int, steps: int) -> float:
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(x[:batch * steps], y[:batch * steps], batch_size=batch, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.batch * args.steps, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    cnnlab.utils.set_random_seed(0)
    variants = {"plain": _model(False), "augmented": _model(True)}
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, model in variants.items():
            times[name].append(_seconds_per_step(model, x, y, args.batch, args.steps))
    plain, augmented = statistics.median(times["plain"]), statistics.median(times["augmented"])
    print(f"two-conv CNN, batch {args.batch}, {args.steps} steps x {args.rounds} interleaved rounds, "
          f"{common.threads()} threads")
    print(f"  plain      {plain * 1e3:7.2f} ms/step")
    print(f"  augmented  {augmented * 1e3:7.2f} ms/step  (RandomFlip + RandomRotation + RandomZoom)")
    print(f"  ratio      {augmented / plain:7.3f}")
    common.emit({"probe": "augmentation", "batch": args.batch, "steps": args.steps, "rounds": args.rounds,
                 "plain_ms": plain * 1e3, "augmented_ms": augmented * 1e3, "ratio": augmented / plain,
                 "rounds_ms": {k: [t * 1e3 for t in v] for k, v in times.items()}})


if __name__ == "__main__":
    main()

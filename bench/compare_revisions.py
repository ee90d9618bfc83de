"""Did a change slow the main job? Fit of the main job's CNN at two git revisions, in alternating subprocesses.

Each round runs one subprocess per revision (in turn, so drifts in machine load hit both alike); a subprocess
times ``--epochs`` epochs of ``fit`` of the two-conv CNN (bench/models.py ``cnn``, examples/fashion_mnist_cnn.py)
at batch 128 on random Fashion-MNIST-sized data and keeps the best epoch. The medians over rounds and their ratio
are printed, with one ``BENCH_RESULT {json}`` line.

Usage: python bench/compare_revisions.py BASE [NEW] [--rounds 6] [--samples 6400]
(NEW defaults to the working tree; BASE is checked out with ``git worktree`` into a temporary folder.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, torch
import cnnlab as keras
torch.set_num_threads(int(sys.argv[4]))
samples, epochs = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
x = rng.random((samples, 28, 28, 1), dtype=np.float32)
y = rng.integers(0, 10, samples)
L = keras.layers
model = keras.Sequential([
    L.Conv2D(32, 3, activation="relu", padding="same", input_shape=(28, 28, 1)), L.MaxPooling2D(2),
    L.Conv2D(64, (3, 3), activation="relu", padding="same"), L.MaxPooling2D(2), L.Flatten(),
    L.Dense(100, activation="relu"), L.Dropout(0.3), L.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:512], y[:512], batch_size=128, epochs=1, verbose=0)  # warm-up: allocator, kernels
best = float("inf")
for _ in range(epochs):
    start = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def _epoch_seconds(source: Path, samples: int, epochs: int, threads: int) -> float:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(source), str(samples), str(epochs), str(threads)],
                         check=True, capture_output=True, text=True, env={**os.environ, "KMP_WARNINGS": "0"})
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new", nargs="?", default=None)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--samples", type=int, default=6400)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sources = {}
        for label, rev in (("base", args.base), ("new", args.new)):
            if rev is None:
                sources[label] = ROOT
                continue
            folder = Path(tmp) / label
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(folder), rev], check=True)
            sources[label] = folder
        try:
            times: dict[str, list[float]] = {"base": [], "new": []}
            for round_ in range(args.rounds):
                order = ("base", "new") if round_ % 2 == 0 else ("new", "base")
                for label in order:
                    times[label].append(_epoch_seconds(sources[label], args.samples, args.epochs, args.threads))
                print(f"round {round_ + 1}: base {times['base'][-1]:.3f} s, new {times['new'][-1]:.3f} s", flush=True)
        finally:
            for label, folder in sources.items():
                if folder != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)
    base, new = statistics.median(times["base"]), statistics.median(times["new"])
    print(f"median epoch: base {base:.3f} s, new {new:.3f} s; new/base = {new / base:.3f}")
    print("BENCH_RESULT " + json.dumps({"probe": "compare_revisions", "base": args.base, "new": args.new or "worktree",
                                        "base_s": times["base"], "new_s": times["new"], "ratio": new / base}))


if __name__ == "__main__":
    main()

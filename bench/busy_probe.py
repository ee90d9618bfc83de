"""Training next to another CPU-bound process: cnnlab vs Keras 3 on TensorFlow vs idiomatic PyTorch, same job.

Learners train in notebooks beside browsers and other jobs. Each tool trains the same model for the same
steps in its own subprocess, first on a quiet machine, then with one competing CPU-bound process running
(``while True: pass``); the best of two timed epochs is kept. cnnlab runs twice: as shipped (its thread
governor gives a core away while another process uses it, cnnlab/training/threads.py) and with the
governor off (``CNNLAB_ADAPTIVE_THREADS=0``), which is how it ran before.

Usage: python bench/busy_probe.py [--model cnn|lenet] [--batch-size 128] [--steps 60] [--rounds 3]
       [--loads quiet,busy]
Every tool is measured ``--rounds`` times per load, interleaved, and the median is reported.
Keras/TF runs from ``.venv-compat`` (or ``.venv-bench``) when one exists; it is skipped, and said so, otherwise.
Prints a table and one ``BENCH_RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from apps_probe import venv_python

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import common, models
tool, name, batch, steps, threads = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
data = common.bench_split("nchw" if tool == "torch" else "nhwc")
n = batch * steps
x, y = data["x_train"][:n], data["y_train"][:n]
if tool == "torch":
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, optimizer = models.torch_model(name)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y).long()), batch_size=batch, shuffle=True)
    criterion = torch.nn.CrossEntropyLoss()
    def epoch():
        model.train()
        for images, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            loss.item()
else:
    if tool == "keras":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        import keras
    else:
        import torch
        torch.set_num_threads(threads)
        import cnnlab as keras
    keras.utils.set_random_seed(0)
    model = models.keras_model(keras, name)
    def epoch():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
epoch()  # warm-up
times = []
for _ in range(2):
    start = time.perf_counter(); epoch(); times.append(time.perf_counter() - start)
print(f"MS_PER_STEP {min(times) / steps * 1e3:.3f}")
"""


def _run(python: str, tool: str, args, env: dict) -> float | None:
    done = subprocess.run([python, "-c", _CHILD, str(ROOT / "bench"), tool, args.model, str(args.batch_size),
                           str(args.steps), str(args.threads)],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=1800)
    for line in done.stdout.splitlines():
        if line.startswith("MS_PER_STEP "):
            return float(line.split()[1])
    print(f"{tool}: failed\n{done.stderr[-800:]}", file=sys.stderr)
    return None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("cnn", "lenet"), default="cnn")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure every tool this many times per load, interleaved; the median is reported")
    parser.add_argument("--loads", default="quiet,busy", help="which machine states to measure: quiet, busy or both")
    args = parser.parse_args(argv)
    loads = [load.strip() for load in args.loads.split(",") if load.strip()]
    if not loads or set(loads) - {"quiet", "busy"}:
        parser.error(f"--loads takes quiet, busy or quiet,busy. Received: --loads={args.loads!r}")
    tools = {"cnnlab": (sys.executable, "cnnlab", {}),
             "cnnlab, governor off": (sys.executable, "cnnlab", {"CNNLAB_ADAPTIVE_THREADS": "0"}),
             "idiomatic PyTorch": (sys.executable, "torch", {})}
    keras_python = venv_python((".venv-bench", ".venv-compat"))
    if keras_python:
        tools["Keras 3 / TensorFlow"] = (keras_python, "keras", {"KERAS_BACKEND": "tensorflow",
                                                                 "TF_CPP_MIN_LOG_LEVEL": "3"})
    else:
        print("Keras/TF skipped: no .venv-bench or .venv-compat (make .venv-bench)", file=sys.stderr)
    rounds: dict[str, dict[str, list[float]]] = {name: {load: [] for load in loads} for name in tools}
    for load in loads:
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load == "busy" else None
        try:
            # Interleaved rounds: a machine whose speed drifts (a shared VM) moves every tool alike.
            for i in range(args.rounds):
                for name, (python, tool, env) in tools.items():
                    value = _run(python, tool, args, env)
                    if value is not None:
                        rounds[name][load].append(value)
                    print(f"{args.model} b{args.batch_size} {load:5s} round {i + 1} {name:22s} {value} ms/step",
                          flush=True)
        finally:
            if hog is not None:
                hog.kill()
    results = {name: {load: (statistics.median(values) if values else None) for load, values in per_load.items()}
               for name, per_load in rounds.items()}
    keras_busy = results.get("Keras 3 / TensorFlow", {}).get("busy")
    print(f"\n| tool | quiet ms/step | busy ms/step | busy/quiet | Keras/TF busy ÷ tool busy |  (median of "
          f"{args.rounds})")
    print("| --- | --- | --- | --- | --- |")
    for name, row in results.items():
        quiet, busy = row.get("quiet"), row.get("busy")
        slowdown = f"{busy / quiet:.2f}" if quiet and busy else "-"
        speedup = f"{keras_busy / busy:.2f}x" if keras_busy and busy else "-"
        print(f"| {name} | {quiet} | {busy} | {slowdown} | {speedup} |")
    print("BENCH_RESULT " + json.dumps({"probe": "busy", "model": args.model, "batch_size": args.batch_size,
                                        "threads": args.threads, "steps": args.steps, "rounds": rounds,
                                        "results": results}))


if __name__ == "__main__":
    main()

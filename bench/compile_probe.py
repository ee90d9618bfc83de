"""Does ``torch.compile`` (inductor, on this machine's device) make training faster? cnnlab eager vs
``compile(jit_compile=True)``, and the same for a bare PyTorch loop, per model, in one job.

Each configuration trains in its own subprocess (a fresh compile cache) for two epochs on the same data:
epoch 1 holds the compile time, epoch 2 is the steady state. The table gives both, so compile time is
counted, not hidden. This is what decides ``jit_compile="auto"``: it compiles only where the probe shows a win.

Usage: python bench/compile_probe.py [--samples 9600] [--configs lenet:32,cnn:128]
Prints a table and one ``BENCH_RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import torch
import common, models
tool, name, batch, samples, compiled = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
torch.set_num_threads(common.threads())
data = common.bench_split("nchw" if tool == "torch" else "nhwc")
x, y = data["x_train"][:samples], data["y_train"][:samples]
epochs = []
if tool == "torch":
    torch.manual_seed(0)
    model, optimizer = models.torch_model(name)
    forward = torch.compile(model) if compiled else model
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y).long()
    for _ in range(2):
        start = time.perf_counter()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            loss = torch.nn.functional.cross_entropy(forward(xt[idx]), yt[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        epochs.append(time.perf_counter() - start)
else:
    import cnnlab
    cnnlab.utils.set_random_seed(0)
    model = models.keras_model(cnnlab, name)
    if compiled:
        model.compile(optimizer=model.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      jit_compile=True)
    for _ in range(2):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        epochs.append(time.perf_counter() - start)
print("COMPILE_RESULT " + json.dumps({"epoch_seconds": epochs}))
"""


def _run(tool: str, model: str, batch: int, samples: int, compiled: bool) -> dict | None:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT / "bench"), tool, model, str(batch), str(samples),
                           "1" if compiled else "0"], capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": os.path.join(ROOT, "build", "inductor-probe",
                                                                                      f"{tool}-{model}-{os.getpid()}")})
    for line in done.stdout.splitlines():
        if line.startswith("COMPILE_RESULT "):
            epochs = json.loads(line.split(" ", 1)[1])["epoch_seconds"]
            steps = -(-samples // batch)
            return {"first_epoch_s": epochs[0], "ms_per_step": epochs[1] / steps * 1e3}
    print(f"{tool} {model} compiled={compiled}: failed\n{done.stderr[-1500:]}", file=sys.stderr)
    return None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=9600)
    parser.add_argument("--configs", default="lenet:32,cnn:128")
    args = parser.parse_args(argv)
    configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs.split(",") if c]
    results = []
    print("| model | batch | tool | eager ms/step | compiled ms/step | compiled/eager | first epoch eager -> compiled (s) |")
    print("| --- | ---: | --- | ---: | ---: | ---: | --- |")
    for model, batch in configs:
        for tool in ("cnnlab", "torch"):
            eager, compiled = _run(tool, model, batch, args.samples, False), _run(tool, model, batch, args.samples, True)
            row = {"model": model, "batch_size": batch, "tool": tool, "eager": eager, "compiled": compiled}
            results.append(row)
            if eager and compiled:
                print(f"| {model} | {batch} | {tool} | {eager['ms_per_step']:.2f} | {compiled['ms_per_step']:.2f} | "
                      f"{compiled['ms_per_step'] / eager['ms_per_step']:.2f} | {eager['first_epoch_s']:.1f} -> "
                      f"{compiled['first_epoch_s']:.1f} |", flush=True)
    print("BENCH_RESULT " + json.dumps({"probe": "compile", "samples": args.samples, "results": results}))


if __name__ == "__main__":
    main()

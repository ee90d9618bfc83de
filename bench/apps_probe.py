"""Predict images/s of Keras's architectures at 224x224: cnnlab vs Keras 3 on TensorFlow vs torchvision, same job.

MobileNetV2 and ResNet50 with random weights (``weights=None``; the speed does not depend on the values), batch
32, on the same random images. Every tool runs in its own subprocess: cnnlab from this Python, Keras/TF from
``.venv-bench`` (or ``.venv-compat``), torchvision from ``.venv-tv`` (``make .venv-tv``: torch 2.14.1 and
torchvision 0.29.1, which cannot live beside cnnlab's torch). A tool whose venv is missing is skipped, and said so.
Each child predicts once to warm up (Keras traces its function), then times ``--repeats`` passes over
``--batches`` batches; the best pass is kept (the least disturbed by other work on a shared machine).

Usage: python bench/apps_probe.py [--models mobilenet_v2,resnet50] [--batch-size 32] [--size 224]
       [--batches 4] [--repeats 3] [--tools cnnlab,keras-tf,torchvision]
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
MODELS = {"mobilenet_v2": "MobileNetV2", "resnet50": "ResNet50"}  # zoo / torchvision name -> Keras name
TOOL_NAMES = {"cnnlab": "cnnlab", "keras-tf": "Keras 3 / TensorFlow", "torchvision": "torchvision"}
TV_VENV = ".venv-tv"

_CHILD = r"""
import sys, time
import numpy as np
tool, name, keras_name = sys.argv[1], sys.argv[2], sys.argv[3]
batch, size, batches, repeats, threads = (int(v) for v in sys.argv[4:9])
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (batch * batches, size, size, 3)).astype("float32")
if tool == "torchvision":
    import torch, torchvision
    torch.set_num_threads(threads)
    model = getattr(torchvision.models, name)(weights=None).eval()
    images = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    def run():
        with torch.inference_mode():
            for i in range(batches):
                model(images[i * batch:(i + 1) * batch])
else:
    if tool == "keras-tf":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        import keras
    else:
        import torch
        torch.set_num_threads(threads)
        import cnnlab as keras
    model = getattr(keras.applications, keras_name)(weights=None, input_shape=(size, size, 3))
    def run():
        model.predict(x, batch_size=batch, verbose=0)
run()  # warm-up: tracing, allocator, thread pools
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter(); run(); best = min(best, time.perf_counter() - start)
print(f"IMAGES_PER_S {batch * batches / best:.3f}")
"""


def venv_python(names: tuple[str, ...]) -> str | None:
    """The first existing ``<venv>/bin/python`` of ``names`` under the repository root."""
    for venv in names:
        python = ROOT / venv / "bin" / "python"
        if python.exists():
            return str(python)
    return None


def tool_pythons(wanted: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(python of each tool that can run, reason of each that cannot)``."""
    found = {"cnnlab": sys.executable, "keras-tf": venv_python((".venv-bench", ".venv-compat")),
             "torchvision": venv_python((TV_VENV,))}
    reasons = {"keras-tf": "no .venv-bench or .venv-compat (make .venv-bench)",
               "torchvision": f"no {TV_VENV} (make {TV_VENV}: torch 2.14.1 + torchvision 0.29.1, about 5.5 GB)"}
    ready = {tool: found[tool] for tool in wanted if found[tool]}
    return ready, {tool: reasons[tool] for tool in wanted if not found[tool]}


def parse_rate(stdout: str) -> float | None:
    """The ``IMAGES_PER_S`` figure a child printed, or None.

    Example:
        >>> parse_rate("noise\\nIMAGES_PER_S 41.5\\n")
        41.5
    """
    for line in stdout.splitlines():
        if line.startswith("IMAGES_PER_S "):
            return float(line.split()[1])
    return None


def _run(python: str, tool: str, model: str, args) -> float | None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow",
           "OMP_NUM_THREADS": str(args.threads)}
    done = subprocess.run([python, "-c", _CHILD, tool, model, MODELS[model], str(args.batch_size), str(args.size),
                           str(args.batches), str(args.repeats), str(args.threads)],
                          env=env, capture_output=True, text=True, timeout=3600, cwd=ROOT)
    rate = parse_rate(done.stdout)
    if rate is None:
        print(f"{tool} {model}: failed\n{done.stderr[-800:]}", file=sys.stderr)
    return rate


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--tools", default=",".join(TOOL_NAMES))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batches", type=int, default=4, help="timed batches per pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best is kept")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(models) - set(MODELS)) + sorted(set(wanted) - set(TOOL_NAMES))
    if unknown:
        parser.error(f"unknown model(s) or tool(s): {', '.join(unknown)}; models {', '.join(MODELS)}, "
                     f"tools {', '.join(TOOL_NAMES)}")
    ready, skipped = tool_pythons(wanted)
    for tool, reason in skipped.items():
        print(f"{TOOL_NAMES[tool]} skipped: {reason}", file=sys.stderr)
    results = {model: {tool: _run(python, tool, model, args) for tool, python in ready.items()} for model in models}
    print(f"\n| model ({args.size}x{args.size}, batch {args.batch_size}) | "
          + " | ".join(f"{TOOL_NAMES[t]} img/s" for t in ready) + " |")
    print("| --- |" + " --- |" * len(ready))
    for model, row in results.items():
        print(f"| {MODELS[model]} | " + " | ".join("failed" if v is None else f"{v:.1f}" for v in row.values()) + " |")
    print("BENCH_RESULT " + json.dumps({"probe": "apps", "batch_size": args.batch_size, "size": args.size,
                                        "batches": args.batches, "repeats": args.repeats, "threads": args.threads,
                                        "results": results, "skipped": skipped}))


if __name__ == "__main__":
    main()

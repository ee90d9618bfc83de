"""cnnlab-only measurements, each in its own process: matmul peak, model MACs, fit overhead, scale curves.

Prints one ``BENCH_RESULT {json}`` line.

Usage: python bench/run_probes.py peak|macs|overhead|scale|split [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import common
import models
import numpy as np
import tools
import torch
import torch.nn.functional as F

MATMUL_SIZE = 2048  # square fp32 matrices for the peak: big enough for the BLAS to reach its best rate


def _best_seconds(fn, repeats: int) -> list[float]:
    fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def matmul_peak(repeats: int = 10) -> dict:
    """Best fp32 GFLOP/s of a 2048x2048 product (2 n^3 FLOPs) through each matmul engine torch has.

    ``torch.mm`` goes to the BLAS torch was built with (MKL in the x86 wheels); oneDNN is the library
    behind torch's CPU convolutions. MKL picks slower code paths on some non-Intel CPUs, so the BLAS
    alone can understate the machine: the peak is the faster of the two, and both are recorded.
    """
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    flops = 2 * MATMUL_SIZE**3
    engines = {"blas": lambda: torch.mm(a, b)}
    if torch.backends.mkldnn.is_available():
        weight = b.t().contiguous()  # linear computes a @ weight.T
        engines["onednn"] = lambda: torch.ops.mkldnn._linear_pointwise(a, weight, None, "none", [], "")
    out = {"matmul_size": MATMUL_SIZE, "repeats": repeats}
    for name, fn in engines.items():
        seconds = _best_seconds(fn, repeats)
        out[f"matmul_{name}_gflops"] = flops / min(seconds) / 1e9
        out[f"matmul_{name}_median_gflops"] = flops / statistics.median(seconds) / 1e9
    best = max(engines, key=lambda name: out[f"matmul_{name}_gflops"])
    out.update(matmul_peak_gflops=out[f"matmul_{best}_gflops"], matmul_peak_engine=best,
               matmul_median_gflops=out[f"matmul_{best}_median_gflops"])
    return out


def forward_macs() -> dict:
    """Forward multiply-accumulates per image of each benchmarked model, from cnnlab's summary arithmetic."""
    import cnnlab
    from cnnlab.inspect import summary_rows
    from cnnlab.inspect.shape_math import layer_macs

    out = {}
    for name in models.MODELS:
        model = models.keras_model(cnnlab, name)
        out[name] = sum(layer_macs(r.layer, r.input_shape, r.output_shape) for r in summary_rows(model))
    return {"forward_macs": out}


def demo_split(path: str) -> dict:
    """Save the main job's 80/20 split of the 60k train images (train_test_split, random_state=42) as indices."""
    from cnnlab.utils import train_test_split

    train_idx, val_idx = train_test_split(np.arange(60_000), test_size=0.2, random_state=42)
    np.savez(path, train=train_idx, val=val_idx)
    return {"split_file": path, "train": len(train_idx), "val": len(val_idx)}


def _bare_epoch(model, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
    """A hand loop over the same cnnlab model: forward, fused softmax cross-entropy, backward, optimizer step.

    The output layer emits logits here as it does inside ``fit`` (its
    ``_emit_logits`` switch), so both loops do the same arithmetic.
    """
    params = [v.value for v in model.trainable_weights]
    head = model.layers[-1]
    head._emit_logits = True
    try:
        perm = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            idx = perm[start:start + batch_size]
            logits = model(x.index_select(0, idx), training=True)
            loss = F.cross_entropy(logits, y.index_select(0, idx))
            loss.backward()
            model.optimizer.step(params)
            for p in params:
                p.grad = None
    finally:
        head._emit_logits = False


def fit_overhead(quick: bool, limit: int = 0) -> dict:
    """Seconds of ``fit`` (progress bar, metrics, History) vs the bare loop, same model and process, interleaved."""
    import cnnlab

    cnnlab.utils.set_random_seed(0)
    data = common.bench_split("nhwc")
    # Epochs on a shared VM vary by 5-10% from one to the next: many short interleaved rounds, best of each,
    # resolve a 3% difference where two long ones did not.
    samples = limit or (12_000 if quick else 24_000)
    x_np, y_np = data["x_train"][:samples], data["y_train"][:samples]
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model = models.keras_model(cnnlab, "cnn")
    batch_size, epochs, rounds = 128, 1, (3 if quick else 6)
    model.fit(x_np[:2048], y_np[:2048], batch_size=batch_size, epochs=1, verbose=0)  # builds metrics and optimizer
    fit_s, bare_s = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(epochs):
            _bare_epoch(model, x, y, batch_size)
        bare_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.fit(x_np, y_np, batch_size=batch_size, epochs=epochs, verbose=1)
        fit_s.append(time.perf_counter() - start)
    fit_best, bare_best = min(fit_s), min(bare_s)
    return {"overhead": {"fit_seconds": fit_best, "bare_seconds": bare_best,
                         "overhead": tools.fit_overhead(fit_best, bare_best), "fit_runs": fit_s, "bare_runs": bare_s,
                         "samples": samples, "batch_size": batch_size, "epochs_per_run": epochs,
                         "progress_bar": "verbose=1, stdout a pipe"}}


def _epoch_seconds(model, x, y, batch_size: int, epochs: int) -> float:
    clock = common.EpochClock()
    import cnnlab

    class Hooks(cnnlab.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.begin()

        def on_epoch_end(self, epoch, logs=None):
            clock.end()

    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[Hooks()])
    return tools.median_after_first(clock.seconds)


def scale_curves(quick: bool, limit: int = 0) -> dict:
    """cnnlab's two-conv CNN: s/epoch vs samples (batch 128), vs batch size (12k samples), predict vs batch size."""
    import cnnlab

    cnnlab.utils.set_random_seed(0)
    data = common.bench_split("nhwc")
    x, y = data["x_train"], data["y_train"]
    model = models.keras_model(cnnlab, "cnn")
    model.fit(x[:1024], y[:1024], batch_size=128, epochs=1, verbose=0)
    sample_sizes = (1_000, 3_000, 12_000) if quick else (1_000, 3_000, 12_000, 24_000, 48_000)
    batch_sizes = (32, 128, 512) if quick else (8, 32, 128, 512)
    if limit:  # trying the harness out
        sample_sizes = tuple(n for n in sample_sizes if n <= limit) or (limit,)
    by_samples = {n: _epoch_seconds(model, x[:n], y[:n], 128, 3 if n <= 3_000 else 2 if n < 48_000 else 1)
                  for n in sample_sizes}
    n_batch = min(12_000, limit or 12_000)
    by_batch = {b: _epoch_seconds(model, x[:n_batch], y[:n_batch], b, 1) for b in batch_sizes}
    predict = {}
    for b in (8, 32, 128, 512, 2048):
        _, seconds = common.timed_predict(lambda a, b=b: model.predict(a, batch_size=b, verbose=0), data["x_test"], 2)
        predict[b] = len(data["x_test"]) / min(seconds)
    return {"scale": {"epoch_seconds_vs_samples": by_samples, "epoch_seconds_vs_batch_12k": by_batch,
                      "predict_images_per_s_vs_batch": predict}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=("peak", "macs", "overhead", "scale", "split"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="output file (split)")
    parser.add_argument("--samples", type=int, default=0, help="fewer samples (overhead, scale), to try them out")
    args = parser.parse_args(argv)
    torch.set_num_threads(common.threads())
    result = {"peak": matmul_peak, "macs": forward_macs, "overhead": lambda: fit_overhead(args.quick, args.samples),
              "scale": lambda: scale_curves(args.quick, args.samples), "split": lambda: demo_split(args.out)}[args.probe]()
    common.emit({"probe": args.probe, "threads": common.threads(), **result})


if __name__ == "__main__":
    sys.exit(main())

"""What bounds the speed targets: torch's kernels alone at the bench models' shapes, the leanest eager loop
over them, and cnnlab, in one process.

For each configuration the probe times, on the shapes and memory layout cnnlab uses (channels-last
convolutions, ReLU after 2x2 max pooling):

- ``kernels``: every convolution, pooling, ReLU and Dense kernel of one step, each timed alone (forward, and for
  training its backward: input and kernel gradients, no input gradient for the first layer), and their sum. The
  loss, dropout, the optimizer update and all dispatch and autograd work are left out, so the sum is a lower
  bound for any step built on torch's CPU kernels.
- ``bare``: a hand-written channels-last loop over the same kernels (preindexed batches, no metrics, fused Adam or
  foreach SGD, ``F.cross_entropy`` on logits): what eager PyTorch costs with nothing else around it.
- ``cnnlab``: ``fit(verbose=0)`` ms/step, or ``predict`` ms per batch.

``--one-thread`` adds the training configurations again on one thread: a core is all cnnlab keeps beside
another CPU-bound process (the busy row). ``bench/report.py`` sets these against the step each target asks for,
figured from the peers' results of the same job.

Usage: python bench/floor_probe.py [--configs cnn:128,lenet:32] [--steps 40] [--repeats 5] [--one-thread]
Prints a table per configuration and one ``BENCH_RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import json
import time

import common
import models
import torch
import torch.nn.functional as F

_conv_backward = torch.ops.aten.convolution_backward
_pool_backward = torch.ops.aten.max_pool2d_with_indices_backward


def _best_ms(fn, repeats: int, inner: int) -> float:
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return best * 1e3


def layer_plan(model, batch: int) -> list[dict]:
    """The model's conv / pool / dense layers with the shapes they see in a step, in order.

    Handles what the bench models use: stride-1 ``Conv2D`` (same or valid), 2x2 ``MaxPooling2D``, ``Flatten``,
    ``Dense`` and ``Dropout``; ReLU is applied after pooling where cnnlab defers it.
    """
    plan, shape = [], (batch, *model.inputs[0].shape[1:])  # (N, H, W, C)
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            if tuple(layer.strides) != (1, 1):
                raise ValueError(f"{layer.name}: the probe times stride-1 convolutions only")
            k = layer.kernel_size[0]
            pad = k // 2 if layer.padding == "same" else 0
            out = (shape[0], shape[1] + 2 * pad - k + 1, shape[2] + 2 * pad - k + 1, layer.filters)
            plan.append({"kind": "conv", "name": layer.name, "in": shape, "out": out, "k": k, "pad": pad,
                         "first": not plan, "macs": out[0] * out[1] * out[2] * out[3] * k * k * shape[3]})
            shape = out
        elif kind == "MaxPooling2D":
            if tuple(layer.pool_size) != (2, 2) or tuple(layer.strides) != (2, 2) or layer.padding != "valid":
                raise ValueError(f"{layer.name}: the probe times 2x2 max pooling with stride 2 only")
            out = (shape[0], shape[1] // 2, shape[2] // 2, shape[3])
            plan.append({"kind": "pool", "name": layer.name, "in": shape, "out": out})
            plan.append({"kind": "relu", "name": f"{layer.name} ReLU", "in": out, "out": out})
            shape = out
        elif kind == "Flatten":
            shape = (shape[0], shape[1] * shape[2] * shape[3])
        elif kind == "Dense":
            out = (shape[0], layer.units)
            plan.append({"kind": "dense", "name": layer.name, "in": shape, "out": out,
                         "macs": shape[0] * shape[1] * layer.units})
            shape = out
        elif kind != "Dropout":
            raise ValueError(f"{layer.name}: the probe does not time {kind} layers")
    return plan


def _nchw(shape):
    """A channels-last tensor seen as NCHW, as cnnlab's Conv2D passes it to torch."""
    return torch.rand(*shape).permute(0, 3, 1, 2)


def time_layers(model, batch: int, repeats: int) -> list[dict]:
    """Inference: each of cnnlab's layers called alone on its real input (its fused convolution + ReLU, its
    2x2 max pooling without indices), under ``no_grad``; ms per batch."""
    rows, h = [], torch.rand(batch, *model.inputs[0].shape[1:])
    with torch.no_grad():
        for layer in model.layers:
            x = h
            ms = _best_ms(lambda: layer(x), repeats, 20)
            h = layer(x)
            row = {"name": layer.name, "kind": type(layer).__name__, "forward_ms": ms}
            if type(layer).__name__ == "Conv2D":  # each output: a kernel-sized product over the input channels
                row["macs"] = h.numel() * x.shape[-1] * layer.kernel_size[0] * layer.kernel_size[1]
            elif type(layer).__name__ == "Dense":
                row["macs"] = h.numel() * x.shape[-1]
            rows.append(row)
    return rows


def time_kernels(plan: list[dict], repeats: int) -> list[dict]:
    """Training: each layer's kernels alone, forward and backward; ms per step."""
    rows = []
    for step in plan:
        kind, inner = step["kind"], 20
        if kind == "conv":
            x = _nchw(step["in"])
            weight = torch.randn(step["out"][3], step["in"][3], step["k"], step["k"]) * 0.1
            weight = weight.to(memory_format=torch.channels_last)
            bias = torch.zeros(step["out"][3])
            pad = [step["pad"]] * 2
            fwd = _best_ms(lambda: F.conv2d(x, weight, bias, padding=step["pad"]), repeats, inner)
            row = {"name": step["name"], "kind": kind, "forward_ms": fwd, "macs": step["macs"]}
            grad = F.conv2d(x, weight, bias, padding=step["pad"])
            mask = [not step["first"], True, True]
            row["backward_ms"] = _best_ms(lambda: _conv_backward(grad, x, weight, [bias.numel()], [1, 1], pad,
                                                                 [1, 1], False, [0, 0], 1, mask), repeats, inner)
            row["input_gradient"] = mask[0]
        elif kind == "pool":
            x = _nchw(step["in"])
            fwd = _best_ms(lambda: F.max_pool2d_with_indices(x, 2), repeats, inner)
            row = {"name": step["name"], "kind": kind, "forward_ms": fwd}
            pooled, indices = F.max_pool2d_with_indices(x, 2)
            grad = torch.rand_like(pooled)
            row["backward_ms"] = _best_ms(lambda: _pool_backward(grad, x, [2, 2], [2, 2], [0, 0], [1, 1], False,
                                                                 indices), repeats, inner)
        elif kind == "relu":
            x = _nchw(step["in"]) - 0.5
            fwd = _best_ms(lambda: torch.relu(x), repeats, inner)
            row = {"name": step["name"], "kind": kind, "forward_ms": fwd}
            grad, y = torch.rand_like(x), torch.relu(x)
            row["backward_ms"] = _best_ms(lambda: torch.ops.aten.threshold_backward(grad, y, 0), repeats, inner)
        else:  # dense
            x = torch.rand(*step["in"])
            weight, bias = torch.randn(step["out"][1], step["in"][1]) * 0.05, torch.zeros(step["out"][1])
            fwd = _best_ms(lambda: F.linear(x, weight, bias), repeats, inner)
            row = {"name": step["name"], "kind": kind, "forward_ms": fwd, "macs": step["macs"]}
            grad = torch.rand(*step["out"])

            def backward():
                torch.mm(grad, weight)  # input gradient
                torch.mm(grad.t(), x)  # kernel gradient
                grad.sum(0)  # bias gradient

            row["backward_ms"] = _best_ms(backward, repeats, inner)
        rows.append(row)
    return rows


def bare_loop_ms(model_name: str, plan: list[dict], x: torch.Tensor, y: torch.Tensor, batch: int,
                 repeats: int) -> float:
    """ms/step of the leanest eager training loop over the same kernels and layout (see the module doc)."""
    torch.manual_seed(0)
    params, layers = [], []
    for step in plan:
        if step["kind"] == "conv":
            w = (torch.randn(step["out"][3], step["in"][3], step["k"], step["k"]) * 0.1)
            w = w.to(memory_format=torch.channels_last).requires_grad_()
            b = torch.zeros(step["out"][3], requires_grad=True)
            layers.append(("conv", w, b, step["pad"]))
            params += [w, b]
        elif step["kind"] == "pool":
            layers.append(("pool",))
        elif step["kind"] == "relu":
            layers.append(("relu",))
        else:
            w = (torch.randn(step["out"][1], step["in"][1]) * 0.05).requires_grad_()
            b = torch.zeros(step["out"][1], requires_grad=True)
            layers.append(("dense", w, b))
            params += [w, b]
    dense = [i for i, layer in enumerate(layers) if layer[0] == "dense"]
    if model_name == "cnn":
        optimizer = torch.optim.Adam(params, lr=models.ADAM_LR, eps=models.KERAS_ADAM_EPSILON, fused=True)
    else:
        optimizer = torch.optim.SGD(params, lr=models.SGD_LR, foreach=True)
    images = x.permute(0, 3, 1, 2)  # channels-last NCHW view of the NHWC data
    steps = len(x) // batch

    def epoch():
        perm = torch.randperm(len(x))
        for s in range(steps):
            idx = perm[s * batch:(s + 1) * batch]
            h = images.index_select(0, idx)
            for i, layer in enumerate(layers):
                if layer[0] == "conv":
                    h = F.conv2d(h, layer[1], layer[2], padding=layer[3])
                elif layer[0] == "pool":
                    h = F.max_pool2d(h, 2)
                elif layer[0] == "relu":
                    h = torch.relu(h)
                else:
                    if i == dense[0]:
                        h = h.permute(0, 2, 3, 1).reshape(len(idx), -1)  # Keras's flatten order
                    h = F.linear(h, layer[1], layer[2])
                    if i != dense[-1]:
                        h = torch.relu(h)
            loss = F.cross_entropy(h, y.index_select(0, idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return _best_ms(epoch, repeats, 1) / steps


def cnnlab_ms(model, x, y, batch: int, repeats: int, predict: bool) -> float:
    """cnnlab's ``fit(verbose=0)`` ms/step, or ``predict`` ms per batch."""
    steps = len(x) // batch
    if predict:
        run = lambda: model.predict(x, batch_size=batch, verbose=0)  # noqa: E731
    else:
        run = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # noqa: E731
    return _best_ms(run, repeats, 1) / steps


def measure(model_name: str, batch: int, task: str, threads: int, steps: int, repeats: int) -> dict:
    import cnnlab

    torch.set_num_threads(threads)
    cnnlab.utils.set_random_seed(0)
    data = common.bench_split("nhwc")
    n = batch * steps
    x_np, y_np = data["x_train"][:n], data["y_train"][:n]
    model = models.keras_model(cnnlab, model_name)
    plan = layer_plan(model, batch)
    training = task == "train"
    kernels = time_kernels(plan, repeats) if training else time_layers(model, batch, repeats)
    row = {"model": model_name, "batch_size": batch, "task": task, "threads": threads, "kernels": kernels,
           "kernels_ms": sum(k["forward_ms"] + k.get("backward_ms", 0.0) for k in kernels)}
    if training:
        row["bare_ms"] = bare_loop_ms(model_name, plan, torch.from_numpy(x_np), torch.from_numpy(y_np).long(), batch,
                                      repeats)
    row["cnnlab_ms"] = cnnlab_ms(model, x_np, y_np, batch, repeats, predict=not training)
    return row


def _print(row: dict) -> None:
    print(f"\n{row['model']} b{row['batch_size']} {row['task']}, {row['threads']} thread(s)")
    print("| kernel | forward ms | backward ms | GFLOP/s (conv, dense) |")
    print("| --- | ---: | ---: | ---: |")
    for k in row["kernels"]:
        rate = ""
        if "macs" in k:
            flops = 2 * k["macs"] * (1 + (2 if k.get("input_gradient", True) else 1) * ("backward_ms" in k))
            rate = f"{flops / ((k['forward_ms'] + k.get('backward_ms', 0.0)) * 1e-3) / 1e9:.0f}"
        back = f"{k['backward_ms']:.3f}" if "backward_ms" in k else "-"
        print(f"| {k['name']} | {k['forward_ms']:.3f} | {back} | {rate} |")
    bare = f", bare eager loop {row['bare_ms']:.2f}" if "bare_ms" in row else ""
    print(f"kernels alone {row['kernels_ms']:.2f} ms{bare}, cnnlab {row['cnnlab_ms']:.2f} ms", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="cnn:128,lenet:32")
    parser.add_argument("--steps", type=int, default=40, help="batches per timed fit/predict/bare epoch")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many timings")
    parser.add_argument("--one-thread", action="store_true", help="also time the training configs on one thread")
    args = parser.parse_args(argv)
    configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs.split(",") if c]
    threads = common.threads()
    runs = [(m, b, "train", threads) for m, b in configs]
    runs += [(m, b, "predict", threads) for m, b in configs if m == "cnn"]
    if args.one_thread:
        runs += [(m, b, "train", 1) for m, b in configs if m == "cnn"]
    results = []
    for model_name, batch, task, n_threads in runs:
        row = measure(model_name, batch, task, n_threads, args.steps, args.repeats)
        _print(row)
        results.append(row)
    print(common.RESULT_PREFIX + json.dumps({"probe": "floor", "results": results}))


if __name__ == "__main__":
    main()

"""Where the time goes: torch.profiler over a few training steps of cnnlab and of the idiomatic PyTorch loop.

Usage: python bench/profile_steps.py [--model cnn|lenet] [--batch-size 128] [--steps 20] [--rows 25]
Prints, for each tool, the ops sorted by their own CPU time (run on a quiet machine).
"""

from __future__ import annotations

import argparse
import sys
import time

import common
import models
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.data import DataLoader, TensorDataset


def profile_cnnlab(model_name: str, batch: int, steps: int):
    import cnnlab

    cnnlab.utils.set_random_seed(0)
    data = common.bench_split("nhwc")
    n = batch * steps
    x, y = data["x_train"][:n], data["y_train"][:n]
    model = models.keras_model(cnnlab, model_name)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return prof, time.perf_counter() - start


def profile_torch(model_name: str, batch: int, steps: int):
    torch.manual_seed(0)
    data = common.bench_split("nchw")
    n = batch * steps
    loader = DataLoader(TensorDataset(torch.from_numpy(data["x_train"][:n]), torch.from_numpy(data["y_train"][:n])),
                        batch_size=batch, shuffle=True)
    model, optimizer = models.torch_model(model_name)
    criterion = nn.CrossEntropyLoss()

    def epoch():
        model.train()
        for images, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            loss.item()

    epoch()
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        epoch()
    return prof, time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=models.MODELS, default="cnn")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args(argv)
    torch.set_num_threads(common.threads())
    for name, fn in (("cnnlab", profile_cnnlab), ("idiomatic PyTorch", profile_torch)):
        prof, seconds = fn(args.model, args.batch_size, args.steps)
        print(f"\n===== {name}: {args.model} batch {args.batch_size}, {args.steps} steps, "
              f"{1000 * seconds / args.steps:.1f} ms/step (profiled)")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows, max_name_column_width=40))


if __name__ == "__main__":
    sys.exit(main())

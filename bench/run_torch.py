"""Runner for the idiomatic PyTorch loop, as the PyTorch tutorials write it.

DataLoader over a TensorDataset (NCHW), ``model.train()``,
``optimizer.zero_grad()``, ``loss.item()`` and an accuracy count every step;
``model.eval()`` + ``torch.no_grad()`` and a DataLoader for predict. On a
machine with CUDA it trains on the GPU as the tutorials do (pinned loader,
``non_blocking`` copies), the device cnnlab picks by default. Prints one
``BENCH_RESULT {json}`` line.

Usage: python bench/run_torch.py --model cnn|lenet --batch-size N --epochs N --seed N
"""

from __future__ import annotations

import argparse
import platform
import sys

import common
import models
import numpy as np
import tools
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_one_epoch(model, loader, criterion, optimizer) -> tuple[float, float]:
    model.train()
    running_loss, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(DEVICE, non_blocking=True), labels.to(DEVICE, non_blocking=True)
        optimizer.zero_grad()
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * images.size(0)
        correct += (outputs.argmax(dim=1) == labels).sum().item()
        seen += images.size(0)
    return running_loss / seen, correct / seen


def predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    loader = DataLoader(TensorDataset(torch.from_numpy(images)), batch_size=batch_size, shuffle=False,
                        pin_memory=DEVICE.type == "cuda")
    model.eval()
    outputs = []
    with torch.no_grad():
        for (batch,) in loader:
            outputs.append(torch.softmax(model(batch.to(DEVICE, non_blocking=True)), dim=1))
    return torch.cat(outputs).cpu().numpy()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=models.MODELS, default="cnn")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=0, help="train on the first N samples only (0: all 48k)")
    parser.add_argument("--predict-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    n_threads = common.threads()
    torch.set_num_threads(n_threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    data = common.bench_split("nchw")
    n = args.samples or len(data["x_train"])
    train_set = TensorDataset(torch.from_numpy(data["x_train"][:n]), torch.from_numpy(data["y_train"][:n]))
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, pin_memory=DEVICE.type == "cuda")
    model, optimizer = models.torch_model(args.model)
    model.to(DEVICE)  # parameters keep their identity, so the optimizer built on them follows
    criterion = nn.CrossEntropyLoss()
    clock = common.EpochClock()
    with common.RssSampler() as rss:
        for epoch in range(args.epochs):
            clock.begin()
            loss, acc = train_one_epoch(model, loader, criterion, optimizer)
            clock.end()
            rss.mark()
            print(f"Epoch {epoch + 1}/{args.epochs} - {clock.seconds[-1]:.1f}s - loss: {loss:.4f} - accuracy: {acc:.4f}")
    rss_fit = common.ru_maxrss_mb()
    probs, predict_seconds = common.timed_predict(lambda a: predict(model, a, common.PREDICT_BATCH),
                                                  data["x_test"], args.predict_repeats)
    common.emit({
        "tool": "torch", "task": "train", "model": args.model, "batch_size": args.batch_size, "epochs": args.epochs,
        "seed": args.seed, "threads": n_threads, "device": str(DEVICE), "versions": {"torch": torch.__version__},
        "python": platform.python_version(), "samples": len(train_set),
        "epoch_seconds": clock.seconds, "seconds_per_epoch": tools.median_after_first(clock.seconds),
        "test_accuracy": common.accuracy(probs, data["y_test"]),
        "predict_seconds": predict_seconds, "predict_images_per_s": len(probs) / min(predict_seconds),
        "rss_fit_peak_mb": rss_fit, "rss_fit_sampled_peak_mb": rss.peak, "rss_epoch_end_mb": rss.marks,
        "ru_maxrss_mb": common.ru_maxrss_mb(),
    })


if __name__ == "__main__":
    sys.exit(main())

"""The engine of ``cnnlab compare``: train one configuration per process, then one figure and one table."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from cnnlab.io.atomic import atomic_write

FIGURE_FILE = "compare.png"
TABLE_FILE = "compare.md"
RESULTS_FILE = "results.json"


def config_name(optimizer: str, variant: str) -> str:
    return optimizer if variant == "none" else f"{optimizer}+{variant}"


def run_config(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (optimizer, variant) configuration; returns its history and timings. Runs in a worker process."""
    import torch

    from cnnlab import utils
    from cnnlab.cli import _data, _models, _training

    if job["threads"]:
        torch.set_num_threads(job["threads"])
    utils.set_random_seed(job["seed"])
    data = _data.load(job["data"], limit=job["limit"], val_split=job["val_split"], seed=job["seed"],
                      batch_size=job["batch_size"])
    model = _models.build(job["model"], data.input_shape, data.num_classes, **_training.variant_options(job["variant"]))
    model.compile(optimizer=_training.make_optimizer(job["optimizer"], job["lr"]), loss=_training.LOSS,
                  metrics=["accuracy"])
    history, seconds = _training.fit(model, data, job["epochs"], job["batch_size"], job["val_split"], [], verbose=0)
    h = history.history
    val = h.get("val_accuracy") or h.get("accuracy")
    best = max(range(len(val)), key=val.__getitem__)
    return {"name": config_name(job["optimizer"], job["variant"]), "optimizer": job["optimizer"],
            "variant": job["variant"], "history": h, "seconds": seconds, "epochs": len(history.epoch),
            "best_val_accuracy": val[best], "best_epoch": best + 1, "params": model.count_params()}


def run_all(jobs: list[dict[str, Any]], workers: int, on_done=None) -> list[dict[str, Any]]:
    """Run every job (in ``workers`` processes when more than 1), in the order given."""
    if workers <= 1:
        results = []
        for job in jobs:
            results.append(run_config(job))
            if on_done:
                on_done(results[-1])
        return results
    import multiprocessing

    # 'spawn' gives each worker a fresh torch (forking a process that already used threads can deadlock).
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_config, job) for job in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            if on_done:
                on_done(results[-1])
    return results


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: configuration, best validation accuracy, its epoch, epochs run, time."""
    lines = ["| configuration | best val accuracy | best epoch | epochs | time (s) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for r in sorted(results, key=lambda r: -r["best_val_accuracy"]):
        lines.append(f"| {r['name']} | {r['best_val_accuracy']:.4f} | {r['best_epoch']} | {r['epochs']} | "
                     f"{r['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def figure(results: list[dict[str, Any]], title: str):
    """Loss and accuracy per epoch for every configuration: solid training, dashed validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    colours = plt.get_cmap("tab10" if len(results) <= 10 else "tab20")
    for i, r in enumerate(results):
        h, colour = r["history"], colours(i % colours.N)
        epochs = range(1, len(h["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            ax.plot(epochs, h[key], color=colour, marker="o", ms=3, label=f"{r['name']} train")
            if f"val_{key}" in h:
                ax.plot(epochs, h[f"val_{key}"], color=colour, ls="--", marker="s", ms=4, fillstyle="none",
                        label=f"{r['name']} val")
    for ax, key in zip(axes, ("Loss", "Accuracy")):
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.lower())
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(title)
    return fig


def write_outputs(out: str, results: list[dict[str, Any]], title: str) -> dict[str, str]:
    """Write the figure, the Markdown table and the raw results into ``out``; return their paths."""
    os.makedirs(out, exist_ok=True)
    paths = {name: os.path.join(out, name) for name in (FIGURE_FILE, TABLE_FILE, RESULTS_FILE)}
    fig = figure(results, title)
    fig.savefig(paths[FIGURE_FILE], dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    with atomic_write(paths[TABLE_FILE], "w") as f:
        f.write(f"# {title}\n\n{table(results)}")
    with atomic_write(paths[RESULTS_FILE], "w") as f:
        json.dump(results, f, indent=1)
    return paths

"""Learning curves: loss and each metric per epoch, training against validation."""

from __future__ import annotations

import csv
import math
import os

from cnnlab.errors import ArgumentTypeError, ConfigError, DataError, did_you_mean
from cnnlab.inspect.figures import LITERAL, finish, grid_shape, new_figure

# Metrics where lower is better; every other metric (accuracy, precision, ...) is best at its maximum.
LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "crossentropy")


def history_dict(history) -> dict[str, list[float]]:
    """``{name: values per epoch}`` from a ``History``, a dict of lists, or a CSVLogger file."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if isinstance(history, (str, os.PathLike)):
        return _read_csv(os.fspath(history))
    if not isinstance(history, dict):
        raise ArgumentTypeError("plot_history: pass the History that fit() returns, its .history dict, or the path "
                                f"of a CSVLogger file. Received: history of type {type(history).__name__}")
    return {str(k): [float(v) for v in values] for k, values in history.items() if k != "epoch"}


def _read_csv(path: str) -> dict[str, list[float]]:
    if not os.path.isfile(path):
        raise DataError(f"plot_history: no file at {path!r}. Pass the path CSVLogger wrote. Received: {path!r}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DataError(f"plot_history: {path!r} has no epochs. Received: {path!r}")
    columns = [c for c in rows[0] if c != "epoch"]
    try:
        return {c: [float(row[c]) if row[c] not in ("", None) else math.nan for row in rows] for c in columns}
    except ValueError as err:
        raise DataError(f"plot_history: {path!r} has a value that is not a number ({err}). Is it a CSVLogger "
                        f"file? Received: {path!r}") from err


def best_epoch(name: str, values: list[float]) -> int:
    """Index of the best value: the minimum for losses and errors, the maximum otherwise."""
    finite = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
    if not finite:
        return 0
    lower = any(word in name for word in LOWER_IS_BETTER)
    return (min(finite) if lower else max(finite, key=lambda t: (t[0], -t[1])))[1]


def plot_history(history, metrics: list[str] | None = None, save_path=None):
    """Plot loss and metrics per epoch, training vs validation, with the best epoch marked.

    Args:
        history: the ``History`` returned by ``fit``, its ``.history`` dict, or a CSVLogger file path.
        metrics: names to plot (without ``val_``); default: every name in the history.
        save_path: also write the figure there as a PNG.

    Returns:
        A matplotlib Figure with one axes per metric, titled with the metric name.

    Example:
        >>> fig = plot_history(model.fit(x, y, validation_split=0.1, epochs=5))  # doctest: +SKIP
    """
    data = history_dict(history)
    names = [n for n in data if not n.startswith("val_") and n not in ("lr", "learning_rate")]
    names += [n[4:] for n in data if n.startswith("val_") and n[4:] not in data]
    if metrics is not None:
        for m in metrics:
            if m not in names:
                raise ConfigError(f"plot_history: no metric {m!r} in the history.{did_you_mean(m, names)} "
                                  f"Available: {', '.join(names)}. Received: metrics={metrics!r}")
        names = list(metrics)
    if not names:
        raise ConfigError(f"plot_history: the history has no metric to plot. Received: keys {sorted(data)}")
    rows, cols = grid_shape(len(names), max_cols=2 if len(names) <= 4 else 3)
    fig = new_figure(5.0 * cols, 3.6 * rows)
    for i, name in enumerate(names):
        _plot_metric(fig.add_subplot(rows, cols, i + 1), name, data.get(name), data.get("val_" + name))
    return finish(fig, save_path)


def _plot_metric(ax, name: str, train, val) -> None:
    for values, label, style in ((train, "training", "-o"), (val, "validation", "-s")):
        if values:
            epochs = range(1, len(values) + 1)
            (line,) = ax.plot(epochs, values, style, markersize=3, label=label)
    marked = val or train
    best = best_epoch(name, marked)
    ax.axvline(best + 1, color="grey", linestyle=":", linewidth=1)
    ax.plot([best + 1], [marked[best]], "*", color="crimson", markersize=12,
            label=f"best {'val ' if val else ''}{marked[best]:.4g} (epoch {best + 1})")
    ax.set_title(name.replace("_", " "), **LITERAL)
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if len(marked) <= 20:
        ax.set_xticks(range(1, len(marked) + 1))

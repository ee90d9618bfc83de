"""How a classifier errs: confusion matrix, per-class precision/recall/F1, misclassified examples."""

from __future__ import annotations

import numpy as np
from torch import nn

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.inspect.figures import LITERAL, as_display_image, class_label, finish, grid_shape, new_figure, to_numpy


def _labels(values, what: str) -> np.ndarray:
    """Class indices from int labels, one-hot rows or per-class scores."""
    arr = to_numpy(values)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return arr.argmax(axis=1)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
        if np.issubdtype(arr.dtype, np.floating) and what == "predictions":
            return (arr > 0.5).astype(np.int64)  # one sigmoid unit: Keras's binary threshold
    if arr.ndim != 1:
        raise ShapeError(f"confusion_matrix: {what} must be class indices (n,) or scores/one-hot (n, classes). "
                         f"Received: {what} with shape {arr.shape}")
    return arr.astype(np.int64)


def predicted_and_true(model_or_y_pred, x=None, y=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(predicted labels, true labels, scores or None)`` from a model and data, or from predictions."""
    if y is None:
        raise ConfigError("confusion_matrix: pass the true labels as y=, e.g. confusion_matrix(model, x_test, "
                          "y_test) or confusion_matrix(y_pred, y=y_test). Received: y=None")
    if isinstance(model_or_y_pred, nn.Module):
        if x is None:
            raise ConfigError("confusion_matrix: pass the images x to predict on with a model. Received: x=None")
        scores = model_or_y_pred.predict(x, verbose=0)
    else:
        scores = to_numpy(model_or_y_pred)
    predicted, true = _labels(scores, "predictions"), _labels(y, "labels")
    if len(predicted) != len(true):
        raise ShapeError(f"confusion_matrix: {len(predicted)} predictions but {len(true)} labels; they must match. "
                         f"Received: y with {len(true)} entries")
    return predicted, true, (scores if scores.ndim == 2 else None)


def confusion_matrix(model_or_y_pred, x=None, y=None, num_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: rows are true classes, columns predictions.

    Args:
        model_or_y_pred: a model (then ``x`` is predicted) or predictions (class indices or scores).
        x: images, with a model.
        y: true labels (indices or one-hot).
        num_classes: matrix size; default from the scores' width and the largest label.

    Returns:
        An int64 array ``(num_classes, num_classes)``.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), y=np.array([0, 1, 0]))
        array([[1, 1],
               [0, 1]])
    """
    predicted, true, scores = predicted_and_true(model_or_y_pred, x, y)
    size = max(int(predicted.max(initial=-1)), int(true.max(initial=-1))) + 1
    if scores is not None and scores.shape[1] > 1:
        size = max(size, scores.shape[1])
    if num_classes is not None:
        if num_classes < size:
            raise ConfigError(f"confusion_matrix: num_classes={num_classes} but labels go up to {size - 1}. "
                              f"Received: num_classes={num_classes}")
        size = num_classes
    if min(predicted.min(initial=0), true.min(initial=0)) < 0:
        raise ConfigError("confusion_matrix: labels must be non-negative class indices.")
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def per_class_metrics(cm_or_model, x=None, y=None, class_names=None) -> list[dict]:
    """Precision, recall, F1 and support of each class.

    Args:
        cm_or_model: a confusion matrix; or a model (with ``x`` and ``y``); or predictions (with ``y``).
        x, y: images and true labels, when a model or predictions are given.
        class_names: names for the rows.

    Returns:
        One dict per class: ``class``, ``precision``, ``recall``, ``f1``, ``support`` (a class never
        predicted has precision 0, as in scikit-learn's ``zero_division=0``).

    Example:
        >>> per_class_metrics(np.array([[3, 1], [0, 2]]))[0]["recall"]
        0.75
    """
    cm = confusion_matrix(cm_or_model, x, y) if y is not None else to_numpy(cm_or_model)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ShapeError(f"per_class_metrics: a confusion matrix must be square; pass y= to compute one from "
                         f"predictions. Received: shape {cm.shape}")
    hits, predicted, actual = np.diag(cm).astype(float), cm.sum(axis=0), cm.sum(axis=1)
    rows = []
    for i in range(cm.shape[0]):
        precision = hits[i] / predicted[i] if predicted[i] else 0.0
        recall = hits[i] / actual[i] if actual[i] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"class": class_label(i, class_names), "precision": float(precision), "recall": float(recall),
                     "f1": float(f1), "support": int(actual[i])})
    return rows


def plot_confusion_matrix(cm, class_names=None, normalize: bool = False, save_path=None):
    """Draw a confusion matrix with the count (or row fraction) in each cell.

    Args:
        cm: a square matrix from :func:`confusion_matrix` (rows true, columns predicted).
        class_names: tick labels; default the class indices.
        normalize: show each row as fractions of its true class (recall on the diagonal).
        save_path: also write the figure there as a PNG.

    Returns:
        A Figure with one axes labelled "predicted" (x) and "true" (y), and a colorbar.

    Example:
        >>> fig = plot_confusion_matrix(confusion_matrix(model, x_test, y_test), normalize=True)  # doctest: +SKIP
    """
    cm = to_numpy(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ShapeError(f"plot_confusion_matrix: cm must be a square matrix. Received: cm with shape {cm.shape}")
    n = cm.shape[0]
    if class_names is not None and len(class_names) != n:
        raise ConfigError(f"plot_confusion_matrix: {n} classes but {len(class_names)} class_names. "
                          f"Received: class_names={list(class_names)!r}")
    names = [class_label(i, class_names) for i in range(n)]
    totals = cm.sum(axis=1, keepdims=True)
    values = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0) if normalize else cm
    side = max(3.6, 0.45 * n + 1.6)
    fig = new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else max(1, values.max()))
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")
    size = 9 if n <= 12 else 7 if n <= 20 else 5
    threshold = (1 if normalize else values.max()) / 2
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.2f}" if normalize else str(int(values[i, j]))
            ax.text(j, i, text, ha="center", va="center", fontsize=size,
                    color="white" if values[i, j] > threshold else "black")
    ax.set_xticks(range(n), names, rotation=45, ha="right", rotation_mode="anchor", **LITERAL)
    ax.set_yticks(range(n), names, **LITERAL)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix" + (" (normalised by true class)" if normalize else ""))
    return finish(fig, save_path)


def plot_misclassified(model, x, y, n: int = 16, class_names=None, save_path=None):
    """Show up to ``n`` misclassified images, most confident mistakes first.

    Args:
        model: a trained classifier.
        x, y: images and true labels.
        n: how many to show.
        class_names: names for the class indices.
        save_path: also write the figure there as a PNG.

    Returns:
        A Figure with one image axes per mistake, titled "true ... / pred ... (confidence)".

    Example:
        >>> fig = plot_misclassified(model, x_test, y_test, n=16)  # doctest: +SKIP
    """
    predicted, true, scores = predicted_and_true(model, x, y)
    wrong = np.flatnonzero(predicted != true)
    confidence = scores[np.arange(len(predicted)), predicted] if scores is not None and scores.shape[1] > 1 \
        else np.ones(len(predicted))
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:n]
    images = to_numpy(x)
    if len(wrong) == 0:
        fig = new_figure(4, 1.5)
        fig.text(0.5, 0.5, f"No misclassified examples among {len(true)}.", ha="center", va="center")
        return finish(fig, save_path)
    rows, cols = grid_shape(len(wrong), max_cols=8)
    fig = new_figure(1.6 * cols, 1.9 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, wrong):
        image, cmap = as_display_image(images[i])
        ax.imshow(image, cmap=cmap)
        ax.set_title(f"true {class_label(int(true[i]), class_names)}\npred "
                     f"{class_label(int(predicted[i]), class_names)} ({confidence[i]:.0%})",
                     fontsize=8, color="#b00020", **LITERAL)
    return finish(fig, save_path)

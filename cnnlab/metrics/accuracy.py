"""Accuracy metrics (exact, binary, categorical, sparse, top-k) and what ``metrics=["accuracy"]`` means.

Example:
    >>> import torch
    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state(torch.tensor([0, 1]), torch.tensor([[0.9, 0.1], [0.8, 0.2]]))
    >>> float(m.result())
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cnnlab import losses as losses_mod
from cnnlab.errors import ConfigError
from cnnlab.losses import squeeze_or_expand_to_same_rank
from cnnlab.metrics.metric import MeanMetricWrapper, Metric, _tensor, _wrapper

Tensor = torch.Tensor


# ------------------------------------------------------------------------------- accuracy functions

def accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where ``y_pred == y_true`` exactly, else 0.0."""
    y_pred = _tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_tensor(y_true, y_pred, y_pred.dtype), y_pred)
    return (y_true == y_pred).float()


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """1.0 where ``(y_pred > threshold) == y_true``, else 0.0."""
    y_pred = _tensor(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_tensor(y_true, y_pred), y_pred)
    return ((y_pred > threshold).to(y_true.dtype) == y_true).float()


def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where ``argmax(y_pred) == argmax(y_true)`` (one-hot labels), else 0.0."""
    y_pred = _tensor(y_pred)
    return (_tensor(y_true, y_pred).argmax(dim=-1) == y_pred.argmax(dim=-1)).float()


def _class_ids(y_true: Any, y_pred: Tensor) -> Tensor:
    y_true = _tensor(y_true, y_pred)
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return y_true


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where ``argmax(y_pred) == y_true`` (integer labels), else 0.0."""
    y_pred = _tensor(y_pred)
    y_true = _class_ids(y_true, y_pred)
    return (y_pred.argmax(dim=-1).to(y_true.dtype) == y_true).float()


def _in_top_k(targets: Tensor, y_pred: Tensor, k: int) -> Tensor:
    """TF ``in_top_k``: ties at the k-th place count as in the top k."""
    scores = y_pred.reshape(-1, y_pred.shape[-1])
    targets = targets.reshape(-1).long()
    target_scores = scores.gather(1, targets.unsqueeze(1))
    return ((scores > target_scores).sum(dim=1) < k) & target_scores.squeeze(1).isfinite()


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1.0 where the one-hot label's class is among the ``k`` highest predictions."""
    y_pred = _tensor(y_pred)
    targets = _tensor(y_true, y_pred).argmax(dim=-1)
    return _in_top_k(targets, y_pred, k).float().reshape(targets.shape)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1.0 where the integer label is among the ``k`` highest predictions."""
    y_pred = _tensor(y_pred)
    targets = _class_ids(y_true, y_pred)
    return _in_top_k(targets, y_pred, k).float().reshape(targets.shape)


Accuracy = _wrapper(accuracy, "accuracy", "How often predictions equal labels exactly.")
CategoricalAccuracy = _wrapper(categorical_accuracy, "categorical_accuracy",
                               "How often the argmax of predictions matches the argmax of one-hot labels.")
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy",
                                     "How often the argmax of predictions matches integer labels.")


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``(y_pred > threshold)`` equals binary labels.

    Example:
        >>> m = BinaryAccuracy(threshold=0.5)
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest predictions.

    Example:
        >>> m = TopKCategoricalAccuracy(k=3)
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest predictions.

    Example:
        >>> m = SparseTopKCategoricalAccuracy(k=5)
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))
        self.k = k


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"top-k accuracy: `k` must be an int >= 1. Received: k={k!r}")
    return k


# ------------------------------------------------------------------------------ "accuracy" by loss

def _accuracy_by_shapes(y_true_shape: Sequence[int], y_pred_shape: Sequence[int]) -> type[Metric]:
    """Keras 3's rule (trainers/compile_utils.py) for a loss that does not decide."""
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    if y_pred_shape[-1:] == (1,):
        return BinaryAccuracy
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1:] == (1,) and y_pred_shape[-1] > 1):
        return SparseCategoricalAccuracy
    return CategoricalAccuracy


def _accuracy_by_loss(loss: Any) -> type[Metric] | None:
    if isinstance(loss, str):
        try:
            loss = losses_mod.get(loss)
        except ConfigError:
            return None
    if loss in (losses_mod.sparse_categorical_crossentropy, losses_mod.categorical_crossentropy,
                losses_mod.binary_crossentropy):
        loss = losses_mod.get(loss)
    for loss_cls, metric_cls in ((losses_mod.SparseCategoricalCrossentropy, SparseCategoricalAccuracy),
                                 (losses_mod.CategoricalCrossentropy, CategoricalAccuracy),
                                 (losses_mod.BinaryCrossentropy, BinaryAccuracy)):
        if isinstance(loss, loss_cls):
            return metric_cls
    return None


def resolve_accuracy(loss: Any, y_true_shape: Sequence[int] | None = None, y_pred_shape: Sequence[int] | None = None,
                     name: str = "accuracy") -> Metric:
    """The accuracy metric that ``metrics=["accuracy"]`` means for this loss and these shapes.

    The cross-entropies decide (sparse → SparseCategoricalAccuracy, categorical
    → CategoricalAccuracy, binary → BinaryAccuracy); any other loss falls
    back to Keras 3's rule on the label and prediction shapes.

    Raises:
        ConfigError: the loss does not decide and the shapes are not given.

    Example:
        >>> resolve_accuracy("sparse_categorical_crossentropy").__class__.__name__
        'SparseCategoricalAccuracy'
    """
    cls = _accuracy_by_loss(loss)
    if cls is None:
        if y_true_shape is None or y_pred_shape is None:
            raise ConfigError(
                f"cannot tell which accuracy 'accuracy' means for loss {loss!r} without the label and prediction "
                "shapes; pass y_true_shape and y_pred_shape. Received: y_true_shape=None"
            )
        cls = _accuracy_by_shapes(y_true_shape, y_pred_shape)
    return cls(name=name)


class AutoAccuracy(Metric):
    """``"accuracy"`` for a loss that does not decide: chosen from the shapes of the first batch.

    Example:
        >>> m = AutoAccuracy()
        >>> m.update_state(torch.tensor([1]), torch.tensor([[0.2, 0.8]]))
        >>> type(m.resolved).__name__
        'SparseCategoricalAccuracy'
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.resolved: Metric | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if self.resolved is None:
            self.resolved = resolve_accuracy(None, tuple(np.shape(y_true)), tuple(np.shape(y_pred)), name=self.name)
        self.resolved.update_state(y_true, y_pred, sample_weight=sample_weight)

    def result(self) -> Tensor:
        return self.resolved.result() if self.resolved is not None else torch.zeros(())

    def reset_state(self) -> None:
        if self.resolved is not None:
            self.resolved.reset_state()

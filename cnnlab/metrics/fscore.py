"""F-scores (Keras 3's FBetaScore and F1Score), exported by :mod:`cnnlab.metrics`.

Example:
    >>> import torch
    >>> from cnnlab import metrics
    >>> m = metrics.F1Score(average="macro", threshold=0.5)
    >>> m.update_state(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.9, 0.2]]))
    >>> round(float(m.result()), 4)
    0.5
"""

from __future__ import annotations

from typing import Any

import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.losses import KERAS_EPSILON
from cnnlab.metrics.metric import Metric, _tensor

Tensor = torch.Tensor

_AVERAGES = (None, "micro", "macro", "weighted")
_COUNTS = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


class FBetaScore(Metric):
    """F-beta score ``(1 + beta**2) * p * r / (beta**2 * p + r)`` per class, optionally averaged.

    Args:
        average: None (one score per class), ``"micro"`` (counts pooled over
            classes), ``"macro"`` (mean of the class scores) or ``"weighted"``
            (mean weighted by each class's number of true labels).
        beta: a float > 0; recall weighs ``beta`` times as much as precision.
        threshold: a float in (0, 1]: predictions above it are positive. None
            (default): the highest prediction of each sample is positive.
        name, dtype: see :class:`cnnlab.metrics.Metric`.

    Shape:
        y_true, y_pred: ``(batch, classes)``; sample_weight: ``(batch,)``.

    Example:
        >>> m = FBetaScore(beta=2.0, average="micro")
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        who = type(self).__name__
        if average not in _AVERAGES:
            raise ConfigError(
                f"{who}: `average` must be None, 'micro', 'macro' or 'weighted'. Received: average={average!r}")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ConfigError(f"{who}: `beta` must be a Python float > 0, e.g. 2.0. Received: beta={beta!r}")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ConfigError(
                f"{who}: `threshold` must be None or a Python float in (0, 1], e.g. 0.5. "
                f"Received: threshold={threshold!r}"
            )
        self.average, self.beta, self.threshold = average, beta, threshold
        self._built = False

    def _build(self, y_true: Tensor, y_pred: Tensor) -> None:
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects 2D inputs (batch_size, num_classes); use one-hot labels "
                f"(cnnlab.utils.to_categorical). Received: y_true.shape={tuple(y_true.shape)}, "
                f"y_pred.shape={tuple(y_pred.shape)}"
            )
        shape = () if self.average == "micro" else (y_pred.shape[-1],)
        for count in _COUNTS:
            setattr(self, count, self.add_variable(shape=shape, name=count))
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred).detach().float()
        y_true = _tensor(y_true, y_pred, torch.float32)
        self._follow(y_pred)
        if not self._built:
            self._build(y_true, y_pred)
        if self.threshold is None:
            # Every class tied for the sample's maximum counts as predicted, unless that maximum is ~0.
            positive = (y_pred >= y_pred.amax(dim=-1, keepdim=True)) & (y_pred.abs() > 1e-9)
        else:
            positive = y_pred > self.threshold
        positive = positive.float()
        weight = None if sample_weight is None else _tensor(sample_weight, y_pred, torch.float32).reshape(-1, 1)
        dims = None if self.average == "micro" else 0
        for count, values in zip(_COUNTS, (positive * y_true, positive * (1 - y_true), (1 - positive) * y_true,
                                           y_true)):
            values = values if weight is None else values * weight
            getattr(self, count).add_(values.sum() if dims is None else values.sum(dim=dims))

    def result(self) -> Tensor:
        if not self._built:
            return torch.zeros(())
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + KERAS_EPSILON)
        recall = tp / (tp + self.false_negatives + KERAS_EPSILON)
        beta2 = self.beta**2
        score = (1 + beta2) * precision * recall / (beta2 * precision + recall + KERAS_EPSILON)
        if self.average == "weighted":
            weights = self.intermediate_weights
            return (score * weights / (weights.sum() + KERAS_EPSILON)).sum()
        return score if self.average is None else score.mean()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """Harmonic mean of precision and recall: :class:`FBetaScore` with ``beta=1.0``.

    Args: as :class:`FBetaScore`, without ``beta``.

    Example:
        >>> m = F1Score(average="macro", threshold=0.5)
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config

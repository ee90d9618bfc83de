"""Confusion-matrix metrics: Precision, Recall, the four counts and AUC (Keras 3 thresholds and formulas).

Example:
    >>> import torch
    >>> m = Precision(thresholds=0.5)
    >>> m.update_state(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.9, 0.8, 0.2]))
    >>> float(m.result())
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ConfigError
from cnnlab.losses import KERAS_EPSILON, squeeze_or_expand_to_same_rank
from cnnlab.metrics.metric import Metric, _tensor

Tensor = torch.Tensor

# Stand-in for minus infinity when top_k filtering hides predictions (keras/src/metrics/metrics_utils.py NEG_INF).
NEG_INF = -1e10
# Default decision threshold of Precision and Recall without top_k (Keras).
DEFAULT_THRESHOLD = 0.5


def _confusion_inputs(y_true: Any, y_pred: Any, sample_weight: Any, top_k: int | None,
                      class_id: int | None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Flattened ``(labels as bool, predictions, weights)`` as Keras's confusion-matrix update prepares them."""
    y_pred = _tensor(y_pred).detach().float()
    y_true = _tensor(y_true, y_pred).detach().float()
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    weight = None
    if sample_weight is not None:
        weight = _tensor(sample_weight, y_pred, torch.float32)
        weight = weight.reshape(weight.shape + (1,) * (y_pred.dim() - weight.dim()))
        weight = weight.broadcast_to(y_pred.shape)
    if top_k is not None:
        kth = y_pred.topk(top_k, dim=-1).values[..., -1:]
        y_pred = torch.where(y_pred >= kth, y_pred, torch.full_like(y_pred, NEG_INF))
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
        weight = None if weight is None else weight[..., class_id]
    return y_true.reshape(-1) != 0, y_pred.reshape(-1), None if weight is None else weight.reshape(-1)


def _confusion_counts(labels: Tensor, preds: Tensor, weight: Tensor | None,
                      thresholds: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Weighted (tp, fp, tn, fn) per threshold; a prediction is positive when ``pred > threshold``.

    ``thresholds`` must be sorted ascending. Each prediction falls in the bucket
    ``#(thresholds < pred)``; positives at threshold j are the buckets above j.
    """
    buckets = torch.searchsorted(thresholds, preds.contiguous(), right=False)
    w = torch.ones_like(preds) if weight is None else weight
    pos_w, neg_w = w * labels, w * (~labels)
    size = thresholds.numel() + 1
    # scatter_add_ instead of bincount: bincount reads the max index back to the host.
    pos_hist = torch.zeros(size, device=preds.device).scatter_add_(0, buckets, pos_w)
    neg_hist = torch.zeros(size, device=preds.device).scatter_add_(0, buckets, neg_w)
    tp = pos_hist.flip(0).cumsum(0).flip(0)[1:]
    fp = neg_hist.flip(0).cumsum(0).flip(0)[1:]
    return tp, fp, neg_w.sum() - fp, pos_w.sum() - tp


def _divide_no_nan(a: Tensor, b: Tensor) -> Tensor:
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)), torch.zeros_like(a))


class _ThresholdMetric(Metric):
    """Shared part of Precision and Recall: thresholds, top_k, class_id and the counts."""

    _counts: tuple[str, str]

    def __init__(self, thresholds: float | Sequence[float] | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = DEFAULT_THRESHOLD if top_k is None else NEG_INF
        values = [default] if thresholds is None else list(np.atleast_1d(np.asarray(thresholds, dtype=np.float64)))
        if any(not 0 <= t <= 1 for t in values if t != NEG_INF):
            raise ConfigError(f"{type(self).__name__}: `thresholds` must be in [0, 1]. Received: thresholds={thresholds!r}")
        order = np.argsort(values, kind="stable")
        self._order = torch.as_tensor(np.argsort(order))  # undoes the sort in result()
        self._thresholds = torch.tensor(np.asarray(values)[order], dtype=torch.float32)
        self._single = thresholds is None or np.ndim(thresholds) == 0
        for count in self._counts:
            setattr(self, count, self.add_variable(shape=(len(values),), name=count))

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        labels, preds, weight = _confusion_inputs(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        self._follow(preds)
        if self._thresholds.device != preds.device:
            self._thresholds, self._order = self._thresholds.to(preds.device), self._order.to(preds.device)
        tp, fp, tn, fn = _confusion_counts(labels, preds, weight, self._thresholds)
        counts = {"true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn}
        for name in self._counts:
            getattr(self, name).add_(counts[name])

    def _ratio(self, denominator_extra: Tensor) -> Tensor:
        value = _divide_no_nan(self.true_positives, self.true_positives + denominator_extra)[self._order]
        return value[0] if self._single else value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """``tp / (tp + fp)``, a prediction counting as positive when ``y_pred > threshold``.

    Args:
        thresholds: a float or list of floats in [0, 1]; default 0.5 (a list gives one value per threshold).
        top_k: only the ``top_k`` highest predictions per sample count as positive.
        class_id: compute the metric for this class (column) only.
        name, dtype: see :class:`Metric`.

    Example:
        >>> m = Precision(thresholds=0.5)
    """

    _counts = ("true_positives", "false_positives")

    def result(self) -> Tensor:
        return self._ratio(self.false_positives)


class Recall(_ThresholdMetric):
    """``tp / (tp + fn)``, a prediction counting as positive when ``y_pred > threshold``.

    Args: as :class:`Precision`.

    Example:
        >>> m = Recall()
    """

    _counts = ("true_positives", "false_negatives")

    def result(self) -> Tensor:
        return self._ratio(self.false_negatives)


class _ConfusionCount(_ThresholdMetric):
    """One (weighted) count of the confusion matrix, per threshold; a prediction is positive when ``> threshold``.

    Args:
        thresholds: a float or list of floats in [0, 1]; default 0.5 (a list gives one count per threshold).
        name, dtype: see :class:`Metric`.
    """

    def __init__(self, thresholds: float | Sequence[float] | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self) -> Tensor:
        value = getattr(self, self._counts[0])[self._order]
        return value[0] if self._single else value

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """Weighted count of positive labels predicted positive. Example: ``TruePositives(thresholds=0.5)``."""

    _counts = ("true_positives",)


class FalsePositives(_ConfusionCount):
    """Weighted count of negative labels predicted positive. Example: ``FalsePositives()``."""

    _counts = ("false_positives",)


class TrueNegatives(_ConfusionCount):
    """Weighted count of negative labels predicted negative. Example: ``TrueNegatives()``."""

    _counts = ("true_negatives",)


class FalseNegatives(_ConfusionCount):
    """Weighted count of positive labels predicted negative. Example: ``FalseNegatives()``."""

    _counts = ("false_negatives",)


class AUC(Metric):
    """Area under the ROC or PR curve, estimated over ``num_thresholds`` thresholds (Keras method).

    Args:
        num_thresholds: thresholds evenly spaced in [0, 1]; > 1. Defaults to 200.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"`` (trapezoids; for PR, Davis &
            Goadrich interpolation), ``"minoring"`` or ``"majoring"``.
        name, dtype: see :class:`Metric`.
        thresholds: explicit thresholds in (0, 1), instead of ``num_thresholds``.
        multi_label, num_labels, label_weights: accepted at their defaults only.
        from_logits: apply a sigmoid to predictions first.

    Example:
        >>> m = AUC(num_thresholds=200)
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        super().__init__(name=name or "auc", dtype=dtype)
        if multi_label or num_labels is not None or label_weights is not None:
            raise ConfigError(
                "AUC: multi_label, num_labels and label_weights are not supported by cnnlab yet. "
                f"Received: multi_label={multi_label!r}"
            )
        self.curve = str(curve).upper()
        self.summation_method = str(summation_method).lower()
        if self.curve not in ("ROC", "PR"):
            raise ConfigError(f"AUC: `curve` must be 'ROC' or 'PR'. Received: curve={curve!r}")
        if self.summation_method not in ("interpolation", "minoring", "majoring"):
            raise ConfigError(
                "AUC: `summation_method` must be 'interpolation', 'minoring' or 'majoring'. "
                f"Received: summation_method={summation_method!r}"
            )
        self._init_thresholds = None if thresholds is None else sorted(float(t) for t in thresholds)
        if thresholds is None:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ConfigError(f"AUC: `num_thresholds` must be an int > 1. Received: num_thresholds={num_thresholds!r}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        else:
            inner = self._init_thresholds
        self.num_thresholds = len(inner) + 2
        # End points just outside [0, 1] absorb floating point imprecision (Keras).
        self._thresholds = torch.tensor([0.0 - KERAS_EPSILON, *inner, 1.0 + KERAS_EPSILON], dtype=torch.float32)
        self._from_logits = bool(from_logits)
        for count in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, count, self.add_variable(shape=(self.num_thresholds,), name=count))

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used, including the two end points."""
        return self._thresholds.tolist()

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        labels, preds, weight = _confusion_inputs(y_true, y_pred, sample_weight, None, None)
        if self._from_logits:
            preds = preds.sigmoid()
        self._follow(preds)
        if self._thresholds.device != preds.device:
            self._thresholds = self._thresholds.to(preds.device)
        tp, fp, tn, fn = _confusion_counts(labels, preds, weight, self._thresholds)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _interpolated_pr_auc(self) -> Tensor:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, dp.clamp(min=0))
        intercept = tp[1:] - slope * p[1:]
        ratio = torch.where((p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], p[1:].clamp(min=0)),
                            torch.ones_like(p[1:]))
        return _divide_no_nan(slope * (dtp + intercept * ratio.log()), (tp[1:] + fn[1:]).clamp(min=0)).sum()

    def result(self) -> Tensor:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self._init_thresholds,
                "from_logits": self._from_logits}

"""Metrics with Keras 3 names, defaults and formulas, accumulated on the device.

A metric keeps its state in tensors on the device of the data it sees and
updates them without reading anything back to the host; ``result()`` returns
a 0-d tensor, and only ``float(metric.result())`` waits for the device.

Example:
    >>> import torch
    >>> from cnnlab import metrics
    >>> m = metrics.SparseCategoricalAccuracy()
    >>> m.update_state(torch.tensor([0, 1]), torch.tensor([[0.9, 0.1], [0.8, 0.2]]))
    >>> float(m.result())
    0.5
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from cnnlab import initializers as initializers_mod
from cnnlab import losses as losses_mod
from cnnlab._registry import Registry
from cnnlab.errors import ConfigError
from cnnlab.losses import KERAS_EPSILON, squeeze_or_expand_to_same_rank
from cnnlab.variables import StateTensor, to_torch_dtype

Tensor = torch.Tensor

# Stand-in for minus infinity when top_k filtering hides predictions (keras/src/metrics/metrics_utils.py NEG_INF).
NEG_INF = -1e10
# Default decision threshold of Precision and Recall without top_k (Keras).
DEFAULT_THRESHOLD = 0.5


def _tensor(x: Any, like: Tensor | None = None, dtype: torch.dtype | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        x = torch.as_tensor(np.asarray(x))
    if like is not None and x.device != like.device:
        x = x.to(like.device)
    return x if dtype is None or x.dtype == dtype else x.to(dtype)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class Metric:
    """Base class of metrics (Keras 3 API).

    Subclass it: create state in ``__init__`` with :meth:`add_variable`,
    update it in ``update_state`` (``self.total.assign_add(...)`` or in place,
    ``self.total += ...``), and compute the value in ``result``.
    ``reset_state`` sets every state variable to zeros, as Keras does. Call
    :meth:`to` to move the state to the data's device (the trainer does this;
    built-in metrics also follow their inputs).

    Args:
        name: the metric's name (the key in History logs).
        dtype: kept for Keras compatibility; state is float32 unless a variable asks otherwise.

    Example:
        >>> class TruePositives(Metric):
        ...     def __init__(self, name="true_positives", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.count.assign_add(((y_true == 1) & (y_pred > 0.5)).sum())
        ...     def result(self):
        ...         return self.count.value
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype
        self._variables: list[Tensor] = []

    def add_variable(self, shape: Sequence[int] = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> Tensor:
        """Create one state variable (float32 unless ``dtype`` says otherwise) and track it.

        Returns a tensor with Keras's variable methods (``assign``, ``assign_add``, ``assign_sub``,
        ``value``, ``numpy()``); see :mod:`cnnlab.variables`.
        """
        if "_variables" not in vars(self):
            raise ConfigError(
                f"metric {type(self).__name__}: call super().__init__() before add_variable(). Received: name={name!r}"
            )
        name = name or ("variable" if not self._variables else f"variable_{len(self._variables)}")
        torch_dtype = to_torch_dtype(dtype)
        if shape is None:
            shape = ()
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
        if isinstance(initializer, (int, float)) and not isinstance(initializer, bool):
            value = torch.full(shape, float(initializer), dtype=torch_dtype)
        else:
            init = initializers_mod.get(initializer, where=f"metric {self.name!r} argument initializer")
            value = initializers_mod.initialize(init, shape, torch_dtype)
        variable = StateTensor(value.to(self._device()))._set_keras_identity(name, f"{self.name}/{name}")
        self._variables.append(variable)
        return variable

    def add_weight(self, shape: Sequence[int] = (), initializer: Any = "zeros", dtype: Any = None,
                   name: str | None = None) -> Tensor:
        """Keras's older name for :meth:`add_variable`."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[Tensor]:
        """The state variables, then those of metrics held as attributes."""
        found = list(self.__dict__.get("_variables", ()))
        for value in vars(self).values():
            if isinstance(value, Metric):
                found.extend(value.variables)
        return found

    def _device(self) -> torch.device:
        own = self.__dict__.get("_variables")
        return own[0].device if own else torch.device("cpu")

    def to(self, device: torch.device | str) -> Metric:
        """Move the state to ``device`` (in place: the variables stay the same objects) and return the metric."""
        device = torch.device(device)
        for variable in self.__dict__.get("_variables", ()):
            if variable.device != device:
                variable.data = variable.data.to(device)
        for value in vars(self).values():
            if isinstance(value, Metric):
                value.to(device)
        return self

    def _follow(self, data: Tensor) -> None:
        if self._device() != data.device:
            self.to(data.device)

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate statistics from one batch."""
        raise NotImplementedError(f"metric '{type(self).__name__}' must implement update_state().")

    def result(self) -> Tensor:
        """Return the metric's value as a 0-d tensor (no host sync)."""
        raise NotImplementedError(f"metric '{type(self).__name__}' must implement result().")

    def reset_state(self) -> None:
        """Set every state variable to zeros (Keras semantics, whatever the initializer was)."""
        with torch.no_grad():
            for v in self.variables:
                v.zero_()

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-serialisable."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Metric:
        """Rebuild a metric (with fresh state) from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of the values it is given; used for the loss in History.

    ``update_state(values, sample_weight=None)``: values of shape ``(batch, ...)``
    are first averaged per sample; ``sample_weight`` may be a number (e.g. the
    batch size when ``values`` is a batch's mean loss) or a tensor.

    Example:
        >>> m = Mean()
        >>> m.update_state(torch.tensor(2.0), sample_weight=3)
        >>> m.update_state(torch.tensor(4.0), sample_weight=1)
        >>> float(m.result())
        2.5
    """

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    @torch.no_grad()
    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = _tensor(values)
        self._follow(values)
        values = values.detach().to(torch.float32)
        if sample_weight is None:
            self.total += values.reshape(values.shape[0], -1).mean(dim=1).sum() if values.dim() > 1 else values.sum()
            self.count += values.shape[0] if values.dim() >= 1 else 1
            return
        if isinstance(sample_weight, (int, float)) and not isinstance(sample_weight, bool) and values.dim() == 0:
            self.total += values * float(sample_weight)  # fast path for the loss tracker: no new tensor
            self.count += float(sample_weight)
            return
        weight = _tensor(sample_weight, values, torch.float32)
        values, weight = squeeze_or_expand_to_same_rank(values, weight)
        if values.dim() > weight.dim():
            values = values.mean(dim=tuple(range(weight.dim(), values.dim())))
        weight = weight.broadcast_to(values.shape)
        values = values * weight
        if weight.dim() > 1:
            weight = weight.mean(dim=tuple(range(1, weight.dim())))
            values = values.mean(dim=tuple(range(1, values.dim())))
        self.total += values.sum()
        self.count += weight.sum()

    def result(self) -> Tensor:
        return torch.where(self.count != 0, self.total / torch.where(self.count != 0, self.count, 1.0), 0.0)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    Example:
        >>> m = MeanMetricWrapper(lambda t, p: (t - p).abs(), name="l1")
    """

    def __init__(self, fn: Callable[..., Tensor], name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred)
        values = self._fn(_tensor(y_true, y_pred), y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


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


# --------------------------------------------------------------------------------- mean metrics

def _wrapper(fn: Callable[..., Tensor], default_name: str, doc: str,
             cls_name: str | None = None) -> type[MeanMetricWrapper]:
    """A MeanMetricWrapper subclass around ``fn`` with Keras's name and constructor.

    The class is named after ``default_name`` in CamelCase unless ``cls_name`` is given.
    """

    def __init__(self, name: str = default_name, dtype: Any = None) -> None:
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype)

    cls_name = cls_name or "".join(part.capitalize() for part in default_name.split("_"))
    return type(cls_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


Accuracy = _wrapper(accuracy, "accuracy", "How often predictions equal labels exactly.")
CategoricalAccuracy = _wrapper(categorical_accuracy, "categorical_accuracy",
                               "How often the argmax of predictions matches the argmax of one-hot labels.")
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy",
                                     "How often the argmax of predictions matches integer labels.")
MeanSquaredError = _wrapper(losses_mod.mean_squared_error, "mean_squared_error", "Mean squared error.")
MeanAbsoluteError = _wrapper(losses_mod.mean_absolute_error, "mean_absolute_error", "Mean absolute error.")


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


class _LossMetric(MeanMetricWrapper):
    """The mean of a cross-entropy, with the loss's ``from_logits``."""

    _fn_for: Callable[..., Tensor]

    def __init__(self, name: str | None = None, dtype: Any = None, from_logits: bool = False) -> None:
        super().__init__(type(self)._fn_for, name=name or _snake(type(self).__name__), dtype=dtype,
                         from_logits=from_logits)


class SparseCategoricalCrossentropy(_LossMetric):
    """Mean sparse categorical cross-entropy. Example: ``SparseCategoricalCrossentropy(from_logits=True)``."""

    _fn_for = staticmethod(losses_mod.sparse_categorical_crossentropy)


class CategoricalCrossentropy(_LossMetric):
    """Mean categorical cross-entropy. Example: ``CategoricalCrossentropy()``."""

    _fn_for = staticmethod(losses_mod.categorical_crossentropy)


class BinaryCrossentropy(_LossMetric):
    """Mean binary cross-entropy. Example: ``BinaryCrossentropy()``."""

    _fn_for = staticmethod(losses_mod.binary_crossentropy)


# ------------------------------------------------------------------------------ confusion metrics

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


# ------------------------------------------------------------------------------------------ registry

# Imported here, not at the top: these modules build on the classes above.
from cnnlab.metrics_fscore import F1Score, FBetaScore  # noqa: E402
from cnnlab.metrics_regression import (  # noqa: E402
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    R2Score,
    RootMeanSquaredError,
    SquaredHinge,
    categorical_hinge,
    cosine_similarity,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
    squared_hinge,
)

_CONFUSION = (TruePositives, FalsePositives, TrueNegatives, FalseNegatives)
_MORE = (MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity,
         LogCoshError, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, R2Score, FBetaScore, F1Score)
_CLASSES: dict[str, type[Metric]] = {cls.__name__: cls for cls in (
    Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, Precision, Recall, AUC, MeanSquaredError, MeanAbsoluteError,
    SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy, AutoAccuracy, *_CONFUSION, *_MORE)}
_BY_NAME: dict[str, type[Metric]] = {
    # Keras's keys: the default names, except LogCoshError's ("logcosh" is not a key), plus short aliases.
    **{cls().name: cls for cls in (*_CONFUSION, *_MORE) if cls is not LogCoshError},
    "log_cosh_error": LogCoshError, "f_beta_score": FBetaScore, "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "precision": Precision, "recall": Recall,
    "auc": AUC, "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError, "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy,
    "mean": Mean,
}
_ACCURACY_NAMES = ("accuracy", "acc")
_REGISTRY = Registry(
    "metric", Metric, classes=_CLASSES.values(), module="metrics", wrap=MeanMetricWrapper,
    by_name={**_BY_NAME, **{name.lower(): cls for name, cls in _CLASSES.items() if cls is not AutoAccuracy}},
    names=[*_BY_NAME, *_ACCURACY_NAMES],
    expected="a metric must be a name such as 'accuracy', a Metric, a config dict or a function fn(y_true, y_pred)",
)


def names() -> list[str]:
    """The built-in metric names accepted by :func:`get`, sorted."""
    return list(_REGISTRY.names)


def get(identifier: Any, loss: Any = None, where: str = "") -> Metric | None:
    """Return a :class:`Metric` from a name, an instance, a config dict or a function.

    A string becomes a metric whose ``name`` is that string (so
    ``metrics=["acc"]`` logs ``acc`` and ``val_acc``, as Keras 3 does).
    ``"accuracy"``/``"acc"`` is resolved with ``loss`` (see
    :func:`resolve_accuracy`); when the loss does not decide, an
    :class:`AutoAccuracy` chooses from the shapes of the first batch.

    Args:
        identifier: a name such as ``'accuracy'``, ``'top_k_categorical_accuracy'``,
            ``'auc'``, ``'mse'`` (case-insensitive), a :class:`Metric`
            (returned unchanged), a Metric class, a dict
            ``{'class_name': ..., 'config': ...}``, a function
            ``fn(y_true, y_pred)`` returning per-sample values (averaged), or None.
        loss: the compiled loss (name, Loss or function), for ``"accuracy"``.
        where: context for error messages, e.g. ``"compile argument metrics"``.

    Example:
        >>> type(get("accuracy", loss="sparse_categorical_crossentropy")).__name__
        'SparseCategoricalAccuracy'
    """
    if not isinstance(identifier, str):
        return _REGISTRY.get(identifier, where)
    if identifier.strip().lower() in _ACCURACY_NAMES:
        cls = _accuracy_by_loss(loss) or AutoAccuracy
        return cls(name=identifier)
    return _REGISTRY.lookup(identifier, where)(name=identifier)


def serialize(metric: Metric) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` for a metric (its state is not saved).

    Raises:
        ConfigError: a :class:`MeanMetricWrapper` around a user function.
    """
    if type(metric) is MeanMetricWrapper:
        raise ConfigError(
            f"metric {metric.name!r} wraps a user function, which cannot be saved by name. Subclass Metric and "
            f"pass the class in custom_objects when loading. Received: metric={metric!r}"
        )
    return _REGISTRY.serialize(metric)


def deserialize(config: Mapping[str, Any] | str, custom_objects: Mapping[str, Any] | None = None) -> Metric:
    """Rebuild a metric from :func:`serialize` output or a name.

    Only the built-in table and ``custom_objects`` are searched; nothing is imported by name.
    """
    if isinstance(config, str):
        return get(config)
    return _REGISTRY.deserialize(config, custom_objects)

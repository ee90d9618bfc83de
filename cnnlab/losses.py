"""Losses with Keras 3 names, defaults, formulas and reduction.

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and
returns a 0-d tensor. Per-sample losses are reduced Keras's default way,
``"sum_over_batch_size"``: the sum of the (weighted) per-sample losses divided
by the number of per-sample losses. The functions (``mse``,
``sparse_categorical_crossentropy``, ...) return the per-sample losses.

From probabilities (``from_logits=False``) Keras clips predictions to
``[eps, 1 - eps]`` (and the categorical losses first divide by their sum over
the class axis). When a model ends in softmax or sigmoid, the trainer instead
calls :meth:`Loss.with_logits` and feeds the pre-activation logits, which is
both faster and numerically stable.

Example:
    >>> import torch
    >>> from cnnlab import losses
    >>> loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> round(float(loss(torch.tensor([0]), torch.tensor([[0.0, 0.0]]))), 4)
    0.6931
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab._registry import ConfigObject, Registry
from cnnlab.errors import ConfigError, ShapeError

Tensor = torch.Tensor

# Keras backend fuzz factor used to clip probabilities (keras/src/backend/config.py, epsilon()).
KERAS_EPSILON = 1e-7

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")


def _as_tensor(x: Any, like: Tensor | None = None, dtype: torch.dtype | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        x = torch.as_tensor(np.asarray(x))
    if like is not None and x.device != like.device:
        x = x.to(like.device)
    return x if dtype is None or x.dtype == dtype else x.to(dtype)


def _float_pred(y_pred: Any) -> Tensor:
    y_pred = _as_tensor(y_pred)
    # Keras computes losses in float32 (floatx) even when the model runs in half precision.
    if not y_pred.is_floating_point() or y_pred.dtype in (torch.float16, torch.bfloat16):
        y_pred = y_pred.float()
    return y_pred


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> tuple[Tensor, Tensor]:
    """Make two tensors the same rank when they differ by a trailing axis of size 1 (Keras rule)."""
    r1, r2 = x1.dim(), x2.dim()
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _mean_last_axis(values: Tensor) -> Tensor:
    # A rank-1 prediction holds one value per sample, so each element is its own per-sample loss.
    return values.mean(dim=-1) if values.dim() > 1 else values


# ------------------------------------------------------------------------------------------ functions

def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``mean((y_true - y_pred)**2)`` over the last axis.

    Shape:
        y_true, y_pred: ``(batch, d)`` (or ``(batch,)``, one value per sample).
        Returns: ``(batch,)``.
    """
    y_pred = _float_pred(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_as_tensor(y_true, y_pred, y_pred.dtype), y_pred)
    return _mean_last_axis((y_true - y_pred).square())


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``mean(|y_true - y_pred|)`` over the last axis (shapes as :func:`mean_squared_error`)."""
    y_pred = _float_pred(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_as_tensor(y_true, y_pred, y_pred.dtype), y_pred)
    return _mean_last_axis((y_true - y_pred).abs())


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Per-sample Huber loss: ``0.5 * e**2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta**2``."""
    y_pred = _float_pred(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_as_tensor(y_true, y_pred, y_pred.dtype), y_pred)
    error = (y_pred - y_true).abs()
    values = torch.where(error <= delta, 0.5 * error.square(), delta * error - 0.5 * delta**2)
    return _mean_last_axis(values)


def _check_categorical_shapes(y_true: Tensor, y_pred: Tensor, name: str) -> None:
    if y_true.shape == y_pred.shape:
        return
    hint = ""
    if y_true.dim() <= y_pred.dim() and tuple(y_true.shape[:1]) == tuple(y_pred.shape[:1]) and (
            y_true.dim() < y_pred.dim() or y_true.shape[-1] == 1):
        hint = (" The labels look like integer class ids: use loss='sparse_categorical_crossentropy', "
                "or one-hot encode them with cnnlab.utils.to_categorical(y).")
    raise ShapeError(
        f"{name} expects one-hot labels with the same shape as the predictions {tuple(y_pred.shape)}; "
        f"got labels of shape {tuple(y_true.shape)}.{hint} Received: y_true.shape={tuple(y_true.shape)}"
    )


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """Per-sample ``-sum(y_true * log(p))`` over the class axis, for one-hot (or soft) labels.

    Shape:
        y_true, y_pred: ``(batch, classes)``. Returns: ``(batch,)``.
    """
    y_pred = _float_pred(y_pred)
    y_true = _as_tensor(y_true, y_pred, y_pred.dtype)
    _check_categorical_shapes(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        log_prob = F.log_softmax(y_pred, dim=axis)
    else:
        probs = y_pred / y_pred.sum(dim=axis, keepdim=True)
        log_prob = probs.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON).log()
    return -(y_true * log_prob).sum(dim=axis)


def _sparse_targets(y_true: Any, y_pred: Tensor, axis: int) -> Tensor:
    y_true = _as_tensor(y_true, y_pred)
    if y_true.dim() == y_pred.dim() and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != axis % y_pred.dim())
    if tuple(y_true.shape) != expected:
        hint = ""
        if tuple(y_true.shape) == tuple(y_pred.shape):
            hint = (" The labels look one-hot encoded: use loss='categorical_crossentropy', "
                    "or pass class ids with y.argmax(axis=-1).")
        raise ShapeError(
            f"sparse_categorical_crossentropy expects integer class ids of shape {expected} (or {expected + (1,)}) "
            f"for predictions of shape {tuple(y_pred.shape)}; got labels of shape {tuple(y_true.shape)}.{hint} "
            f"Received: y_true.shape={tuple(y_true.shape)}"
        )
    return y_true.long()


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Per-sample ``-log(p[label])`` for integer class ids.

    Shape:
        y_true: ``(batch,)`` or ``(batch, 1)``, integers (any int or float dtype).
        y_pred: ``(batch, classes)``. Returns: ``(batch,)``.
    """
    y_pred = _float_pred(y_pred)
    target = _sparse_targets(y_true, y_pred, axis)
    # F.cross_entropy / F.nll_loss want the class axis at position 1.
    scores = y_pred.movedim(axis, 1) if y_pred.dim() > 1 else y_pred.unsqueeze(0)
    target = target if y_pred.dim() > 1 else target.unsqueeze(0)
    if from_logits:
        result = F.cross_entropy(scores, target, reduction="none")
    else:
        probs = scores / scores.sum(dim=1, keepdim=True)
        result = F.nll_loss(probs.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON).log(), target, reduction="none")
    return result if y_pred.dim() > 1 else result.squeeze(0)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """Per-sample binary cross-entropy, averaged over the last axis.

    Shape:
        y_true: ``(batch, d)`` or ``(batch,)``; y_pred: ``(batch, d)``.
        Returns: ``(batch,)``.
    """
    y_pred = _float_pred(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_as_tensor(y_true, y_pred, y_pred.dtype), y_pred)
    if y_true.shape != y_pred.shape:
        raise ShapeError(
            f"binary_crossentropy expects labels with the shape of the predictions {tuple(y_pred.shape)}; got "
            f"{tuple(y_true.shape)}. For several classes use 'sparse_categorical_crossentropy'. "
            f"Received: y_true.shape={tuple(y_true.shape)}"
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = y_pred.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON)
        values = -(y_true * p.log() + (1 - y_true) * (1 - p).log())
    return values.mean(dim=axis) if values.dim() > 1 else values


def _pair(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    y_pred = _float_pred(y_pred)
    return squeeze_or_expand_to_same_rank(_as_tensor(y_true, y_pred, y_pred.dtype), y_pred)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``100 * mean(|(y_true - y_pred) / max(|y_true|, eps)|)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return 100.0 * _mean_last_axis(((y_true - y_pred) / y_true.abs().clamp(min=KERAS_EPSILON)).abs())


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``mean((log1p(y_pred) - log1p(y_true))**2)``, values below eps raised to eps (Keras)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _mean_last_axis((y_pred.clamp(min=KERAS_EPSILON).log1p() - y_true.clamp(min=KERAS_EPSILON).log1p()).square())


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Per-sample ``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` along ``axis`` (-1 = same direction)."""
    y_true, y_pred = _pair(y_true, y_pred)
    # F.normalize divides by max(norm, eps), which equals Keras's x * min(rsqrt(sum(x**2)), 1 / eps).
    unit_true = F.normalize(y_true, dim=axis, eps=KERAS_EPSILON)
    return -(unit_true * F.normalize(y_pred, dim=axis, eps=KERAS_EPSILON)).sum(dim=axis)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``mean(log(cosh(y_pred - y_true)))``, in a form that does not overflow for large errors."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    return _mean_last_axis(error + F.softplus(-2.0 * error) - float(np.log(2.0)))


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``sum(y_true * log(y_true / y_pred))`` over the last axis, both clipped to ``[eps, 1]``."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = y_true.clamp(KERAS_EPSILON, 1.0), y_pred.clamp(KERAS_EPSILON, 1.0)
    values = y_true * (y_true / y_pred).log()
    return values.sum(dim=-1) if values.dim() > 1 else values


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``mean(y_pred - y_true * log(y_pred + eps))`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _mean_last_axis(y_pred - y_true * (y_pred + KERAS_EPSILON).log())


def _hinge_labels(y_true: Tensor) -> Tensor:
    # Keras maps labels to -1/1 only when every label is 0 or 1; torch.where keeps this on the device (no sync).
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``mean(max(1 - y_true * y_pred, 0))``; labels in {-1, 1} (0/1 labels are mapped to -1/1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _mean_last_axis((1.0 - _hinge_labels(y_true) * y_pred).clamp(min=0.0))


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``mean(max(1 - y_true * y_pred, 0)**2)``; labels as :func:`hinge`."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _mean_last_axis((1.0 - _hinge_labels(y_true) * y_pred).clamp(min=0.0).square())


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` for one-hot labels.

    Shape:
        y_true, y_pred: ``(batch, classes)``. Returns: ``(batch,)``.
    """
    y_pred = _float_pred(y_pred)
    y_true = _as_tensor(y_true, y_pred, y_pred.dtype)
    positive = (y_true * y_pred).sum(dim=-1)
    negative = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return (negative - positive + 1.0).clamp(min=0.0)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence


# -------------------------------------------------------------------------------------------- classes

def _reduce(values: Tensor, sample_weight: Any, reduction: str) -> Tensor:
    if sample_weight is not None:
        weight = _as_tensor(sample_weight, values, values.dtype)
        values, weight = squeeze_or_expand_to_same_rank(values, weight)
        values = values * weight
    if reduction == "none" or values.dim() == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return total / weight.sum()  # as Keras's divide_no_nan, except 0/0 gives NaN
    return total / max(values.numel(), 1)


class Loss(ConfigObject):
    """Base class of losses; subclass it and implement ``call(y_true, y_pred)``.

    ``call`` returns per-sample losses; ``__call__`` weights and reduces them.

    Args:
        name: the loss's name.
        reduction: ``"sum_over_batch_size"`` (default, also ``"mean"``),
            ``"sum"``, ``"mean_with_sample_weight"`` or ``"none"``/None.
        dtype: kept for Keras compatibility; computation is in float32 (or float64 inputs).

    Attributes:
        expects_sparse_labels: True if labels must be integer class ids.
        expects_one_hot: True if labels must be one-hot (shape of the predictions).
        logits_activation: ``"softmax"``/``"sigmoid"`` if :meth:`with_logits`
            gives the same loss on the logits before that activation, else None.

    Example:
        >>> class MeanCubicError(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return (y_true - y_pred).abs().pow(3).mean(dim=-1)
    """

    expects_sparse_labels: bool = False
    expects_one_hot: bool = False
    logits_activation: str | None = None

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        reduction = "none" if reduction is None else reduction
        if reduction not in _REDUCTIONS:
            raise ConfigError(
                f"{type(self).__name__}: `reduction` must be one of {', '.join(_REDUCTIONS)} or None. "
                f"Received: reduction={reduction!r}"
            )
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """Return the per-sample losses."""
        raise NotImplementedError(f"loss '{type(self).__name__}' must implement `call(y_true, y_pred)`.")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = _float_pred(y_pred)
        return _reduce(self.call(_as_tensor(y_true, y_pred), y_pred), sample_weight, self.reduction)

    def with_logits(self) -> Loss:
        """Return this loss computed from logits (itself if it already is, or if it has no logits form)."""
        return self

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-serialisable."""
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out


class LossFunctionWrapper(Loss):
    """Turn a function ``fn(y_true, y_pred, **kwargs) -> per-sample losses`` into a :class:`Loss`.

    Example:
        >>> loss = LossFunctionWrapper(lambda t, p: (t - p).abs().mean(dim=-1), name="my_mae")
    """

    def __init__(self, fn: Callable[..., Tensor], reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors (``mse``). Example: ``MeanSquaredError()(y, p)``."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors (``mae``). Example: ``MeanAbsoluteError()(y, p)``."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond. Example: ``Huber(delta=2.0)``."""

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str = "huber_loss",
                 dtype: Any = None) -> None:
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=float(delta))


def _loss_class(fn: Callable[..., Tensor], cls_name: str, default_name: str, doc: str) -> type[LossFunctionWrapper]:
    """A LossFunctionWrapper subclass around ``fn`` with Keras's constructor ``(reduction, name, dtype)``."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = default_name,
                 dtype: Any = None) -> None:
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype)

    return type(cls_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


MeanAbsolutePercentageError = _loss_class(
    mean_absolute_percentage_error, "MeanAbsolutePercentageError", "mean_absolute_percentage_error",
    "Mean absolute percentage error (``mape``). Example: ``MeanAbsolutePercentageError()(y, p)``.")
MeanSquaredLogarithmicError = _loss_class(
    mean_squared_logarithmic_error, "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
    "Mean squared logarithmic error (``msle``). Example: ``MeanSquaredLogarithmicError()(y, p)``.")
LogCosh = _loss_class(log_cosh, "LogCosh", "log_cosh",
                      "Mean of ``log(cosh(error))``. Example: ``LogCosh()(y, p)``.")
KLDivergence = _loss_class(kl_divergence, "KLDivergence", "kl_divergence",
                           "Kullback-Leibler divergence of two distributions. Example: ``KLDivergence()(y, p)``.")
Poisson = _loss_class(poisson, "Poisson", "poisson",
                      "Poisson loss ``y_pred - y_true * log(y_pred)``. Example: ``Poisson()(y, p)``.")
Hinge = _loss_class(hinge, "Hinge", "hinge", "Hinge loss for -1/1 (or 0/1) labels. Example: ``Hinge()(y, p)``.")
SquaredHinge = _loss_class(squared_hinge, "SquaredHinge", "squared_hinge",
                           "Squared hinge loss for -1/1 (or 0/1) labels. Example: ``SquaredHinge()(y, p)``.")
CategoricalHinge = _loss_class(categorical_hinge, "CategoricalHinge", "categorical_hinge",
                               "Categorical hinge loss for one-hot labels. Example: ``CategoricalHinge()(y, p)``.")


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity between labels and predictions along ``axis``.

    Args:
        axis: the axis along which the vectors lie.
        reduction, name, dtype: see :class:`Loss`.

    Example:
        >>> loss = CosineSimilarity(axis=-1)
    """

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class _Crossentropy(LossFunctionWrapper):
    """Shared part of the cross-entropies: ``from_logits`` and :meth:`with_logits`."""

    def with_logits(self) -> Loss:
        if self._fn_kwargs["from_logits"]:
            return self
        twin = copy.copy(self)
        twin._fn_kwargs = {**self._fn_kwargs, "from_logits": True}
        return twin

    @property
    def from_logits(self) -> bool:
        return self._fn_kwargs["from_logits"]


class CategoricalCrossentropy(_Crossentropy):
    """Cross-entropy for one-hot labels.

    Args:
        from_logits: whether ``y_pred`` are logits (else probabilities).
        label_smoothing: in [0, 1]; labels become ``y * (1 - s) + s / classes``.
        axis: the class axis.
        reduction, name, dtype: see :class:`Loss`.

    Shape:
        y_true, y_pred: ``(batch, classes)``.

    Example:
        >>> loss = CategoricalCrossentropy(label_smoothing=0.1)
    """

    expects_one_hot = True
    logits_activation = "softmax"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        _check_smoothing(label_smoothing, type(self).__name__)
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing), axis=axis)


class SparseCategoricalCrossentropy(_Crossentropy):
    """Cross-entropy for integer class ids.

    Args:
        from_logits: whether ``y_pred`` are logits (else probabilities).
        ignore_class: accepted as None only (Keras's masking of one class id is not supported yet).
        reduction, name, dtype: see :class:`Loss`.
        axis: the class axis.

    Shape:
        y_true: ``(batch,)`` or ``(batch, 1)``; y_pred: ``(batch, classes)``.

    Example:
        >>> loss = SparseCategoricalCrossentropy(from_logits=True)
    """

    expects_sparse_labels = True
    logits_activation = "softmax"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        if ignore_class is not None:
            raise ConfigError(
                "SparseCategoricalCrossentropy: `ignore_class` is not supported by cnnlab yet; pass "
                f"sample_weight=0 for the samples to ignore. Received: ignore_class={ignore_class!r}"
            )
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=bool(from_logits), axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "ignore_class": None}
        if config.get("axis") == -1:
            del config["axis"]  # Keras's SparseCategoricalCrossentropy has no axis argument: keep its files loadable
        return config


class BinaryCrossentropy(_Crossentropy):
    """Cross-entropy for binary (0/1) labels, averaged over the last axis.

    Args:
        from_logits: whether ``y_pred`` are logits (else probabilities).
        label_smoothing: in [0, 1]; labels become ``y * (1 - s) + 0.5 * s``.
        axis: the axis to average over.
        reduction, name, dtype: see :class:`Loss`.

    Shape:
        y_true: ``(batch, d)`` or ``(batch,)``; y_pred: ``(batch, d)``.

    Example:
        >>> loss = BinaryCrossentropy(from_logits=True)
    """

    logits_activation = "sigmoid"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy",
                 dtype: Any = None) -> None:
        _check_smoothing(label_smoothing, type(self).__name__)
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing), axis=axis)


def _check_smoothing(value: Any, who: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{who}: `label_smoothing` must be a float in [0, 1]. Received: label_smoothing={value!r}")


# ------------------------------------------------------------------------------------------- registry

# (function, class, extra snake-case names): one row per loss, from which the lookup tables are built.
_TABLE: tuple[tuple[Callable[..., Tensor], type[Loss], tuple[str, ...]], ...] = (
    (mean_squared_error, MeanSquaredError, ("mse",)),
    (mean_absolute_error, MeanAbsoluteError, ("mae",)),
    (mean_absolute_percentage_error, MeanAbsolutePercentageError, ("mape",)),
    (mean_squared_logarithmic_error, MeanSquaredLogarithmicError, ("msle",)),
    (huber, Huber, ("huber_loss",)),
    (log_cosh, LogCosh, ()),
    (kl_divergence, KLDivergence, ("kld",)),
    (poisson, Poisson, ()),
    (cosine_similarity, CosineSimilarity, ()),
    (hinge, Hinge, ()),
    (squared_hinge, SquaredHinge, ()),
    (categorical_hinge, CategoricalHinge, ()),
    (categorical_crossentropy, CategoricalCrossentropy, ()),
    (sparse_categorical_crossentropy, SparseCategoricalCrossentropy, ()),
    (binary_crossentropy, BinaryCrossentropy, ("bce",)),
)
_CLASSES = tuple(cls for _, cls, _ in _TABLE)
_SNAKE_NAMES: dict[str, type[Loss]] = {
    name: cls for fn, cls, aliases in _TABLE for name in (fn.__name__, *aliases)}
_BY_NAME = {**_SNAKE_NAMES, **{cls.__name__.lower(): cls for cls in _CLASSES}}
_BY_FUNCTION: dict[Callable[..., Tensor], type[Loss]] = {fn: cls for fn, cls, _ in _TABLE}


def _wrap(fn: Callable[..., Tensor]) -> Loss:
    """cnnlab's own loss functions become their classes; any other function is wrapped."""
    cls = _BY_FUNCTION.get(fn)
    return cls() if cls is not None else LossFunctionWrapper(fn)


_REGISTRY = Registry(
    "loss", Loss, classes=_CLASSES, by_name=_BY_NAME, names=_SNAKE_NAMES, load_aliases=_BY_NAME, module="losses",
    wrap=_wrap, allow_none=False,
    expected="a loss must be a name such as 'sparse_categorical_crossentropy', a Loss, a config dict or a "
             "function fn(y_true, y_pred)",
)


def names() -> list[str]:
    """The built-in loss names accepted by :func:`get`, sorted."""
    return list(_REGISTRY.names)


def get(identifier: Any, where: str = "") -> Loss:
    """Return a :class:`Loss` from a name, an instance, a config dict or a function.

    Args:
        identifier: a name (``'sparse_categorical_crossentropy'``, ``'mse'``,
            ``'BinaryCrossentropy'``, ... case-insensitive), a :class:`Loss`
            (returned unchanged), a dict ``{'class_name': ..., 'config': ...}``,
            or a function ``fn(y_true, y_pred)`` returning per-sample losses
            (wrapped in :class:`LossFunctionWrapper`; cnnlab's own loss
            functions become their classes).
        where: context for error messages, e.g. ``"compile argument loss"``.

    Raises:
        UnknownNameError: an unknown name, with the closest valid one.
        ArgumentTypeError: anything else.

    Example:
        >>> get("sparse_categorical_crossentropy").expects_sparse_labels
        True
    """
    return _REGISTRY.get(identifier, where)


def serialize(loss: Loss) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` for a loss.

    Raises:
        ConfigError: a :class:`LossFunctionWrapper` around a user function,
            which cannot be saved by name.
    """
    if type(loss) is LossFunctionWrapper:
        raise ConfigError(
            f"loss {loss.name!r} wraps a user function, which cannot be saved by name. Subclass Loss and pass "
            f"the class in custom_objects when loading. Received: loss={loss!r}"
        )
    return _REGISTRY.serialize(loss)


def deserialize(config: Mapping[str, Any] | str, custom_objects: Mapping[str, Any] | None = None) -> Loss:
    """Rebuild a loss from :func:`serialize` output or a name.

    Only the built-in table and ``custom_objects`` are searched; nothing is imported by name.
    """
    if isinstance(config, str):
        return get(config)
    return _REGISTRY.deserialize(config, custom_objects)

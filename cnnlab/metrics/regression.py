"""Regression, hinge and probabilistic metrics (Keras 3 names, defaults and formulas).

Exported by :mod:`cnnlab.metrics`, so use them as ``cnnlab.metrics.RootMeanSquaredError`` or by name in
``compile(metrics=["mape", "root_mean_squared_error"])``. Each is the running (weighted) mean of a per-sample
function, as in Keras, except :class:`RootMeanSquaredError` (the square root of the mean squared error).

Example:
    >>> import torch
    >>> from cnnlab import metrics
    >>> m = metrics.RootMeanSquaredError()
    >>> m.update_state(torch.tensor([[0.0], [2.0]]), torch.tensor([[0.0], [0.0]]))
    >>> float(m.result())
    1.4142135381698608
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from cnnlab import losses as losses_mod
from cnnlab.losses import squeeze_or_expand_to_same_rank
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.metrics.metric import Mean, MeanMetricWrapper, Metric, _tensor, _wrapper

Tensor = torch.Tensor

# The per-sample functions are the losses' own (Keras exports the same functions under keras.metrics).
mean_absolute_percentage_error = losses_mod.mean_absolute_percentage_error
mean_squared_logarithmic_error = losses_mod.mean_squared_logarithmic_error
log_cosh = losses_mod.log_cosh
kl_divergence = losses_mod.kl_divergence
poisson = losses_mod.poisson
hinge = losses_mod.hinge
squared_hinge = losses_mod.squared_hinge
categorical_hinge = losses_mod.categorical_hinge


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Per-sample cosine similarity along ``axis`` (1 = same direction; the loss of that name is its negative)."""
    return -losses_mod.cosine_similarity(y_true, y_pred, axis=axis)


MeanSquaredError = _wrapper(losses_mod.mean_squared_error, "mean_squared_error", "Mean squared error.")
MeanAbsoluteError = _wrapper(losses_mod.mean_absolute_error, "mean_absolute_error", "Mean absolute error.")
MeanAbsolutePercentageError = _wrapper(mean_absolute_percentage_error, "mean_absolute_percentage_error",
                                       "Mean absolute percentage error (``mape``).")
MeanSquaredLogarithmicError = _wrapper(mean_squared_logarithmic_error, "mean_squared_logarithmic_error",
                                       "Mean squared logarithmic error (``msle``).")
LogCoshError = _wrapper(log_cosh, "logcosh", "Mean of ``log(cosh(y_pred - y_true))``.", cls_name="LogCoshError")
KLDivergence = _wrapper(kl_divergence, "kl_divergence", "Kullback-Leibler divergence of two distributions.",
                        cls_name="KLDivergence")
Poisson = _wrapper(poisson, "poisson", "Mean Poisson deviance term ``y_pred - y_true * log(y_pred)``.")
Hinge = _wrapper(hinge, "hinge", "Mean hinge loss for -1/1 (or 0/1) labels.")
SquaredHinge = _wrapper(squared_hinge, "squared_hinge", "Mean squared hinge loss for -1/1 (or 0/1) labels.")
CategoricalHinge = _wrapper(categorical_hinge, "categorical_hinge", "Mean categorical hinge loss for one-hot labels.")


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions along ``axis``.

    Args:
        name, dtype: see :class:`cnnlab.metrics.Metric`.
        axis: the axis along which the vectors lie.

    Example:
        >>> m = CosineSimilarity(axis=-1)
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """Square root of the (weighted) mean of squared errors over all samples seen.

    Example:
        >>> m = RootMeanSquaredError()
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred).float()
        y_true, y_pred = squeeze_or_expand_to_same_rank(_tensor(y_true, y_pred, y_pred.dtype), y_pred)
        super().update_state((y_pred - y_true).square(), sample_weight=sample_weight)

    def result(self) -> Tensor:
        return super().result().sqrt()


_R2_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination ``1 - SS_res / SS_tot`` per output, optionally averaged.

    Args:
        class_aggregation: None (one score per output), ``"uniform_average"``
            (their mean) or ``"variance_weighted_average"`` (mean weighted by
            each output's variance).
        num_regressors: > 0 gives the adjusted R², ``1 - (1 - R²)(n - 1) / (n - p - 1)``
            with ``n`` the number of values seen; it falls back to R² (with a
            warning) when ``p >= n - 1``.
        name, dtype: see :class:`cnnlab.metrics.Metric`.

    Shape:
        y_true, y_pred: ``(batch, outputs)``; sample_weight: ``(batch,)`` or ``(batch, 1)``.

    Example:
        >>> m = R2Score()
        >>> m.update_state(torch.tensor([[1.0], [4.0], [3.0]]), torch.tensor([[2.0], [4.0], [4.0]]))
        >>> round(float(m.result()), 4)
        0.5714
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _R2_AGGREGATIONS:
            raise ConfigError(
                "R2Score: `class_aggregation` must be None, 'uniform_average' or 'variance_weighted_average'. "
                f"Received: class_aggregation={class_aggregation!r}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or num_regressors < 0:
            raise ConfigError(
                f"R2Score: `num_regressors` must be an int >= 0. Received: num_regressors={num_regressors!r}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable(name="num_samples")
        self._built = False

    def _build(self, y_true: Tensor, y_pred: Tensor) -> None:
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise ShapeError(
                f"R2Score '{self.name}' expects 2D inputs (batch_size, outputs); reshape 1D targets with "
                f"y.reshape(-1, 1). Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
            )
        outputs = y_pred.shape[-1]
        self.squared_sum = self.add_variable(shape=(outputs,), name="squared_sum")
        self.sum = self.add_variable(shape=(outputs,), name="sum")
        self.total_mse = self.add_variable(shape=(outputs,), name="residual")
        self.count = self.add_variable(shape=(outputs,), name="count")
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred).detach().float()
        y_true = _tensor(y_true, y_pred, torch.float32)
        self._follow(y_pred)
        if not self._built:
            self._build(y_true, y_pred)
        weight = torch.ones(()) if sample_weight is None else _tensor(sample_weight, y_pred, torch.float32)
        if weight.dim() == 1:
            weight = weight.unsqueeze(1)
        weight = weight.to(y_pred.device).broadcast_to(y_true.shape)
        weighted_true = y_true * weight
        self.sum.add_(weighted_true.sum(dim=0))
        self.squared_sum.add_((y_true * weighted_true).sum(dim=0))
        self.total_mse.add_(((y_true - y_pred).square() * weight).sum(dim=0))
        self.count.add_(weight.sum(dim=0))
        self.num_samples.add_(y_true.numel())

    def result(self) -> Tensor:
        if not self._built:
            return torch.zeros(())
        total = self.squared_sum - self.sum * (self.sum / self.count)
        raw = 1 - self.total_mse / total
        raw = torch.where(raw.isinf(), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n, p = float(self.num_samples), float(self.num_regressors)  # a host read, as Keras's Python comparison
            if p >= n - 1:
                warnings.warn(f"R2Score: num_regressors={self.num_regressors} >= number of values - 1 ({n - 1:g}); "
                              "returning the plain R2 score.", stacklevel=2)
            else:
                score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}

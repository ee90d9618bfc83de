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

from collections.abc import Mapping
from typing import Any

from cnnlab._registry import Registry
from cnnlab.errors import ConfigError
from cnnlab.metrics.accuracy import (
    Accuracy,
    AutoAccuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    _accuracy_by_loss,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    resolve_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from cnnlab.metrics.confusion import (
    AUC,
    DEFAULT_THRESHOLD,
    NEG_INF,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from cnnlab.metrics.fscore import F1Score, FBetaScore
from cnnlab.metrics.metric import Mean, MeanMetricWrapper, Metric
from cnnlab.metrics.probabilistic import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
from cnnlab.metrics.regression import (
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
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

# ------------------------------------------------------------------------------------------ registry
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

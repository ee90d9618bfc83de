"""Cross-entropy metrics: the running mean of a cross-entropy loss, with the loss's ``from_logits``.

Example:
    >>> import torch
    >>> m = SparseCategoricalCrossentropy(from_logits=True)
    >>> m.update_state(torch.tensor([0]), torch.tensor([[0.0, 0.0]]))
    >>> round(float(m.result()), 4)
    0.6931
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cnnlab import losses as losses_mod
from cnnlab.metrics.metric import MeanMetricWrapper, _snake

Tensor = torch.Tensor


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

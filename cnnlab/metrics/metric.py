"""The base of every metric: :class:`Metric`, the :class:`Mean` reducer and :class:`MeanMetricWrapper`.

A metric keeps its state in tensors on the device of the data it sees and
updates them without reading anything back to the host; ``result()`` returns
a 0-d tensor, and only ``float(metric.result())`` waits for the device.

Example:
    >>> import torch
    >>> m = Mean()
    >>> m.update_state(torch.tensor([1.0, 3.0]))
    >>> float(m.result())
    2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from cnnlab import initializers as initializers_mod
from cnnlab.errors import ConfigError
from cnnlab.losses import squeeze_or_expand_to_same_rank
from cnnlab.variables import StateTensor, to_torch_dtype

Tensor = torch.Tensor
# Classes made by _wrapper are named after the public package, where each of them is exported.
_PUBLIC_MODULE = __name__.rpartition(".")[0]


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


def _wrapper(fn: Callable[..., Tensor], default_name: str, doc: str,
             cls_name: str | None = None) -> type[MeanMetricWrapper]:
    """A MeanMetricWrapper subclass around ``fn`` with Keras's name and constructor.

    The class is named after ``default_name`` in CamelCase unless ``cls_name`` is given.
    """

    def __init__(self, name: str = default_name, dtype: Any = None) -> None:
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype)

    cls_name = cls_name or "".join(part.capitalize() for part in default_name.split("_"))
    return type(cls_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc, "__module__": _PUBLIC_MODULE})

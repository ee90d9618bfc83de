"""Weight regularizers with Keras 3 names, defaults and formulas.

A regularizer maps a weight tensor to a scalar penalty that is added to the
loss: ``L1``: ``l1 * sum(|w|)``; ``L2``: ``l2 * sum(w**2)`` (no factor 1/2,
as in Keras); ``L1L2``: both.

Example:
    >>> import torch
    >>> from cnnlab import regularizers
    >>> round(float(regularizers.L2(0.01)(torch.ones(2, 3))), 6)
    0.06
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from cnnlab._registry import ConfigObject, Registry
from cnnlab.errors import ArgumentTypeError, ConfigError

Tensor = torch.Tensor


def _penalty(value: Any, arg: str, who: str) -> float:
    """Keras's check: a finite number >= 0 (None means 0)."""
    if value is None:
        return 0.0
    if isinstance(value, Tensor) and value.numel() == 1:
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{who}: `{arg}` must be a non-negative float. Received: {arg}={value!r}")
    if math.isinf(value) or math.isnan(value) or value < 0:
        raise ConfigError(f"{who}: `{arg}` must be a finite, non-negative float. Received: {arg}={value!r}")
    return float(value)


class Regularizer(ConfigObject):
    """Base class of regularizers: ``__call__(w)`` returns a 0-d penalty tensor.

    Subclass it and override ``__call__`` and ``get_config``.

    Example:
        >>> class L4(Regularizer):
        ...     def __init__(self, l4=0.01):
        ...         self.l4 = l4
        ...     def __call__(self, x):
        ...         return self.l4 * x.pow(4).sum()
        ...     def get_config(self):
        ...         return {"l4": self.l4}
    """

    def __call__(self, x: Tensor) -> Tensor:
        return x.new_zeros(())

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-serialisable."""
        raise NotImplementedError(f"regularizer {type(self).__name__} must implement get_config() to be saved.")


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``.

    Args:
        l1: L1 factor, >= 0. Defaults to 0.0.
        l2: L2 factor, >= 0. Defaults to 0.0.

    Example:
        >>> reg = L1L2(l1=1e-5, l2=1e-4)
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _penalty(l1, "l1", "L1L2")
        self.l2 = _penalty(l2, "l2", "L1L2")

    def __call__(self, x: Tensor) -> Tensor:
        penalty = x.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * x.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * x.square().sum()
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``.

    Args:
        l1: factor, >= 0. Defaults to 0.01.

    Example:
        >>> reg = L1(0.001)
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _penalty(0.01 if l1 is None else l1, "l1", "L1")

    def __call__(self, x: Tensor) -> Tensor:
        return self.l1 * x.abs().sum()

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)`` (Keras has no factor 1/2).

    Args:
        l2: factor, >= 0. Defaults to 0.01.

    Example:
        >>> reg = L2(0.0005)
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _penalty(0.01 if l2 is None else l2, "l2", "L2")

    def __call__(self, x: Tensor) -> Tensor:
        return self.l2 * x.square().sum()

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """An :class:`L1L2` regularizer; this shortcut defaults both factors to 0.01, as Keras's ``l1_l2``."""
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2

_REGISTRY = Registry(
    "regularizer", Regularizer, classes=(L1, L2, L1L2), by_name={"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": L1L2},
    names=("l1", "l2", "l1_l2"), load_aliases={"l1": L1, "l2": L2, "l1_l2": L1L2}, module="regularizers",
    wrap=lambda fn: fn,
    expected="a regularizer must be a name such as 'l2', a Regularizer, a config dict or a callable",
)


def names() -> list[str]:
    """The built-in regularizer names accepted by :func:`get`, sorted."""
    return list(_REGISTRY.names)


def get(identifier: Any, where: str = "") -> Regularizer | Callable[[Tensor], Tensor] | None:
    """Return a regularizer from a name, an instance, a config dict or a callable.

    Args:
        identifier: ``'l1'``, ``'l2'``, ``'l1_l2'`` (Keras defaults), a
            :class:`Regularizer`, a dict ``{'class_name': ..., 'config': ...}``,
            a callable ``f(weights) -> scalar``, or None (returned as None).
        where: context for error messages, e.g. ``"Dense 'dense' argument kernel_regularizer"``.

    Example:
        >>> get("l2")
        L2(l2=0.01)
    """
    return _REGISTRY.get(identifier, where)


def serialize(regularizer: Regularizer) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` for a regularizer.

    Raises:
        ConfigError: a plain function, which cannot be saved by name.
    """
    if not isinstance(regularizer, Regularizer):
        raise ConfigError(
            f"regularizer {regularizer!r} is a plain function, so it cannot be saved by name. Subclass "
            "cnnlab.regularizers.Regularizer (with get_config) and pass it in custom_objects when loading. "
            f"Received: regularizer={regularizer!r}"
        )
    return _REGISTRY.serialize(regularizer)


def deserialize(config: Mapping[str, Any] | str, custom_objects: Mapping[str, Any] | None = None) -> Regularizer:
    """Rebuild a regularizer from :func:`serialize` output or a name.

    Only the built-in table and ``custom_objects`` are searched; nothing is imported by name.
    """
    if isinstance(config, str):
        return get(config)
    return _REGISTRY.deserialize(config, custom_objects)

"""Weight constraints with Keras 3 names, defaults and formulas.

A constraint maps a weight tensor to its projection, applied after each
optimizer step. Norms are taken over ``axis`` in Keras's weight layout: for a
Dense kernel ``(in, out)`` use ``axis=0`` (each unit's incoming weights); for a
Conv2D kernel ``(kh, kw, in, out)`` use ``axis=[0, 1, 2]`` (each filter).

Example:
    >>> import torch
    >>> from cnnlab import constraints
    >>> w = constraints.MaxNorm(2.0)(torch.full((4, 1), 3.0))
    >>> round(float(w.norm()), 4)
    2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from cnnlab._registry import ConfigObject, Registry
from cnnlab.errors import ArgumentTypeError, ConfigError

Tensor = torch.Tensor

# Keras backend fuzz factor added to norms before dividing (keras/src/backend/config.py, epsilon()).
KERAS_EPSILON = 1e-7

Axis = int | Sequence[int]


def _check_axis(axis: Any, who: str) -> int | list[int]:
    if isinstance(axis, bool):
        raise ArgumentTypeError(f"{who}: `axis` must be an int or a list of ints. Received: axis={axis!r}")
    if isinstance(axis, int):
        return axis
    if isinstance(axis, (list, tuple)) and axis and all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return list(axis)
    raise ArgumentTypeError(f"{who}: `axis` must be an int or a list of ints. Received: axis={axis!r}")


def _norms(w: Tensor, axis: int | list[int]) -> Tensor:
    return w.square().sum(dim=axis, keepdim=True).sqrt()


class Constraint(ConfigObject):
    """Base class of weight constraints: ``__call__(w)`` returns the projected weights.

    Example:
        >>> class NonNegMax(Constraint):
        ...     def __call__(self, w):
        ...         return w.clamp(0.0, 1.0)
    """

    def __call__(self, w: Tensor) -> Tensor:
        return w

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-serialisable."""
        return {}


class MaxNorm(Constraint):
    """Rescale so the norm over ``axis`` is at most ``max_value``: ``w * clip(n, 0, max) / (eps + n)``.

    Args:
        max_value: the largest norm allowed. Defaults to 2.
        axis: the axis (or axes) the norm is taken over. Defaults to 0.

    Example:
        >>> c = MaxNorm(3, axis=[0, 1, 2])  # per filter of a Conv2D kernel
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0) -> None:
        if isinstance(max_value, bool) or not isinstance(max_value, (int, float)) or max_value < 0:
            raise ConfigError(f"MaxNorm: `max_value` must be a number >= 0. Received: max_value={max_value!r}")
        self.max_value = max_value
        self.axis = _check_axis(axis, "MaxNorm")

    def __call__(self, w: Tensor) -> Tensor:
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (KERAS_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative weights to zero. Example: ``Dense(8, kernel_constraint=NonNeg())``."""

    def __call__(self, w: Tensor) -> Tensor:
        return w.clamp(min=0)


class UnitNorm(Constraint):
    """Rescale to unit norm over ``axis``: ``w / (eps + n)``.

    Args:
        axis: the axis (or axes) the norm is taken over. Defaults to 0.

    Example:
        >>> c = UnitNorm(axis=0)
    """

    def __init__(self, axis: Axis = 0) -> None:
        self.axis = _check_axis(axis, "UnitNorm")

    def __call__(self, w: Tensor) -> Tensor:
        return w / (KERAS_EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move the norm over ``axis`` towards ``[min_value, max_value]``.

    The target norm is ``rate * clip(n, min_value, max_value) + (1 - rate) * n``
    and the weights become ``w * target / (eps + n)``.

    Args:
        min_value: the smallest norm. Defaults to 0.0.
        max_value: the largest norm. Defaults to 1.0.
        rate: 1.0 enforces the bounds at once; smaller values move towards them. Defaults to 1.0.
        axis: the axis (or axes) the norm is taken over. Defaults to 0.

    Example:
        >>> c = MinMaxNorm(0.5, 1.0, rate=0.5)
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Axis = 0) -> None:
        for arg, value in (("min_value", min_value), ("max_value", max_value), ("rate", rate)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ArgumentTypeError(f"MinMaxNorm: `{arg}` must be a number. Received: {arg}={value!r}")
        if min_value > max_value:
            raise ConfigError(
                f"MinMaxNorm: `min_value` must not exceed `max_value`. Received: min_value={min_value}, "
                f"max_value={max_value}"
            )
        self.min_value, self.max_value, self.rate = min_value, max_value, rate
        self.axis = _check_axis(axis, "MinMaxNorm")

    def __call__(self, w: Tensor) -> Tensor:
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (KERAS_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_CLASSES = (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
_BY_NAME: dict[str, type[Constraint]] = {
    "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
    **{cls.__name__.lower(): cls for cls in _CLASSES},
}
_REGISTRY = Registry(
    "constraint", Constraint, classes=(*_CLASSES, Constraint), by_name=_BY_NAME,
    names=[n for n in _BY_NAME if "_" in n], load_aliases=_BY_NAME, module="constraints", wrap=lambda fn: fn,
    expected="a constraint must be a name such as 'max_norm', a Constraint, a config dict or a callable",
)


def names() -> list[str]:
    """The built-in constraint names accepted by :func:`get`, sorted."""
    return list(_REGISTRY.names)


def get(identifier: Any, where: str = "") -> Constraint | Callable[[Tensor], Tensor] | None:
    """Return a constraint from a name, an instance, a config dict or a callable.

    Args:
        identifier: ``'max_norm'``, ``'non_neg'``, ``'unit_norm'``,
            ``'min_max_norm'`` (or the class names, case-insensitive), a
            :class:`Constraint`, a dict ``{'class_name': ..., 'config': ...}``,
            a callable ``f(w) -> w``, or None (returned as None).
        where: context for error messages, e.g. ``"Dense 'dense' argument kernel_constraint"``.

    Example:
        >>> get("non_neg")
        NonNeg()
    """
    return _REGISTRY.get(identifier, where)


def serialize(constraint: Constraint) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` for a constraint.

    Raises:
        ConfigError: a plain function, which cannot be saved by name.
    """
    if not isinstance(constraint, Constraint):
        raise ConfigError(
            f"constraint {constraint!r} is a plain function, so it cannot be saved by name. Subclass "
            "cnnlab.constraints.Constraint and pass it in custom_objects when loading. "
            f"Received: constraint={constraint!r}"
        )
    return _REGISTRY.serialize(constraint)


def deserialize(config: Mapping[str, Any] | str, custom_objects: Mapping[str, Any] | None = None) -> Constraint:
    """Rebuild a constraint from :func:`serialize` output or a name.

    Only the built-in table and ``custom_objects`` are searched; nothing is imported by name.
    """
    if isinstance(config, str):
        return get(config)
    return _REGISTRY.deserialize(config, custom_objects)

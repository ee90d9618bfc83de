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

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, unknown_name

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


class Regularizer:
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

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Regularizer:
        """Rebuild a regularizer from :meth:`get_config` output."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


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

_CLASSES: dict[str, type[Regularizer]] = {cls.__name__: cls for cls in (L1, L2, L1L2)}
_BY_NAME: dict[str, Callable[..., Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": L1L2}


def names() -> list[str]:
    """The built-in regularizer names accepted by :func:`get`, sorted."""
    return sorted(set(_BY_NAME) - {"l1l2"})


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
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier.strip().lower()) or _CLASSES.get(identifier.strip())
        if factory is None:
            raise unknown_name("regularizer", identifier, names(), where)
        return factory()
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier):
        return identifier
    prefix = f"{where}: " if where else ""
    raise ArgumentTypeError(
        f"{prefix}a regularizer must be a name such as 'l2', a Regularizer, a config dict or a callable; "
        f"got {type(identifier).__name__}. Received: regularizer={identifier!r}"
    )


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
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config: Mapping[str, Any] | str, custom_objects: Mapping[str, Any] | None = None) -> Regularizer:
    """Rebuild a regularizer from :func:`serialize` output or a name.

    Only the built-in table and ``custom_objects`` are searched; nothing is imported by name.
    """
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ConfigError(
            f"a saved regularizer must be a dict with 'class_name' and 'config'. Received: regularizer={config!r}"
        )
    name = str(config["class_name"])
    table = {**_CLASSES, **dict(custom_objects or {})}
    cls = table.get(name) or {"l1": L1, "l2": L2, "l1_l2": L1L2}.get(name.lower())
    if cls is None:
        raise unknown_name("regularizer", name, list(table), "regularizers.deserialize")
    kwargs = dict(config.get("config") or {})
    try:
        return cls.from_config(kwargs)
    except TypeError as err:
        raise ConfigError(
            f"regularizer {name!r} does not accept these arguments: {err}. Received: config={kwargs!r}"
        ) from err

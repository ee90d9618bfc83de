"""Look optimizers up by name, instance or config, and (de)serialise them.

Only the built-in table (and classes a caller passes in ``custom_objects``)
is searched: loading a config never imports a module or runs code named in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnlab._registry import Registry
from cnnlab.optimizers.algorithms import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop
from cnnlab.optimizers.optimizer import Optimizer

_CLASSES = (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW, Nadam)
_BY_NAME: dict[str, type[Optimizer]] = {cls.__name__.lower(): cls for cls in _CLASSES}
_REGISTRY = Registry(
    "optimizer", Optimizer, classes=_CLASSES, module="optimizers", by_name=_BY_NAME, names=_BY_NAME,
    load_aliases=_BY_NAME, allow_none=False,
    expected="an optimizer must be a name such as 'adam', an Optimizer instance or a config dict",
)


def register_wrapper(cls: type[Optimizer]) -> type[Optimizer]:
    """List an optimizer class that loads from configs but has no name to build it from (it wraps another one,
    as ``LossScaleOptimizer`` does); its module registers it, since it deserialises its inner optimizer here."""
    _REGISTRY.classes[cls.__name__] = cls
    return cls


def names() -> list[str]:
    """The built-in optimizer names, lower case and sorted."""
    return list(_REGISTRY.names)


def get(identifier: Any, where: str = "") -> Optimizer:
    """Return an optimizer from a name, an instance, a class or a config dict.

    Args:
        identifier: ``'adam'``, ``'SGD'``, ... (case-insensitive; built with
            Keras defaults), an :class:`Optimizer` (returned unchanged), an
            Optimizer subclass (built with its defaults) or a dict
            ``{'class_name': ..., 'config': {...}}``.
        where: context for error messages, e.g. ``"compile argument optimizer"``.

    Raises:
        UnknownNameError: an unknown name, with the closest valid one.
        ArgumentTypeError: anything else.

    Example:
        >>> get("adam").learning_rate
        0.001
    """
    return _REGISTRY.get(identifier, where)


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` (Keras layout) for an optimizer."""
    return _REGISTRY.serialize(optimizer)


def deserialize(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Optimizer:
    """Rebuild an optimizer (without state) from :func:`serialize` output.

    Keras's extra keys (``module``, ``registered_name``) are ignored; a
    Keras config with EMA or gradient accumulation turned on is refused with
    a clear error.
    """
    return _REGISTRY.deserialize(config, custom_objects, {"custom_objects": custom_objects})

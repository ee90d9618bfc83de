"""Look optimizers up by name, instance or config, and (de)serialise them.

Only the built-in table (and classes a caller passes in ``custom_objects``)
is searched: loading a config never imports a module or runs code named in it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from cnnlab.errors import ArgumentTypeError, ConfigError, unknown_name
from cnnlab.optimizers.algorithms import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop
from cnnlab.optimizers.optimizer import Optimizer

_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW, Nadam)
}


def names() -> list[str]:
    """The built-in optimizer names, lower case and sorted."""
    return sorted(_CLASSES)


def _lookup(name: str, custom_objects: Mapping[str, Any] | None, where: str) -> type[Optimizer]:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    cls = _CLASSES.get(name.strip().lower())
    if cls is None:
        raise unknown_name("optimizer", name, names() + list(custom_objects or ()), where)
    return cls


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
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier, None, where)()
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        return identifier()
    prefix = f"{where}: " if where else ""
    raise ArgumentTypeError(
        f"{prefix}an optimizer must be a name such as 'adam', an Optimizer instance or a config dict; "
        f"got {type(identifier).__name__}. Received: optimizer={identifier!r}"
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` (Keras layout) for an optimizer."""
    if not isinstance(optimizer, Optimizer):
        raise ArgumentTypeError(
            f"serialize expects an Optimizer; got {type(optimizer).__name__}. Received: optimizer={optimizer!r}"
        )
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Optimizer:
    """Rebuild an optimizer (without state) from :func:`serialize` output.

    Keras's extra keys (``module``, ``registered_name``) are ignored; a
    Keras config with EMA or gradient accumulation turned on is refused with
    a clear error.
    """
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ConfigError(
            f"a saved optimizer must be a dict with 'class_name' and 'config'. Received: optimizer={config!r}"
        )
    cls = _lookup(str(config["class_name"]), custom_objects, "optimizers.deserialize")
    kwargs = dict(config.get("config") or {})
    try:
        return cls.from_config(kwargs, custom_objects=custom_objects)
    except TypeError as err:
        raise ConfigError(
            f"optimizer {config['class_name']!r} does not accept these arguments: {err}. Received: config={kwargs!r}"
        ) from err

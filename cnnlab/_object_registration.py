"""The table of user-registered classes and functions, and ``custom_object_scope``.

The low layer of :mod:`cnnlab.saving` (Keras: ``saving/object_registration.py``): registries, layers, models
and file readers look names up here, so it imports nothing of cnnlab but its errors. The lookup order is
Keras's: the ``custom_objects`` given to the call, then the innermost :func:`custom_object_scope`, then the
registered table. Nothing named in a file is ever imported: only objects the user's code registered or
passed can be found.

Example:
    >>> @register_keras_serializable(package="my_package")
    ... def scaled_relu(x):
    ...     return 2 * x.clamp(min=0)
    >>> get_registered_name(scaled_relu)
    'my_package>scaled_relu'
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping
from typing import Any

from cnnlab.errors import ArgumentTypeError, ConfigError

# "package>name" -> object; get_custom_objects() hands out this very dict, as Keras does.
_REGISTERED: dict[str, Any] = {}
# object -> "package>name", for serialising it.
_NAMES: dict[Any, str] = {}
_SCOPES = threading.local()


# ------------------------------------------------------------------ registration
def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator: register a class or function so that configs and model files find it by name.

    Args:
        package: the prefix of the registered name (``"package>name"``).
        name: the name under the package (default: the class or function name).

    Returns:
        The decorator; it returns the object unchanged.

    Example:
        >>> @register_keras_serializable(package="my_package", name="custom_fn")
        ... def custom_fn(x):
        ...     return x ** 2
    """
    if not isinstance(package, str) or ">" in package:
        raise ConfigError(f"register_keras_serializable: package must be a string without '>'. "
                          f"Received: package={package!r}")

    def decorator(obj):
        own_name = name if name is not None else getattr(obj, "__name__", None)
        if not isinstance(own_name, str) or not own_name:
            raise ConfigError(f"register_keras_serializable: {obj!r} has no __name__; pass name='...'. "
                              f"Received: name={name!r}")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ConfigError(f"register_keras_serializable: class {obj.__name__} has no get_config(), so it "
                              "cannot be saved. Define get_config() returning its constructor arguments. "
                              f"Received: {obj.__name__}")
        key = f"{package}>{own_name}"
        _REGISTERED[key] = obj
        _NAMES[obj] = key
        return obj

    return decorator


def get_custom_objects() -> dict[str, Any]:
    """The table of registered objects (``"package>name"`` -> object); changing it changes the registry."""
    return _REGISTERED


def get_registered_name(obj) -> str:
    """``"package>name"`` for a registered object, else its own ``__name__``."""
    return _NAMES.get(obj) or getattr(obj, "__name__", type(obj).__name__)


def registered_name_or_none(obj) -> str | None:
    """``"package>name"`` when ``obj`` was registered with :func:`register_keras_serializable`, else None."""
    return _NAMES.get(obj)


def get_registered_object(name: str, custom_objects: Mapping[str, Any] | None = None, module_objects=None):
    """The object known as ``name`` to the active scopes, the registry or ``custom_objects``, else None."""
    for table in (*reversed(_active_scopes()), _REGISTERED, custom_objects or {}, module_objects or {}):
        if name in table:
            return table[name]
    return None


def find_object(class_name: str, registered_name: str | None = None,
                custom_objects: Mapping[str, Any] | None = None):
    """What cnnlab's loaders use: the user's ``custom_objects``, then the scopes, then the registry.

    ``registered_name`` (``"package>name"``, written by Keras and cnnlab) is tried before the bare class
    name; a bare name also matches a registered object with that name under any package, for files that
    carry only ``class_name``. Returns None when nothing matches.
    """
    names = [n for n in (registered_name, class_name) if isinstance(n, str)]
    for table in (custom_objects or {}, *reversed(_active_scopes()), _REGISTERED):
        for key in names:
            if key in table:
                return table[key]
    for key, obj in _REGISTERED.items():
        if key.split(">", 1)[-1] == class_name or getattr(obj, "__name__", None) == class_name:
            return obj
    return None


def custom_objects_for_loading(custom_objects: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One table for a load: ``custom_objects`` first, then scopes, then registered objects under both their
    ``"package>name"`` and their bare name (so configs that carry only ``class_name`` find them)."""
    table: dict[str, Any] = {}
    for key, obj in _REGISTERED.items():
        table.setdefault(key.split(">", 1)[-1], obj)
        table.setdefault(getattr(obj, "__name__", key), obj)
        table[key] = obj
    for scope in _active_scopes():
        table.update(scope)
    table.update(custom_objects or {})
    return table


# ------------------------------------------------------------------ scopes
def _active_scopes() -> list[dict[str, Any]]:
    if not hasattr(_SCOPES, "stack"):
        _SCOPES.stack = []
    return _SCOPES.stack


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}):``: objects found by name inside the block.

    Args:
        custom_objects: dicts (or objects with ``__name__``) of names to classes or functions.
    """

    def __init__(self, custom_objects: Mapping[str, Any] | None = None, *more: Mapping[str, Any]):
        table: dict[str, Any] = {}
        for item in (custom_objects, *more):
            if item is None:
                continue
            if not isinstance(item, Mapping):
                raise ArgumentTypeError("custom_object_scope takes a dict of names to classes or functions, e.g. "
                                        f"{{'MyLayer': MyLayer}}. Received: {type(item).__name__} {item!r:.80}")
            table.update(item)
        self.custom_objects = table

    def __enter__(self):
        _active_scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        _active_scopes().pop()


custom_object_scope = CustomObjectScope

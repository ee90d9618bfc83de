"""``keras.saving``: register your own classes and functions, serialise objects, save and load models.

Registered objects are found by name when a model file, a config or ``deserialize_keras_object`` names
them, with no ``custom_objects`` to pass. The lookup order is Keras's: the ``custom_objects`` given to the
call, then the innermost :func:`custom_object_scope`, then the registered table. Nothing named in a file is
ever imported: only objects your code registered or passed can be found.

Example:
    >>> @register_keras_serializable(package="MyLayers")
    ... class Scale(cnnlab.layers.Layer):
    ...     def __init__(self, factor, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.factor = factor
    ...     def call(self, x):
    ...         return x * self.factor
    ...     def get_config(self):
    ...         return {**super().get_config(), "factor": self.factor}
    >>> get_registered_name(Scale)
    'MyLayers>Scale'
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


# ------------------------------------------------------------------ serialisation
def _kind_module(obj) -> tuple[str, Any] | None:
    """``(keras module name, cnnlab module)`` for an object of one of the serialisable kinds."""
    from cnnlab import constraints, initializers, losses, metrics, optimizers, regularizers
    from cnnlab.layers.base import Layer

    kinds = (("layers", Layer, None), ("initializers", initializers.Initializer, initializers),
             ("regularizers", regularizers.Regularizer, regularizers),
             ("constraints", constraints.Constraint, constraints), ("losses", losses.Loss, losses),
             ("metrics", metrics.Metric, metrics), ("optimizers", optimizers.Optimizer, optimizers))
    for name, base, module in kinds:
        if isinstance(obj, base):
            return name, module
    return None


def serialize_keras_object(obj) -> Any:
    """Keras 3's ``{"module", "class_name", "config", "registered_name"}`` dict for an object.

    Layers (with nested layers, initializers, regularizers ... inside their config), initializers,
    regularizers, constraints, losses, metrics and optimizers become that dict; functions (activations,
    registered functions) ``{"module", "class_name": "function", "config": name, "registered_name"}``;
    plain values, lists and dicts are returned with their contents serialised.

    Example:
        >>> serialize_keras_object(cnnlab.regularizers.L1(0.005))["config"]
        {'l1': 0.005}
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return _function_entry(obj)
    kind = _kind_module(obj)
    if kind is None and not hasattr(obj, "get_config"):
        raise ArgumentTypeError(f"serialize_keras_object: cannot serialise a {type(obj).__name__}; it has no "
                                f"get_config(). Received: {obj!r:.80}")
    from cnnlab.io.registry import user_class

    cls = user_class(obj)
    builtin = cls.__module__.split(".")[0] == "cnnlab" and cls not in _NAMES
    config = obj.get_config()
    if isinstance(config, Mapping):
        config = serialize_config_values(config)
    module = cls.__module__
    if builtin and kind:
        module = "keras" if cls.__name__ in ("Sequential", "Functional") else f"keras.{kind[0]}"
    return {"module": module, "class_name": cls.__name__, "config": config,
            "registered_name": None if builtin else get_registered_name(cls)}


def serialize_config_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """A ``get_config()`` dict with the objects in it (layers, regularizers, registered functions, ...) turned into
    their serialised dicts, as Keras stores nested objects; other values are left as they are."""
    return {key: _serialize_value(value) for key, value in config.items()}


def _serialize_value(value):
    if isinstance(value, (list, tuple)):
        return [_serialize_value(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _serialize_value(v) for k, v in value.items()}
    if hasattr(value, "get_config") and not inspect.isclass(value) or inspect.isfunction(value):
        return serialize_keras_object(value)
    return value


def _function_entry(fn) -> dict[str, Any]:
    from cnnlab import activations

    name = fn.__name__
    if fn not in _NAMES:
        try:
            return {"module": "keras.activations", "class_name": "function", "config": activations.serialize(fn),
                    "registered_name": None}
        except ConfigError:
            pass
    return {"module": fn.__module__, "class_name": "function", "config": _NAMES.get(fn, name),
            "registered_name": get_registered_name(fn)}


def deserialize_keras_object(config, custom_objects: Mapping[str, Any] | None = None, **kwargs):
    """Rebuild an object from :func:`serialize_keras_object` output (or a plain name).

    Classes are taken from ``custom_objects``, the active scopes, the registry and cnnlab's own tables,
    never imported from the ``module`` the dict names.
    """
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(v, custom_objects) for v in config]
    if isinstance(config, str):
        found = find_object(config, config, custom_objects)
        if found is not None:
            return found
        from cnnlab import activations

        return activations.deserialize(config, custom_objects)
    if not isinstance(config, Mapping) and hasattr(config, "get_config"):
        return config  # already an object (a get_config() that returned a layer rather than its dict)
    if not isinstance(config, Mapping) or "class_name" not in config:
        if isinstance(config, Mapping):
            return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
        raise ArgumentTypeError(f"deserialize_keras_object takes a dict from serialize_keras_object. "
                                f"Received: {type(config).__name__} {config!r:.80}")
    class_name, registered = config["class_name"], config.get("registered_name")
    if class_name == "function":
        name = config.get("config")
        found = find_object(str(name), registered, custom_objects)
        if found is not None:
            return found
        from cnnlab import activations

        return activations.deserialize(str(name), custom_objects)
    found = find_object(class_name, registered, custom_objects)
    if found is None:
        found = _builtin_class(class_name, config.get("module"))
    if found is None:
        from cnnlab.errors import did_you_mean

        raise ConfigError(f"deserialize_keras_object: unknown class {class_name!r}. If it is your own class, "
                          "register it with @keras.saving.register_keras_serializable() or pass it in "
                          f"custom_objects.{did_you_mean(class_name, list(_REGISTERED))} "
                          f"Received: class_name={class_name!r}")
    if not inspect.isclass(found):
        return found
    inner = dict(config.get("config") or {})
    with CustomObjectScope(dict(custom_objects or {})):
        from_config = getattr(found, "from_config", None)
        if from_config is None:
            return found(**inner)
        if "custom_objects" in inspect.signature(from_config).parameters:
            return from_config(inner, custom_objects=custom_objects)
        return from_config(inner)


def _builtin_class(class_name: str, module: str | None):
    """A class of cnnlab's own tables by its name; ``module`` (Keras's) only picks the table."""
    from cnnlab import constraints, initializers, losses, metrics, regularizers
    from cnnlab.io.registry import _builtin_classes
    from cnnlab.optimizers import registry as optimizers

    tables = {"initializers": initializers, "regularizers": regularizers, "constraints": constraints,
              "losses": losses, "metrics": metrics, "optimizers": optimizers}
    wanted = next((m for key, m in tables.items() if module and key in module), None)
    for mod in ([wanted] if wanted else []) + list(tables.values()):
        registry = getattr(mod, "_REGISTRY", None)
        classes = getattr(registry, "classes", None)
        if isinstance(classes, dict) and class_name in classes:
            return classes[class_name]
    return _builtin_classes().get(class_name)


def serialize_layer(layer) -> dict[str, Any]:
    """``keras.layers.serialize``: :func:`serialize_keras_object` for a layer."""
    return serialize_keras_object(layer)


def deserialize_layer(config, custom_objects: Mapping[str, Any] | None = None):
    """``keras.layers.deserialize``: rebuild a layer from :func:`serialize_layer` output."""
    return deserialize_keras_object(config, custom_objects)


# ------------------------------------------------------------------ models
def save_model(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """Save a model (``.keras``, ``.h5`` or ``.cnnlab``, by extension): ``model.save(filepath)``."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def load_model(filepath, custom_objects: Mapping[str, Any] | None = None, compile: bool = True, safe_mode: bool = True):
    """Load a model saved by :func:`save_model` (or by Keras); ``safe_mode`` is accepted: loading is always safe."""
    from cnnlab.io.native import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile)


__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
    "get_registered_name", "get_registered_object", "load_model", "register_keras_serializable", "save_model",
    "serialize_keras_object",
]

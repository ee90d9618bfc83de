"""Keras 3's object dicts (``{"module", "class_name", "config", "registered_name"}``) to and from objects.

The serialisation core of :mod:`cnnlab.saving` (Keras: ``saving/serialization_lib.py``). Layers, models and
``keras.layers.serialize`` use it, so it must not reach the file readers of :mod:`cnnlab.io`: saving and
loading model files stay in :mod:`cnnlab.saving`. Classes are found in the user's ``custom_objects``, the
active scopes, the registry and cnnlab's own tables, never imported from the ``module`` a dict names.

Example:
    >>> serialize_keras_object(cnnlab.regularizers.L1(0.005))["config"]
    {'l1': 0.005}
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from cnnlab._object_registration import (
    CustomObjectScope,
    find_object,
    get_custom_objects,
    get_registered_name,
    registered_name_or_none,
)
from cnnlab.errors import ArgumentTypeError, ConfigError
from cnnlab.layers.serialization import builtin_classes, user_class


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
    cls = user_class(obj)
    builtin = cls.__module__.split(".")[0] == "cnnlab" and registered_name_or_none(cls) is None
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
    if registered_name_or_none(fn) is None:
        try:
            return {"module": "keras.activations", "class_name": "function", "config": activations.serialize(fn),
                    "registered_name": None}
        except ConfigError:
            pass
    return {"module": fn.__module__, "class_name": "function", "config": registered_name_or_none(fn) or name,
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
                          f"custom_objects.{did_you_mean(class_name, list(get_custom_objects()))} "
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
    from cnnlab.optimizers import registry as optimizers

    tables = {"initializers": initializers, "regularizers": regularizers, "constraints": constraints,
              "losses": losses, "metrics": metrics, "optimizers": optimizers}
    wanted = next((m for key, m in tables.items() if module and key in module), None)
    for mod in ([wanted] if wanted else []) + list(tables.values()):
        registry = getattr(mod, "_REGISTRY", None)
        classes = getattr(registry, "classes", None)
        if isinstance(classes, dict) and class_name in classes:
            return classes[class_name]
    return builtin_classes().get(class_name)


def serialize_layer(layer) -> dict[str, Any]:
    """``keras.layers.serialize``: :func:`serialize_keras_object` for a layer."""
    return serialize_keras_object(layer)


def deserialize_layer(config, custom_objects: Mapping[str, Any] | None = None):
    """``keras.layers.deserialize``: rebuild a layer from :func:`serialize_layer` output."""
    return deserialize_keras_object(config, custom_objects)

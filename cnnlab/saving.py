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

from collections.abc import Mapping
from typing import Any

# The front end of keras.saving: the registry (cnnlab/_object_registration.py) and the serialisation core
# (cnnlab/_serialization.py) sit below layers and models, which use them; this module adds model files.
from cnnlab._object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from cnnlab._serialization import deserialize_keras_object, serialize_keras_object
from cnnlab.io.native import load_model as _load_model


# ------------------------------------------------------------------ models
def save_model(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """Save a model (``.keras``, ``.h5`` or ``.cnnlab``, by extension): ``model.save(filepath)``."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def load_model(filepath, custom_objects: Mapping[str, Any] | None = None, compile: bool = True, safe_mode: bool = True):
    """Load a model saved by :func:`save_model` (or by Keras); ``safe_mode`` is accepted: loading is always safe."""
    return _load_model(filepath, custom_objects=custom_objects, compile=compile)


__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
    "get_registered_name", "get_registered_object", "load_model", "register_keras_serializable", "save_model",
    "serialize_keras_object",
]

"""``models.clone_model`` and ``models.model_from_json``: new models from an existing model's architecture."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cnnlab._object_registration import CustomObjectScope, custom_objects_for_loading
from cnnlab.errors import ArgumentTypeError, ConfigError
from cnnlab.io.safe_json import load_json
from cnnlab.layers.base import Layer
from cnnlab.layers.serialization import user_class
from cnnlab.models.model import Model
from cnnlab.models.sequential import Sequential


def model_from_json(json_string: str, custom_objects: Mapping[str, Any] | None = None):
    """Rebuild a model (new weights) from :meth:`Model.to_json` output.

    Args:
        json_string: the JSON text.
        custom_objects: your own classes and functions by name (registered ones are found without it).

    Example:
        >>> new_model = model_from_json(model.to_json())
    """
    from cnnlab._serialization import deserialize_keras_object

    if not isinstance(json_string, (str, bytes)):
        raise ConfigError(f"model_from_json: the text is not valid JSON (it is a {type(json_string).__name__}). "
                          f"Pass what model.to_json() returned. Received: {str(json_string)[:80]!r}")
    config = load_json(json_string, source=None, member="model_from_json: the text", error=ConfigError,
                       fix=f"Pass what model.to_json() returned. Received: {str(json_string)[:80]!r}")
    table = custom_objects_for_loading(custom_objects)
    with CustomObjectScope(table):
        return deserialize_keras_object(config, table)


def clone_model(model, input_tensors=None, clone_function: Callable | None = None, call_function=None,
                recursive: bool = False, **kwargs):
    """A new model with the same architecture and freshly initialised weights (Keras's ``clone_model``).

    Args:
        model: a Sequential or functional model (or a subclassed one with ``get_config``).
        input_tensors: not supported yet (must be None).
        clone_function: for a Sequential model, called on each layer to make its copy (default: rebuild the
            layer from its config).
        call_function, recursive: not supported yet (must be None / False).

    Example:
        >>> twin = clone_model(model)  # same layers, new weights
    """
    if not isinstance(model, Model):
        raise ArgumentTypeError(f"clone_model expects a Model. Received: {type(model).__name__} {model!r:.80}")
    unsupported = {"input_tensors": input_tensors, "call_function": call_function, "recursive": recursive or None,
                   **kwargs}
    given = {k: v for k, v in unsupported.items() if v is not None}
    if given:
        raise ConfigError(f"clone_model: {', '.join(sorted(given))} are not supported by cnnlab yet; clone with "
                          f"the model alone (and clone_function for a Sequential model). Received: {given!r}")
    with CustomObjectScope(custom_objects_for_loading()):
        if clone_function is not None:
            if not isinstance(model, Sequential):
                raise ConfigError("clone_model: clone_function is supported for Sequential models only in cnnlab. "
                                  f"Received: a {type(model).__name__} model")
            layers = [clone_function(layer) for layer in model.layers]
            if not all(isinstance(layer, Layer) for layer in layers):
                raise ArgumentTypeError("clone_model: clone_function must return a layer for each layer.")
            clone = Sequential(layers, name=model.name)
            if model._input_layer is not None:
                clone.build(tuple(model._input_layer.batch_shape))
            return clone
        return user_class(model).from_config(model.get_config())

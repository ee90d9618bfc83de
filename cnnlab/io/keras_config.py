"""Translate model configs between Keras (3 and tf.keras 2) and cnnlab.

cnnlab layers already use Keras's argument names, so the translation is about
the envelope: Keras 3 wraps every object as ``{"module", "class_name",
"config", "registered_name"}``, writes dtype policies as dicts, stores an
``InputLayer`` inside a ``Sequential``'s layer list, and writes functional
calls as ``{"args": [{"class_name": "__keras_tensor__", "config":
{"keras_history": [layer, node, tensor]}}], "kwargs": {}}``; tf.keras 2 wrote
``batch_input_shape`` and calls as ``[[layer, node, tensor, kwargs], ...]``.

Reading never imports anything named in a file: every class name is checked
against cnnlab's own table (:mod:`cnnlab.io.registry`) or the user's
``custom_objects``; unknown classes are refused with a message naming the
layer, and a ``Lambda`` layer's function is taken by name from
``custom_objects``, never from the bytecode Keras writes for a ``lambda``.
"""

from __future__ import annotations

from typing import Any

from cnnlab._object_registration import find_object, get_registered_name
from cnnlab.errors import FileFormatError
from cnnlab.layers.base import _init_keywords
from cnnlab.layers.core import InputLayer
from cnnlab.layers.serialization import builtin_classes, model_class, unknown_class_hint, user_class
from cnnlab.models.op_nodes import is_operation_entry

MODEL_CLASSES = ("Sequential", "Functional", "Model")
# Keras 3 writes these envelope keys around every serialised object.
_ENVELOPE_KEYS = ("module", "registered_name", "shared_object_id", "build_config", "compile_config")
# Keys newer Keras versions add to initializer configs; None means "Keras's default", which is cnnlab's.
_NEW_INITIALIZER_KEYS = ("input_axes", "output_axes")
# Keras options cnnlab does not implement; they may be dropped only when they hold these inert values.
_INERT_OPTIONS = {
    "ragged": (False,), "optional": (False,), "sparse": (False, None), "renorm": (False,),
    "renorm_clipping": (None,), "renorm_momentum": None, "quantization_config": (None,), "lora_rank": (None,),
    "lora_alpha": (None,), "autocast": (True,), "input_tensor": (None,),
    # Keras 3 writes it (as null) for every custom layer that keeps the base Layer's __init__.
    "activity_regularizer": (None,),
}
_NESTED_MODULES = {  # argument suffix -> Keras module that holds such objects
    "_initializer": "keras.initializers", "_regularizer": "keras.regularizers", "_constraint": "keras.constraints",
}
_KERAS_LAYER_MODULE = "keras.layers"


# ----------------------------------------------------------------- Keras -> cnnlab
def model_from_keras_config(entry: dict, custom_objects: dict | None = None) -> dict:
    """Turn a Keras model config (``{"class_name", "config", ...}``) into cnnlab's form.

    Args:
        entry: the top-level JSON object of a Keras ``config.json`` or an h5 ``model_config``.
        custom_objects: the user's own classes by name.

    Returns:
        ``{"class_name": ..., "config": ...}`` that :func:`cnnlab.io.registry.layer_from_config` rebuilds.

    Raises:
        FileFormatError: a malformed config, a ``Lambda`` layer, or a class cnnlab does not know.
    """
    return _layer_entry(entry, custom_objects, where="model")


def _layer_entry(entry: Any, custom_objects: dict | None, where: str) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) \
            or not isinstance(entry.get("config"), dict):
        raise FileFormatError(f"Keras config: {where} must be an object with 'class_name' and a 'config' object. "
                              f"Received: {str(entry)[:200]}")
    class_name = entry["class_name"]
    config = entry["config"]
    name = config.get("name", entry.get("name", "?"))
    registered = entry.get("registered_name")
    cls = _resolve_class(class_name, name, custom_objects, registered if isinstance(registered, str) else None)
    if class_name in MODEL_CLASSES and cls.__module__.startswith("cnnlab."):
        if class_name == "Sequential" or "input_layers" not in config:
            return {"class_name": "Sequential", "config": _sequential_config(config, custom_objects)}
        return {"class_name": "Functional", "config": _functional_config(config, custom_objects)}
    if _is_model_class(cls) and all(key in config for key in ("layers", "input_layers", "output_layers")):
        # class CustomModel(Model) built functionally: the graph is read as a functional one, the class kept.
        return {"class_name": class_name, "registered_name": registered,
                "config": _functional_config(config, custom_objects)}
    return {"class_name": class_name, "config": _layer_config(cls, class_name, config)}


def _resolve_class(class_name: str, layer_name: str, custom_objects: dict | None,
                   registered_name: str | None = None) -> type:
    found = find_object(class_name, registered_name, custom_objects)
    if found is not None:
        return found
    table = builtin_classes()
    if class_name not in table:
        raise FileFormatError(
            f"Keras config: layer {layer_name!r} has class {class_name!r}, which is not a cnnlab layer."
            f"{unknown_class_hint(class_name, table)} Received: class_name={class_name!r}"
        )
    return table[class_name]


def _is_model_class(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, model_class("Model"))


def _layer_config(cls: type, class_name: str, config: dict) -> dict:
    raw_keys = ()
    if class_name == "Lambda":
        config, raw_keys = _lambda_config_from_keras(config), _LAMBDA_FUNCTION_KEYS
    out = {}
    for key, value in config.items():
        if key == "dtype":
            value = _dtype_name(value)
        elif isinstance(value, dict) and "class_name" in value and key not in raw_keys:
            value = _nested_from_keras(value)
        out[key] = value
    if class_name == "InputLayer" and "batch_input_shape" in out:  # tf.keras 2 spelling
        out["batch_shape"] = out.pop("batch_input_shape")
    allowed = _init_keywords(cls)
    if allowed is None:  # a user class taking **kwargs decides itself
        return out
    for key in [k for k in out if k not in allowed]:
        inert = _INERT_OPTIONS.get(key, ())
        if key in _INERT_OPTIONS and (inert is None or out[key] in inert):
            del out[key]
            continue
        raise FileFormatError(
            f"Keras config: layer {config.get('name', '?')!r} ({class_name}) uses the option {key}={out[key]!r}, "
            f"which cnnlab's {class_name} does not support. Rebuild the model in Keras without it. "
            f"Received: {key}={out[key]!r}"
        )
    return out


_LAMBDA_FUNCTION_KEYS = ("function", "output_shape", "mask")


def _lambda_config_from_keras(config: dict) -> dict:
    """A Keras Lambda config with its functions as names only: bytecode is dropped unread, never run.

    Keras 3 writes ``{"class_name": "function", "config": name}`` for a def function and ``"__lambda__"`` with
    marshalled bytecode for a lambda; tf.keras 2 wrote the name or the bytecode with ``function_type``. The
    Lambda layer then takes named functions from ``custom_objects`` and refuses lambdas with the fix.
    """
    out = dict(config)
    for key in _LAMBDA_FUNCTION_KEYS:
        kind = out.pop(f"{key}_type", None)
        module = out.pop("module" if key == "function" else f"{key}_module", None)
        value = out.get(key)
        if kind == "lambda" or (isinstance(value, dict) and value.get("class_name") == "__lambda__"):
            out[key] = {"class_name": "__lambda__", "config": {}}
        elif kind == "function" and isinstance(value, str):
            out[key] = {"module": module, "class_name": "function", "config": value, "registered_name": value}
        elif value is None:
            out.pop(key, None)
    return out


def _dtype_name(value: Any) -> str:
    if isinstance(value, dict):  # Keras 3 DTypePolicy / mixed precision policy
        value = value.get("config", {}).get("name")
    if value not in (None, "float32"):
        raise FileFormatError(f"Keras config: only float32 models can be loaded (cnnlab computes in float32). "
                              f"Received: dtype={value!r}")
    return "float32"


def _nested_from_keras(value: dict) -> dict:
    config = dict(value.get("config") or {})
    for key in _NEW_INITIALIZER_KEYS:
        if config.get(key, "absent") is None:
            del config[key]
    return {"class_name": value["class_name"], "config": config}


def _sequential_config(config: dict, custom_objects: dict | None) -> dict:
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise FileFormatError(f"Keras config: Sequential {config.get('name')!r} needs a 'layers' list.")
    out = {"name": config.get("name"), "trainable": config.get("trainable", True), "layers": []}
    build_shape = config.get("build_input_shape")
    for i, item in enumerate(layers):
        if isinstance(item, dict) and item.get("class_name") == "InputLayer":
            if i:
                raise FileFormatError("Keras config: an InputLayer may only come first in a Sequential model.")
            inner = item.get("config", {})
            build_shape = inner.get("batch_shape", inner.get("batch_input_shape"))
            continue
        out["layers"].append(_layer_entry(item, custom_objects, where=f"layer {i} of the Sequential model"))
    if build_shape:
        out["build_input_shape"] = list(build_shape)
    return out


def _functional_config(config: dict, custom_objects: dict | None) -> dict:
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise FileFormatError(f"Keras config: functional model {config.get('name')!r} needs a 'layers' list.")
    entries = []
    for item in layers:
        name = item.get("name") or (item.get("config") or {}).get("name") if isinstance(item, dict) else None
        if is_operation_entry(item):  # x + y, ops.mean(x): checked against the allow-list when the graph is built
            translated = {k: item.get(k) for k in ("module", "class_name", "registered_name", "config")}
            calls = [_call_from_keras(node, name, constants=True) for node in item.get("inbound_nodes", [])]
            entries.append({**translated, "name": name, "inbound_nodes": calls})
            continue
        translated = _layer_entry(item, custom_objects, where="a layer of the functional model")
        calls = [_call_from_keras(node, name) for node in item.get("inbound_nodes", [])]
        entries.append({**translated, "name": name, "inbound_nodes": calls})
    return {
        "name": config.get("name"), "trainable": config.get("trainable", True), "layers": entries,
        "input_layers": _unwrap_single(config.get("input_layers")),
        "output_layers": _unwrap_single(config.get("output_layers")),
    }


def _unwrap_single(refs):
    """tf.keras 2 writes ``[["dense", 0, 0]]`` for one output; Keras 3 (and cnnlab) ``["dense", 0, 0]``."""
    if isinstance(refs, list) and len(refs) == 1 and _is_ref(refs[0]):
        return refs[0]
    return refs


def _is_ref(value) -> bool:
    return isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)


def _call_from_keras(node: Any, layer_name: str, constants: bool = False) -> dict:
    """One saved call; ``constants``: an operation's call, whose positional arguments may be values too."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}, cnnlab's own form too
        args, kwargs = node.get("args") or [], node.get("kwargs") or {}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise FileFormatError(f"Keras config: cannot read the inbound node of layer {layer_name!r}: {node!r:.200}")
        return {"args": [_refs_from_keras(a, layer_name, tensors_only=not constants) for a in args],
                "kwargs": {k: _refs_from_keras(v, layer_name, tensors_only=False) for k, v in kwargs.items()}}
    if isinstance(node, list):  # tf.keras 2: [[name, node, tensor, kwargs], ...]
        refs = [list(item[:3]) for item in node if _is_ref(item)]
        if len(refs) != len(node) or not refs:
            raise FileFormatError(f"Keras config: cannot read the inbound node of layer {layer_name!r}: {node!r:.200}")
        tensors = [_tensor_entry(ref) for ref in refs]
        return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": {}}
    raise FileFormatError(f"Keras config: cannot read the inbound node of layer {layer_name!r}: {node!r:.200}")


def _tensor_entry(history: list) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [history[0], int(history[1]),
                                                                          int(history[2])]}}


def _refs_from_keras(value: Any, layer_name: str, tensors_only: bool = True):
    """A call argument checked: tensors as ``__keras_tensor__`` entries, lists of them, or (keywords) plain values."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history")
        if not _is_ref(history):
            raise FileFormatError(f"Keras config: an input of layer {layer_name!r} has no keras_history.")
        return _tensor_entry(history)
    if isinstance(value, list):
        return [_refs_from_keras(v, layer_name, tensors_only) for v in value]
    if not tensors_only and (value is None or isinstance(value, (bool, int, float, str))):
        return value
    if not tensors_only and isinstance(value, dict) and value.get("class_name") in ("__slice__", "__ellipsis__"):
        return value  # an index (x[..., :3]); its parts are checked when the operation is rebuilt
    raise FileFormatError(f"Keras config: layer {layer_name!r} takes an input cnnlab cannot read: {value!r:.200}")


# ----------------------------------------------------------------- cnnlab -> Keras 3
def model_to_keras_config(model) -> dict:
    """Keras 3's ``config.json`` object for a cnnlab Sequential or functional model (no compile config)."""
    return _entry_to_keras(model)


def _entry_to_keras(layer) -> dict:
    Functional, Sequential = model_class("Functional"), model_class("Sequential")
    if isinstance(layer, Sequential):
        return {"module": "keras", "class_name": "Sequential", "config": _sequential_to_keras(layer),
                "registered_name": None}
    if type(layer) is Functional:
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": _functional_to_keras(layer), "registered_name": "Functional"}
    cls = user_class(layer)
    if isinstance(layer, Functional):  # class CustomModel(Model) built functionally: Keras writes its class
        return {"module": cls.__module__, "class_name": cls.__name__, "config": _functional_to_keras(layer),
                "registered_name": get_registered_name(cls)}
    class_name = cls.__name__
    if builtin_classes().get(class_name) is not cls:
        # The user's own layer: Keras writes its module and registered name; loading finds it among the
        # registered classes or custom_objects (never by importing that module).
        return {"module": cls.__module__, "class_name": class_name, "config": _layer_to_keras(layer),
                "registered_name": get_registered_name(cls)}
    keras_module = vars(cls).get("keras_module")  # a class Keras keeps outside keras.layers (ConvNeXt's LayerScale)
    if keras_module:
        return {"module": keras_module, "class_name": class_name, "config": _layer_to_keras(layer),
                "registered_name": class_name}
    return {"module": _KERAS_LAYER_MODULE, "class_name": class_name, "config": _layer_to_keras(layer),
            "registered_name": None}


def _layer_to_keras(layer) -> dict:
    config = dict(layer.get_config())
    config.pop("batch_input_shape", None)  # the model's InputLayer carries the shape
    for key, value in list(config.items()):
        module = next((m for suffix, m in _NESTED_MODULES.items() if key.endswith(suffix)), None)
        if module and isinstance(value, dict) and "class_name" in value:
            config[key] = {"module": module, "class_name": value["class_name"], "config": value.get("config", {}),
                           "registered_name": None}
    return config


def _input_layer_entry(batch_shape, name: str) -> dict:
    return {"module": _KERAS_LAYER_MODULE, "class_name": "InputLayer",
            "config": {"batch_shape": list(batch_shape), "dtype": "float32", "sparse": False, "ragged": False,
                       "name": name}, "registered_name": None}


def _sequential_to_keras(model) -> dict:
    layers = []
    if model._input_layer is not None:
        layers.append(_input_layer_entry(model._input_layer.batch_shape, model._input_layer.name))
    layers.extend(_entry_to_keras(layer) for layer in model.layers)
    config = {"name": model.name, "trainable": model.trainable, "dtype": "float32", "layers": layers}
    if model._input_layer is not None:
        config["build_input_shape"] = list(model._input_layer.batch_shape)
    return config


def _functional_to_keras(model) -> dict:
    own = model.get_config()  # its calls are already in Keras 3's {"args": [...], "kwargs": {...}} form
    by_name = {layer.name: layer for layer in model.layers}
    layers = []
    for entry in own["layers"]:
        if is_operation_entry(entry):  # already in Keras's form
            layers.append(entry)
            continue
        layer = by_name[entry["name"]]
        if isinstance(layer, InputLayer):
            keras_entry = _input_layer_entry(layer.batch_shape, layer.name)
        else:
            keras_entry = _entry_to_keras(layer)
        layers.append({**keras_entry, "name": entry["name"], "inbound_nodes": entry["inbound_nodes"]})
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": own["input_layers"], "output_layers": own["output_layers"]}

"""Layer (de)serialisation: the table of classes a model file may name, and config <-> layer.

Loading a file never imports a module or evaluates anything named in it:
class names are looked up in this table of cnnlab's own layers and models,
then in the ``custom_objects`` the user passes.

The model classes (``Model``, ``Functional``, ``Sequential``) sit above the
layers and register themselves here with :func:`register_model_class` when
they are defined, so neither this module nor ``cnnlab.io`` imports
``cnnlab.models`` to find them.
"""

from __future__ import annotations

from cnnlab._object_registration import find_object, registered_name_or_none
from cnnlab.errors import FileFormatError, did_you_mean

_MODEL_CLASSES: dict[str, type] = {}
_LAYER_CLASSES: dict[str, type] = {}


def register_layer_classes(namespace: dict, names: list[str]) -> None:
    """Record the public layer classes (``cnnlab.layers`` calls this once, with its ``__all__``: export =
    loadable), so the table needs no import of the package that exports it."""
    from cnnlab.layers.base import Layer

    for name in names:
        cls = namespace[name]
        if isinstance(cls, type) and issubclass(cls, Layer) and cls is not Layer:
            _LAYER_CLASSES[name] = cls


def register_model_class(cls: type) -> type:
    """Class decorator: record one of cnnlab's own model classes under its class name."""
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


def model_class(name: str) -> type:
    """``"Model"``, ``"Functional"`` or ``"Sequential"``: the registered cnnlab class of that name."""
    return _MODEL_CLASSES[name]


def is_model(obj) -> bool:
    """Whether ``obj`` is a model (an instance of ``Model`` or a subclass)."""
    return isinstance(obj, _MODEL_CLASSES["Model"])


def is_graph_model(obj) -> bool:
    """Whether ``obj`` is a Sequential or functional model (one with a symbolic layer graph)."""
    return isinstance(obj, (_MODEL_CLASSES["Functional"], _MODEL_CLASSES["Sequential"]))


def builtin_classes() -> dict[str, type]:
    """Class name -> class for every public layer (``layers.__all__``: export = loadable) and model."""
    table = dict(_LAYER_CLASSES)
    table.update({"Sequential": model_class("Sequential"), "Functional": model_class("Functional"),
                  "Model": model_class("Functional")})
    return table


def unknown_class_hint(name: str, table) -> str:
    """What to do about a class name cnnlab lacks: the Keras layers it leaves out say so, others get a did-you-mean."""
    from cnnlab.layers._out_of_scope import explain, keras_name

    if keras_name(name):
        return f" {explain(name)}"  # no did-you-mean: LSTM has no near relative among image layers
    return (f"{did_you_mean(name, table)} If it is your own class, pass it when loading: "
            f"load_model(path, custom_objects={{'{name}': {name}}}).")


def user_class(obj) -> type:
    """The class a user wrote: ``class CustomModel(Model)`` built as ``CustomModel(inputs, outputs)`` runs as a
    generated functional subclass of it (which names the user's class in ``_user_class``), and files name it
    by the user's class."""
    cls = type(obj)
    return vars(cls).get("_user_class", cls)


def registered_name_of(obj) -> str | None:
    """``"package>name"`` when the object's class is registered, else None."""
    return registered_name_or_none(user_class(obj))


def layer_to_config(layer) -> dict:
    """``{"class_name": ..., "config": ...}`` for a layer or nested model (plus ``registered_name`` for one
    registered with ``@keras.saving.register_keras_serializable``)."""
    entry = {"class_name": type(layer).__name__, "config": layer.get_config()}
    registered = registered_name_of(layer)
    if registered is not None:
        entry["registered_name"] = registered
    return entry


def layer_from_config(entry: dict, custom_objects: dict | None = None):
    """Rebuild a layer from ``{"class_name", "config"}``, using only known classes."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) or not isinstance(
            entry.get("config"), dict):
        raise FileFormatError(f"Model config: each layer entry needs 'class_name' and a 'config' dict. Received: {entry!r:.200}")
    name = entry["class_name"]
    table = builtin_classes()
    # The user's custom_objects, then custom_object_scope and registered classes, then cnnlab's own.
    cls = find_object(name, entry.get("registered_name"), custom_objects) or table.get(name)
    if cls is None:
        raise FileFormatError(f"Model config names the layer class {name!r}, which is not a cnnlab layer."
                              f"{unknown_class_hint(name, table)}")
    config = dict(entry["config"])
    try:
        if hasattr(cls, "from_config") and "custom_objects" in cls.from_config.__code__.co_varnames:
            return cls.from_config(config, custom_objects=custom_objects)
        return cls.from_config(config)
    except FileFormatError:
        raise
    except Exception as err:
        raise FileFormatError(
            f"Model config: could not rebuild layer {config.get('name', '?')!r} of class {name}: {err}"
        ) from err

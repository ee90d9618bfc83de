"""The table of classes a model file may name, and layer (de)serialisation.

Loading a file never imports a module or evaluates anything named in it:
class names are looked up in this table of cnnlab's own layers and models,
then in the ``custom_objects`` the user passes.
"""

from __future__ import annotations

from cnnlab.errors import FileFormatError, did_you_mean


def _builtin_classes() -> dict[str, type]:
    from cnnlab import layers
    from cnnlab.layers.base import Layer
    from cnnlab.models.functional import Functional
    from cnnlab.models.sequential import Sequential

    table = {name: getattr(layers, name) for name in layers.__all__}
    table = {name: cls for name, cls in table.items() if isinstance(cls, type) and issubclass(cls, Layer)}
    table.pop("Layer", None)
    table.update({"Sequential": Sequential, "Functional": Functional, "Model": Functional})
    return table


def unknown_class_hint(name: str, table) -> str:
    """What to do about a class name cnnlab lacks: the Keras layers it leaves out say so, others get a did-you-mean."""
    from cnnlab.layers._out_of_scope import explain, keras_name

    if keras_name(name):
        return f" {explain(name)}"  # no did-you-mean: LSTM has no near relative among image layers
    return (f"{did_you_mean(name, table)} If it is your own class, pass it when loading: "
            f"load_model(path, custom_objects={{'{name}': {name}}}).")


def layer_to_config(layer) -> dict:
    """``{"class_name": ..., "config": ...}`` for a layer or nested model (plus ``registered_name`` for one
    registered with ``@keras.saving.register_keras_serializable``)."""
    entry = {"class_name": type(layer).__name__, "config": layer.get_config()}
    registered = registered_name_of(layer)
    if registered is not None:
        entry["registered_name"] = registered
    return entry


def user_class(obj) -> type:
    """The class a user wrote: ``class CustomModel(Model)`` built as ``CustomModel(inputs, outputs)`` runs as a
    generated functional subclass of it, which files name by the user's class."""
    from cnnlab.models.model import _FUNCTIONAL_SUBCLASSES

    cls = type(obj)
    return next((user for user, made in _FUNCTIONAL_SUBCLASSES.items() if made is cls), cls)


def registered_name_of(obj) -> str | None:
    """``"package>name"`` when the object's class is registered, else None."""
    from cnnlab.saving import _NAMES

    return _NAMES.get(user_class(obj))


def layer_from_config(entry: dict, custom_objects: dict | None = None):
    """Rebuild a layer from ``{"class_name", "config"}``, using only known classes."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) or not isinstance(
            entry.get("config"), dict):
        raise FileFormatError(f"Model config: each layer entry needs 'class_name' and a 'config' dict. Received: {entry!r:.200}")
    name = entry["class_name"]
    table = _builtin_classes()
    from cnnlab.saving import find_object

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

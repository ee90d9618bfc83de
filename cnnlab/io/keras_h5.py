"""Legacy Keras HDF5 model files (``.h5`` / ``.hdf5``), as tf.keras 2.x and Keras 3's ``model.save("x.h5")`` write them.

Layout: the root attribute ``model_config`` (JSON architecture),
``training_config`` (JSON compile settings), ``keras_version`` and
``backend``; the group ``model_weights`` with the attribute ``layer_names``
and, per layer, a group whose ``weight_names`` attribute lists its datasets in
order (trainable weights first); and ``optimizer_weights`` with the
optimizer's variables (``[iteration, learning_rate, slots per variable]``).
The HDF5 tree is checked for links and external storage before anything is
read (see :func:`cnnlab.io.keras_format.check_h5_tree`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from cnnlab.errors import ConfigError, FileFormatError, ShapeError
from cnnlab.io.atomic import atomic_write
from cnnlab.io.keras_format import (
    KERAS_VERSION_WRITTEN,
    MAX_JSON_BYTES,
    _h5py,
    _keras_optimizer_ready,
    _read_json,
    assign_weight,
    compile_from_keras,
    keras_compile_config,
    open_h5,
    optimizer_from_keras,
    optimizer_to_keras,
    read_dataset,
)
from cnnlab.layers.serialization import layer_from_config


def _legacy_weights(layer) -> list:
    """Keras's legacy order: the layer's trainable weights, then the non-trainable ones."""
    weights = layer.weights
    return [v for v in weights if v.trainable] + [v for v in weights if not v.trainable]


def _names(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def save_h5(model, path: Path, include_optimizer: bool = True) -> None:
    """Write a legacy Keras HDF5 model file that Keras 3 and tf.keras load (atomic)."""
    from cnnlab.io.keras_config import model_to_keras_config

    h5py = _h5py()
    try:
        config = model_to_keras_config(model)
    except NotImplementedError as err:
        raise ConfigError(f"save: {err}") from err
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = KERAS_VERSION_WRITTEN
        f.attrs["model_config"] = json.dumps({"class_name": config["class_name"], "config": config["config"]})
        group = f.create_group("model_weights")
        group.attrs["backend"] = "tensorflow"
        group.attrs["keras_version"] = KERAS_VERSION_WRITTEN
        group.attrs["layer_names"] = [layer.name.encode("utf-8") for layer in model.layers]
        for layer in model.layers:
            sub = group.create_group(layer.name)
            weights = _legacy_weights(layer)
            names = [v.path for v in weights]
            sub.attrs["weight_names"] = [n.encode("utf-8") for n in names]
            for name, var in zip(names, weights):
                sub.create_dataset(name, data=var.numpy())
        top = group.create_group("top_level_model_weights")
        top.attrs["weight_names"] = np.array([], dtype="S1")
        compile_config = keras_compile_config(model) if include_optimizer else None
        if compile_config:
            training = {k: _legacy_objects(compile_config[k]) for k in (
                "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly", "steps_per_execution",
                "jit_compile")}
            training["optimizer_config"] = _legacy_objects(compile_config["optimizer"])
            f.attrs["training_config"] = json.dumps(training)
        if _keras_optimizer_ready(model, include_optimizer):
            _write_optimizer(f, model.optimizer)
    with atomic_write(path) as fh:
        fh.write(buffer.getvalue())


def _legacy_objects(value):
    """Keras's h5 ``training_config`` writes objects as ``{"class_name", "config"}`` (no module keys)."""
    if isinstance(value, list):
        return [_legacy_objects(v) for v in value]
    if isinstance(value, dict):
        if "class_name" in value:
            return {"class_name": value["class_name"], "config": value.get("config")}
        return {k: _legacy_objects(v) for k, v in value.items()}
    return value


def _write_optimizer(f, optimizer) -> None:
    values = optimizer_to_keras(optimizer)
    prefix = optimizer.name
    names = [f"{prefix}/iteration"] + [f"{prefix}/learning_rate"] * ("learning_rate" in optimizer.state_dict())
    names += [f"{prefix}/slot_{i}" for i in range(len(values) - len(names))]
    group = f.create_group("optimizer_weights")
    group.attrs["weight_names"] = [n.encode("utf-8") for n in names]
    for name, value in zip(names, values):
        group.create_dataset(name, data=value)


def load_h5(path: Path, custom_objects: dict | None = None, compile: bool = True):
    """Load a legacy Keras HDF5 model file (tf.keras 2.x or Keras 3 ``.h5``)."""
    from cnnlab.io.keras_config import model_from_keras_config

    data = path.read_bytes()
    with open_h5(data, path) as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise FileFormatError(
                f"'{path}' has no model_config attribute, so it holds weights only. Build the model in code and call "
                "model.load_weights(path) instead.")
        raw = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        if len(raw) > MAX_JSON_BYTES:
            raise FileFormatError(f"'{path}': model_config is over {MAX_JSON_BYTES} bytes; refusing to load it.")
        model = layer_from_config(model_from_keras_config(_read_json(raw, path, "model_config"), custom_objects),
                                  custom_objects)
        if "model_weights" not in f:
            raise FileFormatError(f"'{path}' has no model_weights group; the file is incomplete.")
        _assign_legacy(model, f["model_weights"], path)
        training = f.attrs.get("training_config")
        if compile and training is not None:
            training = _read_json(training.decode() if isinstance(training, bytes) else str(training), path,
                                  "training_config")
            config = {**training, "optimizer": training.get("optimizer_config")}
            if compile_from_keras(model, config, path, custom_objects) and "optimizer_weights" in f:
                group = f["optimizer_weights"]
                names = _names(group.attrs.get("weight_names", []))
                optimizer_from_keras(model, [read_dataset(group[n]) for n in names], path)
    return model


def load_weights_legacy_h5(model, path: Path, skip_mismatch: bool = False) -> None:
    """Load the ``model_weights`` of a legacy ``.h5`` file (or a tf.keras 2 ``save_weights`` file) into ``model``."""
    data = path.read_bytes()
    with open_h5(data, path) as f:
        group = f["model_weights"] if "model_weights" in f else f
        _assign_legacy(model, group, path, skip_mismatch)


def _assign_legacy(model, group, source, skip_mismatch: bool = False) -> None:
    if "layer_names" not in group.attrs:
        raise FileFormatError(f"'{source}' has no layer_names attribute; it is not a Keras HDF5 weights file.")
    stored = []
    for name in _names(group.attrs["layer_names"]):
        if name not in group:
            raise FileFormatError(f"'{source}': layer_names lists {name!r}, but there is no such group.")
        weight_names = _names(group[name].attrs.get("weight_names", []))
        if weight_names:
            stored.append((name, group[name], weight_names))
    layers = [layer for layer in model.layers if layer.weights]
    if len(stored) != len(layers):
        raise ShapeError(
            f"'{source}' holds weights for {len(stored)} layers ({', '.join(n for n, _, _ in stored)}), but model "
            f"'{model.name}' has {len(layers)} layers with weights ({', '.join(l.name for l in layers)}). The file "
            "was saved from a different architecture.")
    for layer, (name, layer_group, weight_names) in zip(layers, stored):
        variables = _legacy_weights(layer)
        if len(weight_names) != len(variables):
            raise ShapeError(f"'{source}': layer {name!r} holds {len(weight_names)} weights, but '{layer.name}' "
                             f"has {len(variables)}.")
        for var, weight_name in zip(variables, weight_names):
            if weight_name not in layer_group:
                raise FileFormatError(f"'{source}': weight {weight_name!r} of layer {name!r} is missing.")
            assign_weight(var, layer_group[weight_name], f"'{source}': weight {weight_name!r}", skip_mismatch)

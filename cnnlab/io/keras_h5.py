"""Legacy Keras HDF5 model files (``.h5`` / ``.hdf5``), as tf.keras 2.x and Keras 3's ``model.save("x.h5")`` write them.

Layout: the root attribute ``model_config`` (JSON architecture),
``training_config`` (JSON compile settings), ``keras_version`` and
``backend``; the group ``model_weights`` with the attribute ``layer_names``
and, per layer, a group whose ``weight_names`` attribute lists its datasets in
order (trainable weights first); and ``optimizer_weights`` with the
optimizer's variables (``[iteration, learning_rate, slots per variable]``).
The HDF5 tree is checked, bounded by what the model needs, before any dataset
is read, and each dataset is read only once it matches its variable (see
:mod:`cnnlab.io.h5_safety`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from cnnlab.errors import ConfigError, FileFormatError, ShapeError
from cnnlab.io.atomic import atomic_write
from cnnlab.io.config_checks import build_from_file, checked_compile_config
from cnnlab.io.h5_safety import check_h5_tree, dataset_at, file_window, group_at, read_names, read_text
from cnnlab.io.keras_format import (
    KERAS_VERSION_WRITTEN,
    MAX_JSON_BYTES,
    _h5py,
    _keras_optimizer_ready,
    _object_budget,
    _read_json,
    assign_weight,
    compile_from_keras,
    keras_compile_config,
    open_h5,
    optimizer_from_keras,
    optimizer_to_keras,
)
from cnnlab.layers.serialization import layer_from_config


def _legacy_weights(layer) -> list:
    """Keras's legacy order: the layer's trainable weights, then the non-trainable ones."""
    weights = layer.weights
    return [v for v in weights if v.trainable] + [v for v in weights if not v.trainable]


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

    # The root only at first: the whole tree is checked once the model says what it needs.
    with file_window(path) as data, open_h5(data, path) as f:
        raw = read_text(f, "model_config", path, MAX_JSON_BYTES)
        if raw is None:
            raise FileFormatError(
                f"'{path}' has no model_config attribute, so it holds weights only. Build the model in code and call "
                "model.load_weights(path) instead.")
        entry = _read_json(raw, path, "model_config attribute")
        # tf.keras and Keras store weights uncompressed, so they take at most the bytes of the file.
        model = build_from_file(entry, lambda: layer_from_config(model_from_keras_config(entry, custom_objects),
                                                                 custom_objects),
                                source=path, member="model_config attribute", stored_bytes=data.size)
        budget = _object_budget(model)
        check_h5_tree(f, data.size, path, budget)
        weights = group_at(f, "model_weights", path)
        if weights is None:
            raise FileFormatError(f"'{path}' has no model_weights group; the file is incomplete. Check that the "
                                  "save finished, or re-save the model.")
        _assign_legacy(model, weights, path, budget)
        training = read_text(f, "training_config", path, MAX_JSON_BYTES)
        if compile and training is not None:
            training = checked_compile_config(_read_json(training, path, "training_config attribute"), path,
                                              "training_config attribute", optimizer_key="optimizer_config")
        if compile and training is not None:  # None: an empty training_config, as for an uncompiled model
            config = {**training, "optimizer": training.get("optimizer_config")}
            group = group_at(f, "optimizer_weights", path)
            if compile_from_keras(model, config, path, custom_objects) and group is not None:
                names = read_names(group, "weight_names", path, budget)
                optimizer_from_keras(model, [dataset_at(group, n, path, "optimizer weight") for n in names], path)
    return model


def load_weights_legacy_h5(model, path: Path, skip_mismatch: bool = False) -> None:
    """Load the ``model_weights`` of a legacy ``.h5`` file (or a tf.keras 2 ``save_weights`` file) into ``model``."""
    budget = _object_budget(model)
    with file_window(path) as data, open_h5(data, path, budget) as f:
        group = group_at(f, "model_weights", path)
        group = f if group is None else group
        _assign_legacy(model, group, path, budget, skip_mismatch)


def _assign_legacy(model, group, source, budget: int, skip_mismatch: bool = False) -> None:
    if "layer_names" not in group.attrs:
        raise FileFormatError(f"'{source}' has no layer_names attribute; it is not a Keras HDF5 weights file. "
                              "Check that it is the right file.")
    stored = []
    for name in read_names(group, "layer_names", source, budget):
        layer_group = group_at(group, name, source)
        if layer_group is None:
            raise FileFormatError(f"'{source}': layer_names lists {name!r}, but there is no such group. Check "
                                  "that the save finished, or re-save the model.")
        weight_names = read_names(layer_group, "weight_names", source, budget)
        if weight_names:
            stored.append((name, layer_group, weight_names))
    layers = [layer for layer in model.layers if layer.weights]
    if len(stored) != len(layers):
        raise ShapeError(
            f"'{source}' holds weights for {len(stored)} layers ({', '.join(n for n, _, _ in stored)}), but model "
            f"'{model.name}' has {len(layers)} layers with weights ({', '.join(l.name for l in layers)}). The file "
            "was saved from a different architecture; load it into the model it was saved from.")
    for layer, (name, layer_group, weight_names) in zip(layers, stored):
        variables = _legacy_weights(layer)
        if len(weight_names) != len(variables):
            raise ShapeError(f"'{source}': layer {name!r} holds {len(weight_names)} weights, but '{layer.name}' "
                             f"has {len(variables)}. Load the file into the model it was saved from.")
        for var, weight_name in zip(variables, weight_names):
            assign_weight(var, dataset_at(layer_group, weight_name, source, f"weight of layer {name!r}"), source,
                          skip_mismatch)

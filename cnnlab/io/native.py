"""The native ``.cnnlab`` model file and ``.weights.safetensors`` weight files.

A ``.cnnlab`` file is a zip holding ``config.json`` (architecture),
``model.safetensors`` (weights), optionally ``optimizer.safetensors``, and
``metadata.json``. Nothing in it is ever unpickled or executed. Writes are
atomic: the file appears complete or not at all.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
import zlib
from pathlib import Path


import safetensors.torch
from safetensors.torch import load as load_safetensors  # tensors only: never unpickles
import torch

from cnnlab._object_registration import CustomObjectScope, custom_objects_for_loading
from cnnlab._version import __version__
from cnnlab.errors import ArgumentTypeError, CnnlabError, ConfigError, FileFormatError, ShapeError
from cnnlab.io.atomic import atomic_write
from cnnlab.layers.base import weight_budget
from cnnlab.layers.serialization import is_graph_model, layer_from_config, layer_to_config

FORMAT_VERSION = 1
# Weights a loaded config may create beyond those stored (e.g. a layer whose weights are not saved).
_BUDGET_SLACK_BYTES = 1 << 20
MAX_MEMBER_BYTES = 4 << 30  # refuse zip members that claim more than 4 GiB (zip bombs)
# config.json and metadata.json of even a 1000-layer model are well under 1 MiB; a bigger
# one is a zip bomb, stopped before it fills memory.
MAX_JSON_MEMBER_BYTES = 16 << 20
_MEMBERS = {"config.json", "model.safetensors", "optimizer.safetensors", "metadata.json"}


def _weights_dict(model) -> dict[str, torch.Tensor]:
    return {f"{i:04d}:{v.path}": v.value.detach().cpu().contiguous() for i, v in enumerate(model.weights)}


def _apply_weights(model, tensors: dict[str, torch.Tensor], source: str, skip_mismatch: bool = False) -> None:
    variables = model.weights
    ordered = sorted(tensors.items(), key=lambda kv: kv[0])
    if len(ordered) != len(variables):
        raise ShapeError(
            f"{source} holds {len(ordered)} weights, but model '{model.name}' has {len(variables)}. The file was "
            "saved from a different architecture; build the same model first (or use load_model for the whole model)."
        )
    for var, (key, value) in zip(variables, ordered):
        if tuple(value.shape) != tuple(var.shape):
            if skip_mismatch:
                continue
            raise ShapeError(
                f"{source}: weight {key.split(':', 1)[-1]!r} has shape {tuple(value.shape)}, but the model's "
                f"{var.path!r} has shape {tuple(var.shape)}. The architectures differ; use skip_mismatch=True to load "
                "the matching weights only."
            )
        var.assign(value)


def _check_path(filepath, suffixes: tuple[str, ...], what: str) -> Path:
    if not isinstance(filepath, (str, os.PathLike)):
        raise ArgumentTypeError(f"{what}: filepath must be a string or path. Received: {filepath!r}")
    path = Path(filepath)
    if not str(path).endswith(suffixes):
        raise ConfigError(f"{what}: the file name must end with {' or '.join(suffixes)}. Received: filepath={str(path)!r}")
    return path


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write the model's weights to ``*.weights.safetensors`` or Keras's ``*.weights.h5`` (atomic)."""
    if str(filepath).endswith(".weights.h5") and isinstance(filepath, (str, os.PathLike)):
        from cnnlab.io.keras_format import save_weights_h5

        _refuse_overwrite(Path(filepath), overwrite)
        _require_built(model)
        return save_weights_h5(model, Path(filepath))
    path = _check_path(filepath, (".weights.safetensors", ".weights.h5"), "save_weights")
    _refuse_overwrite(path, overwrite)
    _require_built(model)
    data = safetensors.torch.save(_weights_dict(model), metadata={"format": "cnnlab-weights", "version": "1"})
    with atomic_write(path) as fh:
        fh.write(data)


def load_weights(model, filepath, skip_mismatch: bool = False) -> None:
    """Load weights from ``*.weights.safetensors`` or from a whole ``.cnnlab`` model file."""
    path = _existing_file(filepath)
    if path.suffix in _KERAS_SUFFIXES:
        return _load_keras_weights(model, path, skip_mismatch)
    if str(path).endswith(".cnnlab"):
        with _open_zip(path) as zf:
            tensors = _read_safetensors(_read_member(zf, "model.safetensors", path), path)
    else:
        tensors = _read_safetensors(path.read_bytes(), path)
    _require_built(model)
    _apply_weights(model, tensors, f"Weights file '{path}'", skip_mismatch)


def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Save architecture, weights and optimizer state to a ``.cnnlab`` file (atomic)."""
    path = Path(filepath) if isinstance(filepath, (str, os.PathLike)) else None
    if path is None:
        raise ArgumentTypeError(f"save: filepath must be a string or path. Received: {filepath!r}")
    if path.suffix in _KERAS_SUFFIXES:
        return _save_keras_model(model, path, overwrite, include_optimizer)
    path = _check_path(filepath, (".cnnlab", ".keras", ".h5", ".hdf5"), "save")
    _refuse_overwrite(path, overwrite)
    _require_built(model)
    try:
        entry = layer_to_config(model)
    except NotImplementedError as err:
        raise ConfigError(f"save: {err}") from err
    build_shape = _build_input_shape(model)
    if build_shape is not None:
        entry["build_config"] = {"input_shape": build_shape}
    config = json.dumps(entry, indent=1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", config)
        zf.writestr("model.safetensors", safetensors.torch.save(_weights_dict(model)))
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None and hasattr(optimizer, "state_dict"):
            state = {k: v.detach().cpu().contiguous() for k, v in optimizer.state_dict().items()}
            zf.writestr("optimizer.safetensors", safetensors.torch.save(state))
        zf.writestr("metadata.json", json.dumps(_metadata(model)))
    with atomic_write(path) as fh:
        fh.write(buffer.getvalue())


def _metadata(model) -> dict:
    meta = {"format": "cnnlab-model", "format_version": FORMAT_VERSION, "cnnlab_version": __version__,
            "torch_version": torch.__version__, "date": datetime.datetime.now().isoformat(timespec="seconds")}
    get_compile_config = getattr(model, "get_compile_config", None)
    compile_config = get_compile_config() if get_compile_config is not None else None
    if compile_config:
        meta["compile_config"] = compile_config
    return meta


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Load a model saved with ``model.save(...)``.

    Args:
        filepath: a ``.cnnlab`` file, a Keras 3 ``.keras`` file or a legacy Keras ``.h5``/``.hdf5`` file.
        custom_objects: your own layer/model classes (and functions) by name, for models that use them;
            classes registered with ``@keras.saving.register_keras_serializable`` and those of an active
            ``custom_object_scope`` are found without it.
        compile: re-compile with the saved optimizer, loss and metrics when the file has them.
        safe_mode: accepted for Keras compatibility; loading never runs code from the file.
    """
    table = custom_objects_for_loading(custom_objects)
    # The scope lets nested lookups (activations, regularizers, ... inside layer configs) find them too.
    with CustomObjectScope(table):
        return _load_model(filepath, table, compile)


def _load_model(filepath, custom_objects: dict, compile: bool):
    path = _existing_file(filepath)
    if path.suffix in _KERAS_SUFFIXES:
        return _load_keras_model(path, custom_objects, compile)
    with _open_zip(path) as zf:
        config = _read_json(_read_member(zf, "config.json", path), path, "config.json")
        meta = _read_json(_read_member(zf, "metadata.json", path), path, "metadata.json")
        weights = _read_safetensors(_read_member(zf, "model.safetensors", path), path)
        optimizer_state = None
        if "optimizer.safetensors" in zf.namelist():
            optimizer_state = _read_safetensors(_read_member(zf, "optimizer.safetensors", path), path)
    if meta.get("format") != "cnnlab-model":
        raise FileFormatError(f"'{path}' is not a cnnlab model file (metadata format {meta.get('format')!r}).")
    budget = sum(t.numel() * t.element_size() for t in weights.values()) + _BUDGET_SLACK_BYTES
    try:
        with weight_budget(budget):
            model = layer_from_config(config, custom_objects)
    except FileFormatError as err:  # name the file: the config alone does not say where it came from
        raise FileFormatError(f"'{path}': {err}") from err
    build_config = config.get("build_config")
    build_shape = build_config.get("input_shape") if isinstance(build_config, dict) else None
    if not model.built and _is_shape(build_shape):
        model.build(tuple(build_shape))  # a subclassed model builds by running once on zeros
    _require_built(model, path)
    _apply_weights(model, weights, f"Model file '{path}'")
    compile_config = meta.get("compile_config")
    if compile and compile_config and hasattr(model, "_compile_from_config"):
        model._compile_from_config(compile_config, custom_objects)
        if optimizer_state is not None:
            model.optimizer.build([v.value for v in model.trainable_weights])
            model.optimizer.load_state_dict(optimizer_state)
    return model


def _build_input_shape(model) -> list | None:
    """The input shape a subclassed model was built with (graph models rebuild from their config)."""
    shape = getattr(model, "_build_shape", None)
    if is_graph_model(model) or not _is_shape(shape):
        return None
    return [None, *shape[1:]]


def _is_shape(shape) -> bool:
    return isinstance(shape, (list, tuple)) and len(shape) >= 2 and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape)


def _refuse_overwrite(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise ConfigError(f"'{path}' exists and overwrite=False. Choose another name or pass overwrite=True.")


def _require_built(model, path=None) -> None:
    if not model.built or not model.weights and not model.layers:
        where = f" loaded from '{path}'" if path else ""
        raise ConfigError(
            f"Model '{model.name}'{where} is not built, so it has no weights yet. Call it on data once or call "
            "model.build(input_shape) first."
        )


def _existing_file(filepath) -> Path:
    if not isinstance(filepath, (str, os.PathLike)):
        raise ArgumentTypeError(f"filepath must be a string or path. Received: {filepath!r}")
    path = Path(filepath)
    if path.is_dir():
        raise FileFormatError(f"'{path}' is a directory; give the path of a model file such as 'model.cnnlab'.")
    if not path.exists():
        raise FileNotFoundErrorWithHint(f"No such model file: '{path}'. Check the path (cwd is '{os.getcwd()}').")
    if not path.is_file():  # a FIFO or device would block or stream forever when opened
        raise FileFormatError(f"'{path}' is not a regular file (a pipe, socket or device); give the path of a model "
                              "file such as 'model.cnnlab'.")
    return path


class FileNotFoundErrorWithHint(CnnlabError, FileNotFoundError):
    """A model or weights file that does not exist."""


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
    except OSError as err:  # unreadable: permissions, a vanished mount, an I/O error
        raise FileFormatError(f"'{path}' cannot be opened ({err.strerror or err}). Check the file's permissions "
                              "and that it is readable.") from err
    except zipfile.BadZipFile as err:
        raise FileFormatError(
            f"'{path}' is not a cnnlab model file (not a zip archive: {err}). It may be truncated or a different "
            "format; re-save the model with model.save('model.cnnlab')."
        ) from err
    for info in zf.infolist():
        if info.filename not in _MEMBERS:
            zf.close()
            raise FileFormatError(f"'{path}' holds an unexpected member {info.filename!r}; refusing to load it.")
        if info.file_size > MAX_MEMBER_BYTES:
            zf.close()
            raise FileFormatError(f"'{path}': member {info.filename!r} declares {info.file_size} bytes, over the "
                                  f"{MAX_MEMBER_BYTES}-byte limit; refusing to load it.")
    return zf


def _read_member(zf: zipfile.ZipFile, name: str, path: Path) -> bytes:
    limit = MAX_JSON_MEMBER_BYTES if name.endswith(".json") else MAX_MEMBER_BYTES
    try:
        with zf.open(name) as fh:
            data = fh.read(limit + 1)
    except KeyError:
        raise FileFormatError(f"'{path}' is missing {name}: the file is incomplete or not a cnnlab model.") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as err:
        raise FileFormatError(f"'{path}': {name} is corrupt ({err}). Re-save the model.") from err
    if len(data) > limit:
        raise FileFormatError(f"'{path}': {name} expands beyond {limit} bytes (a zip bomb or a damaged file); "
                              "refusing to load it. Save the model again from its source.")
    return data


def _read_json(data: bytes, path: Path, name: str) -> dict:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(f"'{path}': {name} is not valid JSON ({err}).") from err
    if not isinstance(value, dict):
        raise FileFormatError(f"'{path}': {name} must hold a JSON object.")
    return value


def _read_safetensors(data: bytes, path) -> dict[str, torch.Tensor]:
    try:
        return load_safetensors(data)
    except Exception as err:  # safetensors raises its own SafetensorError for any malformed input
        raise FileFormatError(f"'{path}' holds no readable safetensors weights ({type(err).__name__}: {err}). "
                              "The file is corrupt or truncated; save it again.") from err


# ---------------------------------------------------------------- Keras formats, by extension
_KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _save_keras_model(model, path: Path, overwrite: bool, include_optimizer: bool) -> None:
    from cnnlab.io import keras_format, keras_h5

    if str(path).endswith(".weights.h5"):
        raise ConfigError(f"save: '{path}' names a weights file; use model.save_weights('{path}') for weights only, "
                          f"or save the whole model as '{str(path)[:-len('.weights.h5')]}.keras'. "
                          f"Received: filepath={str(path)!r}")
    _refuse_overwrite(path, overwrite)
    _require_built(model)
    if path.suffix == ".keras":
        keras_format.save_keras(model, path, include_optimizer)
    else:
        keras_h5.save_h5(model, path, include_optimizer)


def _load_keras_model(path: Path, custom_objects, compile: bool):
    from cnnlab.io import keras_format, keras_h5

    if str(path).endswith(".weights.h5"):
        raise FileFormatError(f"'{path}' holds weights only. Build the model in code and call "
                              "model.load_weights(path).")
    if path.suffix == ".keras":
        return keras_format.load_keras(path, custom_objects, compile)
    return keras_h5.load_h5(path, custom_objects, compile)


def _load_keras_weights(model, path: Path, skip_mismatch: bool) -> None:
    from cnnlab.io import keras_format, keras_h5

    _require_built(model)
    if path.suffix == ".keras" or str(path).endswith(".weights.h5") and not _is_legacy_h5(path):
        keras_format.load_weights_h5(model, path, skip_mismatch)
    else:
        keras_h5.load_weights_legacy_h5(model, path, skip_mismatch)


def _is_legacy_h5(path: Path) -> bool:
    """A tf.keras 2 weights file has ``layer_names`` at its root; a Keras 3 one has ``layers/``."""
    from cnnlab.io.keras_format import open_h5

    with open_h5(path.read_bytes(), path) as f:
        return "layer_names" in f.attrs or "model_weights" in f

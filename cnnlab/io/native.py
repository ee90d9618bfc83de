"""The native ``.cnnlab`` model file and ``.weights.safetensors`` weight files.

A ``.cnnlab`` file is a zip holding ``config.json`` (architecture),
``model.safetensors`` (weights), optionally ``optimizer.safetensors``, and
``metadata.json``. Nothing in it is ever unpickled or executed. Writes are
atomic: the file appears complete or not at all.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import zipfile
from pathlib import Path

import torch

from cnnlab._object_registration import CustomObjectScope, custom_objects_for_loading
from cnnlab._version import __version__
from cnnlab.errors import ArgumentTypeError, CnnlabError, ConfigError, FileFormatError, ShapeError
from cnnlab.io import safetensors_stream as st
from cnnlab.io._checks import check_weight_kind
from cnnlab.io.atomic import atomic_write
from cnnlab.io.config_checks import build_from_file, checked_compile_config
from cnnlab.io.limits import MAX_JSON_BYTES
from cnnlab.io.safe_json import load_json
from cnnlab.io.zip_members import backed_bytes, declared_bytes, open_archive, open_member, read_member, write_stored
from cnnlab.layers.serialization import is_graph_model, layer_from_config, layer_to_config

FORMAT_VERSION = 1
# config.json and metadata.json: one bound for every JSON cnnlab parses (io/limits.py); a bigger member is a zip
# bomb, stopped before it fills memory.
MAX_JSON_MEMBER_BYTES = MAX_JSON_BYTES
_MEMBERS = ("config.json", "model.safetensors", "optimizer.safetensors", "metadata.json")
_INDEX = re.compile(r"(\d+):")


def _weights_list(model) -> list[tuple[str, torch.Tensor]]:
    return [(f"{i:04d}:{v.path}", v.value) for i, v in enumerate(model.weights)]


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _write_safetensors_member(zf: zipfile.ZipFile, name: str, tensors: list[tuple[str, torch.Tensor]]) -> None:
    prefix, size = st.layout(tensors)
    write_stored(zf, name, size, lambda fh: st.write(fh, tensors, prefix))


def _weight_order(name: str):
    """Weights are stored as ``NNNN:path``; order by the number (lexical order breaks past 9999 weights)."""
    match = _INDEX.match(name)
    return (0, int(match.group(1)), name) if match else (1, 0, name)


def _read_weights(fh, model, source, where: str, skip_mismatch: bool = False, direct: bool = False) -> None:
    """Stream a safetensors weights file from ``fh`` into ``model``'s variables, in the saved order.

    The header is checked against the model (count, dtypes, shapes, bytes) before any tensor is read. With
    ``direct`` each tensor is assigned as soon as it is read (a fresh model: peak memory = one tensor);
    otherwise all are read first, so a failure leaves the user's model unchanged.
    """
    variables = model.weights
    budget = fh.limit if skip_mismatch else _data_bound(variables)
    entries = st.read_header(fh, source, where, len(variables), budget)
    ordered = sorted(entries, key=lambda e: _weight_order(e.name))
    if len(ordered) != len(variables):
        raise ShapeError(
            f"'{source}' ({where}) holds {len(ordered)} weights, but model '{model.name}' has {len(variables)}. The "
            "file was saved from a different architecture; build the same model first (or use load_model for the "
            "whole model)."
        )
    target = {}
    for var, entry in zip(variables, ordered):
        value = var.value
        check_weight_kind(st.KINDS[entry.code], entry.code, value.is_floating_point(), source,
                          f"{where} tensor {entry.name!r}")
        if entry.shape != tuple(var.shape):
            if skip_mismatch:
                continue
            raise ShapeError(
                f"'{source}': weight {entry.name.split(':', 1)[-1]!r} has shape {entry.shape}, but the model's "
                f"{var.path!r} has shape {tuple(var.shape)}. The architectures differ; use skip_mismatch=True to "
                "load the matching weights only."
            )
        target[entry.name] = var
    pending = []
    into = (lambda e: target[e.name].value) if direct else (lambda e: None)
    for entry, tensor in st.iter_tensors(fh, entries, source, where, lambda e: e.name in target, into):
        if tensor is None:
            continue
        if direct:
            if tensor is not target[entry.name].value:
                target[entry.name].assign(tensor)
        else:
            pending.append((target[entry.name], tensor))
    for var, tensor in pending:
        var.assign(tensor)


class _PlainFile:
    """A weights file read through the same interface as a zip member (its real size bounds it)."""

    def __init__(self, fh, limit: int) -> None:
        self.read, self.limit = fh.read, limit


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
    tensors = _weights_list(model)
    prefix, _ = st.layout(tensors, metadata={"format": "cnnlab-weights", "version": "1"})
    with atomic_write(path) as fh:
        st.write(fh, tensors, prefix)


def load_weights(model, filepath, skip_mismatch: bool = False) -> None:
    """Load weights from ``*.weights.safetensors`` or from a whole ``.cnnlab`` model file."""
    path = _existing_file(filepath)
    if path.suffix in _KERAS_SUFFIXES:
        return _load_keras_weights(model, path, skip_mismatch)
    _require_built(model)
    if str(path).endswith(".cnnlab"):
        with open_archive(path, _MEMBERS, ".cnnlab") as zf:
            bound = _weights_member_bound(model) if not skip_mismatch else declared_bytes(zf, "model.safetensors")
            with _weights_member(zf, path, model, bound) as fh:
                _read_weights(fh, model, path, "model.safetensors", skip_mismatch)
        return
    try:
        with open(path, "rb") as raw:
            _read_weights(_PlainFile(raw, os.fstat(raw.fileno()).st_size), model, path, "the weights file",
                          skip_mismatch)
    except OSError as err:
        raise FileFormatError(f"'{path}' cannot be read ({err.strerror or err}). Check the file's permissions "
                              "and that it is readable.") from err


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
    # Written straight into the temporary file: JSON deflated, tensors stored and streamed one by one, so a
    # save needs no memory beyond the model's own (floats do not deflate anyway).
    with atomic_write(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", config)
        _write_safetensors_member(zf, "model.safetensors", _weights_list(model))
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None and hasattr(optimizer, "state_dict"):
            _write_safetensors_member(zf, "optimizer.safetensors", sorted(optimizer.state_dict().items()))
        zf.writestr("metadata.json", json.dumps(_metadata(model)))


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
    with open_archive(path, _MEMBERS, ".cnnlab") as zf:
        config = _read_json(_read_member(zf, "config.json", path), path, "config.json")
        meta = _read_json(_read_member(zf, "metadata.json", path), path, "metadata.json")
        if meta.get("format") != "cnnlab-model":
            raise FileFormatError(f"'{path}' is not a cnnlab model file (metadata format {meta.get('format')!r}). "
                                  "Load it with the library that wrote it, or re-save the model with cnnlab.")
        model = build_from_file(config, lambda: layer_from_config(config, custom_objects), source=path,
                                member="config.json", stored_bytes=backed_bytes(zf, "model.safetensors", path,
                                                                      ".cnnlab"))
        build_config = config.get("build_config")
        build_shape = build_config.get("input_shape") if isinstance(build_config, dict) else None
        if not model.built and _is_shape(build_shape):
            model.build(tuple(build_shape))  # a subclassed model builds by running once on zeros
        _require_built(model, path)
        with _weights_member(zf, path, model, _weights_member_bound(model)) as fh:
            _read_weights(fh, model, path, "model.safetensors", direct=True)
        compile_config = checked_compile_config(meta.get("compile_config"), path,
                                                "metadata.json key 'compile_config'") if compile else None
        if compile_config and hasattr(model, "_compile_from_config"):
            try:
                model._compile_from_config(compile_config, custom_objects)
            except ConfigError as err:  # e.g. a learning rate of -1e30: name the file and the member
                raise FileFormatError(f"'{path}': metadata.json key 'compile_config': {err}") from err
            if "optimizer.safetensors" in zf.namelist():
                _load_optimizer_state(zf, path, model.optimizer, [v.value for v in model.trainable_weights])
    return model


def _data_bound(variables) -> int:
    """The most tensor bytes weights for ``variables`` can take: any float width loads, so count the widest."""
    return sum(v.value.numel() for v in variables) * st.WIDEST


def _weights_member_bound(model) -> int:
    """The most bytes the weights member of ``model`` needs: its weights plus the safetensors header."""
    return _data_bound(model.weights) + st.header_bound(len(model.weights))


def _weights_member(zf: zipfile.ZipFile, path: Path, model, bound: int):
    need = f"model '{model.name}' needs at most {bound} bytes (its {len(model.weights)} weights plus the header)"
    return open_member(zf, "model.safetensors", path, bound, need, ".cnnlab")


def _load_optimizer_state(zf: zipfile.ZipFile, path: Path, optimizer, variables: list) -> None:
    """Read optimizer.safetensors, bounded by and checked against the state ``optimizer`` has for ``variables``."""
    optimizer.build(variables)
    expected = optimizer.state_dict()
    expected.setdefault("learning_rate", torch.tensor(0.0, dtype=torch.float64))  # absent under a schedule
    where = "optimizer.safetensors"
    bound = _nbytes(expected.values()) + st.header_bound(len(expected))
    need = f"optimizer '{optimizer.name}' ({type(optimizer).__name__}) needs at most {bound} bytes for its state"
    with open_member(zf, where, path, bound, need, ".cnnlab") as fh:
        entries = st.read_header(fh, path, where, len(expected), _nbytes(expected.values()))
        for entry in entries:
            reference = expected.get(entry.name)
            if reference is None or entry.shape != tuple(reference.shape):
                got = "is not part of its state" if reference is None else f"has shape {entry.shape}, not " \
                                                                            f"{tuple(reference.shape)}"
                raise FileFormatError(
                    f"'{path}': {where} tensor {entry.name!r} {got} for optimizer '{optimizer.name}' "
                    f"({type(optimizer).__name__}). The state belongs to another optimizer or model; load with "
                    "compile=False, or re-save the model.")
            check_weight_kind(st.KINDS[entry.code], entry.code, reference.is_floating_point(), path,
                              f"{where} tensor {entry.name!r}")
        state = dict(st.iter_tensors(fh, entries, path, where))
    try:
        optimizer.load_state_dict({entry.name: tensor for entry, tensor in state.items()})
    except ConfigError as err:
        raise FileFormatError(f"'{path}': {where}: {err}") from err


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


def _read_member(zf: zipfile.ZipFile, name: str, path: Path) -> bytes:
    return read_member(zf, name, path, MAX_JSON_MEMBER_BYTES, ".cnnlab")


def _read_json(data: bytes, path: Path, name: str) -> dict:
    return load_json(data, source=path, member=name, expect=dict)


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
    from cnnlab.io.h5_safety import file_window
    from cnnlab.io.keras_format import open_h5

    with file_window(path) as window, open_h5(window, path) as f:  # read in place: no copy of the file
        return "layer_names" in f.attrs or "model_weights" in f

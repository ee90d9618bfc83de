"""Keras 3 ``.keras`` model files and ``.weights.h5`` weight files, read and written with h5py.

A ``.keras`` file is a zip of ``config.json`` (architecture and compile
config), ``model.weights.h5`` and ``metadata.json``. In the HDF5 file each
layer's variables sit at ``layers/<class name in snake_case, numbered within
its model>/vars/<i>`` (trainable first), the model's optimizer at
``optimizer/vars/<i>`` (``[iteration, learning_rate, slots of each trainable
variable in turn]``), the layout Keras 3.x writes and reads.

Safety: zip members are read into memory with a size bound (nothing is
extracted to disk); member names other than the three above, paths with
``..`` or a leading ``/``, and symlinks are refused. Before any data is read
the HDF5 tree is checked: external links, soft links, external or virtual
storage, non-numeric datasets and datasets that declare more bytes than the
file holds are refused (:func:`check_h5_tree`).
"""

from __future__ import annotations

import datetime
import io
import json
import stat
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    import h5py

from cnnlab.errors import CnnlabError, ConfigError, FileFormatError, ShapeError
from cnnlab.io.atomic import atomic_write
from cnnlab.layers.base import to_snake_case
from cnnlab.layers.serialization import is_model, layer_from_config

KERAS_VERSION_WRITTEN = "3.15.1"  # the Keras version whose layout these files follow (checked in make compat)
MAX_MEMBER_BYTES = 4 << 30  # refuse zip members or datasets that claim more than 4 GiB
MAX_JSON_BYTES = 64 << 20  # a model config is a few kB; 64 MiB leaves room for huge graphs
_MEMBERS = ("config.json", "model.weights.h5", "metadata.json")
_SYMLINK = 0o120000


# ------------------------------------------------------------------ HDF5 safety
def open_h5(data: bytes, source) -> "h5py.File":
    """Open HDF5 bytes read-only in memory, after checking the whole tree with :func:`check_h5_tree`."""
    h5py = _h5py()
    try:
        handle = h5py.File(io.BytesIO(data), "r")
    except OSError as err:
        raise FileFormatError(f"'{source}' is not a readable HDF5 file ({err}). It may be truncated or another "
                              "format; check that the copy or download finished, or save the model again.") from err
    try:
        check_h5_tree(handle, len(data), source)
    except BaseException:
        handle.close()
        raise
    return handle


def check_h5_tree(handle, file_size: int, source) -> None:
    """Refuse links, external storage and oversized datasets anywhere in an open HDF5 file.

    Raises:
        FileFormatError: naming the offending path.
    """
    h5py = _h5py()
    pending = [handle]
    while pending:
        group = pending.pop()
        for name in group:
            path = f"{group.name.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise FileFormatError(f"'{source}': {path} is an external link to {link.filename!r}; a model file "
                                      "must not read other files. Refusing to load it.")
            if isinstance(link, h5py.SoftLink):
                raise FileFormatError(f"'{source}': {path} is a soft link to {link.path!r}; Keras never writes "
                                      "links, so the file was crafted or edited. Refusing to load it.")
            obj = group[name]
            if isinstance(obj, h5py.Group):
                pending.append(obj)
            else:
                _check_dataset(obj, path, file_size, source)


def _check_dataset(ds, path: str, file_size: int, source) -> None:
    if ds.id.get_create_plist().get_external_count() > 0 or ds.is_virtual:
        raise FileFormatError(f"'{source}': dataset {path} keeps its data outside the file (external or virtual "
                              "storage). Refusing to load it.")
    if ds.dtype.kind not in "biuf":
        raise FileFormatError(f"'{source}': dataset {path} has dtype {ds.dtype}; weights must be numbers.")
    declared = int(np.prod(ds.shape, dtype=np.int64)) * ds.dtype.itemsize
    if declared > MAX_MEMBER_BYTES:
        raise FileFormatError(f"'{source}': dataset {path} declares {declared} bytes, over the "
                              f"{MAX_MEMBER_BYTES}-byte limit. Refusing to load it.")
    if ds.chunks is None and declared:  # contiguous: the bytes must really be in the file
        offset = ds.id.get_offset()
        if offset is None or offset + declared > file_size:
            raise FileFormatError(
                f"'{source}': dataset {path} declares {declared} bytes but the file holds only {file_size} "
                "bytes in all; it is truncated or crafted. Refusing to load it.")


def read_dataset(ds) -> np.ndarray:
    return np.asarray(ds[()])


def assign_weight(var, ds, where: str, skip_mismatch: bool) -> None:
    """Copy dataset ``ds`` into ``var``; on a shape mismatch skip it or raise ShapeError naming ``where``."""
    value = read_dataset(ds)
    if tuple(value.shape) != var.shape:
        if skip_mismatch:
            return
        raise ShapeError(f"{where} has shape {tuple(value.shape)}, but '{var.path}' has shape {var.shape}. "
                         "The architectures differ.")
    var.assign(value)


def _h5py():
    try:
        import h5py
    except ImportError as err:
        raise ConfigError("Keras files (.keras, .h5) need h5py: pip install 'cnnlab[keras]' (or pip install h5py).") \
            from err
    return h5py


# -------------------------------------------------------- which variables go where
def own_variables(layer) -> list:
    """A layer's own variables in Keras's saving order: trainable ones first."""
    own = list(layer._variables)
    return [v for v in own if v._trainable] + [v for v in own if not v._trainable]


def variable_groups(model, prefix: str = "") -> list[tuple[str, object, list]]:
    """``(h5 path, layer, variables)`` for a model and, recursively, its layers (Keras 3's walk)."""
    groups = [(f"{prefix}vars" if not prefix else f"{prefix}/vars", model, own_variables(model))]
    used: dict[str, int] = {}
    for layer in model.layers:
        base = to_snake_case(type(layer).__name__)
        used[base] = used.get(base, -1) + 1
        key = base if used[base] == 0 else f"{base}_{used[base]}"
        path = f"{prefix}/layers/{key}" if prefix else f"layers/{key}"
        if is_model(layer):
            groups.extend(variable_groups(layer, path))
        else:
            groups.append((f"{path}/vars", layer, own_variables(layer)))
    return groups


# ------------------------------------------------------------------ optimizer state
def optimizer_to_keras(optimizer) -> list[np.ndarray]:
    """cnnlab optimizer state as Keras 3's variable list: iteration, learning rate, then slots per variable."""
    state = optimizer.state_dict()
    values = [np.asarray(int(state["iterations"]), dtype=np.int64)]
    if "learning_rate" in state:
        values.append(np.asarray(float(state["learning_rate"]), dtype=np.float32))
    slots = list(optimizer._slots.items())
    count = len(slots[0][1]) if slots else 0
    for i in range(count):
        values.extend(tensors[i].detach().cpu().numpy() for _, tensors in slots)
    return values


def optimizer_from_keras(model, values: list[np.ndarray], source) -> None:
    """Load Keras's optimizer variables into ``model.optimizer`` (built on the trainable weights)."""
    optimizer = model.optimizer
    optimizer.build([v.value for v in model.trainable_weights])
    slots = list(optimizer._slots.items())
    count = len(slots[0][1]) if slots else 0
    n_slots = len(slots) * count
    if n_slots and len(values) in (1, 2):
        # Keras writes only [iteration, learning_rate] for an optimizer that never built its slots
        # (e.g. a model loaded from .h5 and saved again before training): keep the step, start slots at zero.
        warnings.warn(f"'{source}': the saved {type(optimizer).__name__} state has no per-variable slots; "
                      "only the step count and learning rate were restored.", stacklevel=3)
        n_slots = count = 0
    has_lr = len(values) == n_slots + 2
    if len(values) != n_slots + 1 + has_lr:
        raise FileFormatError(
            f"'{source}': the saved {type(optimizer).__name__} state has {len(values)} variables, but this model "
            f"needs {n_slots + 2} (iteration, learning rate and {n_slots} slots). It was saved for another "
            "model or optimizer.")
    state = {"iterations": torch.tensor(int(values[0]), dtype=torch.int64)}
    if has_lr:
        state["learning_rate"] = torch.tensor(float(values[1]), dtype=torch.float64)
    prefix = optimizer._state_prefix()
    rest = iter(values[1 + has_lr:])
    for i in range(count):
        for name, _ in slots:
            state[f"{prefix}/{name}/{i}"] = torch.as_tensor(np.array(next(rest)))
    for name in optimizer._scalars:
        state[f"{prefix}/{name}"] = torch.tensor(optimizer._scalars[name], dtype=torch.float64)
    if count == 0 and slots:  # keep the freshly built (zero) slots
        state.update({k: v for k, v in optimizer.state_dict().items() if k not in state and k != "learning_rate"})
    optimizer.load_state_dict(state)


def compile_from_keras(model, compile_config: dict | None, source, custom_objects: dict | None = None) -> bool:
    """Compile ``model`` from Keras's compile config; warn and leave it uncompiled when that is impossible."""
    if not isinstance(compile_config, dict) or not compile_config.get("optimizer"):
        return False
    try:
        model._compile_from_config({key: compile_config.get(key) for key in (
            "optimizer", "loss", "metrics", "loss_weights", "weighted_metrics")}, custom_objects)
    except (CnnlabError, TypeError, ValueError) as err:
        warnings.warn(f"'{source}': the model was loaded uncompiled, since its compile settings could not be "
                      f"rebuilt ({err}). Call model.compile(...) before training.", stacklevel=3)
        return False
    return True


def keras_compile_config(model) -> dict | None:
    """Keras 3's ``compile_config`` for a compiled cnnlab model (None when it cannot be saved)."""
    get = getattr(model, "get_compile_config", None)
    return (get() or None) if get is not None else None


def _keras_optimizer_ready(model, include_optimizer: bool) -> bool:
    optimizer = getattr(model, "optimizer", None)
    return bool(include_optimizer and optimizer is not None and getattr(optimizer, "built", False)
                and keras_compile_config(model))


# ------------------------------------------------------------------- weights.h5
def _write_weights_h5(model, include_optimizer: bool) -> bytes:
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, layer, variables in variable_groups(model):
            group = f.require_group(path)
            group.attrs["name"] = layer.name
            for i, var in enumerate(variables):
                group.create_dataset(str(i), data=var.numpy())
        if _keras_optimizer_ready(model, include_optimizer):
            group = f.require_group("optimizer/vars")
            group.attrs["name"] = model.optimizer.name
            for i, value in enumerate(optimizer_to_keras(model.optimizer)):
                group.create_dataset(str(i), data=value)
    return buffer.getvalue()


def _read_weights_h5(model, data: bytes, source, skip_mismatch: bool = False) -> list[np.ndarray] | None:
    """Assign the weights in Keras 3 layout; return the optimizer variables if the file has them."""
    with open_h5(data, source) as f:
        for path, layer, variables in variable_groups(model):
            group = f.get(path)
            stored = sorted(group.keys(), key=_index_key) if group is not None else []
            if len(stored) != len(variables):
                if skip_mismatch:
                    continue
                raise ShapeError(
                    f"'{source}': layer '{layer.name}' ({type(layer).__name__}) has {len(variables)} weights, but "
                    f"the file holds {len(stored)} at {path}. The file was saved from a different architecture.")
            for var, key in zip(variables, stored):
                assign_weight(var, group[key], f"'{source}': weight {path}/{key}", skip_mismatch)
        opt = f.get("optimizer/vars")
        if opt is None or not len(opt):
            return None
        return [read_dataset(opt[k]) for k in sorted(opt.keys(), key=_index_key)]


def _index_key(name: str):
    return (0, int(name)) if name.isdigit() else (1, name)


def save_weights_h5(model, path: Path) -> None:
    """Write ``*.weights.h5`` exactly as Keras 3's ``model.save_weights`` lays it out (atomic)."""
    data = _write_weights_h5(model, include_optimizer=False)
    with atomic_write(path) as fh:
        fh.write(data)


def load_weights_h5(model, path: Path, skip_mismatch: bool = False) -> None:
    """Load a Keras 3 ``*.weights.h5`` file (or the weights of a ``.keras`` file) into ``model``."""
    if str(path).endswith(".keras"):
        with _open_keras_zip(path) as zf:
            data = _read_member(zf, "model.weights.h5", path, MAX_MEMBER_BYTES)
    else:
        data = path.read_bytes()
    _read_weights_h5(model, data, path, skip_mismatch)


# ----------------------------------------------------------------------- .keras
def save_keras(model, path: Path, include_optimizer: bool = True) -> None:
    """Write a Keras 3 ``.keras`` zip: config.json, model.weights.h5, metadata.json (atomic)."""
    from cnnlab.io.keras_config import model_to_keras_config

    try:
        config = model_to_keras_config(model)
    except NotImplementedError as err:
        raise ConfigError(f"save: {err}") from err
    config["build_config"] = {"input_shape": None}
    compile_config = keras_compile_config(model)
    if compile_config:
        config["compile_config"] = compile_config
    metadata = {"keras_version": KERAS_VERSION_WRITTEN,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"), "saved_by": "cnnlab"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(metadata))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", _write_weights_h5(model, include_optimizer))
    with atomic_write(path) as fh:
        fh.write(buffer.getvalue())


def load_keras(path: Path, custom_objects: dict | None = None, compile: bool = True):
    """Load a ``.keras`` file written by Keras 3 or by cnnlab."""
    from cnnlab.io.keras_config import model_from_keras_config

    with _open_keras_zip(path) as zf:
        config = _read_json(_read_member(zf, "config.json", path, MAX_JSON_BYTES), path, "config.json")
        weights = _read_member(zf, "model.weights.h5", path, MAX_MEMBER_BYTES)
    model = layer_from_config(model_from_keras_config(config, custom_objects), custom_objects)
    optimizer_values = _read_weights_h5(model, weights, path)
    if compile and compile_from_keras(model, config.get("compile_config"), path, custom_objects) \
            and optimizer_values:
        optimizer_from_keras(model, optimizer_values, path)
    return model


def _open_keras_zip(path: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise FileFormatError(f"'{path}' is not a .keras file (not a zip archive: {err}). It may be truncated, or "
                              "an HDF5 model misnamed: rename an HDF5 model file to end with .h5.") from err
    try:
        for info in zf.infolist():
            _check_member(info, path)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_member(info: zipfile.ZipInfo, path: Path) -> None:
    name = info.filename
    if name.startswith(("/", "\\")) or ".." in Path(name.replace("\\", "/")).parts or ":" in name:
        raise FileFormatError(f"'{path}' holds a member with an unsafe path {name!r}; refusing to load it.")
    if stat.S_IFMT(info.external_attr >> 16) == _SYMLINK:
        raise FileFormatError(f"'{path}' holds a symbolic link {name!r}; refusing to load it.")
    if name not in _MEMBERS:
        raise FileFormatError(f"'{path}' holds an unexpected member {name!r} (a .keras file has only "
                              f"{', '.join(_MEMBERS)}); refusing to load it.")
    if info.file_size > MAX_MEMBER_BYTES:
        raise FileFormatError(f"'{path}': member {name!r} declares {info.file_size} bytes, over the "
                              f"{MAX_MEMBER_BYTES}-byte limit; refusing to load it.")


def _read_member(zf: zipfile.ZipFile, name: str, path: Path, limit: int) -> bytes:
    try:
        with zf.open(name) as fh:
            data = fh.read(limit + 1)
    except KeyError:
        raise FileFormatError(f"'{path}' is missing {name}: the file is incomplete or not a .keras model.") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise FileFormatError(f"'{path}': {name} is corrupt ({err}).") from err
    if len(data) > limit:
        raise FileFormatError(f"'{path}': {name} expands beyond {limit} bytes; refusing to load it.")
    return data


def _read_json(data: bytes, path, name: str) -> dict:
    try:
        value = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(f"'{path}': {name} is not valid JSON ({err}).") from err
    if not isinstance(value, dict):
        raise FileFormatError(f"'{path}': {name} must hold a JSON object.")
    return value

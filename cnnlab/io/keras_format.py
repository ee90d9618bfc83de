"""Keras 3 ``.keras`` model files and ``.weights.h5`` weight files, read and written with h5py.

A ``.keras`` file is a zip of ``config.json`` (architecture and compile
config), ``model.weights.h5`` and ``metadata.json``. In the HDF5 file each
layer's variables sit at ``layers/<class name in snake_case, numbered within
its model>/vars/<i>`` (trainable first), the model's optimizer at
``optimizer/vars/<i>`` (``[iteration, learning_rate, slots of each trainable
variable in turn]``), the layout Keras 3.x writes and reads.

Safety: the weights member is read in place when stored (as Keras and cnnlab
write it), after its CRC is checked; a deflated one is inflated, with a size
bound, into an anonymous temporary file (no name, gone when closed), so memory
stays near the model's size either way. Member names other than the three above, paths with
``..`` or a leading ``/``, and symlinks are refused. Before any data is read
the HDF5 tree is walked once, bounded by what the model can need, and links,
cycles, external storage and datasets that declare more than they hold are
refused (:mod:`cnnlab.io.h5_safety`); each dataset is read only after its
shape and dtype match the variable it loads into, optimizer slots included.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import struct
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from cnnlab.errors import CnnlabError, ConfigError, FileFormatError, ShapeError
from cnnlab.io.atomic import atomic_write, checkpoint_error
from cnnlab.io.config_checks import build_from_file, checked_compile_config
from cnnlab.io.limits import CONTAINER_BASE_BYTES, HDF5_OBJECT_BYTES, MAX_JSON_BYTES, MAX_OPTIMIZER_SLOTS
from cnnlab.io.safe_json import load_json
from cnnlab.io.h5_safety import (
    Window,
    dataset_at,
    file_window,
    group_at,
    h5py_module as _h5py,
    object_budget,
    open_h5,
    read_checked,
    read_into,
    read_scalar,
)
from cnnlab.io.zip_members import backed_bytes, corrupt_member, open_archive, open_member, read_member, write_stored
from cnnlab.layers.base import to_snake_case
from cnnlab.layers.serialization import is_model, layer_from_config

KERAS_VERSION_WRITTEN = "3.15.1"  # the Keras version whose layout these files follow (checked in make compat)
_MEMBERS = ("config.json", "model.weights.h5", "metadata.json")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip member's local header (APPNOTE 4.3.7): 30 bytes
_LOCAL_SIGNATURE = b"PK\x03\x04"
_UTF8_NAME = 0x800  # general purpose bit 11: the name is UTF-8, else cp437
_COPY_BYTES = 8 << 20  # read at a time when checking a CRC or inflating a member


# ------------------------------------------------------------------ HDF5 safety
def assign_weight(var, ds, source, skip_mismatch: bool) -> None:
    """Copy dataset ``ds`` into ``var`` once its shape and dtype match (on a shape mismatch: skip, or ShapeError)."""
    if skip_mismatch and tuple(ds.shape) != var.shape:
        return
    value = read_into(ds, var.value, tuple(var.shape), source, f"'{var.path}'")
    if value is not None:  # the variable's storage could not be read into (a GPU or bfloat16 variable)
        var.assign(value)


def _object_budget(model) -> int:
    groups = variable_groups(model)
    return object_budget(len(groups), sum(len(variables) for _, _, variables in groups))


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
    """cnnlab optimizer state as Keras 3's variable list: iteration, learning rate, then slots per variable.

    A ``LossScaleOptimizer`` is Keras's list for the wrapper: its own (never advanced) iteration and zero
    learning rate, ``step_counter``, ``dynamic_scale``, then the inner optimizer's list; Keras also writes the
    inner list alone under ``optimizer/inner_optimizer`` (see :func:`inner_optimizer_to_keras`).
    """
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None:
        return [np.asarray(0, dtype=np.int64), np.asarray(0.0, dtype=np.float32),
                np.asarray(int(optimizer.step_counter), dtype=np.int64),
                np.asarray(float(optimizer.dynamic_scale), dtype=np.float32), *optimizer_to_keras(inner)]
    state = optimizer.state_dict()
    values = [np.asarray(int(state["iterations"]), dtype=np.int64)]
    if "learning_rate" in state:
        values.append(np.asarray(float(state["learning_rate"]), dtype=np.float32))
    slots = list(optimizer._slots.items())
    count = len(slots[0][1]) if slots else 0
    for i in range(count):
        values.extend(tensors[i].detach().cpu().numpy() for _, tensors in slots)
    return values


def inner_optimizer_to_keras(optimizer) -> list[np.ndarray] | None:
    """The inner optimizer's list that Keras writes beside a ``LossScaleOptimizer``'s, or None."""
    inner = getattr(optimizer, "inner_optimizer", None)
    return None if inner is None else optimizer_to_keras(inner)


_LOSS_SCALE_HEAD = 4  # the wrapper's iteration, learning rate, step_counter, dynamic_scale


def optimizer_from_keras(model, datasets: list, source) -> None:
    """Load Keras's optimizer variables into ``model.optimizer`` (built on the trainable weights).

    ``datasets`` are the HDF5 datasets in Keras's order; each is read only after its shape matches the slot it
    fills, so a file cannot make the loader allocate more than the optimizer itself holds.
    """
    optimizer = model.optimizer
    optimizer.build([v.value for v in model.trainable_weights])
    if getattr(optimizer, "inner_optimizer", None) is not None:
        _loss_scale_from_keras(optimizer, datasets, source)
        return
    _load_optimizer_state(optimizer, datasets, source)


def _loss_scale_from_keras(optimizer, datasets: list, source) -> None:
    """The wrapper's scale and counter, then the inner optimizer's variables that follow them."""
    if len(datasets) < _LOSS_SCALE_HEAD + 1:
        raise FileFormatError(
            f"'{source}': the saved LossScaleOptimizer state has {len(datasets)} variables, but needs at least "
            f"{_LOSS_SCALE_HEAD + 1} (its iteration, learning rate, step_counter and dynamic_scale, then the inner "
            "optimizer's). It was saved for another optimizer; load with compile=False to skip the optimizer state.")
    counter = read_scalar(datasets[2], source, "the loss scale's step_counter", integral=True)
    scale = read_scalar(datasets[3], source, "the loss scale's dynamic_scale", integral=False)
    _load_optimizer_state(optimizer.inner_optimizer, datasets[_LOSS_SCALE_HEAD:], source)
    prefix = optimizer._state_prefix()
    # Through load_state_dict, so a hostile scale or counter gets the optimizer's own checks.
    optimizer.load_state_dict({**optimizer.inner_optimizer.state_dict(),
                               f"{prefix}/step_counter": torch.tensor(counter, dtype=torch.int64),
                               f"{prefix}/dynamic_scale": torch.tensor(scale, dtype=torch.float64)})


def _load_optimizer_state(optimizer, datasets: list, source) -> None:
    slots = list(optimizer._slots.items())
    count = len(slots[0][1]) if slots else 0
    n_slots = len(slots) * count
    if n_slots and len(datasets) in (1, 2):
        # Keras writes only [iteration, learning_rate] for an optimizer that never built its slots
        # (e.g. a model loaded from .h5 and saved again before training): keep the step, start slots at zero.
        warnings.warn(f"'{source}': the saved {type(optimizer).__name__} state has no per-variable slots; "
                      "only the step count and learning rate were restored.", stacklevel=3)
        n_slots = count = 0
    has_lr = len(datasets) == n_slots + 2
    if len(datasets) != n_slots + 1 + has_lr:
        raise FileFormatError(
            f"'{source}': the saved {type(optimizer).__name__} state has {len(datasets)} variables, but this model "
            f"needs {n_slots + 2} (iteration, learning rate and {n_slots} slots). It was saved for another "
            "model or optimizer; load with compile=False to skip the optimizer state.")
    iterations = read_scalar(datasets[0], source, "the optimizer's iteration count", integral=True)
    state = {"iterations": torch.tensor(iterations, dtype=torch.int64)}
    if has_lr:
        learning_rate = read_scalar(datasets[1], source, "the optimizer's learning rate", integral=False)
        state["learning_rate"] = torch.tensor(learning_rate, dtype=torch.float64)
    prefix = optimizer._state_prefix()
    rest = iter(datasets[1 + has_lr:])
    for i in range(count):
        for name, tensors in slots:
            slot = tensors[i]
            value = read_checked(next(rest), tuple(slot.shape), slot.is_floating_point(), source,
                                 f"{type(optimizer).__name__} slot {name!r} of variable {i}")
            state[f"{prefix}/{name}/{i}"] = torch.from_numpy(value)
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
def _write_weights_h5(model, include_optimizer: bool) -> memoryview:
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, layer, variables in variable_groups(model):
            group = f.require_group(path)
            group.attrs["name"] = layer.name
            for i, var in enumerate(variables):
                group.create_dataset(str(i), data=var.value.detach().cpu().numpy())  # a view: no copy
        if _keras_optimizer_ready(model, include_optimizer):
            group = f.require_group("optimizer/vars")
            group.attrs["name"] = model.optimizer.name
            for i, value in enumerate(optimizer_to_keras(model.optimizer)):
                group.create_dataset(str(i), data=value)
            inner = inner_optimizer_to_keras(model.optimizer)
            if inner is not None:
                group = f.require_group("optimizer/inner_optimizer/vars")
                group.attrs["name"] = model.optimizer.inner_optimizer.name
                for i, value in enumerate(inner):
                    group.create_dataset(str(i), data=value)
    return buffer.getbuffer()  # a view, not a copy: the file is held once while it is saved


def _assign_weights_h5(model, f, source, skip_mismatch: bool = False) -> list | None:
    """Assign the weights in Keras 3 layout from open file ``f``; return the optimizer's datasets, unread."""
    for path, layer, variables in variable_groups(model):
        group = group_at(f, path, source)
        stored = sorted(group.keys(), key=_index_key) if group is not None else []
        if len(stored) != len(variables):
            if skip_mismatch:
                continue
            raise ShapeError(
                f"'{source}': layer '{layer.name}' ({type(layer).__name__}) has {len(variables)} weights, but "
                f"the file holds {len(stored)} at {path}. The file was saved from a different architecture; load "
                "it into the model it was saved from.")
        for var, key in zip(variables, stored):
            assign_weight(var, dataset_at(group, key, source, "weight"), source, skip_mismatch)
    opt = group_at(f, "optimizer/vars", source)
    if opt is None or not len(opt):
        return None
    return [dataset_at(opt, k, source, "optimizer variable") for k in sorted(opt.keys(), key=_index_key)]


def _index_key(name: str):
    return (0, int(name)) if name.isdigit() else (1, name)


def save_weights_h5(model, path: Path) -> None:
    """Write ``*.weights.h5`` exactly as Keras 3's ``model.save_weights`` lays it out (atomic)."""
    data = _write_weights_h5(model, include_optimizer=False)
    with atomic_write(path) as fh:
        fh.write(data)


def load_weights_h5(model, path: Path, skip_mismatch: bool = False) -> None:
    """Load a Keras 3 ``*.weights.h5`` file (or the weights of a ``.keras`` file) into ``model``."""
    with contextlib.ExitStack() as stack:
        if str(path).endswith(".keras"):
            zf = stack.enter_context(open_archive(path, _MEMBERS, ".keras"))
            member = stack.enter_context(_weights_member(zf, path, model))
        else:
            member = stack.enter_context(file_window(path))
        with open_h5(member, path, _object_budget(model)) as f:
            _assign_weights_h5(model, f, path, skip_mismatch)


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
    weights = _write_weights_h5(model, include_optimizer)
    # Weights stored, as Keras writes them (floats do not deflate), straight into the temporary file.
    with atomic_write(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(metadata))
        zf.writestr("config.json", json.dumps(config))
        write_stored(zf, "model.weights.h5", len(weights), lambda member: member.write(weights))


def load_keras(path: Path, custom_objects: dict | None = None, compile: bool = True):
    """Load a ``.keras`` file written by Keras 3 or by cnnlab."""
    from cnnlab.io.keras_config import model_from_keras_config

    with open_archive(path, _MEMBERS, ".keras") as zf:
        config = _read_json(read_member(zf, "config.json", path, MAX_JSON_BYTES, ".keras"), path, "config.json")
        # Keras stores weights uncompressed, so they take at most the bytes of the weights member.
        model = build_from_file(config, lambda: layer_from_config(model_from_keras_config(config, custom_objects),
                                                                  custom_objects),
                                source=path, member="config.json",
                                stored_bytes=backed_bytes(zf, "model.weights.h5", path, ".keras"))
        with _weights_member(zf, path, model) as member, open_h5(member, path, _object_budget(model)) as f:
            optimizer_datasets = _assign_weights_h5(model, f, path)
            compile_config = checked_compile_config(config.get("compile_config"), path,
                                                    "config.json key 'compile_config'") if compile else None
            if compile_config and compile_from_keras(model, compile_config, path, custom_objects) \
                    and optimizer_datasets:
                optimizer_from_keras(model, optimizer_datasets, path)
    return model


@contextlib.contextmanager
def _weights_member(zf: zipfile.ZipFile, path: Path, model) -> Iterator[Window]:
    """model.weights.h5 as a file h5py reads in place, bounded by what ``model`` needs: its weights, the largest
    optimizer state Keras writes for them, and HDF5's headers for the objects the model's layout has.

    A stored member is a window onto the archive itself (its CRC checked first, in one streaming pass). A
    deflated one -- neither Keras nor cnnlab writes one -- is inflated through the bounded stream into an
    anonymous temporary file: HDF5 seeks back and forth, and seeking backwards in a deflate stream restarts it,
    while holding the inflated bytes in memory would double the load's peak. The file goes in the archive's own
    folder (a disk that holds models; /tmp is often RAM) or, when that is not writable, the system's.
    """
    weights = [v.value for v in model.weights]
    trainable = [v.value for v in model.trainable_weights]
    nbytes = sum(t.numel() * t.element_size() for t in weights)
    slots = MAX_OPTIMIZER_SLOTS * sum(t.numel() * t.element_size() for t in trainable)
    bound = CONTAINER_BASE_BYTES + nbytes + slots + HDF5_OBJECT_BYTES * _object_budget(model)
    need = (f"model '{model.name}' needs at most {bound} bytes ({nbytes} of weights, up to {slots} of optimizer "
            "state, and HDF5 headers)")
    name = "model.weights.h5"
    with open_member(zf, name, path, bound, need, ".keras") as stream:  # the size and presence checks
        info = zf.getinfo(name)
        if info.compress_type == zipfile.ZIP_STORED:
            window = _stored_window(zf, info, path)
        else:
            window = _inflated_copy(stream, path)
    with contextlib.closing(window):
        yield window


def _stored_window(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> Window:
    """The data of stored member ``info``, in place, once its local header and CRC are checked."""
    fd = zf.fp.fileno()
    raw = os.pread(fd, _LOCAL_HEADER.size, info.header_offset)
    name = info.orig_filename.encode("utf-8" if info.flag_bits & _UTF8_NAME else "cp437")
    if len(raw) == _LOCAL_HEADER.size:
        signature, *_, name_length, extra_length = _LOCAL_HEADER.unpack(raw)
        start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        stored_name = os.pread(fd, name_length, info.header_offset + _LOCAL_HEADER.size)
    if len(raw) != _LOCAL_HEADER.size or signature != _LOCAL_SIGNATURE or stored_name != name \
            or start + info.file_size > os.fstat(fd).st_size:
        raise corrupt_member(path, info.filename, zipfile.BadZipFile("its local header is missing or disagrees "
                                                                     "with the central directory"))
    window = Window(fd, start, info.file_size)
    crc, buffer = 0, bytearray(min(_COPY_BYTES, info.file_size))
    while count := window.readinto(buffer):
        crc = zlib.crc32(memoryview(buffer)[:count], crc)
    if crc != info.CRC:
        raise corrupt_member(path, info.filename, zipfile.BadZipFile(f"bad CRC-32: {crc:08x}, the directory says "
                                                                     f"{info.CRC:08x}"))
    window.seek(0)
    return window


def _inflated_copy(stream, path: Path) -> Window:
    """Inflate a deflated member from its bounded ``stream`` into an anonymous temporary file."""
    folder = path.parent
    try:
        copy = tempfile.TemporaryFile(dir=folder)
    except OSError:  # a read-only folder: loading must still work
        folder = Path(tempfile.gettempdir())
        copy = tempfile.TemporaryFile(dir=folder)
    try:
        while chunk := stream.read(_COPY_BYTES):  # the stream checks the CRC at its end
            copy.write(chunk)
        copy.flush()
    except OSError as err:
        copy.close()
        raise checkpoint_error(str(folder / "(a temporary copy of model.weights.h5)"), err,
                               kept=f"'{path}' is unchanged.") from err
    except BaseException:
        copy.close()
        raise
    return Window(copy.fileno(), 0, copy.tell(), owner=copy)  # closing the window removes the copy


def _read_json(data: bytes | str, path, name: str) -> dict:
    return load_json(data, source=path, member=name, expect=dict)

"""The files of a `BackupAndRestore` folder, captured, read and checked.

A backup folder is read as untrusted input: every name in ``state.json`` must
be a tensor file of the folder itself (no paths, no links, no devices), every
size is bounded by the model being restored before anything is read, and every
field (epoch, RNG kinds and positions, shapes and dtypes) is checked before any
state is changed. A problem raises :class:`BadBackup` with the field named;
`BackupAndRestore` adds the file and what to do.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import stat
import struct
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import torch

from cnnlab.errors import FileFormatError
from cnnlab.io import safetensors_stream as st
from cnnlab.io.limits import (
    BACKUP_OTHER_TENSORS, BACKUP_RNG_BYTES, MAX_EPOCHS, MAX_OPTIMIZER_SLOTS, MAX_TENSORS, SAFETENSORS_ENTRY_BYTES,
)

# `state.json` is written last and names the tensor file it belongs to, so a crash mid-backup leaves the previous,
# complete backup in use. `state.previous.json` is the generation before: the fallback when the newest is damaged.
STATE_JSON = "state.json"
PREVIOUS_JSON = "state.previous.json"
# A fresh name per backup, so writing one never touches a file in use.
TENSORS_NAME = "state-epoch{epoch}-{token}.safetensors"
TENSORS_GLOB = "state-epoch*.safetensors"
_TENSORS_NAME = re.compile(r"state-epoch(-1|[0-9]{1,10})-[0-9a-f]{8}\.safetensors")
FORMAT = "cnnlab-backup"
VERSION = 1
# MT19937 as NumPy and Python store it: 624 32-bit words and a position in 0..624.
_MT_WORDS = 624
_NUMPY_KIND = "MT19937"
_PYTHON_STATE_VERSION = 3
_WEIGHT_KEY = re.compile(r"weights/([0-9]{5})")
_CUDA_KEY = re.compile(r"rng/cuda/([0-9]{1,4})")
_RNG_KEYS = ("rng/torch", "rng/numpy_keys", "rng/python")


class BadBackup(ValueError):
    """One generation of a backup cannot be used; the message names the field or file and the problem."""


# ------------------------------------------------------------------------------------------------ capturing
def capture_rngs() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every global RNG the trainer draws from, as tensors plus small JSON fields."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    tensors = {
        "rng/torch": torch.get_rng_state(),
        "rng/numpy_keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
        "rng/python": torch.tensor(py_state, dtype=torch.int64),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = state
    fields = {
        "numpy": {
            "kind": np_kind, "pos": int(np_pos), "has_gauss": int(np_has_gauss), "cached_gaussian": float(np_gauss)
        },
        "python": {"version": py_version, "gauss_next": py_gauss},
    }
    return tensors, fields


def set_rngs(tensors: dict[str, torch.Tensor], fields: dict[str, Any]) -> None:
    """Restore what :func:`capture_rngs` captured; both were checked by :func:`check_rngs` first."""
    torch.set_rng_state(tensors["rng/torch"])
    numpy_fields = fields["numpy"]
    keys = tensors["rng/numpy_keys"].numpy().astype(np.uint32)
    np.random.set_state(
        (numpy_fields["kind"], keys, numpy_fields["pos"], numpy_fields["has_gauss"], numpy_fields["cached_gaussian"])
    )
    python_fields = fields["python"]
    random.setstate((python_fields["version"], tuple(tensors["rng/python"].tolist()), python_fields["gauss_next"]))
    cuda_states = [tensors[f"rng/cuda/{i}"] for i in range(torch.cuda.device_count()) if f"rng/cuda/{i}" in tensors]
    if cuda_states and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)


def write_tensors(fh: IO[bytes], tensors: dict[str, torch.Tensor]) -> None:
    """Write ``tensors`` to ``fh`` as a safetensors file, one tensor at a time from its own memory: no
    whole-file buffer and no copies, so a backup needs little more memory than the model already holds."""
    items = list(tensors.items())
    prefix, _ = st.layout(items)
    st.write(fh, items, prefix)


def weight_tensors(model) -> list[torch.Tensor]:
    """The model's weights in the order and layout of ``get_weights``: for cnnlab's variables the tensors
    themselves (``value``, no copy); any other weight object answering ``numpy()`` is copied once."""
    tensors = []
    for weight in model.weights:
        value = getattr(weight, "value", None)
        if isinstance(value, torch.Tensor) and tuple(value.shape) == tuple(weight.shape):
            tensors.append(value.detach())
        else:
            tensors.append(torch.from_numpy(np.ascontiguousarray(weight.numpy())))
    return tensors


def weight_specs(model) -> list[tuple[tuple, np.dtype]]:
    """The shape and dtype of each of the model's weights (the order of ``get_weights``)."""
    return [(tuple(t.shape), np.dtype(_numpy_dtype(t))) for t in weight_tensors(model)]


# ------------------------------------------------------------------------------------------------ reading
@contextlib.contextmanager
def open_regular(path: str, max_bytes: int, mode: str = "rb") -> Iterator[IO]:
    """Open ``path`` for reading only if it is a plain file (not a link, device or FIFO) of at most ``max_bytes``."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise BadBackup(f"'{path}' is missing") from None
    if stat.S_ISLNK(info.st_mode):
        raise BadBackup(f"'{path}' is a symbolic link (to {os.readlink(path)!r}); a backup holds plain files only")
    if not stat.S_ISREG(info.st_mode):
        raise BadBackup(f"'{path}' is not a plain file (a device, FIFO or folder); a backup holds plain files only")
    # O_NOFOLLOW and O_NONBLOCK: the file may have been swapped for a link or a FIFO since lstat.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadBackup(f"'{path}' is not a plain file; a backup holds plain files only")
        if info.st_size > max_bytes:
            raise BadBackup(f"'{path}' is {info.st_size} bytes, more than the {max_bytes} bytes a backup of this "
                            f"model can need")
    except BaseException:
        os.close(fd)
        raise
    if "b" in mode:
        with os.fdopen(fd, mode) as f:
            yield f
    else:
        with os.fdopen(fd, mode, encoding="utf-8") as f:
            yield f


def tensors_path(backup_dir: str, fields: dict[str, Any]) -> str:
    """The tensor file ``fields`` names, which must be a backup tensor file directly inside ``backup_dir``."""
    name = fields.get("tensors")
    if not isinstance(name, str) or not _TENSORS_NAME.fullmatch(name):
        raise BadBackup(f"'tensors' is {_short(name)}, not the name of a tensor file inside the backup folder "
                        f"(state-epoch<N>-<8 hex digits>.safetensors); paths, '..' and other names are refused")
    return os.path.join(backup_dir, name)


def read_tensors(path: str, model_bytes: int, model_tensors: int) -> dict[str, torch.Tensor]:
    """Load the tensor file after bounding its size and header by what a backup of the model can hold; the
    tensors are streamed into their own memory (the file is never held whole)."""
    max_entries = (1 + MAX_OPTIMIZER_SLOTS) * model_tensors + BACKUP_OTHER_TENSORS
    max_header = max_entries * SAFETENSORS_ENTRY_BYTES
    max_data = (1 + MAX_OPTIMIZER_SLOTS) * model_bytes + BACKUP_RNG_BYTES
    with open_regular(path, max_data + max_header) as f:
        head = f.read(8)
        if len(head) < 8:
            raise BadBackup(f"'{path}' is truncated ({len(head)} bytes): not a safetensors file")
        header_bytes = struct.unpack("<Q", head)[0]
        if header_bytes > max_header:
            raise BadBackup(f"'{path}' declares a {header_bytes}-byte header, more than the {max_header} bytes "
                            f"that {max_entries} tensors need")
        f.seek(0)
        try:
            entries = st.read_header(f, path, "the backup", max_entries, max_data)
            return {entry.name: tensor for entry, tensor in st.iter_tensors(f, entries, path, "the backup",
                                                                             finite_only=False)}
        except FileFormatError as err:
            raise BadBackup(str(err).removesuffix(" Re-save the model from its source.")) from err


# ------------------------------------------------------------------------------------------------ checking
def check_fields(fields: Any, n_weights: int) -> int:
    """Check the JSON fields of a generation; return its epoch (the last one completed, -1 for none)."""
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise BadBackup(f"it is not a cnnlab backup ('format' is not {FORMAT!r})")
    if fields.get("version") != VERSION:
        raise BadBackup(f"'version' is {_short(fields.get('version'))}; this cnnlab reads version {VERSION}")
    epoch = _int_field(fields, "epoch", -1, MAX_EPOCHS)
    count = _int_field(fields, "weights", 0, MAX_TENSORS)
    if count != n_weights:
        raise BadBackup(f"'weights' is {count}, but the model has {n_weights} weight tensors: it was written for "
                        "another model")
    numpy_fields = _dict_field(fields, "numpy")
    if numpy_fields.get("kind") != _NUMPY_KIND:
        raise BadBackup(f"'numpy.kind' is {_short(numpy_fields.get('kind'))}; NumPy's global RNG is {_NUMPY_KIND!r}")
    _int_field(numpy_fields, "pos", 0, _MT_WORDS, "numpy.")
    _int_field(numpy_fields, "has_gauss", 0, 1, "numpy.")
    _number_field(numpy_fields, "cached_gaussian", "numpy.")
    python_fields = _dict_field(fields, "python")
    if python_fields.get("version") != _PYTHON_STATE_VERSION:
        raise BadBackup(f"'python.version' is {_short(python_fields.get('version'))}; Python's random module "
                        f"stores version {_PYTHON_STATE_VERSION}")
    if python_fields.get("gauss_next") is not None:
        _number_field(python_fields, "gauss_next", "python.")
    optimizer = fields.get("optimizer")
    if optimizer is not None:
        if not isinstance(optimizer, dict) or not isinstance(optimizer.get("scalars"), dict):
            raise BadBackup(f"'optimizer' is {_short(optimizer)}; expected null or "
                            "{\"learning_rate\": <number>, \"scalars\": {...}}")
        _number_field(optimizer, "learning_rate", "optimizer.")
    return epoch


def check_tensors(tensors: dict[str, torch.Tensor], expected: list[tuple[tuple, np.dtype]]) -> None:
    """Every tensor has an expected name; weights have the model's shapes and dtypes; RNG states are well formed."""
    for key in tensors:
        if key in _RNG_KEYS or key.startswith("optimizer/") or _CUDA_KEY.fullmatch(key):
            continue
        match = _WEIGHT_KEY.fullmatch(key)
        if match is None or int(match.group(1)) >= len(expected):
            raise BadBackup(f"tensor {_short(key)} is not part of a backup of this model")
    for i, (shape, dtype) in enumerate(expected):
        key = f"weights/{i:05d}"
        if key not in tensors:
            raise BadBackup(f"tensor {key!r} is missing")
        got = tensors[key]
        if tuple(got.shape) != tuple(shape) or np.dtype(_numpy_dtype(got)) != np.dtype(dtype):
            raise BadBackup(f"tensor {key!r} is {_numpy_dtype(got)} {tuple(got.shape)}; the model's weight {i} is "
                            f"{np.dtype(dtype).name} {tuple(shape)}: it was written for another model")
    _check_rng_tensor(tensors, "rng/torch", torch.uint8, (torch.get_rng_state().numel(),), 0, 255)
    _check_rng_tensor(tensors, "rng/numpy_keys", torch.int64, (_MT_WORDS,), 0, 2**32 - 1)
    _check_rng_tensor(tensors, "rng/python", torch.int64, (_MT_WORDS + 1,), 0, 2**32 - 1)
    if int(tensors["rng/python"][-1]) > _MT_WORDS:
        raise BadBackup(f"tensor 'rng/python' ends with position {int(tensors['rng/python'][-1])}; the Mersenne "
                        f"Twister position is 0..{_MT_WORDS}")
    for key in tensors:
        if _CUDA_KEY.fullmatch(key) and (tensors[key].dtype != torch.uint8 or tensors[key].dim() != 1):
            raise BadBackup(f"tensor {key!r} is {tensors[key].dtype} {tuple(tensors[key].shape)}; a CUDA RNG state "
                            "is a 1-D uint8 tensor")


def _check_rng_tensor(tensors, key: str, dtype: torch.dtype, shape: tuple, low: int, high: int) -> None:
    got = tensors.get(key)
    if got is None:
        raise BadBackup(f"tensor {key!r} is missing")
    if got.dtype != dtype or tuple(got.shape) != shape:
        raise BadBackup(f"tensor {key!r} is {got.dtype} {tuple(got.shape)}; an RNG state there is {dtype} {shape}")
    if got.numel() and (int(got.min()) < low or int(got.max()) > high):
        raise BadBackup(f"tensor {key!r} holds values outside {low}..{high}: not an RNG state")


def _numpy_dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _int_field(fields: dict, name: str, low: int, high: int, prefix: str = "") -> int:
    value = fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadBackup(f"'{prefix}{name}' is {_short(value)}; expected a whole number from {low} to {high}")
    return value


def _number_field(fields: dict, name: str, prefix: str = "") -> float:
    value = fields.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadBackup(f"'{prefix}{name}' is {_short(value)}; expected a finite number")
    return float(value)


def _dict_field(fields: dict, name: str) -> dict:
    value = fields.get(name)
    if not isinstance(value, dict):
        raise BadBackup(f"'{name}' is {_short(value)}; expected a JSON object")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

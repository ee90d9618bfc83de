"""The bounds every reader of an untrusted file applies, in one place (trust: bounded time and memory).

A file is refused, with its name and the place in it, as soon as it asks for more than these -- before the
memory is allocated. The numbers are far above what any real model needs: Keras's largest applications
have about 800 layers, 1,000 weight tensors and configs nested about 12 levels deep.
"""

from __future__ import annotations

import os

from cnnlab.errors import FileFormatError

# JSON (config.json, metadata.json, a legacy .h5 model_config, a BackupAndRestore state.json).
MAX_JSON_DEPTH = 100  # lists/dicts/nested models inside each other
MAX_JSON_BYTES = 64 << 20

# Models described by a config.
MAX_LAYERS = 20_000

# Tensors in one file (weights + optimizer state): safetensors header entries, HDF5 datasets and groups.
MAX_TENSORS = 200_000
MAX_HDF5_OBJECTS = 400_000  # groups + datasets visited when checking an HDF5 tree

# to_categorical's one-hot result (samples x classes x itemsize): 60k MNIST labels x 10 classes are 2.4 MB; more
# than this means labels in the billions or a typo'd num_classes, not data.
MAX_ONE_HOT_BYTES = 4 << 30
# Class ids: a class_weight table or a suggested Dense(units) past this means the labels are not class ids.
MAX_CLASSES = 1_000_000

# BackupAndRestore's folder (cnnlab/callbacks/_backup_state.py): state.json holds an epoch, RNG fields and optimizer
# scalars (a few kB); the tensor file holds the weights, their optimizer slots and these few other tensors.
MAX_BACKUP_STATE_BYTES = 1 << 20
BACKUP_OTHER_TENSORS = 256  # torch/NumPy/Python RNG states, one per GPU, optimizer counters
BACKUP_RNG_BYTES = 1 << 20  # those RNG states and counters together: ~16 kB today
MAX_EPOCHS = 10**9  # an epoch number read from a file; no training runs a billion epochs

# Weights built from a config with no file to back them (`cnnlab train --model config.json`): bytes.
_DEFAULT_MAX_WEIGHT_BYTES = 8 << 30
WEIGHT_BUDGET_ENV = "CNNLAB_MAX_WEIGHT_BYTES"


def max_weight_bytes() -> int:
    """The stated limit for weights built from a config alone (``$CNNLAB_MAX_WEIGHT_BYTES``, default 8 GiB)."""
    raw = os.environ.get(WEIGHT_BUDGET_ENV)
    if raw is None:
        return _DEFAULT_MAX_WEIGHT_BYTES
    try:
        value = int(raw)
    except ValueError:
        return _DEFAULT_MAX_WEIGHT_BYTES
    return value if value > 0 else _DEFAULT_MAX_WEIGHT_BYTES


# Weights a config read from a file may create beyond those the file stores (a layer whose weights are not saved).
WEIGHT_BUDGET_SLACK_BYTES = 1 << 20


def weight_budget_check(needed: int, available: int, *, source, what: str, backing: str,
                        fix: str = "The file is corrupt or crafted; re-save the model from its source.") -> None:
    """Refuse, before anything is allocated, when ``what`` needs more bytes than ``available``.

    One wording for every weight budget: weights a config asks for against the weights its file holds (or
    :func:`max_weight_bytes` for a config alone), optimizer state against what the model's optimizer needs.

    Args:
        needed: the bytes ``what`` would allocate.
        available: the bytes that back it.
        source: the file, named in the message.
        what: what asks for the bytes, e.g. ``"config.json asks for 3 weights"``.
        backing: what ``available`` is, e.g. ``"the weights the file holds"``.
        fix: the sentence that says what to do.

    Raises:
        FileFormatError: ``needed > available``, with both figures.
    """
    if needed <= available:
        return
    raise FileFormatError(f"'{source}': {what} of {needed} bytes ({_readable(needed)}), more than {backing} "
                          f"({available} bytes, {_readable(available)}). Refusing to allocate them. {fix}")


def _readable(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


# Zip containers (.cnnlab, .keras): a member is bounded first by what the model it belongs to needs (see
# cnnlab/io/zip_members.py); these are the caps that hold before the model is known.
MAX_MEMBER_BYTES = 4 << 30  # Keras's own bomb floor (saving_lib._ZIP_MEMBER_BOMB_FLOOR_BYTES)
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand more than ~1032:1, so a member claiming more is lying
# Before the model is known, a deflated weights member backs at most this many times its stored bytes of weights
# (floats barely deflate; Keras's saving_lib uses the same ratio to spot bombs).
MAX_WEIGHT_DEFLATE_RATIO = 100
# Keras writes at most 3 state tensors per trainable variable (Adam with amsgrad: momentum, velocity, vhat).
MAX_OPTIMIZER_SLOTS = 3
# A safetensors header entry is ~100 bytes plus the variable's path; 4 KiB leaves room for deep nesting.
SAFETENSORS_ENTRY_BYTES = 4096
# HDF5 spends ~800 bytes per group or dataset on headers and B-trees (measured on Keras 3 files); 4 KiB is ample.
HDF5_OBJECT_BYTES = 4096
CONTAINER_BASE_BYTES = 64 << 10  # superblocks, metadata and padding any member may carry beyond its tensors

# HDF5 objects (links) a Keras weights file may hold per layer and per variable, plus a fixed slack: Keras 3 writes
# ~3 groups per layer and tf.keras 2 up to 4 nested groups per variable and optimizer slot (measured on both); a
# file with far more was crafted, and the bounded walk refuses it in milliseconds (cnnlab/io/h5_safety.py).
HDF5_OBJECTS_PER_LAYER = 8
HDF5_OBJECTS_PER_WEIGHT = 16
HDF5_OBJECTS_SLACK = 256
# Chunks in one HDF5 dataset: h5py's automatic chunks are >= 16 KiB, so even a 4 GiB dataset has fewer.
MAX_HDF5_CHUNKS = 1 << 18

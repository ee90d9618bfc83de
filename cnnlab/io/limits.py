"""The bounds every reader of an untrusted file applies, in one place (trust: bounded time and memory).

A file is refused, with its name and the place in it, as soon as it asks for more than these -- before the
memory is allocated. The numbers are far above what any real model needs: Keras's largest applications
have about 800 layers, 1,000 weight tensors and configs nested about 12 levels deep.
"""

from __future__ import annotations

import os

# JSON (config.json, metadata.json, a legacy .h5 model_config, a BackupAndRestore state.json).
MAX_JSON_DEPTH = 100  # lists/dicts/nested models inside each other
MAX_JSON_BYTES = 64 << 20

# Models described by a config.
MAX_LAYERS = 20_000

# Tensors in one file (weights + optimizer state): safetensors header entries, HDF5 datasets and groups.
MAX_TENSORS = 200_000
MAX_HDF5_OBJECTS = 400_000  # groups + datasets visited when checking an HDF5 tree

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

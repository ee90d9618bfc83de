"""The file behind ``Dataset.cache(filename)``: a NumPy ``.npz`` (no pickle), written atomically.

Elements of one shape are stored stacked (``leaf_0``, ``leaf_1``, ...); elements of varying shapes one array per
leaf (``element_0_leaf_0``, ...). The file is read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
import torch

from cnnlab.data._strings import StringTensor
from cnnlab.data._structure import dtype_name, flatten, pack
from cnnlab.errors import CheckpointError, FileFormatError


class CacheFile:
    """``filename + '.npz'`` (or ``filename`` if it already ends in ``.npz``)."""

    def __init__(self, filename: str | os.PathLike) -> None:
        path = os.fspath(filename)
        self.path = path if path.endswith(".npz") else path + ".npz"

    def exists(self) -> bool:
        return os.path.isfile(self.path)

    def write(self, stacked: Any, elements: list | None) -> None:
        if stacked is not None:
            arrays = {f"leaf_{i}": _array(leaf) for i, leaf in enumerate(flatten(stacked))}
        else:
            arrays = {f"element_{e}_leaf_{i}": _array(leaf)
                      for e, element in enumerate(elements or []) for i, leaf in enumerate(flatten(element))}
            arrays["count"] = np.asarray(len(elements or []))
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **arrays)
            os.replace(temp, self.path)
        except OSError as err:
            raise CheckpointError(f"Dataset.cache: cannot write the cache file '{self.path}': {err}. Give a "
                                  "writable path, or cache() without a filename to keep it in memory.") from err

    def read(self, spec: Any) -> tuple[Any, list | None]:
        """``(stacked, None)`` or ``(None, elements)`` from the file, checked against the pipeline's element_spec."""
        specs = flatten(spec)
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if "count" not in data.files:
                    leaves = [_leaf(data[f"leaf_{i}"]) for i in range(len(specs))]
                    self._check(leaves, specs, stacked=True)
                    return pack(spec, leaves), None
                elements = []
                for e in range(int(data["count"])):
                    leaves = [_leaf(data[f"element_{e}_leaf_{i}"]) for i in range(len(specs))]
                    self._check(leaves, specs, stacked=False)
                    elements.append(pack(spec, leaves))
                return None, elements
        except (OSError, ValueError, KeyError) as err:
            raise FileFormatError(f"Dataset.cache: cannot read the cache file '{self.path}' ({err}). It is "
                                  "corrupt, or was written by another pipeline: delete it to rebuild it.") from err

    def _check(self, leaves: list, specs: list, stacked: bool) -> None:
        for leaf, spec in zip(leaves, specs):
            rank = leaf.ndim - (1 if stacked else 0)
            if dtype_name(leaf.dtype) != spec.dtype or (spec.shape is not None and rank != len(spec.shape)):
                raise ValueError(f"it holds {dtype_name(leaf.dtype)} of rank {rank} where this pipeline gives "
                                 f"{spec}")


def _array(leaf: Any) -> np.ndarray:
    """A leaf as a NumPy array ``np.savez`` stores without pickling: strings as fixed-width bytes."""
    if isinstance(leaf, StringTensor):
        return np.asarray(leaf.numpy(), dtype=np.bytes_)
    return leaf.numpy()


def _leaf(array: np.ndarray) -> Any:
    if array.dtype.kind == "S":  # written by _array from a StringTensor
        return StringTensor._of(np.asarray(array.tolist(), dtype=object) if array.ndim else array.item())
    return torch.from_numpy(array)

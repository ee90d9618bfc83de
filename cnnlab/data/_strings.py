"""String tensors: what TensorFlow's ``tf.string`` tensors are, for file names and file contents.

torch tensors hold numbers only. A :class:`StringTensor` holds a NumPy object array of ``bytes`` (TF's strings
are byte strings: ``str`` is stored UTF-8 encoded) and answers what tutorial code asks of a TF string tensor:
``.numpy()`` (``bytes`` for a scalar, an object array otherwise), ``.shape``, ``.dtype`` (equal to
``tf.string``), indexing (``parts[-2]``), ``==`` against strings or arrays of them (a bool tensor), ``+``.

Dataset elements may hold them (``Dataset.list_files``, ``from_tensor_slices(["a.jpg", ...])``): they slice,
stack into a batch (a 1-D StringTensor) and pickle into DataLoader workers like plain objects. The data package
owns the class so that it needs nothing from the ``tf`` facade; ``tf.strings`` and ``tf.io`` build on it.

Example:
    >>> parts = StringTensor("flowers/roses/1.jpg")
    >>> parts.numpy()
    b'flowers/roses/1.jpg'
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from cnnlab.eager import hand_out
from cnnlab.errors import ArgumentTypeError, DataError, DatasetNotFoundError


class StringDType:
    """``tf.string``: the dtype of a :class:`StringTensor`; equal to ``tf.string`` and to ``"string"``."""

    name = "string"

    def __eq__(self, other: object) -> bool:
        return getattr(other, "name", other) == "string"

    def __hash__(self) -> int:
        return hash("string")

    def __repr__(self) -> str:
        return "tf.string"


string = StringDType()


def _to_bytes(item: Any, where: str) -> bytes:
    if isinstance(item, bytes):
        return bytes(item)  # np.bytes_ too
    if isinstance(item, str):
        return item.encode("utf-8")
    if isinstance(item, os.PathLike):
        return os.fsencode(item)
    raise ArgumentTypeError(f"{where}: a string tensor holds str or bytes values; got a {type(item).__name__}. "
                            f"Convert numbers with tf.strings.as_string first. Received: {item!r:.60}")


def is_text(value: Any) -> bool:
    """Whether ``value`` is text a StringTensor holds: str/bytes, arrays of them, or (nested) lists of them."""
    if isinstance(value, StringTensor | str | bytes):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "US" or (value.dtype == object and value.size > 0
                                            and isinstance(value.flat[0], str | bytes))
    if isinstance(value, list | tuple) and value:
        return is_text(value[0])
    return False


def _object_array(value: Any, where: str) -> np.ndarray:
    """``value`` as an object array whose every element is ``bytes``."""
    if isinstance(value, StringTensor):
        return value._array
    if isinstance(value, str | bytes | os.PathLike):
        array = np.empty((), dtype=object)
        array[()] = _to_bytes(value, where)
        return array
    source = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value.astype(object)
    out = np.empty(source.shape, dtype=object)  # elementwise, so a ragged list cannot slip in as list elements
    for index, item in np.ndenumerate(source):
        out[index] = _to_bytes(item, where)
    return out


class StringTensor:
    """A tensor of byte strings (TF's ``tf.string`` tensor), backed by a NumPy object array.

    Args:
        value: a str or bytes, a (nested) list of them, a NumPy string array, or another StringTensor.

    Shape:
        Any; ``shape`` is a tuple as for a torch tensor.

    Example:
        >>> StringTensor(["a", "bb"]) == "a"   # doctest: +SKIP
        tensor([ True, False])
    """

    __hash__ = None  # as TF's tensors: == compares element-wise, so a tensor cannot be a dict key

    def __init__(self, value: Any, where: str = "StringTensor") -> None:
        self._array = _object_array(value, where)

    @classmethod
    def _of(cls, array: np.ndarray) -> StringTensor:
        """Wrap an object array of bytes without checking (results of the tensor's own operations)."""
        tensor = cls.__new__(cls)
        tensor._array = np.asarray(array, dtype=object)
        return tensor

    # -- what a tensor answers -------------------------------------------------------------------------------
    dtype = string

    @property
    def shape(self) -> tuple:
        return self._array.shape

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def dim(self) -> int:
        return self._array.ndim

    def numel(self) -> int:
        return self._array.size

    def numpy(self) -> bytes | np.ndarray:
        """``bytes`` for a scalar, else an object array of ``bytes`` (a copy), as TF's ``.numpy()``."""
        return self._array[()] if self._array.ndim == 0 else self._array.copy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self._array.copy() if copy else self._array
        return array if dtype is None else array.astype(dtype)

    def __len__(self) -> int:
        if self._array.ndim == 0:
            raise TypeError("len() of a scalar string tensor (shape ()); it holds one string: use .numpy().")
        return len(self._array)

    def __iter__(self) -> Iterator[StringTensor]:
        if self._array.ndim == 0:
            raise TypeError("Cannot iterate over a scalar string tensor (shape ()); use .numpy() for its bytes.")
        return (StringTensor._of(row) for row in self._array)

    def __getitem__(self, key: Any) -> StringTensor:
        return StringTensor._of(np.asarray(self._array[_numpy_key(key)], dtype=object))

    def __bool__(self) -> bool:
        if self._array.ndim:
            raise ValueError(f"The truth value of a string tensor of shape {self.shape} is ambiguous; compare "
                             "its elements (t == b'...') and reduce with tf.reduce_any or tf.reduce_all.")
        return bool(self._array[()])

    # -- comparison and concatenation, element-wise with broadcasting ------------------------------------------
    def _other(self, other: Any) -> np.ndarray | None:
        if isinstance(other, StringTensor):
            return other._array
        return _object_array(other, "string comparison") if is_text(other) else None

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        array = self._other(other)
        if array is None:
            return NotImplemented
        return hand_out(torch.from_numpy(np.asarray(np.equal(self._array, array), dtype=bool)))

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else ~equal

    def __add__(self, other: Any) -> StringTensor:
        array = self._other(other)
        if array is None:
            return NotImplemented
        return StringTensor._of(np.add(self._array, array))

    def __radd__(self, other: Any) -> StringTensor:
        array = self._other(other)
        if array is None:
            return NotImplemented
        return StringTensor._of(np.add(array, self._array))

    # -- the torch tensor methods a Dataset uses on its leaves ---------------------------------------------------
    def index_select(self, dim: int, index: torch.Tensor) -> StringTensor:
        if dim != 0:
            raise DataError(f"StringTensor.index_select selects along axis 0 only. Received: dim={dim}")
        return StringTensor._of(self._array[np.asarray(index, dtype=np.int64)])

    def new_empty(self, shape: tuple) -> StringTensor:
        return StringTensor._of(np.full(tuple(shape), b"", dtype=object))

    def index_copy_(self, dim: int, index: torch.Tensor, source: StringTensor) -> StringTensor:
        if dim != 0:
            raise DataError(f"StringTensor.index_copy_ copies along axis 0 only. Received: dim={dim}")
        self._array[np.asarray(index, dtype=np.int64)] = source._array
        return self

    def detach(self) -> StringTensor:
        return self

    def cpu(self) -> StringTensor:
        return self

    # -- printing, as TF ---------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<tf.Tensor: shape={self.shape}, dtype=string, numpy={self.numpy()!r}>"

    def __str__(self) -> str:
        text = repr(self._array[()]) if self._array.ndim == 0 else np.array2string(self._array, separator=" ")
        return f"tf.Tensor({text}, shape={self.shape}, dtype=string)"


def _numpy_key(key: Any) -> Any:
    """An index with torch tensors as NumPy arrays (``parts[tf.constant(1)]``, a batch of row indices)."""
    if isinstance(key, torch.Tensor):
        return key.detach().cpu().numpy()
    if isinstance(key, tuple):
        return tuple(_numpy_key(k) for k in key)
    return key


def stack_strings(column: list | tuple) -> StringTensor:
    """String tensors of one shape stacked along a new first axis (one batch)."""
    return StringTensor._of(np.stack([t._array for t in column]))


def elementwise(fn: Callable[[bytes], Any], tensor: StringTensor, dtype: Any = object) -> np.ndarray:
    """``fn`` on every element: an array of ``tensor``'s shape (0-d for a scalar) with ``dtype``."""
    out = np.empty(tensor.shape, dtype=dtype)
    for index, item in np.ndenumerate(tensor._array):
        out[index] = fn(item)
    return out


def matching_files(patterns: Any, where: str) -> list[bytes]:
    """The paths matching each glob pattern, sorted per pattern (as TF's ``MatchingFiles``), as bytes.

    ``*`` matches names starting with a dot too, as TF's matcher does (Python's glob would skip them).
    """
    found: list[bytes] = []
    for pattern in _object_array(patterns, where).reshape(-1):
        found.extend(sorted(os.fsencode(p) for p in glob.glob(os.fsdecode(pattern), include_hidden=True)))
    return found


def list_files(file_pattern: Any, where: str = "Dataset.list_files") -> StringTensor:
    """The matches of ``file_pattern`` (a pattern or a list of them); raises when nothing matches, as TF."""
    files = matching_files(file_pattern, where)
    if not files:
        shown = ", ".join(os.fsdecode(p) for p in _object_array(file_pattern, where).reshape(-1))
        raise DatasetNotFoundError(f"{where}: no files matched the pattern {shown!r}. Check the folder and the "
                                   "wildcards (e.g. str(data_dir / '*/*.jpg')). "
                                   f"Received: file_pattern={file_pattern!r}")
    return StringTensor._of(np.array(files, dtype=object))

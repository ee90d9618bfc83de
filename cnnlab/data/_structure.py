"""Nested elements of a Dataset: flatten/pack, conversion of leaves to tensors, and ``TensorSpec``.

An element is a tensor, a tuple (or namedtuple) or a dict of elements, nested as in ``tf.data``; every leaf is a
CPU ``torch.Tensor``, or a :class:`~cnnlab.data._strings.StringTensor` for text (file names, file contents).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cnnlab.data._strings import StringTensor, is_text, stack_strings
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError

# tf.data's constants (tf.data.AUTOTUNE, tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY).
AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


class TensorSpec:
    """The shape and dtype of one leaf of a dataset element, as ``tf.TensorSpec``.

    One class serves ``tf.TensorSpec`` everywhere: dataset ``element_spec``, ``from_generator``'s
    ``output_signature`` and ``tf.function``'s ``input_signature``.

    Args:
        shape: a tuple of ints, with None for a dimension that varies (the batch axis of ``batch()`` without
            ``drop_remainder``); None for any shape.
        dtype: a dtype or its name (``tf.float32``, ``torch.int64``, ``"float32"``).
        name: an optional name.

    Example:
        >>> TensorSpec((None, 28, 28), "float32")
        TensorSpec(shape=(None, 28, 28), dtype=tf.float32, name=None)
    """

    def __init__(self, shape: tuple | None, dtype: Any = "float32", name: str | None = None) -> None:
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype_name(dtype)
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype=tf.{self.dtype}, name={self.name!r})"

    def is_compatible_with(self, value: Any) -> bool:
        """Whether a tensor (or spec) fits this spec: same dtype, same rank, equal sizes where this one has one."""
        shape, dtype = tuple(value.shape), value.dtype
        return dtype_name(dtype) == self.dtype and self.has_shape_of(shape)

    def has_shape_of(self, shape: tuple) -> bool:
        """Whether ``shape`` has this spec's rank and its known sizes (any shape when the spec's is None)."""
        return self.shape is None or (len(shape) == len(self.shape) and all(
            a is None or a == b for a, b in zip(self.shape, shape)))

    @classmethod
    def from_tensor(cls, tensor: torch.Tensor) -> TensorSpec:
        return cls(tuple(tensor.shape), tensor.dtype)


def dtype_name(dtype: Any) -> str:
    """``'float32'`` for torch.float32, np.float32, 'float32', tf.float32 and the like."""
    if isinstance(dtype, torch.dtype):
        return str(dtype).removeprefix("torch.")
    if isinstance(dtype, str) and dtype == "string":  # tf.string's name, which NumPy does not know
        return dtype
    name = getattr(dtype, "name", None)
    if isinstance(name, str):  # tf.DType, np.dtype
        return name
    try:
        return np.dtype(dtype).name
    except TypeError as err:
        raise ConfigError(f"Unknown dtype {dtype!r}. Use a name such as 'float32', 'int64' or 'bool'. "
                          f"Received: dtype={dtype!r}") from err


def torch_dtype(dtype: Any) -> torch.dtype:
    name = dtype_name(dtype)
    found = getattr(torch, name, None)
    if not isinstance(found, torch.dtype):
        raise ConfigError(f"dtype {name!r} has no torch equivalent (tf.string holds text made from str/bytes values, "
                          f"not numbers). Received: dtype={dtype!r}")
    return found


def is_structure(value: Any) -> bool:
    return isinstance(value, (tuple, dict))


def flatten(element: Any) -> list:
    """The leaves of an element, depth first (dict values in key order, as insertion)."""
    if isinstance(element, tuple):
        return [leaf for item in element for leaf in flatten(item)]
    if isinstance(element, dict):
        return [leaf for item in element.values() for leaf in flatten(item)]
    return [element]


def pack(template: Any, leaves: list) -> Any:
    """An element shaped like ``template`` holding ``leaves`` (the inverse of :func:`flatten`)."""
    it = iter(leaves)

    def build(node):
        if isinstance(node, tuple):
            items = [build(item) for item in node]
            return type(node)(*items) if hasattr(node, "_fields") else tuple(items)
        if isinstance(node, dict):
            return {key: build(item) for key, item in node.items()}
        return next(it)

    return build(template)


def map_structure(fn: Callable, element: Any) -> Any:
    return pack(element, [fn(leaf) for leaf in flatten(element)])


def normalize(value: Any, where: str) -> Any:
    """An element from user data: tuples/dicts kept as structure, everything else converted to a tensor."""
    if isinstance(value, tuple):
        items = [normalize(item, where) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        return {key: normalize(item, where) for key, item in value.items()}
    return to_tensor(value, where)


def to_tensor(value: Any, where: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """One leaf as a CPU tensor. Python numbers become int32/float32 as in TensorFlow; arrays keep their dtype.

    Text (str, bytes, string arrays, lists of them) becomes a :class:`StringTensor`.
    """
    if isinstance(value, StringTensor) or (dtype is None and is_text(value)):
        return StringTensor(value, where)
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if type(tensor) is not torch.Tensor:  # EagerTensor and other subclasses handed out by layers
            tensor = tensor.as_subclass(torch.Tensor)
        tensor = tensor.cpu()
    elif isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__array__"):
        array = np.asarray(value)
        _check_numeric(array, value, where)
        with warnings.catch_warnings():  # a read-only (memory-mapped) array: shared, never written to
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            tensor = torch.from_numpy(np.ascontiguousarray(array)) if array.ndim else torch.tensor(array[()])
    elif isinstance(value, (bool, int, float, list)):
        array = np.asarray(value)
        _check_numeric(array, value, where)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        elif array.dtype == np.int64:
            array = array.astype(np.int32)
        tensor = torch.from_numpy(array) if array.ndim else torch.tensor(array[()])
    else:
        raise DataError(f"{where}: every part of an element must be a tensor, a NumPy array, a number or a "
                        f"string; got a {type(value).__name__}. Return tensors (e.g. torch.as_tensor(value)) or a "
                        f"tuple/dict of them. Received: {_short(value)}")
    return tensor if dtype is None else tensor.to(dtype)


def _check_numeric(array: np.ndarray, value: Any, where: str) -> None:
    if array.dtype.kind not in "biuf":
        raise DataError(f"{where}: values must be numbers (bool, int or float) or strings; got dtype {array.dtype}. "
                        f"Other objects have no tensor: map them to numbers first. Received: {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def spec_of(element: Any) -> Any:
    return map_structure(TensorSpec.from_tensor, element)


def stack(elements: list, where: str) -> Any:
    """Elements stacked leaf by leaf along a new first axis (one batch)."""
    columns = list(zip(*(flatten(e) for e in elements)))
    leaves = []
    for index, column in enumerate(columns):
        first = column[0].shape
        for position, tensor in enumerate(column):
            if tensor.shape != first:
                raise ShapeMismatch(
                    f"{where}: cannot batch elements of different shapes in component {index}: element 0 has shape "
                    f"{tuple(first)} and element {position} has shape {tuple(tensor.shape)}. Resize them to one "
                    "shape first (e.g. a Resizing layer in .map), or use padded_batch().")
        leaves.append(stack_strings(column) if isinstance(column[0], StringTensor) else torch.stack(column))
    return pack(elements[0], leaves)


class ShapeMismatch(DataError):
    """Elements of different shapes where one shape is needed (batch, cache to file)."""


def leading_size(element: Any, where: str) -> int:
    """The common first-dimension size of every leaf (what from_tensor_slices and unbatch slice along)."""
    sizes = []
    for leaf in flatten(element):
        if leaf.ndim == 0:
            raise DataError(f"{where}: every component needs a first axis to slice; got a scalar. Use "
                            "Dataset.from_tensors(...) for a single element.")
        sizes.append(int(leaf.shape[0]))
    if len(set(sizes)) > 1:
        raise DataError(f"{where}: all components must have the same size in their first dimension; got sizes "
                        f"{sizes}. Give arrays with one row per example (e.g. len(x) == len(y)).")
    return sizes[0] if sizes else 0


def check_int(value: Any, arg: str, method: str, minimum: int, special: tuple[int, str] | None = None) -> int:
    """An int argument of ``Dataset.<method>`` at least ``minimum``, or the ``special`` value (e.g. -1 for all)."""
    if isinstance(value, torch.Tensor | np.ndarray | np.integer) and np.ndim(value) == 0:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"Dataset.{method}: {arg} must be an int. Received: {arg}={value!r}")
    if value < minimum and (special is None or value != special[0]):
        wanted = {0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
        extra = f", or {special[0]} ({special[1]})" if special else ""
        raise ConfigError(f"Dataset.{method}: {arg} must be {wanted}{extra}. Received: {arg}={value!r}")
    return value


def check_parallel_calls(value: Any, owner: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != AUTOTUNE):
        raise ConfigError(f"Dataset.{owner}: num_parallel_calls must be None, a positive int or "
                          f"tf.data.AUTOTUNE (-1). Received: num_parallel_calls={value!r}")
    return value

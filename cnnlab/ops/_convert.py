"""Tensor conversion, Keras dtype names and the error wrapper shared by every ``cnnlab.ops`` module.

Keras's rules, on torch: NumPy arrays and tensors keep their dtype; Python
floats become ``float32`` (``floatx``), Python ints ``int32`` and bools ``bool``.
Dtype arguments take Keras strings (``"float32"``, ``"int32"``), torch or NumPy
dtypes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

# The dtype tables and name rules live in backend (the lower layer); ops modules import them from here.
from cnnlab.backend import PYTHON_DTYPES, TORCH_DTYPES, floatx
from cnnlab.backend import keras_dtype_name as standardize_dtype
from cnnlab.errors import ArgumentTypeError, CnnlabError, ConfigError, ShapeError

DATA_FORMATS = ("channels_last", "channels_first")


def torch_dtype(dtype: Any, op: str = "ops", arg: str = "dtype") -> torch.dtype:
    """The ``torch.dtype`` for a Keras dtype name (``None`` -> floatx)."""
    return TORCH_DTYPES[standardize_dtype(dtype, op, arg)]


def floatx_dtype() -> torch.dtype:
    return TORCH_DTYPES[floatx()]


def _python_dtype(values: Any) -> torch.dtype | None:
    """Keras's dtype for nested Python numbers: bool < int32 < floatx, None if anything else is inside."""
    kinds: set[type] = set()
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (bool, int, float, complex)) and not isinstance(item, np.generic):
            kinds.add(bool if isinstance(item, bool) else type(item))
        else:
            return None
    for kind in (complex, float, int, bool):
        if kind in kinds:
            return TORCH_DTYPES[PYTHON_DTYPES[kind]]
    return floatx_dtype()  # an empty list: Keras makes float32


def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None, ragged: bool | None = None) -> torch.Tensor:
    """Turn ``x`` (tensor, NumPy array, Python number or nested list) into a torch tensor.

    Args:
        x: the value.
        dtype: Keras dtype name; None keeps the input's dtype (Python floats become ``float32``).
        sparse, ragged: accepted for Keras compatibility; torch tensors here are always dense.

    Example:
        >>> convert_to_tensor([1.0, 2.0]).dtype
        torch.float32
    """
    target = None if dtype is None else torch_dtype(dtype, "convert_to_tensor")
    if isinstance(x, torch.Tensor):
        return x if target is None or x.dtype == target else x.to(target)
    value = getattr(x, "value", None)
    if isinstance(value, torch.Tensor):  # a layer's Variable: use its tensor so gradients flow
        return convert_to_tensor(value, dtype)
    python_dtype = _python_dtype(x)
    if python_dtype is not None:
        return torch.tensor(x, dtype=target or python_dtype)
    array = np.asarray(x)
    if array.dtype == object or array.dtype.kind in "USV":
        symbolic = type(x).__name__ == "KerasTensor"
        fix = ("Symbolic model inputs have no values yet: wrap the op in layers.Lambda(lambda t: ...)."
               if symbolic else "Pass numbers, NumPy arrays or tensors.")
        raise ArgumentTypeError(
            f"convert_to_tensor: cannot make a tensor from values of type {type(x).__name__} "
            f"(NumPy dtype {array.dtype}). {fix} Received: x={_short(x)}"
        )
    if not array.flags.writeable or array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("="), copy=True)
    # np.ascontiguousarray would turn a 0-d array (a NumPy scalar) into shape (1,).
    tensor = torch.from_numpy(array if array.flags.c_contiguous else np.ascontiguousarray(array))
    return tensor if target is None else tensor.to(target)


def tensors(*values: Any) -> list[torch.Tensor]:
    """Convert several values and put them on one device (the first non-CPU one among them)."""
    out = [convert_to_tensor(v) for v in values]
    device = next((t.device for t in out if t.device.type != "cpu"), None)
    return out if device is None else [t.to(device) for t in out]


def operands(x1: Any, x2: Any) -> tuple[Any, Any]:
    """Binary-op operands; a lone Python scalar stays a scalar so torch types it weakly, as Keras does."""
    scalar = (bool, int, float)
    if isinstance(x1, scalar) and isinstance(x2, scalar):
        return convert_to_tensor(x1), x2
    if isinstance(x2, scalar):
        return convert_to_tensor(x1), x2
    if isinstance(x1, scalar):
        return x1, convert_to_tensor(x2)
    a, b = tensors(x1, x2)
    return a, b


def to_float(x: Any) -> torch.Tensor:
    """Tensor of ``x``; integer and bool input become floatx, as Keras's float-valued ops do."""
    t = convert_to_tensor(x)
    return t if t.is_floating_point() or t.is_complex() else t.to(floatx_dtype())


def int_result(t: torch.Tensor) -> torch.Tensor:
    """Keras returns int32 indices and counts where torch gives int64."""
    return t.to(torch.int32)


def axis_tuple(axis: Any) -> tuple[int, ...] | None:
    if axis is None:
        return None
    return tuple(int(a) for a in axis) if isinstance(axis, Sequence) else (int(axis),)


def data_format_arg(data_format: str | None, op: str) -> str:
    value = "channels_last" if data_format is None else data_format
    if value not in DATA_FORMATS:
        raise ConfigError(
            f"{op}: argument 'data_format' must be 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}"
        )
    return value


def choice_arg(value: Any, allowed: Sequence[str], op: str, arg: str) -> str:
    if value not in allowed:
        from cnnlab.errors import did_you_mean

        hint = did_you_mean(str(value), allowed)
        raise ConfigError(
            f"{op}: argument '{arg}' must be one of {', '.join(map(repr, allowed))}.{hint} Received: {arg}={value!r}"
        )
    return value


def _short(value: Any) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"<{type(value).__name__} shape={tuple(value.shape)} dtype={value.dtype}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _op_error(name: str, err: Exception, args: tuple, kwargs: dict) -> CnnlabError:
    received = ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    text = f"ops.{name}: {message}. Check the shapes, axes and dtypes of the arguments. Received: {received}"
    if isinstance(err, TypeError):
        return ArgumentTypeError(text)
    if isinstance(err, IndexError) or any(w in message.lower() for w in ("size", "shape", "dimension", "dim ")):
        return ShapeError(text)
    return ConfigError(text)


def keras_op(fn: Callable) -> Callable:
    """Re-raise torch's errors from an op as cnnlab errors that name the op and what it received."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CnnlabError:
            raise
        except (RuntimeError, IndexError, TypeError, ValueError) as err:
            raise _op_error(fn.__name__, err, args, kwargs) from err

    return wrapper


def export(namespace: dict[str, Any], names: Sequence[str], keep: Sequence[str] = ()) -> None:
    """Wrap each public op of a module with :func:`keras_op`; ``keep`` names ops that run user code."""
    for name in names:
        value = namespace[name]
        if callable(value) and not isinstance(value, type) and name not in keep:
            namespace[name] = keras_op(value)

"""Making and reshaping tensors with TensorFlow's names and defaults: ``tf.constant``, ``tf.reshape``, ``tf.concat``...

Values are plain torch tensors. Dtypes follow TF: Python floats become float32, Python ints int32, NumPy
arrays keep theirs; ``dtype=`` takes ``tf.float32`` (a torch dtype), a name or a NumPy dtype.

Example:
    >>> import cnnlab as tf
    >>> tf.reshape(tf.range(6), [2, -1]).tolist()
    [[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.tf_names._args import axes, check_arguments, int_list, to_tensor
from cnnlab.tf_names.dtypes import as_dtype, optional_dtype

tf_api = check_arguments("tf")
newaxis = None  # tf.newaxis, as NumPy's
Tensor = torch.Tensor  # isinstance(x, tf.Tensor) holds for what the facade returns


class TensorShape(tuple):
    """A shape, as ``tf.TensorShape``: a tuple of ints (None for an unknown size) with ``as_list()``.

    Example:
        >>> TensorShape([None, 28, 28]).as_list()
        [None, 28, 28]
    """

    def __new__(cls, dims: Any = ()) -> TensorShape:
        if dims is None:
            dims = ()
        return super().__new__(cls, (None if d is None else int(d) for d in dims))

    @property
    def rank(self) -> int:
        return len(self)

    ndims = rank

    @property
    def dims(self) -> list[int | None]:
        return list(self)

    def as_list(self) -> list[int | None]:
        return list(self)

    def num_elements(self) -> int | None:
        return None if None in self else int(np.prod(self, dtype=np.int64))

    def is_fully_defined(self) -> bool:
        return None not in self

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        return "(" + ", ".join("None" if d is None else str(d) for d in self) + ("," if len(self) == 1 else "") + ")"


@tf_api
def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> torch.Tensor:
    """A tensor holding ``value``, as ``tf.constant``.

    Args:
        value: a number, nested list, NumPy array or tensor.
        dtype: the dtype to cast to (default: TF's choice, float32 for Python floats, int32 for ints).
        shape: fill this shape with a scalar ``value``, or reshape a value with as many elements.

    Example:
        >>> constant([[1, 2], [3, 4]]).dtype
        torch.int32
    """
    target = optional_dtype(dtype, "tf.constant")
    t = to_tensor(value, "tf.constant")
    if target is not None and t.dtype != target:
        t = t.to(target)
    elif isinstance(value, torch.Tensor):
        t = t.detach().clone()  # a constant does not share memory or gradients with its source
    if shape is None:
        return t
    dims = int_list(shape, "tf.constant", "shape")
    if t.numel() == 1:
        return t.reshape(()).expand(dims).clone()
    if t.numel() != int(np.prod(dims)):
        raise ShapeError(f"tf.constant: a value with {t.numel()} elements (shape {tuple(t.shape)}) cannot fill "
                         f"shape {tuple(dims)}; give a scalar or exactly {int(np.prod(dims))} values. "
                         f"Received: shape={shape!r}")
    return t.reshape(dims)


@tf_api
def convert_to_tensor(value: Any, dtype: Any = None, dtype_hint: Any = None, name: str | None = None) -> torch.Tensor:
    """``value`` as a tensor; a tensor of another dtype than ``dtype`` is refused, as in TF (use ``tf.cast``)."""
    target = optional_dtype(dtype, "tf.convert_to_tensor")
    if isinstance(value, torch.Tensor) and target is not None and value.dtype != target:
        raise ConfigError(f"tf.convert_to_tensor: conversion to {target} was requested for a tensor of dtype "
                          f"{value.dtype}; convert_to_tensor never changes a tensor's dtype. Use "
                          f"tf.cast(value, {target}) instead. Received: dtype={dtype!r}")
    t = to_tensor(value, "tf.convert_to_tensor")
    target = target or (optional_dtype(dtype_hint, "tf.convert_to_tensor") if not isinstance(
        value, (torch.Tensor, np.ndarray)) else None)
    return t if target is None or t.dtype == target else t.to(target)


@tf_api
def cast(x: Any, dtype: Any, name: str | None = None) -> torch.Tensor:
    """``x`` converted to ``dtype``; floats to ints truncate towards zero, as in TF."""
    return to_tensor(x, "tf.cast", "x").to(as_dtype(dtype, "tf.cast"))


@tf_api
def reshape(tensor: Any, shape: Any, name: str | None = None) -> torch.Tensor:
    """``tensor`` with a new shape; one size may be -1 (inferred)."""
    t = to_tensor(tensor, "tf.reshape", "tensor")
    dims = int_list(shape, "tf.reshape", "shape")
    known = int(np.prod([d for d in dims if d != -1]))
    if (-1 not in dims and known != t.numel()) or (-1 in dims and (known == 0 or t.numel() % known)):
        raise ShapeError(f"tf.reshape: cannot reshape a tensor of shape {tuple(t.shape)} ({t.numel()} values) "
                         f"into shape {tuple(dims)}. The sizes must multiply to {t.numel()}. Received: shape={shape!r}")
    return t.reshape(dims)


@tf_api
def expand_dims(input: Any, axis: int, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """``input`` with a new size-1 axis at ``axis`` (negative counts from the end of the result)."""
    return to_tensor(input, "tf.expand_dims", "input").unsqueeze(int(axis))


@tf_api
def squeeze(input: Any, axis: Any = None, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """Drop size-1 axes (all of them when ``axis`` is None)."""
    t = to_tensor(input, "tf.squeeze", "input")
    chosen = axes(axis)
    if chosen is None:
        return t.squeeze()
    for a in chosen:
        if t.shape[a] != 1:
            raise ShapeError(f"tf.squeeze: axis {a} has size {t.shape[a]}, not 1, so it cannot be squeezed "
                             f"(input shape {tuple(t.shape)}). Received: axis={axis!r}")
    return t.squeeze(chosen)


def _same_device(values: Sequence[Any], where: str) -> list[torch.Tensor]:
    ts = [to_tensor(v, where, "values") for v in values]
    device = next((t.device for t in ts if t.device.type != "cpu"), None)
    dtype = ts[0].dtype if ts else None
    for t in ts:
        if t.dtype != dtype:
            dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(device=device or t.device, dtype=dtype) for t in ts]


@tf_api
def concat(values: Sequence[Any], axis: int, name: str = "concat") -> torch.Tensor:
    """Join tensors along an existing ``axis``."""
    return torch.cat(_same_device(values, "tf.concat"), dim=int(axis))


@tf_api
def stack(values: Sequence[Any], axis: int = 0, name: str = "stack") -> torch.Tensor:
    """Join tensors of one shape along a new ``axis``."""
    return torch.stack(_same_device(values, "tf.stack"), dim=int(axis))


@tf_api
def unstack(value: Any, num: int | None = None, axis: int = 0, name: str = "unstack") -> list[torch.Tensor]:
    """The slices of ``value`` along ``axis``, as a list."""
    t = to_tensor(value, "tf.unstack")
    if num is not None and int(num) != t.shape[axis]:
        raise ShapeError(f"tf.unstack: num={num} but axis {axis} has size {t.shape[axis]}. Received: num={num}")
    return list(t.unbind(int(axis)))


@tf_api
def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: int | None = None,
          name: str = "split") -> list[torch.Tensor]:
    """Split into ``num_or_size_splits`` equal parts, or parts of the given sizes (one may be -1)."""
    t = to_tensor(value, "tf.split")
    length = t.shape[int(axis)]
    if isinstance(num_or_size_splits, (int, np.integer)):
        parts = int(num_or_size_splits)
        if parts <= 0 or length % parts:
            raise ShapeError(f"tf.split: axis {axis} has size {length}, which does not split into {parts} equal "
                             f"parts. Give a list of sizes instead. Received: num_or_size_splits={parts}")
        return list(t.split(length // parts, dim=int(axis)))
    sizes = int_list(num_or_size_splits, "tf.split", "num_or_size_splits")
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = length - (sum(sizes) + 1)
    if sum(sizes) != length or min(sizes) < 0:
        raise ShapeError(f"tf.split: the sizes {sizes} must add up to the size of axis {axis}, {length}. "
                         f"Received: num_or_size_splits={num_or_size_splits!r}")
    return list(t.split(sizes, dim=int(axis)))


@tf_api
def tile(input: Any, multiples: Any, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """Repeat ``input`` ``multiples[i]`` times along axis ``i``."""
    return to_tensor(input, "tf.tile", "input").repeat(int_list(multiples, "tf.tile", "multiples"))


@tf_api
def gather(params: Any, indices: Any, validate_indices: Any = None, axis: int | None = None, batch_dims: int = 0,
           name: str | None = None) -> torch.Tensor:
    """Slices of ``params`` along ``axis`` (default 0) at ``indices`` (any shape)."""
    t = to_tensor(params, "tf.gather", "params")
    index = to_tensor(indices, "tf.gather", "indices").to(device=t.device, dtype=torch.int64)
    axis = 0 if axis is None else int(axis) % t.dim()
    if batch_dims:
        raise ConfigError("tf.gather: batch_dims other than 0 is not supported; use tf.gather inside a loop over "
                          f"the batch or torch.take_along_dim. Received: batch_dims={batch_dims}")
    size = t.shape[axis]
    if index.numel() and (int(index.min()) < -size or int(index.max()) >= size):
        raise ShapeError(f"tf.gather: indices must be in [0, {size}) for axis {axis} of shape {tuple(t.shape)}. "
                         f"Received: indices with min {int(index.min())} and max {int(index.max())}")
    out = t.index_select(axis, index.reshape(-1) % size)
    return out.reshape(t.shape[:axis] + index.shape + t.shape[axis + 1:])


@tf_api
def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> torch.Tensor:
    """``x`` where ``condition`` else ``y``; with neither, the ``(n, rank)`` int64 indices of true elements."""
    cond = to_tensor(condition, "tf.where", "condition").to(torch.bool)
    if x is None and y is None:
        return torch.nonzero(cond)
    if x is None or y is None:
        raise ConfigError("tf.where: give both x and y, or neither (to get the indices of true elements). "
                          f"Received: x={'None' if x is None else 'a value'}, y={'None' if y is None else 'a value'}")
    a, b = _same_device([x, y], "tf.where")
    return torch.where(cond.to(a.device), a, b)


@tf_api
def transpose(a: Any, perm: Any = None, conjugate: bool = False, name: str = "transpose") -> torch.Tensor:
    """Permute the axes by ``perm`` (default: reverse them)."""
    t = to_tensor(a, "tf.transpose", "a")
    order = list(builtins.range(t.dim() - 1, -1, -1)) if perm is None else int_list(perm, "tf.transpose", "perm")
    return t.permute(order).conj() if conjugate else t.permute(order)


@tf_api
def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None, axis: int | None = None,
            dtype: Any = None, name: str | None = None) -> torch.Tensor:
    """One-hot vectors of length ``depth``; an index outside ``[0, depth)`` gives all ``off_value``."""
    index = to_tensor(indices, "tf.one_hot", "indices").to(torch.int64)
    default = torch.float32 if on_value is None or isinstance(on_value, float) else to_tensor(on_value, "").dtype
    target = optional_dtype(dtype, "tf.one_hot") or default
    inside = (index >= 0) & (index < int(depth))
    hot = F.one_hot(torch.where(inside, index, torch.zeros_like(index)), int(depth)) & inside.unsqueeze(-1)
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    out = torch.where(hot.bool(), torch.as_tensor(on, dtype=target, device=index.device),
                      torch.as_tensor(off, dtype=target, device=index.device))
    return out if axis is None or int(axis) == -1 else out.movedim(-1, int(axis))


@tf_api
def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range") -> torch.Tensor:  # noqa: A001
    """``[start, start + delta, ...)`` below ``limit`` (``range(n)`` counts from 0); int32 or float32 as TF."""
    if limit is None:
        start, limit = 0, start
    values = [float(v) if isinstance(v, torch.Tensor) and v.is_floating_point() else v for v in (start, limit, delta)]
    floats = any(isinstance(v, (float, np.floating)) for v in values)
    target = optional_dtype(dtype, "tf.range") or (torch.float32 if floats else torch.int32)
    return torch.arange(*values, dtype=target)


def _creation_dtype(dtype: Any, where: str) -> torch.dtype:
    return optional_dtype(dtype, where) or torch.float32


@tf_api
def zeros(shape: Any, dtype: Any = torch.float32, name: str | None = None, layout: Any = None) -> torch.Tensor:
    """A tensor of zeros (float32 by default)."""
    return torch.zeros(int_list(shape, "tf.zeros", "shape"), dtype=_creation_dtype(dtype, "tf.zeros"))


@tf_api
def ones(shape: Any, dtype: Any = torch.float32, name: str | None = None, layout: Any = None) -> torch.Tensor:
    """A tensor of ones (float32 by default)."""
    return torch.ones(int_list(shape, "tf.ones", "shape"), dtype=_creation_dtype(dtype, "tf.ones"))


@tf_api
def zeros_like(input: Any, dtype: Any = None, name: str | None = None, layout: Any = None) -> torch.Tensor:  # noqa: A002
    """Zeros with the shape (and, by default, the dtype) of ``input``."""
    return torch.zeros_like(to_tensor(input, "tf.zeros_like", "input"), dtype=optional_dtype(dtype, "tf.zeros_like"))


@tf_api
def ones_like(input: Any, dtype: Any = None, name: str | None = None, layout: Any = None) -> torch.Tensor:  # noqa: A002
    """Ones with the shape (and, by default, the dtype) of ``input``."""
    return torch.ones_like(to_tensor(input, "tf.ones_like", "input"), dtype=optional_dtype(dtype, "tf.ones_like"))


@tf_api
def fill(dims: Any, value: Any, name: str | None = None, layout: Any = None) -> torch.Tensor:
    """A tensor of shape ``dims`` filled with ``value`` (its dtype is the value's)."""
    scalar = to_tensor(value, "tf.fill", "value")
    return scalar.reshape(()).expand(int_list(dims, "tf.fill", "dims")).clone()


@tf_api
def eye(num_rows: int, num_columns: int | None = None, batch_shape: Any = None, dtype: Any = torch.float32,
        name: str | None = None) -> torch.Tensor:
    """An identity matrix (or a batch of them)."""
    out = torch.eye(int(num_rows), int(num_rows if num_columns is None else num_columns),
                    dtype=_creation_dtype(dtype, "tf.eye"))
    batch = [] if batch_shape is None else int_list(batch_shape, "tf.eye", "batch_shape")
    return out.expand(*batch, *out.shape).clone() if batch else out


@tf_api
def shape(input: Any, out_type: Any = torch.int32, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """The shape of ``input`` as an int32 tensor (``tf.shape(x)[0]`` is the batch size)."""
    return torch.tensor(tuple(to_tensor(input, "tf.shape", "input").shape), dtype=as_dtype(out_type, "tf.shape"))


@tf_api
def size(input: Any, out_type: Any = torch.int32, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """The number of elements of ``input``, as a scalar int32 tensor."""
    return torch.tensor(to_tensor(input, "tf.size", "input").numel(), dtype=as_dtype(out_type, "tf.size"))


@tf_api
def rank(input: Any, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """The number of axes of ``input``, as a scalar int32 tensor."""
    return torch.tensor(to_tensor(input, "tf.rank", "input").dim(), dtype=torch.int32)


@tf_api
def identity(input: Any, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """``input`` itself (gradients pass through)."""
    return to_tensor(input, "tf.identity", "input")


@tf_api
def stop_gradient(input: Any, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """``input`` with no gradient flowing back through it."""
    return to_tensor(input, "tf.stop_gradient", "input").detach()


_PAD_MODES = {"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}


@tf_api
def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0,
        name: str | None = None) -> torch.Tensor:
    """Pad each axis ``i`` by ``paddings[i] = [before, after]``; mode CONSTANT, REFLECT or SYMMETRIC."""
    t = to_tensor(tensor, "tf.pad", "tensor")
    pairs = [int_list(p, "tf.pad", "paddings") for p in (paddings.tolist() if isinstance(paddings, torch.Tensor)
                                                          else paddings)]
    if len(pairs) != t.dim() or any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ShapeError(f"tf.pad: paddings must hold one [before, after] pair of non-negative ints per axis "
                         f"({t.dim()} axes). Received: paddings={paddings!r}")
    kind = _PAD_MODES.get(str(mode).upper())
    if kind is None:
        raise ConfigError(f"tf.pad: mode must be 'CONSTANT', 'REFLECT' or 'SYMMETRIC'. Received: mode={mode!r}")
    if kind == "constant":
        flat = [v for p in reversed(pairs) for v in p]
        return F.pad(t, flat, value=float(constant_values) if t.is_floating_point() else int(constant_values))
    out = t
    for axis, (before, after) in enumerate(pairs):  # torch pads only the last dims of a batch: go axis by axis
        if before or after:
            out = _reflect_axis(out, axis, before, after, symmetric=kind == "symmetric")
    return out


def _reflect_axis(t: torch.Tensor, axis: int, before: int, after: int, symmetric: bool) -> torch.Tensor:
    n = t.shape[axis]
    shift = 0 if symmetric else 1
    left = torch.arange(before - 1 + shift, shift - 1, -1)[: before] if before else torch.empty(0, dtype=torch.int64)
    right = torch.arange(n - 1 - shift, n - 1 - shift - after, -1) if after else torch.empty(0, dtype=torch.int64)
    index = torch.cat([left, torch.arange(n), right]).to(t.device)
    return t.index_select(axis, index)


@tf_api
def boolean_mask(tensor: Any, mask: Any, axis: int | None = None, name: str = "boolean_mask") -> torch.Tensor:
    """The elements (or slices) of ``tensor`` where ``mask`` is true."""
    t = to_tensor(tensor, "tf.boolean_mask", "tensor")
    m = to_tensor(mask, "tf.boolean_mask", "mask").to(device=t.device, dtype=torch.bool)
    start = 0 if axis is None else int(axis)
    return t[(slice(None),) * start + (m,)]


@tf_api
def broadcast_to(input: Any, shape: Any, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """``input`` broadcast to ``shape`` (a copy, as TF's is)."""
    return to_tensor(input, "tf.broadcast_to", "input").expand(int_list(shape, "tf.broadcast_to", "shape")).clone()


__all__ = ["Tensor", "TensorShape", "boolean_mask", "broadcast_to", "cast", "concat", "constant",
           "convert_to_tensor", "expand_dims", "eye", "fill", "gather", "identity", "newaxis", "one_hot", "ones",
           "ones_like", "pad", "range", "rank", "reshape", "shape", "size", "split", "squeeze", "stack",
           "stop_gradient", "tile", "transpose", "unstack", "where", "zeros", "zeros_like"]

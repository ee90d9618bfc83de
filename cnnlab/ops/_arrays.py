"""NumPy-like array creation, shape manipulation and indexing (``keras.ops.zeros``, ``reshape``, ``take``, ...)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError
from cnnlab.ops._convert import (
    choice_arg, convert_to_tensor, export, floatx_dtype, int_result, tensors, torch_dtype,
)


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _dtype(dtype: Any, op: str, default: torch.dtype | None = None) -> torch.dtype:
    if dtype is None:
        return default or floatx_dtype()
    return torch_dtype(dtype, op)


# --------------------------------------------------------------------------- creation


def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of zeros (``float32`` unless ``dtype`` says otherwise)."""
    return torch.zeros(_shape(shape), dtype=_dtype(dtype, "zeros"))


def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of ones (``float32`` unless ``dtype`` says otherwise)."""
    return torch.ones(_shape(shape), dtype=_dtype(dtype, "ones"))


def empty(shape: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialised tensor (zeros here, so results never depend on stale memory)."""
    return zeros(shape, dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor filled with ``fill_value``; ``float32`` by default as in Keras."""
    return torch.full(_shape(shape), 0, dtype=_dtype(dtype, "full")).add_(convert_to_tensor(fill_value).cpu())


def _like(x: Any, dtype: Any, op: str) -> torch.Tensor:
    t = convert_to_tensor(x)
    return t, (t.dtype if dtype is None else torch_dtype(dtype, op))


def zeros_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Zeros with the shape (and, by default, the dtype) of ``x``."""
    t, d = _like(x, dtype, "zeros_like")
    return torch.zeros_like(t, dtype=d)


def ones_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Ones with the shape (and, by default, the dtype) of ``x``."""
    t, d = _like(x, dtype, "ones_like")
    return torch.ones_like(t, dtype=d)


def empty_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Like :func:`zeros_like` (cnnlab never hands out uninitialised memory)."""
    return zeros_like(x, dtype)


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """``fill_value`` with the shape (and, by default, the dtype) of ``x``."""
    t, d = _like(x, dtype, "full_like")
    return torch.zeros_like(t, dtype=d).add_(convert_to_tensor(fill_value).to(t.device))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803
    """A 2-D tensor with ones on the ``k``-th diagonal, like ``numpy.eye``."""
    ones_ = torch.ones((int(N), int(N if M is None else M)))
    return (ones_.tril(int(k)) - ones_.tril(int(k) - 1)).to(_dtype(dtype, "eye"))


def identity(n: int, dtype: Any = None) -> torch.Tensor:
    """The ``n x n`` identity matrix."""
    return torch.eye(int(n), dtype=_dtype(dtype, "identity"))


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803
    """Ones at and below the ``k``-th diagonal, like ``numpy.tri``."""
    m = N if M is None else M
    return torch.ones((int(N), int(m)), dtype=_dtype(dtype, "tri")).tril(int(k))


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> torch.Tensor:
    """Evenly spaced values in ``[start, stop)``; int32 for ints, float32 for floats, as Keras."""
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if dtype is None:
        floaty = any(isinstance(v, float) or (hasattr(v, "dtype") and "float" in str(v.dtype))
                     for v in (start, stop, step))
        dtype = "float32" if floaty else "int32"
    values = [float(v) if isinstance(v, (float, np.floating)) else v for v in (start, stop, step)]
    return torch.arange(*[v.item() if hasattr(v, "item") else v for v in values], dtype=torch_dtype(dtype, "arange"))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False, dtype: Any = None,
             axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``, like ``numpy.linspace``."""
    start_t, stop_t = (convert_to_tensor(v).to(torch.float64) for v in (start, stop))
    div = (num - 1) if endpoint else num
    step = (stop_t - start_t) / builtins.max(div, 1)
    steps = torch.arange(num, dtype=torch.float64).reshape((-1,) + (1,) * start_t.dim())
    out = start_t + steps * step
    if endpoint and num > 1:
        out[-1] = stop_t
    out = torch.moveaxis(out, 0, axis).to(_dtype(dtype, "linspace"))
    return (out, step.to(out.dtype) if num > 1 else torch.tensor(float("nan"))) if retstep else out


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10, dtype: Any = None,
             axis: int = 0) -> torch.Tensor:
    """``base ** linspace(start, stop)``, like ``numpy.logspace``."""
    exps = linspace(start, stop, num, endpoint, dtype="float64", axis=axis)
    return torch.pow(torch.as_tensor(base, dtype=torch.float64), exps).to(_dtype(dtype, "logspace"))


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> torch.Tensor:
    """Values spaced evenly on a log scale between ``start`` and ``stop``, like ``numpy.geomspace``."""
    start_t, stop_t = (convert_to_tensor(v).to(torch.float64) for v in (start, stop))
    sign = torch.sign(start_t)
    exps = linspace(torch.log10(start_t.abs()), torch.log10(stop_t.abs()), num, endpoint, dtype="float64", axis=axis)
    out = sign * torch.pow(10.0, exps)
    if num > 0:
        out.select(axis, 0).copy_(start_t.expand_as(out.select(axis, 0)))
        if endpoint and num > 1:
            out.select(axis, -1).copy_(stop_t.expand_as(out.select(axis, -1)))
    return out.to(_dtype(dtype, "geomspace"))


def array(x: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of ``x`` (``keras.ops.array``)."""
    return convert_to_tensor(x, dtype)


def copy(x: Any) -> torch.Tensor:
    """A copy of ``x``."""
    return convert_to_tensor(x).clone()


def vander(x: Any, N: int | None = None, increasing: bool = False) -> torch.Tensor:  # noqa: N803
    """The Vandermonde matrix of a 1-D ``x``, like ``numpy.vander``."""
    return torch.vander(convert_to_tensor(x), N=N, increasing=increasing)


# --------------------------------------------------------------------------- shape


def reshape(x: Any, newshape: Any) -> torch.Tensor:
    """``x`` with a new shape; one entry may be -1 (or None, as Keras allows)."""
    shape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(-1 if s is None else int(s) for s in newshape)
    return torch.reshape(convert_to_tensor(x), shape)


def transpose(x: Any, axes: Sequence[int] | None = None) -> torch.Tensor:
    """Permute the axes (reverse them when ``axes`` is None)."""
    t = convert_to_tensor(x)
    return t.permute(*(reversed(range(t.dim())) if axes is None else axes))


def expand_dims(x: Any, axis: int | Sequence[int]) -> torch.Tensor:
    """Insert size-1 axes at ``axis`` (one or several positions of the result)."""
    t = convert_to_tensor(x)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out_rank = t.dim() + len(axes)
    for a in sorted(a % out_rank for a in axes):
        t = t.unsqueeze(a)
    return t


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> torch.Tensor:
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    t = convert_to_tensor(x)
    if axis is None:
        return t.squeeze()
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if t.shape[a] != 1:
            raise ConfigError(f"squeeze: axis {a} has size {t.shape[a]}, not 1. Received: axis={axis}, "
                              f"x.shape={tuple(t.shape)}")
    return t.squeeze(axes)


def ravel(x: Any) -> torch.Tensor:
    """``x`` flattened to 1-D in row-major order."""
    return convert_to_tensor(x).reshape(-1)


def broadcast_to(x: Any, shape: Any) -> torch.Tensor:
    """``x`` broadcast to ``shape``."""
    return convert_to_tensor(x).broadcast_to(_shape(shape))


def moveaxis(x: Any, source: Any, destination: Any) -> torch.Tensor:
    """Move axes to new positions, like ``numpy.moveaxis``."""
    return torch.moveaxis(convert_to_tensor(x), source, destination)


def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    """Swap two axes."""
    return torch.swapaxes(convert_to_tensor(x), axis1, axis2)


def size(x: Any) -> int:
    """Number of elements (``keras.ops.size``)."""
    return int(convert_to_tensor(x).numel())


def ndim(x: Any) -> int:
    """Number of axes."""
    return int(convert_to_tensor(x).dim())


# --------------------------------------------------------------------------- joining and splitting


def concatenate(xs: Sequence[Any], axis: int | None = 0) -> torch.Tensor:
    """Join tensors along an existing axis (flattened first when ``axis`` is None)."""
    ts = tensors(*xs)
    if axis is None:
        return torch.cat([t.reshape(-1) for t in ts])
    return torch.cat(_promoted(ts), dim=axis)


def _promoted(ts: list[torch.Tensor]) -> list[torch.Tensor]:
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in ts]


def stack(x: Sequence[Any], axis: int = 0) -> torch.Tensor:
    """Join tensors along a new axis."""
    return torch.stack(_promoted(tensors(*x)), dim=axis)


def append(x1: Any, x2: Any, axis: int | None = None) -> torch.Tensor:
    """``x2`` appended to ``x1`` (both flattened when ``axis`` is None)."""
    return concatenate([x1, x2], axis=axis)


def vstack(xs: Sequence[Any]) -> torch.Tensor:
    """Stack along the first axis (1-D inputs become rows)."""
    return torch.vstack(_promoted(tensors(*xs)))


def hstack(xs: Sequence[Any]) -> torch.Tensor:
    """Stack along the second axis (the first for 1-D inputs)."""
    return torch.hstack(_promoted(tensors(*xs)))


def dstack(xs: Sequence[Any]) -> torch.Tensor:
    """Stack along the third axis."""
    return torch.dstack(_promoted(tensors(*xs)))


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """Split into equal sections or at the given indices, like ``numpy.split``."""
    t = convert_to_tensor(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if t.shape[axis] % n:
            raise ConfigError(
                f"split: axis {axis} of size {t.shape[axis]} does not divide into {n} equal sections. "
                f"Use array_split for unequal parts. Received: indices_or_sections={n}"
            )
    return list(torch.tensor_split(t, _split_arg(indices_or_sections), dim=axis))


def _split_arg(value: Any) -> Any:
    return int(value) if isinstance(value, (int, np.integer)) else [int(v) for v in value]


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """Like :func:`split`, allowing sections of unequal size."""
    return list(torch.tensor_split(convert_to_tensor(x), _split_arg(indices_or_sections), dim=axis))


def hsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """Split along the second axis (the first for 1-D input)."""
    t = convert_to_tensor(x)
    return split(t, indices_or_sections, axis=1 if t.dim() > 1 else 0)


def vsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """Split along the first axis."""
    return split(x, indices_or_sections, axis=0)


def dsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """Split along the third axis."""
    return split(x, indices_or_sections, axis=2)


def tile(x: Any, repeats: Any) -> torch.Tensor:
    """Repeat the whole tensor ``repeats`` times per axis, like ``numpy.tile``."""
    reps = (int(repeats),) if isinstance(repeats, (int, np.integer)) else tuple(int(r) for r in repeats)
    return torch.tile(convert_to_tensor(x), reps)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> torch.Tensor:
    """Repeat each element, like ``numpy.repeat`` (flattened first when ``axis`` is None)."""
    t = convert_to_tensor(x)
    reps = repeats if isinstance(repeats, (int, np.integer)) else convert_to_tensor(repeats).to(t.device)
    return torch.repeat_interleave(t.reshape(-1) if axis is None else t, reps, dim=0 if axis is None else axis)


def flip(x: Any, axis: int | Sequence[int] | None = None) -> torch.Tensor:
    """Reverse the order along ``axis`` (every axis when None)."""
    t = convert_to_tensor(x)
    axes = range(t.dim()) if axis is None else ((axis,) if isinstance(axis, (int, np.integer)) else axis)
    return torch.flip(t, tuple(axes))


def fliplr(x: Any) -> torch.Tensor:
    """Reverse the order along axis 1."""
    return flip(x, 1)


def flipud(x: Any) -> torch.Tensor:
    """Reverse the order along axis 0."""
    return flip(x, 0)


def roll(x: Any, shift: Any, axis: Any = None) -> torch.Tensor:
    """Shift elements cyclically along ``axis`` (over the flattened tensor when None)."""
    t = convert_to_tensor(x)
    if axis is None:
        return torch.roll(t.reshape(-1), shift).reshape(t.shape)
    return torch.roll(t, shift, axis)


def rot90(array: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> torch.Tensor:  # noqa: A002 - Keras's name
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``."""
    return torch.rot90(convert_to_tensor(array), k, list(axes))


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> torch.Tensor:
    """Pad with ``pad_width`` ``((before, after), ...)`` per axis; modes 'constant', 'reflect', 'symmetric', 'edge', 'wrap'."""
    t = convert_to_tensor(x)
    choice_arg(mode, ("constant", "edge", "reflect", "symmetric", "wrap"), "pad", "mode")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else
                             np.full((1, 2), int(pad_width)), (t.dim(), 2))
    if mode == "constant":
        flat = [int(v) for pair in widths[::-1] for v in pair]
        return F.pad(t, flat, value=0 if constant_values is None else constant_values)
    if constant_values is not None:
        raise ConfigError(f"pad: constant_values only goes with mode='constant'. Received: mode={mode!r}")
    index = [_pad_index(t.shape[a], int(b), int(e), mode, t.device) for a, (b, e) in enumerate(widths)]
    out = t
    for a, idx in enumerate(index):
        if idx is not None:
            out = out.index_select(a, idx)
    return out


def _pad_index(n: int, before: int, after: int, mode: str, device) -> torch.Tensor | None:
    """Source positions for each padded position along one axis."""
    if before == after == 0:
        return None
    pos = np.arange(-before, n + after)
    if mode == "edge":
        src = np.clip(pos, 0, n - 1)
    elif mode == "wrap":
        src = pos % n
    else:
        period = 2 * n - 2 if mode == "reflect" else 2 * n
        if period == 0:
            src = np.zeros_like(pos)
        else:
            src = pos % period
            src = np.where(src >= n, period - src - (0 if mode == "reflect" else 1), src)
    return torch.as_tensor(src, device=device)


# --------------------------------------------------------------------------- indexing


def take(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Elements at ``indices`` along ``axis`` (of the flattened tensor when None); negative indices count from the end."""
    t, idx = tensors(x, indices)
    if axis is None:
        t, axis = t.reshape(-1), 0
    n = t.shape[axis]
    idx = idx.long()
    idx = torch.where(idx < 0, idx + n, idx)
    out = t.index_select(axis, idx.reshape(-1))
    return out.reshape(t.shape[:axis % t.dim()] + idx.shape + t.shape[axis % t.dim() + 1:])


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """``numpy.take_along_axis``: pick per-row positions, e.g. the output of argsort."""
    t, idx = tensors(x, indices)
    if axis is None:
        t, axis = t.reshape(-1), 0
    idx = idx.long()
    idx = torch.where(idx < 0, idx + t.shape[axis], idx)
    shape = list(torch.broadcast_shapes(t.shape[:axis % t.dim()] + (1,) + t.shape[axis % t.dim() + 1:],
                                        idx.shape[:axis % idx.dim()] + (1,) + idx.shape[axis % idx.dim() + 1:]))
    t_shape, i_shape = list(shape), list(shape)
    t_shape[axis], i_shape[axis] = t.shape[axis], idx.shape[axis]
    return torch.gather(t.expand(t_shape), axis, idx.expand(i_shape))


def get_item(x: Any, key: Any) -> torch.Tensor:
    """``x[key]``."""
    t = convert_to_tensor(x)
    if isinstance(key, (np.ndarray, list)) or (isinstance(key, torch.Tensor)):
        key = convert_to_tensor(key).to(t.device)
        key = key if key.dtype == torch.bool else key.long()
    return t[key]


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """``x1`` where ``condition`` holds, else ``x2``; with one argument, the indices of true values."""
    if (x1 is None) != (x2 is None):
        raise ConfigError("where: give both x1 and x2, or neither. Received: "
                          f"x1={'None' if x1 is None else '...'}, x2={'None' if x2 is None else '...'}")
    cond = convert_to_tensor(condition)
    if x1 is None:
        return nonzero(cond)
    a, b = (v if isinstance(v, (int, float, bool)) else convert_to_tensor(v).to(cond.device) for v in (x1, x2))
    if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        a = convert_to_tensor(a)
    return torch.where(cond.bool(), a, b)


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> torch.Tensor:
    """The choice of the first true condition per element, like ``numpy.select``."""
    out = convert_to_tensor(default)
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(cond, choice, out)
    return out


def nonzero(x: Any) -> tuple[torch.Tensor, ...]:
    """A tuple of int32 index tensors, one per axis, of the non-zero elements."""
    return tuple(int_result(i) for i in torch.nonzero(convert_to_tensor(x), as_tuple=True))


def meshgrid(*x: Any, indexing: str = "xy") -> list[torch.Tensor]:
    """Coordinate grids from 1-D tensors; ``indexing`` is 'xy' (Cartesian) or 'ij' (matrix)."""
    choice_arg(indexing, ("xy", "ij"), "meshgrid", "indexing")
    return list(torch.meshgrid(*tensors(*x), indexing=indexing))


def diag(x: Any, k: int = 0) -> torch.Tensor:
    """The ``k``-th diagonal of a 2-D tensor, or a 2-D tensor with a 1-D ``x`` on it."""
    return torch.diag(convert_to_tensor(x), k)


def diagflat(x: Any, k: int = 0) -> torch.Tensor:
    """A 2-D tensor with the flattened ``x`` on the ``k``-th diagonal."""
    return torch.diagflat(convert_to_tensor(x), k)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """The diagonal over ``axis1``/``axis2``, moved to the last axis."""
    return torch.diagonal(convert_to_tensor(x), offset, axis1, axis2)


def triu(x: Any, k: int = 0) -> torch.Tensor:
    """Zero below the ``k``-th diagonal."""
    return torch.triu(convert_to_tensor(x), k)


def tril(x: Any, k: int = 0) -> torch.Tensor:
    """Zero above the ``k``-th diagonal."""
    return torch.tril(convert_to_tensor(x), k)


def unravel_index(indices: Any, shape: Any) -> tuple[torch.Tensor, ...]:
    """Turn flat indices into a tuple of coordinate tensors for ``shape``."""
    return tuple(int_result(t) for t in torch.unravel_index(convert_to_tensor(indices).long(), _shape(shape)))


def view(x: Any, dtype: Any = None) -> torch.Tensor:
    """The same bytes seen as another dtype."""
    t = convert_to_tensor(x)
    return t if dtype is None else t.view(torch_dtype(dtype, "view"))


__all__ = [
    "append", "arange", "array", "array_split", "broadcast_to", "concatenate", "copy", "diag", "diagflat",
    "diagonal", "dsplit", "dstack", "empty", "empty_like", "expand_dims", "eye", "flip", "fliplr", "flipud",
    "full", "full_like", "geomspace", "get_item", "hsplit", "hstack", "identity", "linspace", "logspace",
    "meshgrid", "moveaxis", "ndim", "nonzero", "ones", "ones_like", "pad", "ravel", "repeat", "reshape", "roll",
    "rot90", "select", "size", "split", "squeeze", "stack", "swapaxes", "take", "take_along_axis", "tile",
    "transpose", "tri", "tril", "triu", "unravel_index", "vander", "view", "vsplit", "vstack", "where", "zeros",
    "zeros_like",
]
export(globals(), __all__)

"""Keras 3's NumPy-like ops on torch: ``keras.ops.sum``, ``matmul``, ``argsort``, ... (and, re-exported,
the element-wise ops and the array creation/shape ops).

Inputs may be NumPy arrays, Python numbers or lists, or torch tensors; results
are torch tensors with Keras's dtypes: reductions of integers that give a
fraction (``mean``, ``std``) are ``float32``, indices and counts are ``int32``.

Example:
    >>> from cnnlab import ops
    >>> ops.sum([[1.0, 2.0], [3.0, 4.0]], axis=0).tolist()
    [4.0, 6.0]
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ConfigError
from cnnlab.ops import _arrays, _elementwise
from cnnlab.ops._arrays import *  # noqa: F403 - keras.ops.numpy holds these too
from cnnlab.ops._convert import (
    axis_tuple, choice_arg, convert_to_tensor, export, int_result, tensors, to_float, torch_dtype,
)
from cnnlab.ops._elementwise import *  # noqa: F403

# Keras sums small ints and bools in int32 rather than overflowing or widening to torch's int64.
_SMALL_INTS = (torch.bool, torch.uint8, torch.int8, torch.int16)


def _dims(t: torch.Tensor, axis: Any) -> tuple[int, ...]:
    axes = axis_tuple(axis)
    return tuple(range(t.dim())) if axes is None else axes


def _keep_int(t: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    if t.dtype in _SMALL_INTS:
        return out.to(torch.int32)
    return out.to(t.dtype) if not t.is_floating_point() else out


# --------------------------------------------------------------------------- reductions


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    t = convert_to_tensor(x)
    return _keep_int(t, torch.sum(t, dim=_dims(t, axis), keepdim=keepdims)) if t.dim() else _keep_int(t, t)


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> torch.Tensor:
    """Product over ``axis``."""
    t = convert_to_tensor(x)
    out = t.reshape(-1).prod() if axis is None else t
    for a in sorted(() if axis is None else (d % t.dim() for d in _dims(t, axis)), reverse=True):
        out = out.prod(dim=a, keepdim=keepdims)
    if axis is None and keepdims:
        out = out.reshape((1,) * t.dim())
    out = _keep_int(t, out)
    return out if dtype is None else out.to(torch_dtype(dtype, "prod"))


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Mean over ``axis``; integer input gives ``float32``."""
    t = to_float(x)
    return torch.mean(t, dim=_dims(t, axis), keepdim=keepdims) if t.dim() else t


def _moment(x: Any, axis: Any, keepdims: bool, fn: Callable) -> torch.Tensor:
    t = to_float(x)
    return fn(t, dim=_dims(t, axis), keepdim=keepdims, correction=0) if t.dim() else torch.zeros_like(t)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance (``ddof=0``) over ``axis``."""
    return _moment(x, axis, keepdims, torch.var)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation (``ddof=0``) over ``axis``."""
    return _moment(x, axis, keepdims, torch.std)


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """Largest value over ``axis``; ``initial`` is a floor for the result."""
    t = convert_to_tensor(x)
    out = torch.amax(t, dim=_dims(t, axis), keepdim=keepdims) if t.dim() else t
    return out if initial is None else torch.clamp(out, min=initial)


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """Smallest value over ``axis``; ``initial`` is a ceiling for the result."""
    t = convert_to_tensor(x)
    out = torch.amin(t, dim=_dims(t, axis), keepdim=keepdims) if t.dim() else t
    return out if initial is None else torch.clamp(out, max=initial)


def amax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Largest value over ``axis`` (same as :func:`max`)."""
    return max(x, axis, keepdims)


def amin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Smallest value over ``axis`` (same as :func:`min`)."""
    return min(x, axis, keepdims)


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Range (max - min) over ``axis``."""
    return max(x, axis, keepdims) - min(x, axis, keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """True where every value over ``axis`` is non-zero."""
    t = convert_to_tensor(x).bool()
    return torch.all(t, dim=_dims(t, axis), keepdim=keepdims) if t.dim() else t


def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """True where some value over ``axis`` is non-zero."""
    t = convert_to_tensor(x).bool()
    return torch.any(t, dim=_dims(t, axis), keepdim=keepdims) if t.dim() else t


def count_nonzero(x: Any, axis: Any = None) -> torch.Tensor:
    """Number of non-zero values over ``axis`` (int32)."""
    t = convert_to_tensor(x)
    return int_result(torch.count_nonzero(t, dim=_dims(t, axis)))


def _arg_reduce(x: Any, axis: Any, keepdims: bool, fn: Callable) -> torch.Tensor:
    t = convert_to_tensor(x)
    if axis is None:
        out = fn(t.reshape(-1), 0)
        return int_result(out.reshape((1,) * t.dim()) if keepdims else out)
    return int_result(fn(t, int(axis), keepdim=keepdims))


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the largest value (the first on ties), int32; over the flattened tensor when ``axis`` is None."""
    return _arg_reduce(x, axis, keepdims, torch.argmax)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the smallest value (the first on ties), int32."""
    return _arg_reduce(x, axis, keepdims, torch.argmin)


def average(x: Any, axis: Any = None, weights: Any = None) -> torch.Tensor:
    """Weighted mean over ``axis``; 1-D ``weights`` apply along that axis."""
    t = to_float(x)
    if weights is None:
        return mean(t, axis)
    w = to_float(weights).to(t.device)
    if w.dim() == 1 and t.dim() > 1 and axis is not None:
        shape = [1] * t.dim()
        shape[int(axis)] = -1
        w = w.reshape(shape)
    dtype = torch.promote_types(t.dtype, w.dtype)
    t, w = t.to(dtype), w.to(dtype)
    return sum(t * w, axis) / sum(w.expand_as(t) if axis is not None else w * torch.ones_like(t), axis)


def median(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Median over ``axis`` (the mean of the two middle values for even counts, as NumPy)."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """Quantiles ``q`` in [0, 1] over ``axis``, like ``numpy.quantile``."""
    choice_arg(method, ("linear", "lower", "higher", "midpoint", "nearest"), "quantile", "method")
    return _quantile_over_axes(torch.quantile, x, q, axis, method, keepdims)


def _quantile_over_axes(kernel, x: Any, q: Any, axis: Any, method: str, keepdims: bool) -> torch.Tensor:
    """``kernel`` (torch.quantile or nanquantile) over several axes at once: they are moved last and flattened."""
    t = to_float(x)
    qs = convert_to_tensor(q).to(device=t.device, dtype=t.dtype)
    axes = _dims(t, axis)
    moved = torch.movedim(t, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[: t.dim() - len(axes)] + (-1,))
    out = kernel(flat, qs, dim=-1, interpolation=method)
    if keepdims:
        kept = [1 if d in {a % t.dim() for a in axes} else s for d, s in enumerate(t.shape)]
        out = out.reshape(qs.shape + tuple(kept))
    return out


def percentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """Percentiles ``q`` in [0, 100] over ``axis``."""
    return quantile(x, convert_to_tensor(q).double() / 100.0, axis, method, keepdims)


def _nan_reducer(fill: Callable[[torch.Tensor], Any], reduce: Callable, name: str) -> Callable:
    """A NaN-ignoring reduction: NaNs replaced by a neutral value first."""
    def op(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
        t = convert_to_tensor(x)
        if t.is_floating_point():
            t = torch.where(torch.isnan(t), torch.as_tensor(fill(t), dtype=t.dtype, device=t.device), t)
        return reduce(t, axis, keepdims)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Like ``numpy.{name}``: the reduction with NaN values left out."
    return op


nansum = _nan_reducer(lambda t: 0, sum, "nansum")
nanprod = _nan_reducer(lambda t: 1, prod, "nanprod")
nanmax = _nan_reducer(lambda t: -float("inf"), max, "nanmax")
nanmin = _nan_reducer(lambda t: float("inf"), min, "nanmin")
nanargmax = _nan_reducer(lambda t: -float("inf"), argmax, "nanargmax")
nanargmin = _nan_reducer(lambda t: float("inf"), argmin, "nanargmin")


def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Mean over ``axis`` with NaN values left out."""
    t = to_float(x)
    return torch.nanmean(t, dim=_dims(t, axis), keepdim=keepdims)


def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance over ``axis`` with NaN values left out."""
    t = to_float(x)
    centred = t - nanmean(t, axis, keepdims=True)
    return nanmean(centred * centred, axis, keepdims)


def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation over ``axis`` with NaN values left out."""
    return torch.sqrt(nanvar(x, axis, keepdims))


def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Median over ``axis`` with NaN values left out."""
    return nanquantile(x, 0.5, axis, keepdims=keepdims)


def nanquantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """Quantiles with NaN values left out."""
    return _quantile_over_axes(torch.nanquantile, x, q, axis, method, keepdims)


def nanpercentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """Percentiles with NaN values left out."""
    return nanquantile(x, convert_to_tensor(q).double() / 100.0, axis, method, keepdims)


# --------------------------------------------------------------------------- cumulative, sorting, searching


def _cumulative(x: Any, axis: Any, dtype: Any, fn: Callable, name: str) -> torch.Tensor:
    t = convert_to_tensor(x)
    if axis is None:
        t, axis = t.reshape(-1), 0
    out = _keep_int(t, fn(t, dim=int(axis)))
    return out if dtype is None else out.to(torch_dtype(dtype, name))


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Running sum along ``axis`` (over the flattened tensor when None)."""
    return _cumulative(x, axis, dtype, torch.cumsum, "cumsum")


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Running product along ``axis``."""
    return _cumulative(x, axis, dtype, torch.cumprod, "cumprod")


def nancumsum(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Running sum treating NaN as 0."""
    return cumsum(torch.nan_to_num(convert_to_tensor(x), nan=0.0), axis, dtype)


def nancumprod(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """Running product treating NaN as 1."""
    t = convert_to_tensor(x)
    return cumprod(torch.where(torch.isnan(t), torch.ones_like(t), t) if t.is_floating_point() else t, axis, dtype)


def sort(x: Any, axis: int = -1) -> torch.Tensor:
    """Values sorted ascending along ``axis``."""
    t = convert_to_tensor(x)
    if axis is None:
        t, axis = t.reshape(-1), -1
    return torch.sort(t, dim=axis, stable=True).values


def argsort(x: Any, axis: int = -1) -> torch.Tensor:
    """int32 indices that sort ``x`` ascending along ``axis`` (stable, as NumPy's default on ties here)."""
    t = convert_to_tensor(x)
    if axis is None:
        t, axis = t.reshape(-1), -1
    return int_result(torch.sort(t, dim=axis, stable=True).indices)


def argpartition(x: Any, kth: int, axis: int = -1) -> torch.Tensor:
    """Indices that put the ``kth`` smallest value in place with smaller ones before it (a full argsort here)."""
    return argsort(x, axis)


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> torch.Tensor:
    """Insertion indices (int32) of ``values`` into a 1-D ascending ``sorted_sequence``."""
    choice_arg(side, ("left", "right"), "searchsorted", "side")
    seq, vals = tensors(sorted_sequence, values)
    dtype = torch.promote_types(seq.dtype, vals.dtype)
    return int_result(torch.searchsorted(seq.to(dtype), vals.to(dtype), right=side == "right"))


def digitize(x: Any, bins: Any) -> torch.Tensor:
    """Bin index of each value, like ``numpy.digitize`` with increasing ``bins``."""
    t, b = tensors(x, bins)
    dtype = torch.promote_types(t.dtype, b.dtype)
    return int_result(torch.bucketize(t.to(dtype), b.to(dtype), right=True))


def unique(x: Any, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, axis: int | None = None, size: int | None = None,
           fill_value: Any = None) -> Any:
    """Distinct values (sorted), optionally with first indices, inverse indices and counts; ``size`` pads or cuts."""
    t = convert_to_tensor(x)
    values, inverse, counts = torch.unique(t, sorted=True, return_inverse=True, return_counts=True, dim=axis)
    flat_inverse = inverse.reshape(-1)
    first = torch.full((values.shape[0 if axis is None else axis],), flat_inverse.numel(), dtype=torch.long,
                       device=t.device)
    first = first.scatter_reduce(0, flat_inverse, torch.arange(flat_inverse.numel(), device=t.device), "amin")
    if size is not None:
        n = values.shape[0]
        if size <= n:
            values, counts, first = values[:size], counts[:size], first[:size]
        else:
            filler = (values[:1] if n else torch.zeros(1, dtype=t.dtype)) if fill_value is None else torch.as_tensor(
                [fill_value], dtype=t.dtype)
            values = torch.cat([values, filler.expand((size - n,) + values.shape[1:])])
            counts = torch.cat([counts, counts.new_zeros(size - n)])
            first = torch.cat([first, first.new_zeros(size - n)])
    extras = [(return_index, int_result(first)), (return_inverse, int_result(inverse)),
              (return_counts, int_result(counts))]
    chosen = [v for wanted, v in extras if wanted]
    return (values, *chosen) if chosen else values


def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> torch.Tensor:
    """Count of each non-negative int (weighted sums with ``weights``); a 2-D ``x`` counts per row."""
    t = convert_to_tensor(x).long()
    w = None if weights is None else convert_to_tensor(weights).to(t.device)
    length = builtins.max(int(t.max()) + 1 if t.numel() else 0, int(minlength))
    if t.dim() == 1:
        out = torch.bincount(t, w, minlength=length)
    else:
        offsets = torch.arange(t.shape[0], device=t.device).unsqueeze(1) * length
        out = torch.bincount((t + offsets).reshape(-1), None if w is None else w.reshape(-1),
                             minlength=length * t.shape[0]).reshape(t.shape[0], length)
    return int_result(out) if w is None else out.to(w.dtype if w.is_floating_point() else torch.int32)


def histogram(x: Any, bins: int = 10, range: tuple[float, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002
    """``(counts, bin_edges)`` of a 1-D tensor, like ``numpy.histogram``."""
    t = to_float(x)
    low, high = (float(t.min()), float(t.max())) if range is None else range
    counts, edges = torch.histogram(t.cpu().double(), bins=int(bins), range=(low, high))
    return int_result(counts).to(t.device), edges.to(device=t.device, dtype=t.dtype)


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> torch.Tensor:
    """True where an element of ``x1`` is in ``x2``."""
    a, b = tensors(x1, x2)
    return torch.isin(a, b, assume_unique=assume_unique, invert=invert)


def diff(a: Any, n: int = 1, axis: int = -1) -> torch.Tensor:
    """``n``-th discrete difference along ``axis``."""
    return torch.diff(convert_to_tensor(a), n=n, dim=axis)


# --------------------------------------------------------------------------- products


def _pair(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = tensors(x1, x2)
    dtype = torch.promote_types(a.dtype, b.dtype)
    if dtype in _SMALL_INTS:
        dtype = torch.int32
    return a.to(dtype), b.to(dtype)


def matmul(x1: Any, x2: Any) -> torch.Tensor:
    """Matrix product with NumPy's broadcasting rules."""
    return torch.matmul(*_pair(x1, x2))


def dot(x1: Any, x2: Any) -> torch.Tensor:
    """``numpy.dot``: scalars multiply, 1-D/2-D multiply as vectors/matrices, N-D contract the last/second-last axes."""
    a, b = _pair(x1, x2)
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    if b.dim() <= 2:
        return torch.matmul(a, b)
    return torch.tensordot(a, b, dims=([-1], [b.dim() - 2]))


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> torch.Tensor:
    """Sum of products over the given axes, like ``numpy.tensordot``."""
    a, b = _pair(x1, x2)
    dims = int(axes) if isinstance(axes, (int, np.integer)) else [list(np.atleast_1d(ax)) for ax in axes]
    return torch.tensordot(a, b, dims=dims)


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> torch.Tensor:
    """Einstein summation, e.g. ``einsum("ij,jk->ik", a, b)``."""
    ts = tensors(*operands)
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return torch.einsum(subscripts, *[t.to(dtype) for t in ts])


def outer(x1: Any, x2: Any) -> torch.Tensor:
    """Outer product of the flattened inputs."""
    a, b = _pair(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


def inner(x1: Any, x2: Any) -> torch.Tensor:
    """Sum of products over the last axes."""
    return torch.inner(*_pair(x1, x2))


def vdot(x1: Any, x2: Any) -> torch.Tensor:
    """Dot product of the flattened inputs (conjugating the first)."""
    a, b = _pair(x1, x2)
    return torch.vdot(a.reshape(-1), b.reshape(-1)) if a.is_complex() else torch.dot(a.reshape(-1), b.reshape(-1))


def kron(x1: Any, x2: Any) -> torch.Tensor:
    """Kronecker product."""
    return torch.kron(*_pair(x1, x2))


def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None) -> torch.Tensor:
    """Cross product of 3-vectors along the given axes."""
    a, b = _pair(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = torch.moveaxis(a, axisa, -1), torch.moveaxis(b, axisb, -1)
    a, b = torch.broadcast_tensors(a, b)
    return torch.moveaxis(torch.linalg.cross(a, b, dim=-1), -1, axisc)


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """Sum along a diagonal."""
    t = convert_to_tensor(x)
    return _keep_int(t, torch.diagonal(t, offset, axis1, axis2).sum(-1))


def correlate(x1: Any, x2: Any, mode: str = "valid") -> torch.Tensor:
    """Cross-correlation of two 1-D sequences, like ``numpy.correlate``."""
    choice_arg(mode, ("valid", "same", "full"), "correlate", "mode")
    a, b = (to_float(v) for v in _pair(x1, x2))
    n, m = a.shape[0], b.shape[0]
    if m > n:
        return torch.flip(correlate(b, a, mode), (0,))
    pad = {"valid": 0, "same": m // 2, "full": m - 1}[mode]
    padded = torch.nn.functional.pad(a, (pad, m - 1 - pad if mode == "same" else pad))
    return torch.nn.functional.conv1d(padded.view(1, 1, -1), b.view(1, 1, -1)).reshape(-1)


def corrcoef(x: Any) -> torch.Tensor:
    """Pearson correlation coefficients of the rows."""
    return torch.corrcoef(to_float(x))


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> torch.Tensor:
    """Integral by the trapezoidal rule along ``axis``."""
    t = to_float(y)
    if x is None:
        return torch.trapezoid(t, dx=dx, dim=axis)
    return torch.trapezoid(t, to_float(x).to(t.device), dim=axis)


def slogdet(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sign, log|det|)`` of square matrices."""
    return tuple(torch.linalg.slogdet(to_float(x)))


def vectorize(pyfunc: Callable, *, excluded: Any = None, signature: str | None = None) -> Callable:
    """Turn a function of elements into one of tensors (via ``torch.vmap`` over every axis)."""
    if excluded or signature:
        raise ConfigError("vectorize: excluded and signature are not supported by cnnlab. "
                          f"Received: excluded={excluded!r}, signature={signature!r}")

    def vectorized(*args: Any) -> torch.Tensor:
        ts = torch.broadcast_tensors(*tensors(*args))
        fn = pyfunc
        for _ in range(ts[0].dim()):
            fn = torch.vmap(fn)
        return fn(*ts)

    return vectorized


__all__ = sorted(set(_arrays.__all__) | set(_elementwise.__all__) | {
    "all", "amax", "amin", "any", "argmax", "argmin", "argpartition", "argsort", "average", "bincount",
    "corrcoef", "correlate", "count_nonzero", "cross", "cumprod", "cumsum", "diff", "digitize", "dot", "einsum",
    "histogram", "inner", "isin", "kron", "matmul", "max", "mean", "median", "min", "nanargmax", "nanargmin",
    "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
    "nanquantile", "nanstd", "nansum", "nanvar", "outer", "percentile", "prod", "ptp", "quantile", "searchsorted",
    "slogdet", "sort", "std", "sum", "tensordot", "trace", "trapezoid", "unique", "var", "vdot", "vectorize",
})
export(globals(), [n for n in __all__ if n not in _arrays.__all__ and n not in _elementwise.__all__],
       keep=("vectorize",))

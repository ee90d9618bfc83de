"""Keras's convolution and pooling ops (``keras.ops.conv``, ``max_pool``, ...) for 1-D, 2-D and 3-D inputs.

Kernels use Keras layouts: ``conv`` ``(*window, in // groups, out)``,
``depthwise_conv`` ``(*window, in, multiplier)``, ``conv_transpose``
``(*window, out, in)``. ``padding="same"`` pads like TensorFlow (odd extra
at the end); average pooling leaves padded cells out of each mean, as TF does.
The spatial rank comes from the input: ``(batch, *spatial, channels)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.ops import _tf
from cnnlab.ops._convert import data_format_arg, export, tensors, to_float


def _ntuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    items = [value] * n if isinstance(value, (int, np.integer)) else list(value)
    if len(items) != n or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in items):
        raise ConfigError(f"{op}: argument '{name}' must be a positive int or {n} positive ints for "
                          f"{n}-D data. Received: {name}={value!r}")
    return tuple(int(v) for v in items)


def _channels_first(x: torch.Tensor, data_format: str | None, op: str, arg: str = "inputs") -> torch.Tensor:
    if x.dim() not in (3, 4, 5):
        raise ShapeError(
            f"{op} expects 3-D, 4-D or 5-D input (batch, *spatial, channels) for 1-D, 2-D or 3-D data; "
            f"got shape {tuple(x.shape)}. Add a batch axis with x[None] or a channel axis with x[..., None]. "
            f"Received: {arg}.shape={tuple(x.shape)}"
        )
    if data_format_arg(data_format, op) == "channels_first":
        return x
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def _restore(x: torch.Tensor, data_format: str | None) -> torch.Tensor:
    if data_format_arg(data_format, "ops") == "channels_first":
        return x
    return x.permute(0, *range(2, x.dim()), 1)


def _pads(padding: Any, sizes: Sequence[int], window: Sequence[int], strides: Sequence[int],
          dilation: Sequence[int], op: str) -> list[tuple[int, int]]:
    mode = _tf.normalize_padding(padding)
    pads = [(0, 0)] * len(sizes) if mode == "valid" else [
        _tf.same_padding(n, k, s, d) for n, k, s, d in zip(sizes, window, strides, dilation)]
    for axis, (n, k, d, p) in enumerate(zip(sizes, window, dilation, pads)):
        span = (k - 1) * d + 1
        if n + sum(p) < span:
            raise ShapeError(
                f"{op}: the window ({span} along spatial axis {axis}) is larger than the input's size {n} "
                f"there (padded: {n + sum(p)}), so the output would be empty. Use padding='same', a smaller "
                f"window, or a larger input. Received: padding={padding!r}"
            )
    return pads


def _pad(x: torch.Tensor, pads: list[tuple[int, int]], value: float = 0.0) -> torch.Tensor:
    flat = [v for before_after in reversed(pads) for v in before_after]
    return F.pad(x, flat, value=value) if any(flat) else x


def _window_args(inputs, strides, padding, dilation_rate, window, op):
    n = inputs.dim() - 2
    strides, dilation = _ntuple(strides, n, "strides", op), _ntuple(dilation_rate, n, "dilation_rate", op)
    pads = _pads(padding, inputs.shape[2:], window, strides, dilation, op)
    return strides, dilation, pads


def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: str | None = None,
         dilation_rate: Any = 1) -> torch.Tensor:
    """N-D convolution (cross-correlation) as ``keras.ops.conv``; grouped when ``in`` is a multiple of the kernel's.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first).
        kernel: ``(*window, in_channels // groups, out_channels)``.
        strides, dilation_rate: int or one per spatial axis.
        padding: 'valid' or 'same' (TF's: the odd extra row/column at the end).

    Shape:
        Output ``(batch, *out_spatial, out_channels)``.
    """
    x, w = (to_float(v) for v in tensors(inputs, kernel))
    x_cf = _channels_first(x, data_format, "conv")
    n = x_cf.dim() - 2
    if w.dim() != n + 2:
        raise ShapeError(f"conv: a {n}-D convolution needs a kernel of rank {n + 2} (*window, in, out). "
                         f"Received: kernel.shape={tuple(w.shape)}, inputs.shape={tuple(x.shape)}")
    channels, per_group = x_cf.shape[1], w.shape[-2]
    if channels % per_group:
        raise ShapeError(
            f"conv: the input has {channels} channels, not a multiple of the kernel's {per_group} input "
            f"channels (kernel shape (*window, in, out) = {tuple(w.shape)}). Make kernel.shape[-2] equal the "
            f"input's channel count. Received: inputs.shape={tuple(x.shape)}"
        )
    strides, dilation, pads = _window_args(x_cf, strides, padding, dilation_rate, w.shape[:n], "conv")
    dtype = torch.promote_types(x_cf.dtype, w.dtype)
    weight = w.to(dtype).permute(n + 1, n, *range(n))
    out = getattr(F, f"conv{n}d")(_pad(x_cf.to(dtype), pads), weight, stride=strides, dilation=dilation,
                                  groups=channels // per_group)
    return _restore(out, data_format)


def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """Per-channel convolution; kernel ``(*window, in_channels, multiplier)``, output channel ``c * multiplier + m``."""
    x, w = (to_float(v) for v in tensors(inputs, kernel))
    x_cf = _channels_first(x, data_format, "depthwise_conv")
    n = x_cf.dim() - 2
    if w.dim() != n + 2 or w.shape[-2] != x_cf.shape[1]:
        raise ShapeError(
            f"depthwise_conv: the kernel must be (*window, in_channels, multiplier) with in_channels = "
            f"{x_cf.shape[1]} for this input. Received: kernel.shape={tuple(w.shape)}, inputs.shape={tuple(x.shape)}"
        )
    flat = w.reshape(tuple(w.shape[:n]) + (1, -1))
    return conv(x, flat, strides, padding, data_format, dilation_rate)


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1,
                   padding: str = "valid", data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """A depthwise convolution followed by a 1x1 convolution with ``pointwise_kernel`` ``(*ones, in * mult, out)``."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", output_padding: Any = None,
                   data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """Transposed convolution with TF's output sizes; kernel ``(*window, out_channels, in_channels)``.

    Output length per axis: 'valid' ``in * s + max(k - s, 0)``, 'same' ``in * s``
    (``k`` the dilated window), or ``(in - 1) * s + k - 2 * pad + output_padding``
    when ``output_padding`` is given (``pad`` = ``k // 2`` for 'same', 0 for 'valid').
    """
    x, w = (to_float(v) for v in tensors(inputs, kernel))
    x_cf = _channels_first(x, data_format, "conv_transpose")
    n = x_cf.dim() - 2
    if w.dim() != n + 2 or w.shape[-1] != x_cf.shape[1]:
        raise ShapeError(
            f"conv_transpose: the kernel must be (*window, out_channels, in_channels) with in_channels = "
            f"{x_cf.shape[1]}. Received: kernel.shape={tuple(w.shape)}, inputs.shape={tuple(x.shape)}"
        )
    strides = _ntuple(strides, n, "strides", "conv_transpose")
    dilation = _ntuple(dilation_rate, n, "dilation_rate", "conv_transpose")
    mode = _tf.normalize_padding(padding)
    extra = [None] * n if output_padding is None else [
        int(v) for v in ([output_padding] * n if isinstance(output_padding, (int, np.integer)) else output_padding)]
    dtype = torch.promote_types(x_cf.dtype, w.dtype)
    full = getattr(F, f"conv_transpose{n}d")(x_cf.to(dtype), w.to(dtype).permute(n + 1, n, *range(n)),
                                              stride=strides, dilation=dilation)
    out = full
    for axis in range(n):
        size, s, span = x_cf.shape[2 + axis], strides[axis], (w.shape[axis] - 1) * dilation[axis] + 1
        if extra[axis] is None:
            length = size * s + (max(span - s, 0) if mode == "valid" else 0)
        else:
            length = (size - 1) * s + span - 2 * (span // 2 if mode == "same" else 0) + extra[axis]
        # TF computes this as the gradient of a forward conv over `length`, which pads 'same' at the end.
        before = max((size - 1) * s + span - length, 0) // 2 if mode == "same" else 0
        out = _crop_or_pad(out, 2 + axis, before, length)
    return _restore(out, data_format)


def _crop_or_pad(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    available = x.shape[dim] - start
    if available >= length:
        return x.narrow(dim, start, length)
    x = x.narrow(dim, start, available)
    shape = list(x.shape)
    shape[dim] = length - available
    return torch.cat([x, x.new_zeros(shape)], dim=dim)


def _pool(inputs, pool_size, strides, padding, data_format, op, kind, tf_kwargs):
    ksize = tf_kwargs.pop("ksize", None)
    if tf_kwargs:
        raise ConfigError(f"{op}: unexpected arguments {sorted(tf_kwargs)}. Received: {tf_kwargs}")
    pool_size = ksize if pool_size is None else pool_size
    if pool_size is None:
        raise ConfigError(f"{op}: argument 'pool_size' is required, e.g. pool_size=2. Received: pool_size=None")
    x = to_float(inputs)
    if x.dim() == 4 and data_format_arg(data_format, op) == "channels_last":
        # TF's own spellings (ksize, [1, h, w, 1], 'SAME') go through the note helpers unchanged.
        tf_op = _tf.max_pool2d if kind == "max" else _tf.avg_pool2d
        return tf_op(x, pool_size, pool_size if strides is None else strides, padding)
    x_cf = _channels_first(x, data_format, op)
    n = x_cf.dim() - 2
    window = _ntuple(pool_size, n, "pool_size", op)
    strides = window if strides is None else _ntuple(strides, n, "strides", op)
    pads = _pads(padding, x_cf.shape[2:], window, strides, (1,) * n, op)
    if kind == "max":
        out = getattr(F, f"max_pool{n}d")(_pad(x_cf, pads, -math.inf), window, strides)
    else:
        avg = getattr(F, f"avg_pool{n}d")
        out = avg(_pad(x_cf, pads), window, strides)
        if any(sum(p) for p in pads):
            ones = torch.ones((1, 1) + tuple(x_cf.shape[2:]), dtype=x_cf.dtype, device=x_cf.device)
            out = out / avg(_pad(ones, pads), window, strides)
    return _restore(out, data_format)


def max_pool(inputs: Any, pool_size: Any = None, strides: Any = None, padding: str = "valid",
             data_format: str | None = None, **tf_kwargs: Any) -> torch.Tensor:
    """Max pooling over 1-D, 2-D or 3-D windows; ``strides`` default to ``pool_size``.

    Also takes ``tf.nn.max_pool``'s arguments (``ksize``, ``[1, h, w, 1]``, ``'SAME'``).
    'same' pads with -inf, so padding never wins.
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "max_pool", "max", tf_kwargs)


def average_pool(inputs: Any, pool_size: Any = None, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **tf_kwargs: Any) -> torch.Tensor:
    """Average pooling; with 'same', each mean is over the real (unpadded) cells only, as in TF."""
    return _pool(inputs, pool_size, strides, padding, data_format, "average_pool", "avg", tf_kwargs)


def _adaptive(inputs: Any, output_size: Any, data_format: str | None, kind: str) -> torch.Tensor:
    op = f"adaptive_{kind}_pool"
    x_cf = _channels_first(to_float(inputs), data_format, op)
    n = x_cf.dim() - 2
    size = _ntuple(output_size, n, "output_size", op)
    fn = getattr(F, f"adaptive_{'avg' if kind == 'average' else 'max'}_pool{n}d")
    return _restore(fn(x_cf, size), data_format)


def adaptive_average_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> torch.Tensor:
    """Average pooling to a fixed ``output_size`` (torch's adaptive bins)."""
    return _adaptive(inputs, output_size, data_format, "average")


def adaptive_max_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> torch.Tensor:
    """Max pooling to a fixed ``output_size`` (torch's adaptive bins)."""
    return _adaptive(inputs, output_size, data_format, "max")


__all__ = ["adaptive_average_pool", "adaptive_max_pool", "average_pool", "conv", "conv_transpose",
           "depthwise_conv", "max_pool", "separable_conv"]
export(globals(), __all__)

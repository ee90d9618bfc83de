"""TF-semantics helpers the study notes use (``tf.nn.conv2d`` style), and the shape arithmetic behind them.

Inputs are channels-last ``(batch, height, width, channels)`` (NHWC) and conv
filters are ``(kh, kw, in, out)`` (HWIO), as in ``tf.nn.conv2d``. NumPy arrays
and torch tensors are accepted; results are torch tensors. Float64 input stays
float64 (as in TF); integer input (e.g. uint8 images) becomes float32.

``padding="SAME"`` pads like TensorFlow: the output has ``ceil(in / stride)``
positions and an odd extra padded row/column goes to the bottom/right.

Example:
    >>> import numpy as np
    >>> x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> conv2d(x, np.ones((2, 2, 1, 1), np.float32)).reshape(2, 2).tolist()
    [[12.0, 16.0], [24.0, 28.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError, did_you_mean

Padding = str | Sequence[Sequence[int]]
PADDING_MODES = ("valid", "same")

# --------------------------------------------------------------------------- argument normalising


def normalize_tuple(value: Any, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """Turn an int or a sequence of ``n`` ints into a tuple of ``n`` ints.

    Args:
        value: e.g. ``3`` or ``(3, 5)``.
        n: the number of spatial dimensions.
        name: the argument's name, for the error message.
        allow_zero: accept 0 (e.g. for padding amounts); otherwise values must be >= 1.

    Raises:
        ConfigError: naming the argument and what it received.

    Example:
        >>> normalize_tuple(3, 2, "kernel_size")
        (3, 3)
    """
    items = [value] * n if _is_int(value) else value
    ok = isinstance(items, Sequence) and not isinstance(items, str) and len(items) == n
    ok = ok and all(_is_int(v) and (v >= 1 or (allow_zero and v == 0)) for v in items)
    if not ok:
        least = "non-negative" if allow_zero else "positive"
        raise ConfigError(
            f"argument '{name}' must be a {least} int or a tuple of {n} {least} ints, "
            f"e.g. {name}=3 or {name}={(3,) * n}. Received: {name}={value!r}"
        )
    return tuple(int(v) for v in items)


def normalize_padding(value: Any, allowed: Sequence[str] = PADDING_MODES) -> str:
    """Return the padding mode in lower case, checked against ``allowed``.

    Raises:
        ConfigError: listing the valid choices, e.g. ``Received: padding='sane'``.

    Example:
        >>> normalize_padding("SAME")
        'same'
    """
    mode = value.lower() if isinstance(value, str) else None
    if mode not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        raise ConfigError(f"argument 'padding' must be one of {choices}.{hint} Received: padding={value!r}")
    return mode


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- shape arithmetic


def conv_output_size(w: int, f: int, p: int, s: int, d: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis.

    ``floor((w - d * (f - 1) - 1 + 2 * p) / s) + 1``: ``w`` input size, ``f``
    window size, ``p`` padding on each side, ``s`` stride, ``d`` dilation.

    Raises:
        ConfigError: when the window does not fit (result below 1), with the arithmetic.

    Example:
        >>> conv_output_size(28, 3, 0, 1), conv_output_size(28, 3, 1, 1)
        (26, 28)
    """
    for name, value, least in (("w", w, 1), ("f", f, 1), ("p", p, 0), ("s", s, 1), ("d", d, 1)):
        if not _is_int(value) or value < least:
            raise ConfigError(f"conv_output_size: {name} must be an int >= {least}. Received: {name}={value!r}")
    span = d * (f - 1) + 1
    out = (w - span + 2 * p) // s + 1
    if out < 1:
        dilated = f" (dilated window {d}*({f}-1)+1 = {span})" if d > 1 else ""
        raise ConfigError(
            f"a window of size {f}{dilated} does not fit an input of size {w} with padding {p}: "
            f"floor(({w} - {span} + 2*{p}) / {s}) + 1 = {out}. Use a smaller kernel or pool size, "
            f"padding='same', or a larger input. Received: w={w}, f={f}, p={p}, s={s}, d={d}"
        )
    return out


def same_output_size(in_size: int, stride: int) -> int:
    """Output length under TF ``padding='same'``: ``ceil(in_size / stride)``."""
    return -(-in_size // stride)


def same_padding(in_size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF ``'same'`` padding along one axis as ``(before, after)``; the odd extra goes after.

    ``total = max((ceil(in/stride) - 1) * stride + (kernel - 1) * dilation + 1 - in, 0)``.

    Example:
        >>> same_padding(28, 3, 1), same_padding(28, 2, 2), same_padding(3, 2, 1)
        ((1, 1), (0, 0), (0, 1))
    """
    span = (kernel - 1) * dilation + 1
    total = max((same_output_size(in_size, stride) - 1) * stride + span - in_size, 0)
    return total // 2, total - total // 2


# --------------------------------------------------------------------------- argument parsing for ops


def _to_tensor(value: Any) -> torch.Tensor:
    tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float32)
    return tensor


def _check_nhwc(x: torch.Tensor, op: str) -> None:
    if x.dim() == 4:
        return
    fixes = {
        2: "Add batch and channel axes: x.reshape((1,) + x.shape + (1,)).",
        3: "If this is one image (height, width, channels), add a batch axis: x[None]. "
        "If it is a batch of grayscale images (batch, height, width), add a channel axis: x[..., None].",
    }
    raise ShapeError(
        f"{op} expects 4-D input (batch, height, width, channels); got shape {tuple(x.shape)}. "
        f"{fixes.get(x.dim(), 'Reshape it to (batch, height, width, channels).')} Received: x.shape={tuple(x.shape)}"
    )


def _spatial_arg(value: Any, name: str) -> tuple[int, int]:
    """Accept an int, a pair, or TF's 4-list ``[1, h, w, 1]``."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 4:
        if value[0] != 1 or value[3] != 1:
            raise ConfigError(
                f"argument '{name}' given as 4 values must be [1, h, w, 1] (no batch or channel step). "
                f"Received: {name}={value!r}"
            )
        value = value[1:3]
    return normalize_tuple(value, 2, name)


def _padding_pairs(
    padding: Any, size: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int], dilations: tuple[int, int],
    explicit_ok: bool,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return ``((top, bottom), (left, right))`` for 'same', 'valid' or explicit TF pairs."""
    if isinstance(padding, str):
        mode = normalize_padding(padding)
        if mode == "valid":
            return (0, 0), (0, 0)
        return tuple(same_padding(size[i], kernel[i], strides[i], dilations[i]) for i in range(2))  # type: ignore[return-value]
    if not explicit_ok:
        normalize_padding(padding)  # not a string: raises the standard message
    return _explicit_pairs(padding)


def _explicit_pairs(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """TF explicit padding: ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` (or just the middle two)."""
    try:
        pairs = [tuple(int(v) for v in pair) for pair in padding]
        valid = len(pairs) in (2, 4) and all(len(p) == 2 and min(p) >= 0 for p in pairs)
        if len(pairs) == 4:
            valid = valid and pairs[0] == (0, 0) and pairs[3] == (0, 0)
            pairs = pairs[1:3]
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ConfigError(
            "argument 'padding' must be 'SAME', 'VALID' or explicit pairs "
            "[[0, 0], [top, bottom], [left, right], [0, 0]] of non-negative ints. "
            f"Received: padding={padding!r}"
        )
    return pairs[0], pairs[1]


def _check_window_fits(
    op: str, x_shape: tuple[int, ...], window: tuple[int, int], pads, strides, dilations=(1, 1)
) -> None:
    for axis, name in ((0, "height"), (1, "width")):
        span = dilations[axis] * (window[axis] - 1) + 1
        padded = x_shape[1 + axis] + sum(pads[axis])
        if padded < span:
            raise ShapeError(
                f"{op}: the window ({span} along {name}) is larger than the input's {name} "
                f"{x_shape[1 + axis]} (padded: {padded}), so the output would be empty. Use padding='SAME', "
                f"a smaller window, or a larger image. Received: x.shape={tuple(x_shape)}"
            )


def _pad_nchw(x: torch.Tensor, pads, value: float = 0.0) -> torch.Tensor:
    (top, bottom), (left, right) = pads
    return F.pad(x, (left, right, top, bottom), value=value)


def _symmetric(pads) -> tuple[int, int] | None:
    """``(pad_h, pad_w)`` when each axis is padded equally on both sides, else None."""
    (top, bottom), (left, right) = pads
    return (top, left) if top == bottom and left == right else None


# --------------------------------------------------------------------------- ops


def conv2d(
    x: Any, filters: Any, strides: int | Sequence[int] = 1, padding: Padding = "VALID",
    dilations: int | Sequence[int] = 1,
) -> torch.Tensor:
    """2-D convolution (cross-correlation) like ``tf.nn.conv2d``.

    Args:
        x: input, NumPy array or tensor.
        filters: kernel ``(kh, kw, in_channels, out_channels)``.
        strides: int, ``(sh, sw)`` or ``[1, sh, sw, 1]``.
        padding: 'SAME' or 'VALID' (any case), or explicit TF pairs
            ``[[0, 0], [top, bottom], [left, right], [0, 0]]``.
        dilations: int, ``(dh, dw)`` or ``[1, dh, dw, 1]``.

    Shape:
        - x: ``(N, H, W, C_in)``
        - Output: ``(N, H_out, W_out, C_out)`` with ``H_out = conv_output_size(...)``
          for VALID or ``ceil(H / sh)`` for SAME.

    Example:
        >>> conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), padding="SAME").shape
        torch.Size([1, 5, 5, 2])
    """
    x, w = _to_tensor(x), _to_tensor(filters)
    _check_nhwc(x, "conv2d")
    if w.dim() != 4:
        raise ShapeError(
            f"conv2d expects filters of shape (kh, kw, in_channels, out_channels); got shape {tuple(w.shape)}. "
            f"Received: filters.shape={tuple(w.shape)}"
        )
    if w.shape[2] != x.shape[3]:
        raise ShapeError(
            f"conv2d: the input has {x.shape[3]} channels but the filters expect {w.shape[2]} "
            f"(filters shape (kh, kw, in, out) = {tuple(w.shape)}). Make filters.shape[2] equal x.shape[-1]. "
            f"Received: x.shape={tuple(x.shape)}"
        )
    strides, dilations = _spatial_arg(strides, "strides"), _spatial_arg(dilations, "dilations")
    kernel = (int(w.shape[0]), int(w.shape[1]))
    pads = _padding_pairs(padding, tuple(x.shape[1:3]), kernel, strides, dilations, explicit_ok=True)
    _check_window_fits("conv2d", tuple(x.shape), kernel, pads, strides, dilations)
    dtype = torch.promote_types(x.dtype, w.dtype)
    # permute() is a view: memory stays channels-last, which PyTorch's conv kernels use directly.
    x_nchw = x.to(dtype).permute(0, 3, 1, 2)
    w_oihw = w.to(device=x.device, dtype=dtype).permute(3, 2, 0, 1)
    symmetric = _symmetric(pads)
    if symmetric is None:
        x_nchw, symmetric = _pad_nchw(x_nchw, pads), (0, 0)
    out = F.conv2d(x_nchw, w_oihw, stride=strides, padding=symmetric, dilation=dilations)
    return out.permute(0, 2, 3, 1)


def max_pool2d(x: Any, ksize: int | Sequence[int], strides: int | Sequence[int], padding: str = "VALID") -> torch.Tensor:
    """Max pooling like ``tf.nn.max_pool2d``; 'SAME' pads with -inf, so padding never wins.

    Args:
        x: input ``(N, H, W, C)``.
        ksize: window, int, ``(kh, kw)`` or ``[1, kh, kw, 1]``.
        strides: int, ``(sh, sw)`` or ``[1, sh, sw, 1]``.
        padding: 'SAME' or 'VALID' (any case).

    Shape:
        Output ``(N, H_out, W_out, C)``.
    """
    x_nchw, window, strides, pads, native = _pool_args(x, ksize, strides, padding, "max_pool2d")
    if native is None:
        x_nchw, native = _pad_nchw(x_nchw, pads, value=-math.inf), (0, 0)
    return F.max_pool2d(x_nchw, window, strides, padding=native).permute(0, 2, 3, 1)


def avg_pool2d(x: Any, ksize: int | Sequence[int], strides: int | Sequence[int], padding: str = "VALID") -> torch.Tensor:
    """Average pooling like ``tf.nn.avg_pool2d``; arguments and shapes as :func:`max_pool2d`.

    With 'SAME', padded cells are left out of each average (TF divides by the
    number of real cells in the window), so border values are not pulled
    towards zero.
    """
    x_nchw, window, strides, pads, native = _pool_args(x, ksize, strides, padding, "avg_pool2d")
    if native is not None:
        out = F.avg_pool2d(x_nchw, window, strides, padding=native, count_include_pad=False)
        return out.permute(0, 2, 3, 1)
    # Uneven padding: window sums over zero padding, divided by the count of real cells.
    sums = F.avg_pool2d(_pad_nchw(x_nchw, pads), window, strides, divisor_override=1)
    ones = torch.ones((1, 1) + tuple(x_nchw.shape[2:]), dtype=x_nchw.dtype, device=x_nchw.device)
    counts = F.avg_pool2d(_pad_nchw(ones, pads), window, strides, divisor_override=1)
    return (sums / counts).permute(0, 2, 3, 1)


def _pool_args(x, ksize, strides, padding, op):
    """Validate pooling arguments; return the NCHW view, window, strides, pads and torch's own padding.

    The last item is None when torch's pooling cannot pad by itself: torch pads
    both sides equally and by at most half the window.
    """
    x = _to_tensor(x)
    _check_nhwc(x, op)
    window, strides = _spatial_arg(ksize, "ksize"), _spatial_arg(strides, "strides")
    pads = _padding_pairs(padding, tuple(x.shape[1:3]), window, strides, (1, 1), explicit_ok=False)
    _check_window_fits(op, tuple(x.shape), window, pads, strides)
    native = _symmetric(pads)
    if native is not None and any(native[i] > window[i] // 2 for i in range(2)):
        native = None
    return x.permute(0, 3, 1, 2), window, strides, pads, native


# TF's spelling; ``max_pool`` is the Keras op in ``nn``, which takes TF's arguments too.
avg_pool = avg_pool2d

__all__ = [
    "PADDING_MODES", "avg_pool", "avg_pool2d", "conv2d", "conv_output_size", "max_pool2d",
    "normalize_padding", "normalize_tuple", "same_output_size", "same_padding",
]

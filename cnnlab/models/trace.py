"""Explain shapes layer by layer: the output-size arithmetic of every windowed or resizing layer, any rank.

A shape error inside a model shows the shapes each layer produced up to the
failing one, with the arithmetic behind them. The same per-layer geometry
(:func:`layer_window`, :func:`layer_margins`, :func:`spatial_sizes`) feeds
``summary(detail=True)`` in :mod:`cnnlab.inspect.shape_math`.

Output size along one axis of size ``n``, as Keras/TensorFlow compute it
(``k`` the dilated kernel ``d*(k-1)+1``, ``s`` the stride):

- convolution and pooling: ``'valid'`` ``floor((n - k)/s) + 1``; ``'same'``
  ``ceil(n/s)``; ``'causal'`` (Conv1D) ``ceil(n/s)``;
- transposed convolution: ``(n - 1)*s + k - 2*p + output_padding`` with
  ``p = k // 2`` for ``'same'`` and 0 for ``'valid'``; without
  ``output_padding``, ``n*s`` (``'same'``) or ``n*s + max(k - s, 0)`` (``'valid'``);
- up-sampling ``n*f``; zero-padding ``n + a + b``; cropping ``n - a - b``.
"""

from __future__ import annotations

from typing import NamedTuple

from cnnlab.errors import ShapeError
from cnnlab.layers.conv import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from cnnlab.layers.reshaping import Cropping1D, Cropping2D, Cropping3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D
from cnnlab.layers.up_sampling import UpSampling1D, UpSampling2D, UpSampling3D

WINDOW_PADDINGS = ("valid", "same", "causal")
_TRANSPOSED = (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)
_UP_SAMPLING = (UpSampling1D, UpSampling2D, UpSampling3D)
_PADDING = (ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
_CROPPING = (Cropping1D, Cropping2D, Cropping3D)


class Window(NamedTuple):
    """The sliding window of a conv or pooling layer, one entry per spatial axis.

    ``kind`` is ``"conv"``, ``"transpose"`` (a transposed convolution) or ``"pool"``;
    ``output_padding`` is None except for a transposed convolution given one.
    """

    kind: str
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: str
    groups: int
    output_padding: tuple[int, ...] | None = None


class Margins(NamedTuple):
    """A resizing without a window: ``kind`` ``"up"`` (factors in ``sizes``), ``"pad"`` or ``"crop"`` (``pairs``)."""

    kind: str
    sizes: tuple[int, ...] | None = None
    pairs: tuple[tuple[int, int], ...] | None = None
    interpolation: str = "nearest"


def layer_window(layer) -> Window | None:
    """The window of a convolution (any rank, transposed too) or local pooling layer, else None."""
    strides = getattr(layer, "strides", None)
    if strides is None or getattr(layer, "padding", None) not in WINDOW_PADDINGS:
        return None
    strides = tuple(strides)
    if getattr(layer, "kernel_size", None) is not None:
        transposed = isinstance(layer, _TRANSPOSED)
        output_padding = getattr(layer, "output_padding", None) if transposed else None
        return Window("transpose" if transposed else "conv", tuple(layer.kernel_size), strides,
                      tuple(layer.dilation_rate), layer.padding, getattr(layer, "groups", 1),
                      None if output_padding is None else tuple(output_padding))
    if getattr(layer, "pool_size", None) is not None:
        return Window("pool", tuple(layer.pool_size), strides, (1,) * len(strides), layer.padding, 1)
    return None


def layer_margins(layer) -> Margins | None:
    """How an up-sampling, zero-padding or cropping layer (any rank) resizes, else None."""
    if isinstance(layer, _UP_SAMPLING):
        return Margins("up", sizes=tuple(layer.size), interpolation=getattr(layer, "interpolation", "nearest"))
    if isinstance(layer, _PADDING):
        return Margins("pad", pairs=tuple(tuple(p) for p in layer.padding))
    if isinstance(layer, _CROPPING):
        return Margins("crop", pairs=tuple(tuple(p) for p in layer.cropping))
    return None


def layer_rank(layer) -> int | None:
    """Number of spatial axes a windowed or resizing layer works on, else None."""
    window = layer_window(layer)
    if window is not None:
        return len(window.kernel)
    margins = layer_margins(layer)
    if margins is not None:
        return len(margins.sizes if margins.sizes is not None else margins.pairs)
    return None


def spatial_sizes(shape, layer, rank: int | None = None) -> tuple | None:
    """The spatial sizes of a batched ``shape`` in the layer's data format, or None if the rank does not fit."""
    rank = layer_rank(layer) if rank is None else rank
    if rank is None or not isinstance(shape, (tuple, list)) or len(shape) != rank + 2:
        return None
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return tuple(shape[2:])
    return tuple(shape[1:-1])


def transposed_size(size: int, kernel: int, stride: int, dilation: int, padding: str,
                    output_padding: int | None) -> tuple[str, int]:
    """``(formula, output size)`` of a transposed convolution along one axis, as Keras/TF compute it."""
    span = dilation * (kernel - 1) + 1
    if output_padding is None:
        if padding == "same":
            return f"{size}*{stride}", size * stride
        return f"{size}*{stride} + max({span} - {stride}, 0)", size * stride + max(span - stride, 0)
    pad = span // 2 if padding == "same" else 0
    out = (size - 1) * stride + span - 2 * pad + output_padding
    return f"({size} - 1)*{stride} + {span} - 2*{pad} + {output_padding}", out


def margin_sizes(margins: Margins, sizes: tuple) -> list[tuple[str, int] | None]:
    """``(formula, output size)`` per axis of an up-sampling, padding or cropping layer (None for unknown sizes)."""
    parts = []
    for axis, size in enumerate(sizes):
        if size is None:
            parts.append(None)
        elif margins.kind == "up":
            factor = margins.sizes[axis]
            parts.append((f"{size}*{factor}", size * factor))
        else:
            a, b = margins.pairs[axis]
            sign = "+" if margins.kind == "pad" else "-"
            parts.append((f"{size} {sign} {a} {sign} {b}", size + (a + b if sign == "+" else -(a + b))))
    return parts


def _compact_axis(window: Window, axis: int, size: int) -> str:
    k, s, d = window.kernel[axis], window.strides[axis], window.dilation[axis]
    if window.kind == "transpose":
        op = None if window.output_padding is None else window.output_padding[axis]
        text, out = transposed_size(size, k, s, d, window.padding, op)
        return f"{text} = {out}"
    if window.padding in ("same", "causal"):
        return f"ceil({size}/{s}) = {-(-size // s)}"
    span = d * (k - 1) + 1
    return f"({size} - {span})/{s} + 1 = {(size - span) // s + 1}"


def shape_arithmetic(layer, in_shape) -> str:
    """The output-size formula of a conv, pooling or resizing layer with the numbers filled in, or ''."""
    sizes = spatial_sizes(in_shape, layer)
    if sizes is None:
        return ""
    window = layer_window(layer)
    if window is not None:
        parts = [_compact_axis(window, axis, n) for axis, n in enumerate(sizes) if n is not None]
    else:
        parts = [f"{text} = {out}" for text, out in filter(None, margin_sizes(layer_margins(layer), sizes))]
    return "  [" + "; ".join(parts) + "]" if parts else ""


def explain_shape_error(model, failing_layer, input_shape, err: ShapeError) -> ShapeError:
    """Re-raise ``err`` with the shapes each layer produced before ``failing_layer``."""
    if getattr(err, "_explained", False):
        return err
    lines = [str(err), "", f"Shapes through model '{model.name}' up to the failing layer:"]
    for layer in model.layers:
        shapes = getattr(layer, "_last_shapes", None)
        if layer is failing_layer:
            lines.append(f"  {layer.name} ({type(layer).__name__}): input {_show(input_shape)}  <-- fails here")
            break
        if shapes is None:
            continue
        in_shape, out_shape = shapes
        lines.append(f"  {layer.name} ({type(layer).__name__}): {_show(in_shape)} -> {_show(out_shape)}"
                     f"{shape_arithmetic(layer, in_shape)}")
    new = ShapeError("\n".join(lines))
    new._explained = True
    return new


def _show(shape) -> str:
    if isinstance(shape, dict):
        return "?"
    return str(tuple(shape)) if isinstance(shape, (tuple, list)) else str(shape)

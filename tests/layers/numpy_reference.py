"""Independent NumPy references for the layer tests (TensorFlow semantics, plain loops and einsum)."""

from __future__ import annotations

import numpy as np


def tf_same_pads(size: int, window: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding along one axis: output ceil(size/stride), odd extra after."""
    out = -(-size // stride)
    span = (window - 1) * dilation + 1
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def _pads(x_shape, window, strides, dilation, padding):
    if padding == "valid":
        return (0, 0), (0, 0)
    return tuple(tf_same_pads(x_shape[1 + i], window[i], strides[i], dilation[i]) for i in range(2))


def conv2d_nhwc(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1), groups=1):
    """Cross-correlation of NHWC ``x`` with an HWIO ``kernel`` (in = channels per group)."""
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    kh, kw, group_in, out_channels = kernel.shape
    group_out = out_channels // groups
    (top, bottom), (left, right) = _pads(x.shape, (kh, kw), strides, dilation, padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    span_h, span_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    out_h = (xp.shape[1] - span_h) // strides[0] + 1
    out_w = (xp.shape[2] - span_w) // strides[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, out_channels))
    for i in range(out_h):
        for j in range(out_w):
            r, c = i * strides[0], j * strides[1]
            patch = xp[:, r:r + span_h:dilation[0], c:c + span_w:dilation[1], :]
            for g in range(groups):
                out[:, i, j, g * group_out:(g + 1) * group_out] = np.einsum(
                    "nhwc,hwco->no",
                    patch[..., g * group_in:(g + 1) * group_in],
                    kernel[..., g * group_out:(g + 1) * group_out],
                )
    if bias is not None:
        out = out + np.asarray(bias, np.float64)
    return out


def pool2d_nhwc(x, kind, pool_size, strides, padding="valid"):
    """Max or average pooling; with 'same', padded cells are never chosen and never counted."""
    x = np.asarray(x, np.float64)
    (top, bottom), (left, right) = _pads(x.shape, pool_size, strides, (1, 1), padding)
    real = np.pad(np.ones(x.shape[1:3]), ((top, bottom), (left, right))).astype(bool)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h = (xp.shape[1] - pool_size[0]) // strides[0] + 1
    out_w = (xp.shape[2] - pool_size[1]) // strides[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            rows = slice(i * strides[0], i * strides[0] + pool_size[0])
            cols = slice(j * strides[1], j * strides[1] + pool_size[1])
            mask = real[rows, cols]
            window = xp[:, rows, cols, :][:, mask, :]  # (n, real cells, c)
            out[:, i, j, :] = window.max(axis=1) if kind == "max" else window.mean(axis=1)
    return out

"""Keras 3's image ops on torch, with TensorFlow's pixel arithmetic.

``resize`` samples at half-pixel centres (``tf.image.resize``): bilinear is
torch's ``align_corners=False``, nearest is torch's ``nearest-exact``.
``affine_transform`` follows ``tf.raw_ops.ImageProjectiveTransformV3``: the
8-parameter transform maps output pixel ``(x, y)`` to input
``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1``.

Example:
    >>> from cnnlab import ops
    >>> tuple(ops.image.resize(ops.zeros((1, 4, 4, 3)), (8, 8)).shape)
    (1, 8, 8, 3)
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.ops import _tf
from cnnlab.ops._convert import choice_arg, convert_to_tensor, data_format_arg, export, tensors, to_float

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")
_TORCH_RESIZE = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "reflect")
_CUBIC_TABLE_SIZE = 1024  # kTableSize in TF's resize_bicubic_op.cc
# ITU-R 601-2 luma, the weights tf.image.rgb_to_grayscale uses.
_LUMA = (0.2989, 0.5870, 0.1140)


def _batched_nhwc(images: Any, data_format: str | None, op: str) -> tuple[torch.Tensor, bool, bool]:
    """NHWC view of 3-D or 4-D images; also whether a batch axis was added and whether to go back to NCHW."""
    t = convert_to_tensor(images)
    if t.dim() not in (3, 4):
        raise ShapeError(
            f"{op} expects images of rank 3 (height, width, channels) or 4 (batch, height, width, channels); "
            f"got shape {tuple(t.shape)}. Received: images.shape={tuple(t.shape)}"
        )
    single = t.dim() == 3
    t = t.unsqueeze(0) if single else t
    first = data_format_arg(data_format, op) == "channels_first"
    return (t.permute(0, 2, 3, 1) if first else t), single, first


def _unbatch(t: torch.Tensor, single: bool, first: bool) -> torch.Tensor:
    t = t.permute(0, 3, 1, 2) if first else t
    return t[0] if single else t


def _size_arg(size: Any, op: str, arg: str = "size") -> tuple[int, int]:
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ConfigError(f"{op}: argument '{arg}' must be (height, width). Received: {arg}={size!r}") from None
    return height, width


@functools.lru_cache(maxsize=64)
def _resize_weights(in_size: int, out_size: int, kind: str) -> np.ndarray:
    """The ``(out, in)`` matrix of TF's separable 'bicubic' (no antialias) or 'area' resize along one axis."""
    scale = in_size / out_size
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        if kind == "area":
            # Each output pixel averages the input interval it covers, by overlap length (tf ResizeArea).
            start, end = i * scale, (i + 1) * scale
            for j in range(int(np.floor(start)), int(np.ceil(end))):
                weights[i, min(j, in_size - 1)] += (min(j + 1, end) - max(j, start)) / scale
            continue
        # Keys cubic (a = -0.5) at half-pixel centres; taps outside the image get weight 0, then renormalise.
        centre = (i + 0.5) * scale - 0.5
        base = int(np.floor(centre))
        # TF reads the kernel from a 1024-entry table, so the fraction is rounded to 1/1024 first.
        fraction = np.rint((centre - base) * _CUBIC_TABLE_SIZE) / _CUBIC_TABLE_SIZE
        for j in range(base - 1, base + 3):
            if 0 <= j < in_size:
                d = abs(base + fraction - j)
                weights[i, j] += ((1.5 * d - 2.5) * d * d + 1 if d <= 1 else ((-0.5 * d + 2.5) * d - 4) * d + 2)
        weights[i] /= weights[i].sum()
    return weights


def _separable_resize(x: torch.Tensor, size: tuple[int, int], kind: str) -> torch.Tensor:
    rows, cols = (torch.as_tensor(_resize_weights(n, m, kind), dtype=x.dtype, device=x.device)
                  for n, m in zip(x.shape[1:3], size))
    return torch.einsum("ih,nhwc,jw->nijc", rows, x, cols)


def resize(images: Any, size: Any, interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> torch.Tensor:
    """Resize images to ``size = (height, width)`` like ``keras.ops.image.resize`` on TensorFlow.

    Args:
        images: ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.
        size: the output ``(height, width)``.
        interpolation: 'bilinear', 'nearest', 'bicubic' or 'area'.
        antialias: low-pass filter when shrinking (bilinear and bicubic).
        crop_to_aspect_ratio: centre-crop to the target aspect ratio first (no distortion).
        pad_to_aspect_ratio: pad with ``fill_value`` to the target aspect ratio first.

    Shape:
        Output ``(batch, size[0], size[1], channels)``; float32 for integer input except 'nearest'.
    """
    choice_arg(interpolation, RESIZE_INTERPOLATIONS, "resize", "interpolation")
    choice_arg(fill_mode, ("constant",), "resize", "fill_mode")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ConfigError("resize: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True. "
                          "Received: crop_to_aspect_ratio=True, pad_to_aspect_ratio=True")
    target_h, target_w = _size_arg(size, "resize")
    x, single, first = _batched_nhwc(images, data_format, "resize")
    height, width = x.shape[1], x.shape[2]
    if crop_to_aspect_ratio:
        crop_h = max(min(height, int(width * target_h / target_w)), 1)
        crop_w = max(min(width, int(height * target_w / target_h)), 1)
        top, left = int((height - crop_h) / 2), int((width - crop_w) / 2)
        x = x[:, top:top + crop_h, left:left + crop_w, :]
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(width * target_h / target_w))
        pad_w = max(width, int(height * target_w / target_h))
        top, left = int((pad_h - height) / 2), int((pad_w - width) / 2)
        x = F.pad(x, (0, 0, left, left, top, top), value=fill_value)
    source = x if x.is_floating_point() else x.to(torch.float32)
    if interpolation == "area" or (interpolation == "bicubic" and not antialias):
        # torch's area is integer-bin pooling and its bicubic uses a = -0.75; TF's differ, so build TF's weights.
        out = _separable_resize(source, (target_h, target_w), interpolation)
    else:
        kwargs = {"align_corners": False} if interpolation != "nearest" else {}
        if antialias and interpolation != "nearest":
            kwargs["antialias"] = True
        out = F.interpolate(source.permute(0, 3, 1, 2), size=(target_h, target_w),
                            mode=_TORCH_RESIZE[interpolation], **kwargs).permute(0, 2, 3, 1)
    if interpolation == "nearest" and not x.is_floating_point():
        out = out.to(x.dtype)
    return _unbatch(out.contiguous(), single, first)


def _map_coordinate(coord: torch.Tensor, length: int, fill_mode: str) -> torch.Tensor:
    """TF's MapCoordinate: fold an out-of-range input coordinate back inside, per fill mode."""
    if fill_mode == "constant":
        return coord
    if length <= 1:
        return torch.zeros_like(coord)
    last = float(length - 1)
    if fill_mode == "nearest":
        return coord.clamp(0.0, last)
    if fill_mode == "reflect":
        period = 2.0 * length
        low = coord + period * torch.trunc(-coord / period)
        low = torch.where(low < -length, low + period, -low - 1)
        high = coord - period * torch.trunc(coord / period)
        high = torch.where(high >= length, period - high - 1, high)
    else:  # wrap
        low = coord + length * (torch.trunc(-coord / last) + 1)
        high = coord - length * torch.trunc(coord / last)
    out = torch.where(coord < 0, low, torch.where(coord > last, high, coord))
    return out.clamp(0.0, last)


def _gather(x: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, fill: float) -> torch.Tensor:
    """``x[b, ys, xs, :]`` for integer-valued float coordinates, ``fill`` where outside."""
    n, h, w, _ = x.shape
    yi, xi = ys.long(), xs.long()
    inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand_as(yi)
    values = x[batch, yi.clamp(0, h - 1), xi.clamp(0, w - 1)]
    return torch.where(inside.unsqueeze(-1), values, torch.as_tensor(fill, dtype=x.dtype, device=x.device))


def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: float = 0, data_format: str | None = None) -> torch.Tensor:
    """Apply projective transforms ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (one, or one per image).

    Each output pixel ``(x, y)`` reads the input at the transformed point
    (see the module docstring); 'nearest' rounds half away from zero, 'bilinear'
    blends the four neighbours. ``fill_mode`` 'constant' fills with
    ``fill_value``; 'nearest', 'reflect' and 'wrap' fold the point back in.

    Shape:
        images ``(batch, h, w, c)`` or ``(h, w, c)``; transform ``(8,)`` or ``(batch, 8)``; output as images.
    """
    choice_arg(interpolation, AFFINE_INTERPOLATIONS, "affine_transform", "interpolation")
    choice_arg(fill_mode, FILL_MODES, "affine_transform", "fill_mode")
    x, single, first = _batched_nhwc(images, data_format, "affine_transform")
    t = to_float(convert_to_tensor(transform)).to(device=x.device, dtype=torch.float32)
    t = t.unsqueeze(0) if t.dim() == 1 else t
    if t.dim() != 2 or t.shape[1] != 8 or t.shape[0] not in (1, x.shape[0]):
        raise ShapeError(f"affine_transform: transform must have shape (8,) or (batch, 8) with batch = "
                         f"{x.shape[0]}. Received: transform.shape={tuple(t.shape)}")
    work = x if x.is_floating_point() else x.to(torch.float32)
    n, h, w, _ = x.shape
    oy, ox = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=x.device),
                            torch.arange(w, dtype=torch.float32, device=x.device), indexing="ij")
    a = [t[:, i].view(-1, 1, 1) for i in range(8)]
    k = a[6] * ox + a[7] * oy + 1.0
    safe_k = torch.where(k == 0, torch.ones_like(k), k)
    in_x = _map_coordinate((a[0] * ox + a[1] * oy + a[2]) / safe_k, w, fill_mode).expand(n, h, w)
    in_y = _map_coordinate((a[3] * ox + a[4] * oy + a[5]) / safe_k, h, fill_mode).expand(n, h, w)
    fill = float(fill_value)
    if interpolation == "nearest":
        # std::round: half away from zero (torch.round is half to even).
        out = _gather(work, torch.sign(in_y) * torch.floor(in_y.abs() + 0.5),
                      torch.sign(in_x) * torch.floor(in_x.abs() + 0.5), fill)
    else:
        y0, x0 = torch.floor(in_y), torch.floor(in_x)
        wy, wx = (in_y - y0).unsqueeze(-1), (in_x - x0).unsqueeze(-1)
        top = (1 - wx) * _gather(work, y0, x0, fill) + wx * _gather(work, y0, x0 + 1, fill)
        bottom = (1 - wx) * _gather(work, y0 + 1, x0, fill) + wx * _gather(work, y0 + 1, x0 + 1, fill)
        out = (1 - wy) * top + wy * bottom
    out = torch.where((k == 0).expand(n, h, w).unsqueeze(-1), torch.full_like(out, fill), out)
    out = out if x.is_floating_point() else torch.round(out).to(x.dtype)
    return _unbatch(out, single, first)


def extract_patches(images: Any, size: Any, strides: Any = None, dilation_rate: Any = 1, padding: str = "valid",
                    data_format: str | None = None) -> torch.Tensor:
    """Patches of ``size`` as the last axis, ``(batch, rows, cols, ph * pw * channels)`` in TF's order."""
    patch = (int(size), int(size)) if isinstance(size, (int, np.integer)) else _size_arg(size, "extract_patches")
    strides = patch if strides is None else (
        (int(strides),) * 2 if isinstance(strides, (int, np.integer)) else _size_arg(strides, "extract_patches",
                                                                                    "strides"))
    dilation = (int(dilation_rate),) * 2 if isinstance(dilation_rate, (int, np.integer)) else tuple(dilation_rate)
    x, single, first = _batched_nhwc(images, data_format, "extract_patches")
    n, h, w, c = x.shape
    if _tf.normalize_padding(padding) == "same":
        pads = [_tf.same_padding(s, k, st, d) for s, k, st, d in zip((h, w), patch, strides, dilation)]
        x = F.pad(x, (0, 0, *pads[1], *pads[0]))
    rows = _tf.conv_output_size(x.shape[1], patch[0], 0, strides[0], dilation[0])
    cols = _tf.conv_output_size(x.shape[2], patch[1], 0, strides[1], dilation[1])
    columns = F.unfold(x.permute(0, 3, 1, 2), patch, dilation=dilation, stride=strides)  # (n, c*ph*pw, L)
    out = columns.view(n, c, patch[0] * patch[1], rows, cols).permute(0, 3, 4, 2, 1).reshape(n, rows, cols, -1)
    return _unbatch(out, single, first)


def rgb_to_grayscale(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B``, keeping a channel axis of size 1."""
    x, single, first = _batched_nhwc(images, data_format, "rgb_to_grayscale")
    work = to_float(x)
    weights = torch.tensor(_LUMA, dtype=work.dtype, device=x.device)
    out = (work @ weights).unsqueeze(-1)
    out = out if x.is_floating_point() else out.to(x.dtype)
    return _unbatch(out, single, first)


def _pad_or_crop_args(sizes, amounts, targets, op, verb):
    """Resolve (before, after) per axis from the given amounts or target sizes."""
    out = []
    for size, (before, after), target, names in zip(sizes, amounts, targets,
                                                    (("top", "bottom", "height"), ("left", "right", "width"))):
        given = [v is not None for v in (before, after, target)]
        if sum(given) != 2:
            raise ConfigError(
                f"{op}: give exactly two of {names[0]}_{verb}, {names[1]}_{verb} and target_{names[2]}. "
                f"Received: {names[0]}_{verb}={before}, {names[1]}_{verb}={after}, target_{names[2]}={target}"
            )
        delta = None if target is None else abs(int(target) - size)
        before = delta - int(after) if before is None else int(before)
        after = delta - before if after is None else int(after)
        if before < 0 or after < 0:
            raise ConfigError(f"{op}: the {verb} along the {names[2]} would be negative ({before}, {after}). "
                              f"Received: target_{names[2]}={target}")
        out.append((before, after))
    return out


def pad_images(images: Any, top_padding: int | None = None, left_padding: int | None = None,
               bottom_padding: int | None = None, right_padding: int | None = None, target_height: int | None = None,
               target_width: int | None = None, data_format: str | None = None) -> torch.Tensor:
    """Zero-pad images by the given amounts, or to ``target_height`` x ``target_width``."""
    x, single, first = _batched_nhwc(images, data_format, "pad_images")
    (top, bottom), (left, right) = _pad_or_crop_args(
        x.shape[1:3], ((top_padding, bottom_padding), (left_padding, right_padding)), (target_height, target_width),
        "pad_images", "padding")
    return _unbatch(F.pad(x, (0, 0, left, right, top, bottom)), single, first)


def crop_images(images: Any, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None, target_height: int | None = None,
                target_width: int | None = None, data_format: str | None = None) -> torch.Tensor:
    """Crop images by the given amounts, or to ``target_height`` x ``target_width``."""
    x, single, first = _batched_nhwc(images, data_format, "crop_images")
    h, w = x.shape[1:3]
    (top, bottom), (left, right) = _pad_or_crop_args(
        (h, w), ((top_cropping, bottom_cropping), (left_cropping, right_cropping)), (target_height, target_width),
        "crop_images", "cropping")
    return _unbatch(x[:, top:h - bottom, left:w - right, :], single, first)


def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> torch.Tensor:
    """Sample ``inputs`` at ``coordinates`` (one array per axis), like ``scipy.ndimage.map_coordinates``.

    ``order`` 0 (nearest) or 1 (linear); ``fill_mode`` 'constant', 'nearest', 'wrap', 'mirror' or 'reflect'.
    """
    if order not in (0, 1):
        raise ConfigError(f"map_coordinates: argument 'order' must be 0 or 1. Received: order={order!r}")
    choice_arg(fill_mode, ("constant", "nearest", "wrap", "mirror", "reflect"), "map_coordinates", "fill_mode")
    x = convert_to_tensor(inputs)
    coords = [to_float(c).to(x.device) for c in tensors(*coordinates)]
    if len(coords) != x.dim():
        raise ShapeError(f"map_coordinates: give one coordinate array per input axis ({x.dim()}). "
                         f"Received: {len(coords)} coordinate arrays")
    work = to_float(x)

    def fold(index: torch.Tensor, size: int) -> torch.Tensor:
        if fill_mode == "nearest":
            return index.clamp(0, size - 1)
        if fill_mode == "wrap":
            return torch.remainder(index, size)
        if fill_mode == "mirror":
            period = max(2 * size - 2, 1)
            index = torch.remainder(index, period)
            return torch.where(index >= size, period - index, index)
        if fill_mode == "reflect":
            index = torch.remainder(index, 2 * size)
            return torch.where(index >= size, 2 * size - 1 - index, index)
        return index

    corners = [(torch.floor(c + 0.5) if order == 0 else torch.floor(c)).long() for c in coords]
    total = torch.zeros(coords[0].shape, dtype=work.dtype, device=x.device)
    for offsets in np.ndindex(*([1 if order == 0 else 2] * x.dim())):
        weight = torch.ones_like(total)
        index, valid = [], torch.ones(coords[0].shape, dtype=torch.bool, device=x.device)
        for axis, (o, c) in enumerate(zip(offsets, coords)):
            i = corners[axis] + o
            if order == 1:
                weight = weight * (1 - (c - i).abs()).to(work.dtype)
            i = fold(i, x.shape[axis])
            valid &= (i >= 0) & (i < x.shape[axis])
            index.append(i.clamp(0, x.shape[axis] - 1))
        total = total + weight * torch.where(valid, work[tuple(index)], torch.full_like(total, float(fill_value)))
    return total if x.is_floating_point() else total.to(x.dtype)


__all__ = ["affine_transform", "crop_images", "extract_patches", "map_coordinates", "pad_images", "resize",
           "rgb_to_grayscale"]
export(globals(), __all__)

"""``tf.image`` on torch: resizing, flips, rotations, crops, colour and dtype conversions.

Every function takes one image ``(height, width, channels)`` or a batch ``(batch, height, width, channels)``
and returns the same rank, as TF does. Resizing samples at half-pixel centres (TF2's rule) through
:func:`cnnlab.ops.image.resize`; ``convert_image_dtype`` scales integers to ``[0, 1]`` floats and back.

Example:
    >>> import numpy as np, cnnlab as tf
    >>> tuple(tf.image.resize(np.zeros((28, 28, 1), np.uint8), [32, 32]).shape)
    (32, 32, 1)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from cnnlab import ops
from cnnlab.errors import ConfigError, ShapeError, did_you_mean
from cnnlab.tf_names._args import check_arguments, int_list, to_tensor
from cnnlab.tf_names.dtypes import as_dtype, dtype_max, dtype_min

tf_api = check_arguments("tf.image")


class ResizeMethod:
    """The ``method`` names of :func:`resize` (``tf.image.ResizeMethod.BILINEAR`` is ``"bilinear"``)."""

    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


_SUPPORTED_METHODS = ("bilinear", "nearest", "bicubic", "area")
_TF_ONLY_METHODS = ("lanczos3", "lanczos5", "gaussian", "mitchellcubic")


def _batched(image: Any, where: str) -> tuple[torch.Tensor, bool]:
    """``image`` as a 4-D batch, and whether it was a single 3-D image."""
    t = to_tensor(image, where, "image")
    if t.dim() not in (3, 4):
        fix = " For a grayscale image (height, width) add a channel axis: image[..., None]." if t.dim() == 2 else ""
        raise ShapeError(f"{where} expects one image (height, width, channels) or a batch (batch, height, width, "
                         f"channels); got shape {tuple(t.shape)}.{fix} Received: image.shape={tuple(t.shape)}")
    return (t.unsqueeze(0), True) if t.dim() == 3 else (t, False)


def _unbatched(t: torch.Tensor, single: bool) -> torch.Tensor:
    return t[0] if single else t


@tf_api
def resize(images: Any, size: Any, method: str = "bilinear", preserve_aspect_ratio: bool = False,
           antialias: bool = False, name: str | None = None) -> torch.Tensor:
    """Resize to ``size = [height, width]`` as ``tf.image.resize`` (TF2: half-pixel centres).

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)``.
        size: the new ``[height, width]``.
        method: ``"bilinear"``, ``"nearest"``, ``"bicubic"`` or ``"area"`` (or ``tf.image.ResizeMethod.*``).
        preserve_aspect_ratio: shrink ``size`` so the image fits inside it without distortion.
        antialias: low-pass filter when shrinking (bilinear, bicubic).

    Shape:
        Output ``(..., new_h, new_w, c)``: float32, except ``"nearest"`` which keeps the input's dtype.
    """
    chosen = str(method).lower()
    if chosen in _TF_ONLY_METHODS:
        raise ConfigError(f"tf.image.resize: method {method!r} is not available in cnnlab; use one of "
                          f"{', '.join(map(repr, _SUPPORTED_METHODS))}. Received: method={method!r}")
    if chosen not in _SUPPORTED_METHODS:
        raise ConfigError(f"tf.image.resize: unknown method {method!r}.{did_you_mean(chosen, _SUPPORTED_METHODS)} "
                          f"Use one of {', '.join(map(repr, _SUPPORTED_METHODS))}. Received: method={method!r}")
    x, single = _batched(images, "tf.image.resize")
    height, width = int_list(size, "tf.image.resize", "size") if not isinstance(size, int) else (size, size)
    if preserve_aspect_ratio:
        scale = min(height / x.shape[1], width / x.shape[2])
        height, width = round(scale * x.shape[1]), round(scale * x.shape[2])
    if height <= 0 or width <= 0:
        raise ConfigError(f"tf.image.resize: size must be two positive ints [height, width]. Received: size={size!r}")
    out = ops.image.resize(x, (height, width), interpolation=chosen, antialias=bool(antialias))
    if chosen != "nearest":
        out = out.to(torch.float32)
    return _unbatched(out, single)


@tf_api
def flip_left_right(image: Any) -> torch.Tensor:
    """Mirror the width axis."""
    t = to_tensor(image, "tf.image.flip_left_right", "image")
    _batched(t, "tf.image.flip_left_right")
    return t.flip(-2)


@tf_api
def flip_up_down(image: Any) -> torch.Tensor:
    """Mirror the height axis."""
    t = to_tensor(image, "tf.image.flip_up_down", "image")
    _batched(t, "tf.image.flip_up_down")
    return t.flip(-3)


@tf_api
def rot90(image: Any, k: int = 1, name: str | None = None) -> torch.Tensor:
    """Rotate by 90 degrees counter-clockwise ``k`` times."""
    x, single = _batched(image, "tf.image.rot90")
    return _unbatched(torch.rot90(x, int(k) % 4, dims=(1, 2)), single)


@tf_api
def transpose(image: Any, name: str | None = None) -> torch.Tensor:
    """Swap the height and width axes."""
    x, single = _batched(image, "tf.image.transpose")
    return _unbatched(x.transpose(1, 2), single)


# --------------------------------------------------------------------------- dtype and colour


def _is_int(dtype: torch.dtype) -> bool:
    return not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool


def _cast(t: torch.Tensor, dtype: torch.dtype, saturate: bool) -> torch.Tensor:
    if saturate and _is_int(dtype):
        t = t.clamp(dtype_min(dtype), dtype_max(dtype))
    return t.to(dtype)


@tf_api
def convert_image_dtype(image: Any, dtype: Any, saturate: bool = False, name: str | None = None) -> torch.Tensor:
    """Convert pixel values between dtypes, rescaling: uint8 0..255 <-> float 0..1, as ``tf.image.convert_image_dtype``.

    Integers become floats by dividing by the integer type's maximum; floats become integers by multiplying
    by ``max + 0.5`` and truncating (``saturate=True`` clips first). Float to float is a plain cast.
    """
    t = to_tensor(image, "tf.image.convert_image_dtype", "image")
    target = as_dtype(dtype, "tf.image.convert_image_dtype")
    if t.dtype == torch.bool or target == torch.bool:
        raise ConfigError("tf.image.convert_image_dtype: image and dtype must be integer or float types. "
                          f"Received: image.dtype={t.dtype}, dtype={dtype!r}")
    if target == t.dtype:
        return t
    if t.is_floating_point() and target.is_floating_point:
        return t.to(target)
    if _is_int(t.dtype) and _is_int(target):
        scale_in, scale_out = int(dtype_max(t.dtype)), int(dtype_max(target))
        if scale_in > scale_out:
            return _cast(torch.div(t, (scale_in + 1) // (scale_out + 1), rounding_mode="floor"), target, saturate)
        return _cast(t, target, saturate) * ((scale_out + 1) // (scale_in + 1))
    if _is_int(t.dtype):
        return t.to(target) * (1.0 / dtype_max(t.dtype))
    return _cast(t * (dtype_max(target) + 0.5), target, saturate)


def _rgb(images: Any, where: str, arg: str) -> torch.Tensor:
    """``images`` as a tensor whose last axis holds the 3 channels R, G, B."""
    t = to_tensor(images, where, arg)
    if t.dim() < 1 or t.shape[-1] != 3:
        raise ShapeError(f"{where}: the last axis must hold 3 channels (R, G, B); got shape "
                         f"{tuple(t.shape)}. Received: {arg}.shape={tuple(t.shape)}")
    return t


# ITU-R 601-2 luma, the weights tf.image.rgb_to_grayscale uses.
_LUMA = (0.2989, 0.5870, 0.1140)


@tf_api
def rgb_to_grayscale(images: Any, name: str | None = None) -> torch.Tensor:
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B`` with a channel axis of 1, in the input's dtype."""
    t = _rgb(images, "tf.image.rgb_to_grayscale", "images")
    floats = convert_image_dtype(t, torch.float32)
    gray = (floats @ torch.tensor(_LUMA, dtype=torch.float32, device=t.device)).unsqueeze(-1)
    return convert_image_dtype(gray, t.dtype)


@tf_api
def grayscale_to_rgb(images: Any, name: str | None = None) -> torch.Tensor:
    """Repeat the single channel three times."""
    t = to_tensor(images, "tf.image.grayscale_to_rgb", "images")
    if t.dim() < 2 or t.shape[-1] != 1:
        raise ShapeError(f"tf.image.grayscale_to_rgb: the last axis must be a single channel; got shape "
                         f"{tuple(t.shape)}. Add one with images[..., None]. Received: images.shape={tuple(t.shape)}")
    return t.repeat(*([1] * (t.dim() - 1)), 3)


def _in_float(image: Any, where: str, adjust) -> torch.Tensor:
    """Apply ``adjust`` in float32 (float16/32 input as is) and convert back with saturation, as TF does."""
    t = to_tensor(image, where, "image")
    work = t if t.dtype in (torch.float16, torch.float32) else convert_image_dtype(t, torch.float32)
    return convert_image_dtype(adjust(work), t.dtype, saturate=True)


@tf_api
def adjust_brightness(image: Any, delta: float) -> torch.Tensor:
    """Add ``delta`` to every pixel (in the ``[0, 1]`` float scale for integer images)."""
    return _in_float(image, "tf.image.adjust_brightness", lambda x: x + float(delta))


@tf_api
def adjust_contrast(images: Any, contrast_factor: float) -> torch.Tensor:
    """``(x - mean) * contrast_factor + mean``, with the mean per image and channel."""
    def adjust(x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ShapeError(f"tf.image.adjust_contrast expects images with at least 3 axes (height, width, "
                             f"channels); got shape {tuple(x.shape)}. Received: images.shape={tuple(x.shape)}")
        mean = x.mean((-3, -2), keepdim=True)
        return (x - mean) * float(contrast_factor) + mean

    return _in_float(images, "tf.image.adjust_contrast", adjust)


# --------------------------------------------------------------------------- HSV


def _float_rgb(images: Any, where: str) -> torch.Tensor:
    t = _rgb(images, where, "images")
    if not t.is_floating_point():
        raise ConfigError(f"{where} takes float images with values in [0, 1]; got dtype {t.dtype}. Convert first: "
                          f"tf.image.convert_image_dtype(images, tf.float32). Received: images.dtype={t.dtype}")
    return t


def _hsv(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hue in [0, 1), saturation and value of float RGB, with TF's tie rule (red, then green, then blue)."""
    r, g, b = rgb.unbind(-1)
    value = torch.maximum(torch.maximum(r, g), b)
    spread = value - torch.minimum(torch.minimum(r, g), b)
    zero = torch.zeros_like(value)
    saturation = torch.where(value > 0, spread / value, zero)
    norm = 1.0 / (6.0 * spread)
    hue = torch.where(r == value, norm * (g - b),
                      torch.where(g == value, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0))
    hue = torch.where(spread > 0, hue, zero)  # grey pixels: the division above gave nan or inf
    return torch.where(hue < 0, hue + 1.0, hue), saturation, value


def _rgb_from_hsv(hue: torch.Tensor, saturation: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """TF's piecewise-linear HSV -> RGB: each channel is a clipped tent of ``6 * hue``."""
    sextant = hue * 6.0
    red = ((sextant - 3.0).abs() - 1.0).clamp(0.0, 1.0)
    green = (2.0 - (sextant - 2.0).abs()).clamp(0.0, 1.0)
    blue = (2.0 - (sextant - 4.0).abs()).clamp(0.0, 1.0)
    tents = torch.stack([red, green, blue], -1)
    return (1.0 - saturation.unsqueeze(-1) + saturation.unsqueeze(-1) * tents) * value.unsqueeze(-1)


def _in_float32(t: torch.Tensor, compute) -> torch.Tensor:
    """``compute`` in float32 for half-precision input (float64 stays as is), cast back."""
    if t.dtype in (torch.float16, torch.bfloat16):
        return compute(t.to(torch.float32)).to(t.dtype)
    return compute(t)


@tf_api
def rgb_to_hsv(images: Any, name: str | None = None) -> torch.Tensor:
    """RGB to HSV with TF's formulas: hue in ``[0, 1)`` (0 for greys), saturation ``spread / max``, value ``max``.

    Args:
        images: float RGB with values in ``[0, 1]``, last axis of 3.

    Shape:
        Output: the input's shape and dtype, last axis ``(hue, saturation, value)``.

    Example:
        >>> tf.image.rgb_to_hsv([[[1.0, 0.0, 0.0]]]).tolist()  # doctest: +SKIP
        [[[0.0, 1.0, 1.0]]]
    """
    t = _float_rgb(images, "tf.image.rgb_to_hsv")
    return _in_float32(t, lambda x: torch.stack(_hsv(x), -1))


@tf_api
def hsv_to_rgb(images: Any, name: str | None = None) -> torch.Tensor:
    """HSV (each in ``[0, 1]``) back to RGB with TF's formulas; the inverse of :func:`rgb_to_hsv`.

    Shape:
        Output: the input's shape and dtype, last axis ``(R, G, B)``.
    """
    t = _float_rgb(images, "tf.image.hsv_to_rgb")
    return _in_float32(t, lambda x: _rgb_from_hsv(*x.unbind(-1)))


@tf_api
def adjust_saturation(image: Any, saturation_factor: float, name: str | None = None) -> torch.Tensor:
    """Multiply the HSV saturation by ``saturation_factor`` (clipped to ``[0, 1]``), in the input's dtype.

    Integer images are converted to ``[0, 1]`` floats and back, as TF does.

    Shape:
        ``(..., height, width, 3)`` in, the same out.

    Example:
        >>> tuple(tf.image.adjust_saturation(np.zeros((4, 4, 3), np.uint8), 3).shape)  # doctest: +SKIP
        (4, 4, 3)
    """
    factor = float(saturation_factor)

    def adjust(x: torch.Tensor) -> torch.Tensor:
        hue, saturation, value = _hsv(x)
        return _rgb_from_hsv(hue, (saturation * factor).clamp(0.0, 1.0), value)

    return _in_float(_rgb(image, "tf.image.adjust_saturation", "image"), "tf.image.adjust_saturation", adjust)


@tf_api
def adjust_hue(image: Any, delta: float, name: str | None = None) -> torch.Tensor:
    """Rotate the HSV hue by ``delta`` (a fraction of the colour circle, in ``[-1, 1]``), in the input's dtype.

    Shape:
        ``(..., height, width, 3)`` in, the same out.
    """
    if not -1.0 <= float(delta) <= 1.0:
        raise ConfigError(f"tf.image.adjust_hue: delta must be in [-1, 1] (a fraction of the colour circle). "
                          f"Received: delta={delta!r}")

    def adjust(x: torch.Tensor) -> torch.Tensor:
        hue, saturation, value = _hsv(x)
        return _rgb_from_hsv(torch.remainder(hue + float(delta), 1.0), saturation, value)

    return _in_float(_rgb(image, "tf.image.adjust_hue", "image"), "tf.image.adjust_hue", adjust)


@tf_api
def per_image_standardization(image: Any) -> torch.Tensor:
    """``(x - mean) / max(std, 1 / sqrt(pixels))`` per image, as float32."""
    t = to_tensor(image, "tf.image.per_image_standardization", "image")
    if t.dim() < 3:
        raise ShapeError(f"tf.image.per_image_standardization expects (height, width, channels) images; got shape "
                         f"{tuple(t.shape)}. Received: image.shape={tuple(t.shape)}")
    x = t.to(torch.float32)
    mean = x.mean((-3, -2, -1), keepdim=True)
    std = x.std((-3, -2, -1), keepdim=True, correction=0)
    floor = torch.rsqrt(torch.tensor(float(x.shape[-3] * x.shape[-2] * x.shape[-1]), device=x.device))
    return (x - mean) / torch.maximum(std, floor)


# --------------------------------------------------------------------------- crops and pads


def _check_box(where: str, x: torch.Tensor, fits: bool, detail: str) -> None:
    if not fits:
        raise ShapeError(f"{where}: {detail} (image height {x.shape[1]}, width {x.shape[2]}). "
                         f"Received: image.shape={tuple(x.shape)}")


@tf_api
def crop_to_bounding_box(image: Any, offset_height: int, offset_width: int, target_height: int,
                         target_width: int) -> torch.Tensor:
    """The ``target_height`` x ``target_width`` window whose top-left corner is at the offsets."""
    x, single = _batched(image, "tf.image.crop_to_bounding_box")
    top, left, h, w = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    _check_box("tf.image.crop_to_bounding_box", x, min(top, left) >= 0 and h > 0 and w > 0
               and top + h <= x.shape[1] and left + w <= x.shape[2],
               f"the box at ({top}, {left}) of size {h}x{w} must lie inside the image")
    return _unbatched(x[:, top:top + h, left:left + w, :], single)


@tf_api
def pad_to_bounding_box(image: Any, offset_height: int, offset_width: int, target_height: int,
                        target_width: int) -> torch.Tensor:
    """Zero-pad to ``target_height`` x ``target_width``, with the image's top-left corner at the offsets."""
    x, single = _batched(image, "tf.image.pad_to_bounding_box")
    top, left, h, w = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    bottom, right = h - top - x.shape[1], w - left - x.shape[2]
    _check_box("tf.image.pad_to_bounding_box", x, min(top, left, bottom, right) >= 0,
               f"a {h}x{w} target with offsets ({top}, {left}) must hold the whole image")
    return _unbatched(F.pad(x, (0, 0, left, right, top, bottom)), single)


@tf_api
def resize_with_crop_or_pad(image: Any, target_height: int, target_width: int) -> torch.Tensor:
    """Centre-crop or zero-pad each axis to the target size (no scaling)."""
    x, single = _batched(image, "tf.image.resize_with_crop_or_pad")
    th, tw = int(target_height), int(target_width)
    if th <= 0 or tw <= 0:
        raise ConfigError(f"tf.image.resize_with_crop_or_pad: target sizes must be > 0. "
                          f"Received: target_height={target_height}, target_width={target_width}")
    h, w = x.shape[1], x.shape[2]
    cropped = crop_to_bounding_box(x, max((h - th) // 2, 0), max((w - tw) // 2, 0), min(th, h), min(tw, w))
    out = pad_to_bounding_box(cropped, max((th - h) // 2, 0), max((tw - w) // 2, 0), th, tw)
    return _unbatched(out, single)


@tf_api
def central_crop(image: Any, central_fraction: float) -> torch.Tensor:
    """Keep the central ``central_fraction`` of the height and width."""
    if not 0.0 < central_fraction <= 1.0:
        raise ConfigError(f"tf.image.central_crop: central_fraction must be in (0, 1]. "
                          f"Received: central_fraction={central_fraction!r}")
    x, single = _batched(image, "tf.image.central_crop")
    h, w = x.shape[1], x.shape[2]
    top, left = int((h - h * central_fraction) / 2), int((w - w * central_fraction) / 2)
    return _unbatched(x[:, top:h - top, left:w - left, :], single)


__all__ = ["ResizeMethod", "adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation",
           "central_crop", "convert_image_dtype", "crop_to_bounding_box", "flip_left_right", "flip_up_down",
           "grayscale_to_rgb", "hsv_to_rgb", "pad_to_bounding_box", "per_image_standardization", "resize",
           "resize_with_crop_or_pad", "rgb_to_grayscale", "rgb_to_hsv", "rot90", "transpose"]

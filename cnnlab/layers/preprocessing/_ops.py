"""Tensor operations behind the image layers, with TensorFlow's numeric rules (NCHW tensors throughout).

- :func:`affine_warp` is ``ImageProjectiveTransformV3`` (what Keras 3's ``affine_transform`` runs on
  TensorFlow): each output pixel ``(x, y)`` reads the input at
  ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1``, pixel centres on
  integer coordinates, the coordinate first folded back into the image by the fill mode. It runs as one
  batched ``grid_sample``.
- :func:`resize` is ``tf.image.resize`` (half-pixel centres): ``F.interpolate`` for bilinear and
  nearest, a separable matrix product for the kernels torch lacks or weighs differently (Keys cubic
  with a = -0.5, Lanczos, area, antialiasing).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
WARP_INTERPOLATIONS = ("bilinear", "nearest")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
_BICUBIC_TABLE_SIZE = 1024  # kTableSize in TensorFlow's resize_bicubic_op.cc


# ---------------------------------------------------------------------------------------------- warps
def affine_matrix(angle_deg, translate_x, translate_y, scale, shear_x_deg, shear_y_deg, height: int, width: int):
    """Keras 3's ``_compute_affine_matrix`` about the image centre: ``(N, 8)`` output-to-input transforms."""
    angle = angle_deg * (math.pi / 180.0)
    shear_x = torch.tan(shear_x_deg * (math.pi / 180.0))
    shear_y = torch.tan(shear_y_deg * (math.pi / 180.0))
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    a0 = scale * (cos + shear_x * sin)
    a1 = scale * (-sin + shear_x * cos)
    b0 = scale * (shear_y * cos + sin)
    b1 = scale * (-shear_y * sin + cos)
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = torch.zeros_like(a0)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], dim=1)


def _fold(coord: torch.Tensor, size: int, fill_mode: str) -> torch.Tensor:
    """Bring a source coordinate into ``[0, size - 1]`` the way TensorFlow's fill modes do."""
    if fill_mode == "constant":
        return coord  # out-of-image taps read the fill value in the sampler
    if size <= 1:
        return torch.zeros_like(coord)
    last = size - 1
    if fill_mode == "reflect":  # (d c b a | a b c d | d c b a): mirror about -0.5 and size - 0.5
        # No comparisons or torch.where (on the CPU each costs ~20 plain ops): bring the coordinate into
        # [-size/2, 3*size/2) (unchanged when already there), then mirror with max/min using TF's own
        # arithmetic (-c - 1 and 2*size - c - 1), so nearest-neighbour ties round as in TensorFlow.
        period = 2.0 * size
        coord = coord - period * torch.floor((coord + 0.5 * size) / period)
        coord = torch.maximum(coord, -coord - 1)
        coord = torch.minimum(coord, (period - coord) - 1)
    elif fill_mode == "wrap":  # (a b c d | a b c d | a b c d)
        low = coord + size * (torch.trunc(-coord / last) + 1)
        high = coord - size * torch.trunc(coord / last)
        coord = torch.where(coord < 0, low, torch.where(coord > last, high, coord))
    return coord.clamp(0, last)


def affine_warp(images: torch.Tensor, transforms: torch.Tensor, interpolation: str = "bilinear",
                fill_mode: str = "reflect", fill_value: float = 0.0) -> torch.Tensor:
    """Warp NCHW ``images`` by per-image ``(N, 8)`` output-to-input ``transforms`` (see module doc)."""
    n, _, height, width = images.shape
    dtype = torch.float32
    t = transforms.to(device=images.device, dtype=dtype).reshape(-1, 8, 1, 1).expand(n, 8, 1, 1)
    ys = torch.arange(height, device=images.device, dtype=dtype).view(1, height, 1)
    xs = torch.arange(width, device=images.device, dtype=dtype).view(1, 1, width)
    a0, a1, a2, b0, b1, b2, c0, c1 = t.unbind(1)
    k = c0 * xs + c1 * ys + 1.0
    src_x = _fold((a0 * xs + a1 * ys + a2) / k, width, fill_mode)
    src_y = _fold((b0 * xs + b1 * ys + b2) / k, height, fill_mode)
    if interpolation == "nearest":  # TF rounds halves away from zero; grid_sample would round them to even
        src_x = torch.sign(src_x) * torch.floor(src_x.abs() + 0.5)
        src_y = torch.sign(src_y) * torch.floor(src_y.abs() + 0.5)
    grid = torch.stack([src_x * (2.0 / max(width - 1, 1)) - 1.0, src_y * (2.0 / max(height - 1, 1)) - 1.0], dim=-1)
    x = images if images.dtype == dtype else images.to(dtype)
    shift = fill_mode == "constant" and fill_value != 0
    # Zero padding weights the out-of-image taps by 0; shifting by the fill value makes them read it instead.
    out = F.grid_sample(x - fill_value if shift else x, grid, mode=interpolation, padding_mode="zeros",
                        align_corners=True)
    return out + fill_value if shift else out


# -------------------------------------------------------------------------------------------- resizing
def _keys_cubic(x: torch.Tensor) -> torch.Tensor:
    x = x.abs()
    a = -0.5  # TensorFlow's Keys cubic (torch's bicubic uses -0.75)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return torch.where(x < 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def _lanczos(radius: int):
    def kernel(x: torch.Tensor) -> torch.Tensor:
        value = torch.sinc(x) * torch.sinc(x / radius)
        return torch.where(x.abs() < radius, value, torch.zeros_like(x))
    return kernel


def _triangle(x: torch.Tensor) -> torch.Tensor:
    return (1 - x.abs()).clamp_min(0)


_KERNELS = {"bilinear": _triangle, "bicubic": _keys_cubic, "lanczos3": _lanczos(3), "lanczos5": _lanczos(5)}


def _resize_matrix(in_size: int, out_size: int, interpolation: str, antialias: bool, device) -> torch.Tensor:
    """``(out, in)`` weights of one axis: TF's scale_and_translate taps, dropped outside and renormalised."""
    scale = in_size / out_size
    source = torch.arange(in_size, device=device, dtype=torch.float64)
    if interpolation == "area":  # the average over each output pixel's footprint [y*s, (y+1)*s)
        start = torch.arange(out_size, device=device, dtype=torch.float64).unsqueeze(1) * scale
        overlap = (torch.minimum(source + 1, start + scale) - torch.maximum(source, start)).clamp_min(0)
        return (overlap / scale).float()
    centre = (torch.arange(out_size, device=device, dtype=torch.float64).unsqueeze(1) + 0.5) * scale - 0.5
    if interpolation == "bicubic" and not antialias:  # TF's ResizeBicubic reads its weights from a 1024-step table
        base = torch.floor(centre)
        centre = base + torch.round((centre - base) * _BICUBIC_TABLE_SIZE) / _BICUBIC_TABLE_SIZE
    stretch = max(scale, 1.0) if antialias else 1.0
    weights = _KERNELS[interpolation]((source - centre) / stretch)
    total = weights.sum(dim=1, keepdim=True)
    return (weights / torch.where(total == 0, torch.ones_like(total), total)).float()


def resize(images: torch.Tensor, size: tuple[int, int], interpolation: str = "bilinear",
           antialias: bool = False) -> torch.Tensor:
    """Resize NCHW ``images`` to ``size`` with ``tf.image.resize``'s half-pixel rule."""
    height, width = images.shape[-2:]
    if (height, width) == tuple(size):
        return images
    if interpolation == "nearest":
        return F.interpolate(images, size=size, mode="nearest-exact")
    if interpolation == "bilinear" and not antialias:
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    use_antialias = antialias and interpolation != "area"
    rows = _resize_matrix(height, size[0], interpolation, use_antialias, images.device)
    cols = _resize_matrix(width, size[1], interpolation, use_antialias, images.device)
    return torch.einsum("oh,nchw,pw->ncop", rows, images, cols)


def aspect_window(height: int, width: int, target_height: int, target_width: int, grow: bool):
    """Size of the centred window with the target aspect ratio: largest inside (crop) or smallest around (pad).

    Returns ``(window_height, window_width, top, left)``, with Keras's int truncation; for ``grow`` the
    offsets say where the image sits inside the padded window.
    """
    window_h = int(float(width * target_height) / target_width)
    window_w = int(float(height * target_width) / target_height)
    if grow:
        window_h, window_w = max(height, window_h), max(width, window_w)
        return window_h, window_w, int((window_h - height) / 2), int((window_w - width) / 2)
    window_h, window_w = max(min(height, window_h), 1), max(min(width, window_w), 1)
    return window_h, window_w, int((height - window_h) / 2), int((width - window_w) / 2)


def smart_resize(images: torch.Tensor, size: tuple[int, int], interpolation: str = "bilinear") -> torch.Tensor:
    """Centre-crop NCHW ``images`` to the aspect ratio of ``size``, then resize (Keras's ``smart_resize``)."""
    crop_h, crop_w, top, left = aspect_window(images.shape[-2], images.shape[-1], size[0], size[1], grow=False)
    return resize(images[..., top:top + crop_h, left:left + crop_w], size, interpolation)

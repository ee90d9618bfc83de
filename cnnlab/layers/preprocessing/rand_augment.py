"""RandAugment (Cubuk et al. 2019) with Keras 3's eleven operations and their parameter ranges.

The operations are private here: each draws its per-image parameters from the layer's generator and
works on an NCHW batch scaled to [0, 255] (RandAugment converts from and back to ``value_range`` once).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError
from cnnlab.layers.preprocessing import _base, _ops

_GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)  # Keras's rgb_to_grayscale weights
_SMOOTH = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0  # Keras's RandomSharpness kernel


def _per_image(layer, n, low, high, device):
    return layer.uniform((n, 1, 1, 1), low, high, device)


def _warp(layer, x, matrices):
    return _ops.affine_warp(x, matrices, layer.interpolation, "reflect")


def _shear(layer, x):
    n, _, height, width = x.shape
    low, high = layer.factor
    sign = torch.where(layer.uniform((n,), 0.0, 1.0, x.device) > 0.5, -1.0, 1.0)
    shear_y = layer.uniform((n,), low, high, x.device) * sign
    shear_x = layer.uniform((n,), low, high, x.device) * sign
    zeros, ones = torch.zeros_like(sign), torch.ones_like(sign)
    return _warp(layer, x, torch.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], dim=1))


def _translation(layer, x):
    n, _, height, width = x.shape
    low, high = layer.factor
    shift_y = layer.uniform((n,), low, high, x.device) * height
    shift_x = layer.uniform((n,), low, high, x.device) * width
    zeros, ones = torch.zeros_like(shift_x), torch.ones_like(shift_x)
    return _warp(layer, x, torch.stack([ones, zeros, -shift_x, zeros, ones, -shift_y, zeros, zeros], dim=1))


def _rotation(layer, x):
    n, _, height, width = x.shape
    angles = layer.uniform((n,), layer.factor[0] * 360.0, layer.factor[1] * 360.0, x.device)
    zeros, ones = torch.zeros_like(angles), torch.ones_like(angles)
    return _warp(layer, x, _ops.affine_matrix(angles, zeros, zeros, ones, zeros, zeros, height, width))


def _brightness(layer, x):
    return (x + _per_image(layer, x.shape[0], *layer.factor, x.device) * 255.0).clamp(0, 255)


def _grey(x):
    if x.shape[1] != 3:
        return x.mean(dim=1, keepdim=True)
    weights = torch.tensor(_GREY_WEIGHTS, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


def _color_degeneration(layer, x):
    factor = _per_image(layer, x.shape[0], *layer.factor, x.device)
    return (x + factor * (_grey(x) - x)).clamp(0, 255)


def _contrast(layer, x):
    factor = _per_image(layer, x.shape[0], 1.0 - layer.factor[0], 1.0 + layer.factor[1], x.device)
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * factor + mean).clamp(0, 255)


def _sharpness(layer, x):
    sharpness = 2.0 * _per_image(layer, x.shape[0], *layer.factor, x.device)
    channels = x.shape[1]
    kernel = _SMOOTH.to(x.device, x.dtype).expand(channels, 1, 3, 3)
    smoothed = F.conv2d(x, kernel, padding=1, groups=channels)
    return (x + (1.0 - sharpness) * (smoothed - x)).clamp(0, 255)


def _posterization(layer, x):
    top = max(1, int(8 * layer.factor[1]))  # RandomPosterization(factor=top): bits drawn from [1, top)
    bits = torch.floor(_per_image(layer, x.shape[0], 1.0, float(top), x.device)) if top > 1 else \
        torch.ones((x.shape[0], 1, 1, 1), device=x.device)
    step = 2.0 ** (8 - bits)
    return torch.floor(x.clamp(0, 255).trunc() / step) * step


def _solarization(layer, x):
    low, high = layer.factor
    additions = _per_image(layer, x.shape[0], low, high * 255.0, x.device)
    thresholds = _per_image(layer, x.shape[0], low, high * 255.0, x.device)
    shifted = (x + additions).clamp(0, 255)
    return torch.where(shifted < thresholds, shifted, 255.0 - shifted)


def _auto_contrast(layer, x):
    low = x.amin(dim=(2, 3), keepdim=True)
    high = x.amax(dim=(2, 3), keepdim=True)
    stretched = ((x - low) * (255.0 / (high - low))).clamp(0, 255)
    return torch.where(torch.isnan(stretched), x, stretched)


def _equalization(layer, x):
    """Histogram equalisation of each channel of each image (256 bins), the lookup table PIL uses."""
    n, c, height, width = x.shape
    bins = x.clamp(0, 255).long().reshape(n * c, -1)
    hist = torch.zeros(n * c, 256, device=x.device).scatter_add_(1, bins, torch.ones_like(bins, dtype=torch.float32))
    cdf = hist.cumsum(dim=1)
    first = torch.where(cdf > 0, cdf, torch.full_like(cdf, float("inf"))).amin(dim=1, keepdim=True)
    span = (cdf[:, -1:] - first)
    table = ((cdf - first) * 255.0 / torch.where(span == 0, torch.ones_like(span), span)).round().clamp(0, 255)
    out = table.gather(1, bins).reshape(n, c, height, width)
    flat = (hist > 0).sum(dim=1).reshape(n, c, 1, 1) <= 1
    return torch.where(flat, x, out)


_OPERATIONS = (_shear, _translation, _rotation, _brightness, _color_degeneration, _contrast, _sharpness,
               _posterization, _solarization, _auto_contrast, _equalization)


class RandAugment(_base.RandomImageLayer):
    """Apply ``num_ops`` operations drawn from RandAugment's eleven to each batch in training, Keras's ``RandAugment``.

    The operations (shear, translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast, equalization) are chosen per batch, as in Keras; their
    strengths are drawn per image within ``factor``.

    Args:
        value_range: the range of the input values, ``(0, 255)`` by default (``(0, 1)`` for scaled images).
        num_ops: how many operations to apply in turn (default 2).
        factor: strength, a number or pair in ``[0, 1]`` (default 0.5).
        interpolation: ``"bilinear"`` (default) or ``"nearest"`` for the geometric operations.
        seed: int for reproducible choices.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``; the output has the same shape.

    Example:
        >>> RandAugment()(np.zeros((2, 32, 32, 3)), training=True).shape
        torch.Size([2, 32, 32, 3])
    """

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = self._owner()
        self.value_range = _base.value_range(value_range, owner)
        if not isinstance(num_ops, int) or isinstance(num_ops, bool) or num_ops < 0:
            raise ConfigError(f"{owner}: num_ops must be a non-negative int. Received: num_ops={num_ops!r}")
        self.num_ops = num_ops
        self.factor = _base.factor_range(factor, "factor", owner, (0.0, 1.0), keras_base=True)
        self.interpolation = _base.choice(interpolation, _ops.WARP_INTERPOLATIONS, "interpolation", owner)

    def random_params(self, images):
        return torch.floor(self.uniform((self.num_ops,), 0.0, float(len(_OPERATIONS)), "cpu")).long().tolist()

    def transform_images(self, images, params):
        low, high = self.value_range
        x = (images - low) * (255.0 / (high - low))
        for index in params:
            x = _OPERATIONS[min(index, len(_OPERATIONS) - 1)](self, x)
        return x * ((high - low) / 255.0) + low

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range), "num_ops": self.num_ops,
                "factor": list(self.factor), "interpolation": self.interpolation}

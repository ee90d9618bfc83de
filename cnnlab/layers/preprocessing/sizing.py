"""Layers that change the image size: Resizing, CenterCrop, RandomCrop."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError
from cnnlab.layers.base import to_tensor
from cnnlab.layers.preprocessing import _base, _ops

_INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


class Resizing(_base.SizedImageLayer):
    """Resize images to ``(height, width)``, Keras's ``Resizing`` (``tf.image.resize``'s half-pixel rule).

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``, ``"area"``, ``"lanczos3"``,
            ``"lanczos5"``.
        crop_to_aspect_ratio: first crop the largest centred window with the target aspect ratio.
        pad_to_aspect_ratio: first pad (with ``fill_value``) to the target aspect ratio.
        fill_mode: only ``"constant"`` (as in Keras).
        fill_value: the padding value.
        antialias: low-pass filter when downsampling (not for ``"nearest"`` and ``"area"``).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``. Output: ``(N, height, width, C)`` or ``(height, width, C)``.
        Integer images (e.g. ``uint8``) come back in their own dtype, rounded half to even and clipped to
        its range, as Keras 3 does; other inputs come back as float32.

    Example:
        >>> Resizing(14, 14)(np.zeros((2, 28, 28, 1))).shape
        torch.Size([2, 14, 14, 1])
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        owner = self._owner()
        self.interpolation = _base.choice(interpolation, _ops.RESIZE_INTERPOLATIONS, "interpolation", owner)
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise ConfigError(f"{owner}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True. "
                              f"Received: crop_to_aspect_ratio=True, pad_to_aspect_ratio=True")
        self.fill_mode = _base.choice(fill_mode, ("constant",), "fill_mode", owner)
        self.fill_value = _base.number(fill_value, "fill_value", owner)
        self.antialias = bool(antialias)

    def _convert_inputs(self, inputs):
        if isinstance(inputs, (np.ndarray, torch.Tensor)):
            tensor = to_tensor(inputs, self)
            if tensor.dtype in _INTEGER_DTYPES:
                return tensor  # kept for transform_images to hand back in the same dtype
        return super()._convert_inputs(inputs)

    def transform_images(self, images, params):
        if images.dtype not in _INTEGER_DTYPES:
            return self._resize(images)
        limits = torch.iinfo(images.dtype)
        # Keras rounds (tf.round: half to even, as torch.round) and saturates before casting back.
        resized = self._resize(images.to(torch.float32)).round().clamp(limits.min, limits.max)
        return resized.to(images.dtype)

    def _resize(self, images):
        size = (self.height, self.width)
        if self.crop_to_aspect_ratio:
            return _ops.smart_resize(images, size, self.interpolation)
        if self.pad_to_aspect_ratio:
            _, _, top, left = _ops.aspect_window(images.shape[-2], images.shape[-1], *size, grow=True)
            if top or left:  # Keras pads the same amount on both sides
                images = F.pad(images, (left, left, top, top), value=self.fill_value)
        return _ops.resize(images, size, self.interpolation, self.antialias)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio, "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
                "fill_mode": self.fill_mode, "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_base.SizedImageLayer):
    """Crop the centre ``(height, width)`` of each image, Keras's ``CenterCrop``.

    An image smaller than the target on either side is instead centre-cropped to the target aspect
    ratio and resized (bilinear), as Keras does.

    Args:
        height, width: the output size.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``. Output: ``(N, height, width, C)`` or ``(height, width, C)``.

    Example:
        >>> CenterCrop(24, 24)(np.zeros((2, 28, 28, 1))).shape
        torch.Size([2, 24, 24, 1])
    """

    def transform_images(self, images, params):
        height, width = images.shape[-2:]
        if height < self.height or width < self.width:
            return _ops.smart_resize(images, (self.height, self.width))
        top, left = (height - self.height) // 2, (width - self.width) // 2
        return images[..., top:top + self.height, left:left + self.width]


class RandomCrop(_base.SizedImageLayer, _base.RandomImageLayer):
    """Crop a random ``(height, width)`` window in training (one location per batch), Keras's ``RandomCrop``.

    Outside training, and in training when the image is not larger than the target on both sides, the
    image is centre-cropped to the target aspect ratio and resized, so the output size never changes
    (Keras 3's documented rule; Keras 3.15's TensorFlow path returns the input unchanged in inference).

    Args:
        height, width: the output size.
        seed: int for reproducible crops.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``. Output: ``(N, height, width, C)`` or ``(height, width, C)``.

    Example:
        >>> RandomCrop(24, 24, seed=1)(np.zeros((2, 28, 28, 1)), training=True).shape
        torch.Size([2, 24, 24, 1])
    """

    _acts_at_inference = True

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(height, width, seed=seed, data_format=data_format, **kwargs)

    def random_params(self, images):
        height, width = images.shape[-2:]
        if height <= self.height or width <= self.width:
            return None
        top, left = self.uniform((2,), 0.0, 1.0, "cpu").tolist()
        return int(top * (height - self.height + 1)), int(left * (width - self.width + 1))

    def transform_images(self, images, params):
        if params is None:
            return _ops.smart_resize(images, (self.height, self.width))
        top, left = params
        return images[..., top:top + self.height, left:left + self.width]

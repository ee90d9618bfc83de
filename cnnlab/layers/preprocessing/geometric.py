"""Random geometric augmentation: RandomFlip, RandomRotation, RandomZoom, RandomTranslation.

The three warps draw one set of parameters per image and run one batched affine warp
(:func:`cnnlab.layers.preprocessing._ops.affine_warp`, TensorFlow's projective-transform rules).
"""

from __future__ import annotations

import torch

from cnnlab.layers.preprocessing import _base, _ops

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(_base.RandomImageLayer):
    """Flip each image with probability 1/2 in training, Keras's ``RandomFlip``.

    With ``"horizontal_and_vertical"`` an image is flipped both ways or not at all (Keras 3 draws one
    coin per image for both).

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or ``"horizontal_and_vertical"`` (default).
        seed: int for reproducible flips.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``; the output has the same shape.

    Example:
        >>> RandomFlip("horizontal", seed=1)(np.zeros((2, 28, 28, 1)), training=True).shape
        torch.Size([2, 28, 28, 1])
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _base.choice(mode, FLIP_MODES, "mode", self._owner())
        self._dims = {"horizontal": [3], "vertical": [2], "horizontal_and_vertical": [2, 3]}[self.mode]

    def random_params(self, images):
        return self.uniform((images.shape[0], 1, 1, 1), 0.0, 1.0, images.device) <= 0.5

    def transform_images(self, images, params):
        return torch.where(params, images.flip(self._dims), images)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_base.WarpLayer):
    """Rotate each image by a random angle in training, Keras's ``RandomRotation``.

    Args:
        factor: fraction of a full turn: a number ``f`` draws angles in ``[-f, f] * 360`` degrees, a pair
            ``(low, high)`` in ``[low, high] * 360``. ``(0.25, 0.25)`` is a fixed 90° counter-clockwise turn.
        fill_mode: how points outside the image are filled: ``"reflect"`` (default), ``"wrap"``,
            ``"constant"``, ``"nearest"``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: int for reproducible angles.
        fill_value: the value for ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``; the output has the same shape.

    Example:
        >>> RandomRotation(0.1)(np.zeros((2, 28, 28, 1)), training=True).shape
        torch.Size([2, 28, 28, 1])
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _base.factor_range(factor, "factor", self._owner(), (-1.0, 1.0), keras_base=True)

    def random_params(self, images):
        n, _, height, width = images.shape
        angles = self.uniform((n,), self.factor[0] * 360.0, self.factor[1] * 360.0, images.device)
        zeros, ones = torch.zeros_like(angles), torch.ones_like(angles)
        return _ops.affine_matrix(angles, zeros, zeros, ones, zeros, zeros, height, width)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_base.WarpLayer):
    """Zoom each image in or out by a random amount in training, Keras's ``RandomZoom``.

    Args:
        height_factor: a number ``f`` or a pair in ``(-1, 1]``; the vertical scale is ``1 + u`` with ``u``
            drawn from ``[-f, f]`` (or the pair). Positive values zoom out, negative values zoom in.
        width_factor: the same for the width; None (default) keeps the aspect ratio (one draw for both).
        fill_mode, interpolation, seed, fill_value, data_format: as in :class:`RandomRotation`.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``; the output has the same shape.

    Example:
        >>> RandomZoom(0.2)(np.zeros((2, 28, 28, 1)), training=True).shape
        torch.Size([2, 28, 28, 1])
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        owner = self._owner()
        self.height_factor, self.width_factor = _base.as_json(height_factor), _base.as_json(width_factor)
        self._height_range = _base.factor_range(height_factor, "height_factor", owner, (-1.0, 1.0), open_low=True)
        self._width_range = None if width_factor is None else \
            _base.factor_range(width_factor, "width_factor", owner, (-1.0, 1.0), open_low=True)

    def random_params(self, images):
        n, _, height, width = images.shape
        zoom_y = 1.0 + self.uniform((n,), *self._height_range, images.device)
        zoom_x = zoom_y if self._width_range is None else 1.0 + self.uniform((n,), *self._width_range, images.device)
        zeros = torch.zeros_like(zoom_y)
        offset_x = (width - 1) / 2.0 * (1.0 - zoom_x)
        offset_y = (height - 1) / 2.0 * (1.0 - zoom_y)
        return torch.stack([zoom_x, zeros, offset_x, zeros, zoom_y, offset_y, zeros, zeros], dim=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_base.WarpLayer):
    """Shift each image by a random offset in training, Keras's ``RandomTranslation``.

    Args:
        height_factor: a number ``f`` or a pair in ``[-1, 1]``, as a fraction of the height; the shift is
            drawn from ``[-f, f] * height`` (positive moves the image down).
        width_factor: the same for the width (positive moves it right).
        fill_mode, interpolation, seed, fill_value, data_format: as in :class:`RandomRotation`.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``; the output has the same shape.

    Example:
        >>> RandomTranslation(0.1, 0.1)(np.zeros((2, 28, 28, 1)), training=True).shape
        torch.Size([2, 28, 28, 1])
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        owner = self._owner()
        self.height_factor, self.width_factor = _base.as_json(height_factor), _base.as_json(width_factor)
        self._height_range = _base.factor_range(height_factor, "height_factor", owner, (-1.0, 1.0))
        self._width_range = _base.factor_range(width_factor, "width_factor", owner, (-1.0, 1.0))

    def random_params(self, images):
        n, _, height, width = images.shape
        shift_y = self.uniform((n,), *self._height_range, images.device) * height
        shift_x = self.uniform((n,), *self._width_range, images.device) * width
        zeros, ones = torch.zeros_like(shift_x), torch.ones_like(shift_x)
        return torch.stack([ones, zeros, -shift_x, zeros, ones, -shift_y, zeros, zeros], dim=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}

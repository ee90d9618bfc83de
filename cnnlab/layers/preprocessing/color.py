"""Random pixel-value augmentation: RandomContrast and RandomBrightness."""

from __future__ import annotations

from cnnlab.layers.preprocessing import _base


class _ValueRangeLayer(_base.RandomImageLayer):
    """A random layer whose output is clipped to ``value_range``; its ``factor`` follows Keras's base rule."""

    _bounds = (-1.0, 1.0)

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _base.factor_range(factor, "factor", self._owner(), self._bounds, keras_base=True)
        self.value_range = _base.value_range(value_range, self._owner())

    def _clip(self, images):
        return images.clamp(self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomContrast(_ValueRangeLayer):
    """Scale each image's deviation from its per-channel mean by a random factor in training.

    Keras 3's rule, kept as is: ``factor=f`` gives ``(0, f)`` and the contrast factor is drawn from
    ``[1 - factor[0], 1 + factor[1]]`` (so a number only raises the contrast; pass a pair such as
    ``(0.2, 0.2)`` for ``[0.8, 1.2]``). The result is clipped to ``value_range``.

    Args:
        factor: a number in ``[0, 1]`` or a pair.
        value_range: the range of the input values, ``(0, 255)`` by default.
        seed: int for reproducible factors.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``; the output has the same shape.

    Example:
        >>> RandomContrast(0.2)(np.zeros((2, 28, 28, 1)), training=True).shape
        torch.Size([2, 28, 28, 1])
    """

    _bounds = (0.0, 1.0)

    def random_params(self, images):
        return self.uniform((images.shape[0], 1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1], images.device)

    def transform_images(self, images, params):
        mean = images.mean(dim=(2, 3), keepdim=True)
        return self._clip((images - mean) * params + mean)


class RandomBrightness(_ValueRangeLayer):
    """Add a random offset to each image in training, Keras's ``RandomBrightness``.

    The offset is drawn from ``[factor[0], factor[1]] * (value_range[1] - value_range[0])``; the result is
    clipped to ``value_range``.

    Args:
        factor: a number ``f`` in ``[-1, 1]`` (meaning ``(-f, f)``) or a pair.
        value_range: the range of the input values, ``(0, 255)`` by default.
        seed: int for reproducible offsets.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)`` or ``(H, W, C)``; the output has the same shape.

    Example:
        >>> RandomBrightness(0.2)(np.zeros((2, 28, 28, 1)), training=True).shape
        torch.Size([2, 28, 28, 1])
    """

    def random_params(self, images):
        span = self.value_range[1] - self.value_range[0]
        return self.uniform((images.shape[0], 1, 1, 1), *self.factor, images.device) * span

    def transform_images(self, images, params):
        return self._clip(images + params)

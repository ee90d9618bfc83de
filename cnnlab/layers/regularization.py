"""Regularisation layers: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization.

(``Dropout`` itself lives in core.py, whose fast mask the SpatialDropout layers share.) Like Keras, every
random layer here changes its input only in training (``fit``, or ``training=True``) and passes it through
unchanged in inference. Randomness comes from torch's generator (seed it with
``cnnlab.utils.set_random_seed``); ``seed=`` is accepted and saved for Keras compatibility.
"""

from __future__ import annotations

import math

import torch

from cnnlab import regularizers
from cnnlab.activations import SELU_ALPHA, SELU_SCALE
from cnnlab.errors import ConfigError
from cnnlab.layers import _args
from cnnlab.layers.base import InputSpec, Layer
from cnnlab.layers.core import drop


def _seed(value, owner: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{owner}: seed must be an int or None. Received: seed={value!r}")
    return value


class _ShapePreserving(Layer):
    """A layer whose output has its input's shape."""

    def compute_output_shape(self, input_shape):
        return input_shape


class _SpatialDropout(_ShapePreserving):
    """Dropout of whole channels: one keep/drop draw per (sample, channel), shared over the other axes."""

    _ndim = 0  # input rank, batch included

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.rate = _args.rate(rate, "rate", owner)
        self.seed = _seed(seed, owner)
        self.data_format = "channels_last"
        self.input_spec = InputSpec(ndim=self._ndim)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        mask_shape = [1] * inputs.dim()
        channel_axis = 1 if self.data_format == "channels_first" else -1
        mask_shape[0], mask_shape[channel_axis] = inputs.shape[0], inputs.shape[channel_axis]
        return drop(inputs, self.rate, tuple(mask_shape))

    def get_config(self):
        # Keras's SpatialDropout configs hold only these keys, and its constructors accept no others.
        config = {key: value for key, value in super().get_config().items() if key != "trainable"}
        return {**config, "rate": self.rate, "seed": self.seed}


class _SpatialDropoutImages(_SpatialDropout):
    """SpatialDropout2D/3D: like 1D, plus a ``data_format``."""

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _args.data_format(data_format, f"{type(self).__name__} '{self.name}'")

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Drop whole feature channels of a sequence: ``rate`` of the channels of each sample become 0.

    Args:
        rate: fraction of channels to drop, in [0, 1); the kept ones are scaled by ``1/(1-rate)``.
        seed: accepted for Keras compatibility (see the module note).

    Shape:
        Input ``(N, steps, channels)`` (always channels-last, as in Keras); output the same.

    Example:
        >>> SpatialDropout1D(0.5)(np.ones((2, 10, 4))).shape
        torch.Size([2, 10, 4])
    """

    _ndim = 3


class SpatialDropout2D(_SpatialDropoutImages):
    """Drop whole feature maps: ``rate`` of the channels of each image become 0 (Tompson et al., 2015).

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels regularises
    little; dropping whole maps does.

    Args:
        rate: fraction of channels to drop, in [0, 1); the kept ones are scaled by ``1/(1-rate)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: accepted for Keras compatibility (see the module note).

    Shape:
        Input ``(N, H, W, C)`` (or ``(N, C, H, W)``); output the same.

    Example:
        >>> SpatialDropout2D(0.2)(np.ones((2, 8, 8, 16))).shape
        torch.Size([2, 8, 8, 16])
    """

    _ndim = 4


class SpatialDropout3D(_SpatialDropoutImages):
    """Drop whole 3-D feature maps: ``rate`` of the channels of each volume become 0.

    Args:
        rate: fraction of channels to drop, in [0, 1); the kept ones are scaled by ``1/(1-rate)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: accepted for Keras compatibility (see the module note).

    Shape:
        Input ``(N, D, H, W, C)`` (or ``(N, C, D, H, W)``); output the same.

    Example:
        >>> SpatialDropout3D(0.2)(np.ones((2, 4, 4, 4, 3))).shape
        torch.Size([2, 4, 4, 4, 3])
    """

    _ndim = 5


class GaussianNoise(_ShapePreserving):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` in training (data augmentation).

    Args:
        stddev: standard deviation of the noise, in [0, 1] (Keras's range).
        seed: accepted for Keras compatibility (see the module note).

    Shape:
        Any input; the output has the same shape.

    Example:
        >>> GaussianNoise(0.1)(np.zeros((2, 3))).abs().sum().item()  # inference: unchanged
        0.0
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"GaussianNoise '{self.name}'"
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not 0 <= stddev <= 1:
            raise ConfigError(f"{owner}: stddev is the standard deviation of the noise and must be in [0, 1] "
                              f"(as in Keras). Received: stddev={stddev!r}")
        self.stddev = stddev
        self.seed = _seed(seed, owner)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        return torch.add(inputs, torch.randn_like(inputs), alpha=self.stddev)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_ShapePreserving):
    """Multiply by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))`` in training.

    The same mean and variance as Dropout's ``keep / (1 - rate)`` mask, but continuous.

    Args:
        rate: the equivalent drop probability, in [0, 1).
        seed: accepted for Keras compatibility (see the module note).

    Shape:
        Any input; the output has the same shape.

    Example:
        >>> GaussianDropout(0.2)(np.ones((2, 3))).sum().item()  # inference: unchanged
        6.0
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"GaussianDropout '{self.name}'"
        self.rate = _args.rate(rate, "rate", owner)
        self.seed = _seed(seed, owner)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * torch.randn_like(inputs).mul_(stddev).add_(1.0)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_ShapePreserving):
    """Dropout for self-normalising (SELU) networks: keeps the mean and variance of its input.

    Dropped entries are set to SELU's negative saturation ``-SELU_SCALE * SELU_ALPHA``, then everything is
    mapped by ``a * x + b`` with ``a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5`` and
    ``b = -a * alpha_p * rate`` (Klambauer et al., 2017), so zero-mean unit-variance inputs stay so.

    Args:
        rate: fraction to drop, in [0, 1).
        noise_shape: optional shape of the keep/drop mask; ``None`` entries take the input's size.
        seed: accepted for Keras compatibility (see the module note).

    Shape:
        Any input; the output has the same shape.

    Example:
        >>> AlphaDropout(0.1)(np.ones((2, 3))).sum().item()  # inference: unchanged
        6.0
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"AlphaDropout '{self.name}'"
        self.rate = _args.rate(rate, "rate", owner)
        if noise_shape is not None and not (isinstance(noise_shape, (list, tuple)) and all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) for d in noise_shape)):
            raise ConfigError(f"{owner}: noise_shape must be None or a tuple of positive ints and None, e.g. "
                              f"(None, 1, 1, None). Received: noise_shape={noise_shape!r}")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = _seed(seed, owner)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else \
            tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        alpha_p = -SELU_ALPHA * SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        keep = torch.rand(shape, device=inputs.device) >= self.rate
        # where() makes a new tensor and neither mul_ nor add_ by a number needs it for backward.
        return torch.where(keep, inputs, alpha_p).mul_(a).add_(b)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else tuple(self.noise_shape)}


class ActivityRegularization(_ShapePreserving):
    """Pass the input through and add ``l1 * sum(|x|) + l2 * sum(x**2)`` (per sample) to the layer's losses.

    The penalty is divided by the batch size, as Keras does for every activity regularizer, and is read
    from ``layer.losses`` / ``model.losses``; ``fit`` adds it to the loss it minimises.

    Args:
        l1: L1 factor, >= 0 (default 0).
        l2: L2 factor, >= 0 (default 0).

    Shape:
        Any input; the output is the input.

    Example:
        >>> layer = ActivityRegularization(l2=0.01)
        >>> _ = layer(np.ones((2, 5)))
        >>> float(layer.losses[0])  # 0.01 * 10 / 2
        0.05
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.activity_regularizer = regularizers.L1L2(l1=l1, l2=l2)
        self.l1, self.l2 = self.activity_regularizer.l1, self.activity_regularizer.l2

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}

"""The base of the image preprocessing and augmentation layers, and their shared argument checks.

An image layer takes a batch ``(N, H, W, C)`` or one image ``(H, W, C)`` (channels-first with
``data_format="channels_first"``), or a dict ``{"images": ..., "labels": ...}`` as Keras 3's layers do
in a data pipeline. Subclasses see NCHW batches only: :meth:`ImageLayer.transform_images` (and, for
the mixing layers, :meth:`ImageLayer.transform_labels`) with the parameters drawn by
:meth:`ImageLayer.random_params`.

Random layers (``_random = True``) are the identity outside training. As in Keras 3, their ``call``
declares ``training=True``: ``layer(x)`` and ``model(x)`` with no training argument augment, while
``predict``, ``evaluate`` and ``training=False`` (the argument or an outer call's) do not. Their random
numbers come from a private ``torch.Generator`` when ``seed`` is set, else from torch's global
generator, so ``cnnlab.utils.set_random_seed`` makes them repeat.
"""

from __future__ import annotations

import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers import _args
from cnnlab.layers.base import Layer
from cnnlab.layers.preprocessing import _ops


class ImageLayer(Layer):
    """Base of the image layers: batching, layouts, dict inputs and the training switch."""

    _random = False
    _acts_at_inference = False  # a random layer that still transforms outside training (RandomCrop)

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format, self._owner())

    def _owner(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def build(self, input_shape) -> None:
        shape = input_shape.get("images") if isinstance(input_shape, dict) else input_shape
        if shape is None or len(shape) not in (3, 4):
            raise ShapeError(
                f"{self._owner()} expects a batch of images (batch, height, width, channels) or one image "
                f"(height, width, channels){' in channels_first order' if self.data_format == 'channels_first' else ''}. "
                f"Add a channel axis for grey images: x[..., None]. Received: input_shape={input_shape}"
            )

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            if "images" not in inputs:
                raise ShapeError(f"{self._owner()}: a dict input needs an 'images' entry (and optionally 'labels'). "
                                 f"Received: keys={sorted(inputs)}")
            out = dict(inputs)
            out["images"], params = self._augment(inputs["images"], training)
            if "labels" in inputs and params is not None:
                out["labels"] = self.transform_labels(inputs["labels"], params)
            return out
        return self._augment(inputs, training)[0]

    def _augment(self, images: torch.Tensor, training: bool):
        if self._random and not training and not self._acts_at_inference:
            return images, None
        unbatched = images.ndim == 3
        x = images.unsqueeze(0) if unbatched else images
        if self.data_format == "channels_last":
            x = x.permute(0, 3, 1, 2)
        params = self.random_params(x) if self._random and training else None
        y = self.transform_images(x, params)
        if self.data_format == "channels_last":
            # Fresh NHWC strides, as user data arrives (.contiguous() keeps odd strides when C == 1): the next
            # conv then runs channels-last, and torch's CPU max pooling after it is several times faster.
            y = y.permute(0, 2, 3, 1).clone(memory_format=torch.contiguous_format)
        return (y.squeeze(0) if unbatched else y), params

    def random_params(self, images: torch.Tensor):
        """Draw this batch's random parameters (random layers, in training only)."""
        return None

    def transform_images(self, images: torch.Tensor, params) -> torch.Tensor:
        """Transform an NCHW float batch."""
        raise NotImplementedError

    def transform_labels(self, labels: torch.Tensor, params) -> torch.Tensor:
        return labels

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SizedImageLayer(ImageLayer):
    """An image layer whose output has a fixed ``height`` and ``width``."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _args.positive_int(height, "height", self._owner())
        self.width = _args.positive_int(width, "width", self._owner())

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        first = len(shape) - 3 if self.data_format == "channels_last" else len(shape) - 2
        shape[first:first + 2] = [self.height, self.width]
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomImageLayer(ImageLayer):
    """An image layer that draws random numbers: identity outside training, reproducible with ``seed``."""

    _random = True

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ConfigError(f"{self._owner()}: seed must be an int or None. Received: seed={seed!r}")
        self.seed = seed
        self._generator: torch.Generator | None = None

    def _rng(self) -> torch.Generator | None:
        if self.seed is not None and self._generator is None:
            self._generator = torch.Generator().manual_seed(self.seed)
        return self._generator

    def uniform(self, shape, low: float, high: float, device) -> torch.Tensor:
        """Uniform numbers in ``[low, high)``, drawn on the CPU (a few per image) and moved to ``device``."""
        draw = torch.rand(shape, generator=self._rng())
        return (low + (high - low) * draw).to(device)

    def permutation(self, n: int, device) -> torch.Tensor:
        return torch.randperm(n, generator=self._rng()).to(device)

    def beta(self, shape, alpha: float, device) -> torch.Tensor:
        """Beta(alpha, alpha) samples; torch's gamma sampler takes no generator, so a seeded one runs forked."""
        dist = torch.distributions.Beta(torch.tensor(float(alpha)), torch.tensor(float(alpha)))
        if self.seed is None:
            return dist.sample(shape).to(device)
        inner = int(torch.randint(0, 2**62, (1,), generator=self._rng()))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(inner)
            return dist.sample(shape).to(device)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class WarpLayer(RandomImageLayer):
    """A random geometric layer: builds per-image affine transforms, warps with :func:`_ops.affine_warp`."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = choice(fill_mode, _ops.FILL_MODES, "fill_mode", self._owner())
        self.interpolation = choice(interpolation, _ops.WARP_INTERPOLATIONS, "interpolation", self._owner())
        self.fill_value = number(fill_value, "fill_value", self._owner())

    def transform_images(self, images, params):
        return _ops.affine_warp(images, params, self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation}


# ---------------------------------------------------------------------------------- argument checks
def choice(value, choices, arg: str, owner: str) -> str:
    if value not in choices:
        raise ConfigError(f"{owner}: {arg} must be one of {', '.join(repr(c) for c in choices)}. "
                          f"Received: {arg}={value!r}")
    return value


def number(value, arg: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{owner}: {arg} must be a number. Received: {arg}={value!r}")
    return float(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def factor_range(value, arg: str, owner: str, bounds: tuple[float, float], open_low: bool = False,
                 keras_base: bool = False) -> tuple[float, float]:
    """A factor as ``(lower, upper)``: a number ``f`` means ``(-f, f)``, a pair is sorted.

    ``keras_base`` follows Keras 3's base-layer rule: a number's lower end is clipped to ``bounds[0]``
    (so RandomContrast(0.2) is ``(0, 0.2)``) and a pair is refused only when it misses the bounds entirely.
    ``open_low`` makes the lower bound exclusive (RandomZoom's ``(-1, 1]``).
    """
    low, high = bounds
    pair = isinstance(value, (list, tuple))
    values = list(value) if pair else [value]
    if (pair and len(values) != 2) or not all(_is_number(v) for v in values):
        raise ConfigError(f"{owner}: {arg} must be a number or a pair of numbers in [{low}, {high}], e.g. {arg}=0.2 "
                          f"or {arg}=(-0.1, 0.2). Received: {arg}={value!r}")
    if keras_base and pair:
        bad = values[0] > high or values[1] < low
    else:
        bad = any(v > high or (v <= low if open_low else v < low) for v in values)
    if bad:
        interval = f"{'(' if open_low else '['}{low}, {high}]"
        raise ConfigError(f"{owner}: {arg} must lie in {interval}. Received: {arg}={value!r}")
    if pair:
        lower, upper = sorted(float(v) for v in values)
        return lower, upper
    size = abs(float(value))
    return (max(-size, low) if keras_base else -size), size


def value_range(value, owner: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
        raise ConfigError(f"{owner}: value_range must be a pair of numbers such as (0, 255) or (0, 1): the range of "
                          f"the input pixel values. Received: value_range={value!r}")
    return sorted(value)


def as_json(value):
    """Sequences as lists, so a config equals itself after a JSON round trip."""
    return list(value) if isinstance(value, (list, tuple)) else value

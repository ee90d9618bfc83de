"""Value-scaling layers: Rescaling and Normalization (with ``adapt``)."""

from __future__ import annotations

import math

import numpy as np
import torch

from cnnlab.backend import KERAS_EPSILON
from cnnlab.errors import ConfigError, DataError, ShapeError
from cnnlab.layers.base import Layer


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Rescaling(Layer):
    """Multiply inputs by ``scale`` and add ``offset``: ``Rescaling(1/255)`` maps 0..255 to 0..1.

    Args:
        scale: the factor.
        offset: added after scaling.

    Shape:
        Any input; the output has the same shape.

    Example:
        >>> Rescaling(1 / 255)(np.full((1, 2, 2, 1), 255)).max().item()
        1.0
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            if not (_is_number(value) or (isinstance(value, (list, tuple)) and value
                                          and all(_is_number(v) for v in value))):
                raise ConfigError(f"Rescaling '{self.name}': {arg} must be a number or a list of numbers (one per "
                                  f"channel). Received: {arg}={value!r}")
        # A list is one factor per channel, as Keras allows (EfficientNet's ImageNet input scaling).
        self.scale = float(scale) if _is_number(scale) else [float(v) for v in scale]
        self.offset = float(offset) if _is_number(offset) else [float(v) for v in offset]

    def call(self, inputs):
        scale, offset = self._per_channel(self.scale, inputs), self._per_channel(self.offset, inputs)
        return inputs * scale + offset if self.offset else inputs * scale

    @staticmethod
    def _per_channel(value, inputs):
        # Channels last: a list lines up with the last axis (cnnlab has no global channels_first setting).
        return torch.tensor(value, dtype=inputs.dtype, device=inputs.device) if isinstance(value, list) else value

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """Shift and scale inputs to mean 0 and variance 1 per feature, Keras's ``Normalization``.

    ``(x - mean) / max(sqrt(variance), 1e-7)``; with ``invert=True`` the inverse. The statistics are
    given as ``mean``/``variance`` or learnt with :meth:`adapt`; adapted ones are non-trainable weights
    ``[mean, variance, count]`` (Keras's order), so they are saved and restored with the model.

    Args:
        axis: the axis or axes that keep their own statistics (default -1, the channels); None for
            one scalar mean and variance.
        mean, variance: fixed statistics (a number or an array broadcastable to the kept axes).
        invert: apply the inverse transformation.

    Shape:
        Any input with the kept axes of the size seen when built; the output has the same shape.

    Example:
        >>> norm = Normalization()
        >>> norm.adapt(x_train)          # mean and variance of each channel
        >>> model = Sequential([Input((28, 28, 1)), norm, ...])
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        owner = f"Normalization '{self.name}'"
        axes = () if axis is None else (axis,) if isinstance(axis, int) and not isinstance(axis, bool) else axis
        try:
            axes = tuple(axes)
        except TypeError:
            axes = None
        if axes is None or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ConfigError(f"{owner}: axis must be an int, a tuple of ints or None. Received: axis={axis!r}")
        if (mean is None) != (variance is None):
            raise ConfigError(f"{owner}: give both mean and variance, or neither (then call adapt(data)). "
                              f"Received: mean={mean!r}, variance={variance!r}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ConfigError(f"{owner}: mean and variance must have the same shape. Received: mean with shape "
                                  f"{np.shape(mean)}, variance with shape {np.shape(variance)}")
            if np.ndim(mean) > len(axes):
                raise ConfigError(f"{owner}: mean has more dimensions than the kept axes {axes}. "
                                  f"Received: mean with shape {np.shape(mean)}")
        self.axis, self.input_mean, self.input_variance, self.invert = axes, mean, variance, bool(invert)
        self._owner = owner

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ShapeError(f"{self._owner}: axis {self.axis} does not fit inputs of {ndim} dimensions. "
                             f"Received: input_shape={tuple(input_shape)}")
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self._keep):
            raise ShapeError(f"{self._owner}: the kept axes {self.axis} must have known sizes. "
                             f"Received: input_shape={tuple(input_shape)}")
        self._reduce = tuple(a for a in range(ndim) if a not in self._keep)
        self._build_shape = tuple(input_shape)
        self._broadcast = [input_shape[a] if a in self._keep else 1 for a in range(ndim)]
        stats_shape = tuple(input_shape[a] for a in self._keep)
        if self.input_mean is None:
            self.mean = self.add_weight(name="mean", shape=stats_shape, initializer="zeros", trainable=False)
            self.variance = self.add_weight(name="variance", shape=stats_shape, initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False, dtype="int64")
        else:
            self.register_buffer("_fixed_mean", self._broadcast_stat(self.input_mean), persistent=False)
            self.register_buffer("_fixed_variance", self._broadcast_stat(self.input_variance), persistent=False)

    def _broadcast_stat(self, value) -> torch.Tensor:
        # A stat of rank k lines up with the last k kept axes (Keras's rule).
        stat = torch.as_tensor(np.asarray(value, dtype=np.float32))
        shape = [1] * len(self._broadcast)
        for i in range(1, stat.ndim + 1):
            shape[self._keep[-i]] = stat.shape[-i]
        return stat.reshape(shape).expand(self._broadcast).clone()

    def _stats(self):
        if self.input_mean is not None:
            return self._fixed_mean, self._fixed_variance
        return self.mean.reshape(self._broadcast), self.variance.reshape(self._broadcast)

    def call(self, inputs):
        mean, variance = self._stats()
        scale = torch.sqrt(variance).clamp_min(KERAS_EPSILON)
        return mean + inputs * scale if self.invert else (inputs - mean) / scale

    def adapt(self, data) -> None:
        """Set ``mean`` and ``variance`` from ``data``: an array or tensor, or an iterable of batches
        (arrays, or ``(x, y)`` tuples whose ``x`` is used), as Keras's ``adapt`` does.
        """
        if self.input_mean is not None:
            raise ConfigError(f"{self._owner}: adapt cannot change a mean and variance given to the constructor. "
                              "Create the layer without mean and variance to learn them.")
        if isinstance(data, (np.ndarray, torch.Tensor)):
            batches = iter([data])
        elif hasattr(data, "__iter__"):
            batches = iter(data)
        else:
            raise DataError(f"{self._owner}: adapt expects an array, a tensor or an iterable of batches. "
                            f"Received: data of type {type(data).__name__}")
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            batch = batch[0] if isinstance(batch, tuple) else batch
            x = torch.as_tensor(np.asarray(batch) if not isinstance(batch, torch.Tensor) else batch)
            x = x.detach().to(torch.float64).cpu()
            if not self.built:
                self._maybe_build(tuple(x.shape))
            self._check_adapt_shape(tuple(x.shape))
            mean = x.mean(dim=self._reduce) if self._reduce else x
            var = x.var(dim=self._reduce, unbiased=False) if self._reduce else torch.zeros_like(x)
            count = math.prod(x.shape[a] for a in self._reduce)
            if total_mean is None:
                total_mean, total_var, total_count = mean, var, count
                continue
            # Chan et al.'s parallel update: exact for any split of the data into batches.
            total_count += count
            weight = count / total_count
            new_mean = total_mean * (1 - weight) + mean * weight
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - weight)
                         + (var + (mean - new_mean) ** 2) * weight)
            total_mean = new_mean
        if total_mean is None:
            raise DataError(f"{self._owner}: adapt received no data (an empty iterable). Pass an array or at least "
                            "one batch.")
        with torch.no_grad():
            self.mean.copy_(total_mean.to(self.mean))
            self.variance.copy_(total_var.to(self.variance))

    def _check_adapt_shape(self, shape) -> None:
        if len(shape) != len(self._build_shape) or any(shape[a] != self._build_shape[a] for a in self._keep):
            raise ShapeError(f"{self._owner}: adapt data of shape {shape} does not fit the layer, built for inputs "
                             f"of shape {self._build_shape} (axis={self.axis}). Received: data with shape {shape}")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        def listed(value):
            return None if value is None else np.asarray(value).tolist()

        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": listed(self.input_mean), "variance": listed(self.input_variance)}

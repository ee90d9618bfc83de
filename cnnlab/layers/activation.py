"""Activation layers: ReLU, LeakyReLU, Softmax."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab import activations
from cnnlab.errors import ConfigError
from cnnlab.layers.base import Layer


class ReLU(Layer):
    """Rectified linear unit: ``max(x, 0)``, with Keras's optional cap, slope and threshold.

    Args:
        max_value: cap on the output (None for no cap).
        negative_slope: slope below the threshold (default 0).
        threshold: values below it are set to ``negative_slope * (x - threshold)``.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        owner = f"ReLU '{self.name}'"
        for arg, value in (("max_value", max_value), ("negative_slope", negative_slope)):
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ConfigError(f"{owner}: {arg} must be a non-negative number. Received: {arg}={value!r}")
        self.max_value = max_value
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs):
        if self.max_value is None and self.negative_slope == 0 and self.threshold == 0:
            return F.relu(inputs)
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise (Keras 3 default slope 0.3).

    ``alpha=`` (the tf.keras 2 name) is accepted too.
    """

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        slope = negative_slope if alpha is None else alpha
        if not isinstance(slope, (int, float)) or slope < 0:
            raise ConfigError(f"LeakyReLU '{self.name}': negative_slope must be a non-negative number. "
                              f"Received: negative_slope={slope!r}")
        self.negative_slope = float(slope)

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Softmax(Layer):
    """Softmax over ``axis`` (default the last one)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise ConfigError(f"Softmax '{self.name}': axis must be an int. Received: axis={axis!r}")
        self.axis = axis
        self._emit_logits = False

    @property
    def activation(self):
        return activations.softmax

    def call(self, inputs):
        return inputs if self._emit_logits else torch.softmax(inputs, dim=self.axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

"""Preprocessing layers that live inside the model."""

from __future__ import annotations

from cnnlab.errors import ConfigError
from cnnlab.layers.base import Layer


class Rescaling(Layer):
    """Multiply inputs by ``scale`` and add ``offset``: ``Rescaling(1/255)`` maps 0..255 to 0..1.

    Args:
        scale: the factor.
        offset: added after scaling.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"Rescaling '{self.name}': {arg} must be a number. Received: {arg}={value!r}")
        self.scale, self.offset = float(scale), float(offset)

    def call(self, inputs):
        return inputs * self.scale + self.offset if self.offset else inputs * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}

"""Layers that merge several inputs: Add, Concatenate."""

from __future__ import annotations

import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers.base import Layer


class _Merge(Layer):
    _takes_several_inputs = True

    def _check_list(self, shapes) -> list:
        if not isinstance(shapes, list) or len(shapes) < 2:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' takes a list of at least 2 inputs, e.g. "
                f"{type(self).__name__}()([a, b]). Received: {shapes!r}"
            )
        return shapes

    def build(self, input_shape) -> None:
        self.compute_output_shape(self._check_list(input_shape))

    def _check_input_shape(self, shape) -> None:
        self._check_list(shape)


class Add(_Merge):
    """Element-wise sum of a list of same-shaped inputs (residual connections).

    Example:
        >>> Add()([x1, x2])
    """

    def call(self, inputs):
        result = inputs[0]
        for x in inputs[1:]:
            result = result + x
        return result

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        first = shapes[0]
        for other in shapes[1:]:
            if len(other) != len(first) or any(a is not None and b is not None and a != b and 1 not in (a, b)
                                               for a, b in zip(first[1:], other[1:])):
                raise ShapeError(
                    f"Add '{self.name}': all inputs must have the same shape; got {first} and {other}. "
                    "Match the branches (same filters, strides and padding), or project one with a 1x1 Conv2D."
                )
        return tuple(max((d for d in dims if d is not None), default=None) if i else None
                     for i, dims in enumerate(zip(*shapes)))


class Concatenate(_Merge):
    """Join a list of inputs along ``axis`` (default the last, the channel axis).

    Args:
        axis: axis to join along; every other axis must match.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise ConfigError(f"Concatenate '{self.name}': axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def call(self, inputs):
        return torch.cat(list(inputs), dim=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        ndim = len(shapes[0])
        axis = self.axis % ndim
        for other in shapes[1:]:
            if len(other) != ndim or any(a != b and None not in (a, b)
                                         for i, (a, b) in enumerate(zip(shapes[0], other)) if i != axis):
                raise ShapeError(
                    f"Concatenate '{self.name}' joins along axis {self.axis}, so every other axis must match; "
                    f"got {shapes[0]} and {other}. Check the branches' pooling/strides so their heights and widths agree."
                )
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

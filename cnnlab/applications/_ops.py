"""Graph nodes for the arithmetic Keras's applications write on symbolic tensors.

Keras 3's MobileNetV3 computes ``ReLU(6.)(x + 3.) * (1. / 6.)`` and ConvNeXt
``inputs + layer(x)`` directly on KerasTensors; each operator becomes a node
of the functional graph that ``summary()`` lists as ``add (Add)`` or
``multiply (Multiply)`` (``keras.ops.add`` / ``keras.ops.multiply``). cnnlab's
symbolic tensors have no operators, so these builders call the two nodes
below instead: same rows in the summary, no weights. Unlike Keras's merge
layers they take two arguments, either a tensor or a number.
"""

from __future__ import annotations

import torch

from cnnlab.layers.base import Layer


class _BinaryOp(Layer):
    """A weightless node computing ``fn(x1, x2)`` for a tensor ``x1`` and a tensor or number ``x2``."""

    def call(self, x1, x2):
        return self._fn(x1, x2)

    def compute_output_shape(self, input_shape):
        # x2 is a number or a tensor of x1's shape wherever the applications use these nodes.
        return input_shape


class Add(_BinaryOp):
    """``x1 + x2`` as a graph node (Keras's ``keras.ops.add`` operation).

    Args:
        name: the node's name (default ``add``, ``add_1``, ...).

    Shape:
        Input: a tensor and a tensor of the same shape or a number. Output: the shape of ``x1``.

    Example:
        >>> y = Add()(x, 3.0)   # what Keras writes as ``x + 3.0``
    """

    _fn = staticmethod(torch.add)


class Multiply(_BinaryOp):
    """``x1 * x2`` as a graph node (Keras's ``keras.ops.multiply`` operation).

    Args:
        name: the node's name (default ``multiply``, ...).

    Shape:
        Input: a tensor and a tensor of the same shape or a number. Output: the shape of ``x1``.

    Example:
        >>> y = Multiply()(x, 1.0 / 6.0)   # what Keras writes as ``x * (1.0 / 6.0)``
    """

    _fn = staticmethod(torch.mul)

"""Cheaper execution orders that give the same numbers as running each layer in turn.

Used by ``Sequential`` and by functional models (where the Conv2D output must have no other reader and
not be a model output).

``Conv2D(..., activation="relu")`` followed by ``MaxPooling2D``: ``max_pool(relu(z)) == relu(max_pool(z))``
because ReLU is monotonic, and the gradients agree too (max pooling routes the gradient to the same cell in both
orders; where the window's maximum is <= 0 both give zero). Pooling first runs the ReLU and its backward on a
tensor a quarter of the size (for 2x2 pooling): these are memory-bound passes over the largest activations of
a small CNN. Layers with hooks (what ``cnnlab.inspect`` uses to watch activations) or an activity regularizer
always run one by one, so everything a user can observe is unchanged.
"""

from __future__ import annotations

from torch.nn.modules import module as _module

from cnnlab import activations
from cnnlab.layers.conv import Conv2D
from cnnlab.layers.pooling import MaxPooling2D


def _hooked(layer) -> bool:
    return bool(layer._forward_hooks or layer._forward_pre_hooks)  # hooks with kwargs are in these dicts too


def relu_then_max_pool(conv, pool) -> bool:
    """Whether ``pool(conv(x))`` may run as ``relu(pool(conv_without_relu(x)))``."""
    return (type(conv) is Conv2D and type(pool) is MaxPooling2D and conv.activation is activations.relu
            and conv.activity_regularizer is None and not conv._emit_logits and conv.built
            and conv.data_format == pool.data_format and not _hooked(conv) and not _hooked(pool)
            and not _module._global_forward_hooks and not _module._global_forward_pre_hooks)

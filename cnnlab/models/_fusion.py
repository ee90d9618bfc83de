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

import torch
from torch.nn.modules import module as _module

from cnnlab import activations
from cnnlab.layers._kernels import fused_activation, inference_conv_ok
from cnnlab.layers.activation import ReLU
from cnnlab.layers.base import _TRAINING_CONTEXT
from cnnlab.layers.conv import Conv2D
from cnnlab.layers.core import Activation
from cnnlab.layers.depthwise import DepthwiseConv2D
from cnnlab.layers.merge import Add
from cnnlab.layers.normalization import BatchNormalization
from cnnlab.layers.pooling import MaxPooling2D


def _hooked(layer) -> bool:
    return bool(layer._forward_hooks or layer._forward_pre_hooks)  # hooks with kwargs are in these dicts too


def relu_then_max_pool(conv, pool, x) -> bool:
    """Whether ``pool(conv(x))`` may run as ``relu(pool(conv_without_relu(x)))``.

    Not where the convolution runs as one oneDNN primitive (inference on the CPU, ``inference_conv_ok``): there
    its ReLU is fused into the convolution at no cost, and a ReLU after the pooling would be one more pass.
    """
    return (type(conv) is Conv2D and type(pool) is MaxPooling2D and conv.activation is activations.relu
            and conv.activity_regularizer is None and not conv._emit_logits and conv.built
            and conv.data_format == pool.data_format and not _hooked(conv) and not _hooked(pool)
            and not _module._global_forward_hooks and not _module._global_forward_pre_hooks
            and not inference_conv_ok(x))


# ------------------------------------------------------------------------- BatchNormalization folding
# In inference, ``Conv2D``/``DepthwiseConv2D`` (no activation) -> ``BatchNormalization`` -> optionally a ReLU
# or ReLU6 is one affine map then the activation, so the three run as one oneDNN convolution with the
# normalisation folded into its weights and the activation fused (``BaseConv.inference_call``). This is the
# block of ResNet, MobileNet and most CNNs with batch normalisation, and what Keras on TensorFlow does in its
# graph optimiser. The folded result differs from the layer-by-layer one by float rounding only (a few ulp).
FOLDABLE_CONVS = (Conv2D, DepthwiseConv2D)
# ResNet's block ends in conv -> BatchNormalization -> Add(shortcut) -> ReLU: oneDNN adds the shortcut and
# applies the ReLU inside the same convolution (a "binary post-op"), saving two passes over the block's output.


def _act_post(layer) -> tuple[str, list] | None:
    """oneDNN's activation for an activation layer that may be fused, or None."""
    if type(layer) is ReLU:
        if layer.negative_slope or layer.threshold:
            return None
        return ("relu", []) if layer.max_value is None else ("hardtanh", [0.0, float(layer.max_value)])
    if type(layer) is Activation:
        return fused_activation(layer.activation)
    return None


def bn_chain_shape(conv, bn, act) -> bool:
    """Whether layers of these types could ever fold (decided once, when the model is built)."""
    return type(conv) in FOLDABLE_CONVS and type(bn) is BatchNormalization and (
        act is None or type(act) in (ReLU, Activation))


def fold_batch_norm(conv, bn, act, x) -> tuple[str, list] | None:
    """At call time: the activation ``post`` to fuse (``("none", [])`` when ``act`` runs separately), or None
    when this call must run layer by layer (autograd on, BatchNormalization training, hooks, another dtype...).
    """
    if not (inference_conv_ok(x) and conv.built and bn.built and conv.data_format == "channels_last"
            and conv.activation is activations.linear and not conv._emit_logits and not conv._defer_activation
            and conv.activity_regularizer is None and bn.activity_regularizer is None and bn._axis == 3):
        return None
    training = _TRAINING_CONTEXT[-1] if _TRAINING_CONTEXT else bn.training
    if (training and bn.trainable) or any(_hooked(layer) for layer in (conv, bn, act) if layer is not None) \
            or _module._global_forward_hooks or _module._global_forward_pre_hooks:
        return None
    post = _act_post(act) if act is not None and act.activity_regularizer is None else None
    return post or ("none", [])


def run_folded(conv, bn, x, post, residual=None) -> torch.Tensor:
    """``post(bn(conv(x)) [+ residual])`` for channels-last ``x`` (and ``residual``), as one convolution."""
    y = conv.inference_call(x.permute(0, 3, 1, 2), batch_norm=bn, post=post,
                            residual=None if residual is None else residual.permute(0, 3, 1, 2))
    return y.permute(0, 2, 3, 1)


def fold_residual(add, act, shortcut, expected_shape) -> tuple[str, list] | None:
    """At call time, after ``fold_batch_norm`` allowed the conv -> BatchNormalization part: the activation to
    fuse after ``Add()([bn_output, shortcut])`` (``("none", [])`` when ``act`` runs separately), or None when
    the add must run as a layer (hooks, broadcasting, another dtype)."""
    if _hooked(add) or add.activity_regularizer is not None or not isinstance(shortcut, torch.Tensor) \
            or shortcut.dtype != torch.float32 or shortcut.device.type != "cpu" \
            or tuple(shortcut.shape) != tuple(expected_shape):
        return None
    post = _act_post(act) if act is not None and act.activity_regularizer is None and not _hooked(act) else None
    return post or ("none", [])

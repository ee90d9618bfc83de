"""``tf.nn`` on torch: convolution and pooling on NHWC/HWIO with TF's padding, activations, cross-entropies.

Convolution and pooling reuse :mod:`cnnlab.ops` (``padding='SAME'`` puts the odd extra row/column at the
bottom/right, as TF). The cross-entropies return one loss per example, as TF's do.

Example:
    >>> import numpy as np, cnnlab as tf
    >>> x = np.ones((1, 5, 5, 1), np.float32)
    >>> tuple(tf.nn.conv2d(x, np.ones((3, 3, 1, 4), np.float32), strides=2, padding="SAME").shape)
    (1, 3, 3, 4)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from cnnlab import ops, random
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.tf_names._args import axes as axis_tuple
from cnnlab.tf_names._args import check_arguments, to_float_tensor, to_tensor
from cnnlab.tf_names.math_ops import l2_normalize

tf_api = check_arguments("tf.nn")
_FORMATS = {"NHWC": False, "NCHW": True}


def _data_format(data_format: Any, where: str) -> bool:
    """True for channels-first; TF's default (None) is NHWC."""
    key = "NHWC" if data_format is None else str(data_format).upper()
    if key not in _FORMATS:
        raise ConfigError(f"{where}: data_format must be 'NHWC' or 'NCHW'. Received: data_format={data_format!r}")
    return _FORMATS[key]


def _nhwc(x: Any, channels_first: bool, where: str) -> torch.Tensor:
    t = to_float_tensor(x, where, "input")
    return t.permute(0, 2, 3, 1) if channels_first and t.dim() == 4 else t


def _back(t: torch.Tensor, channels_first: bool) -> torch.Tensor:
    return t.permute(0, 3, 1, 2) if channels_first else t


def _nchw_strides(value: Any, channels_first: bool) -> Any:
    """TF's 4-value strides/ksize in NCHW order are ``[1, 1, h, w]``; ops take ``[1, h, w, 1]``."""
    if channels_first and isinstance(value, (list, tuple)) and len(value) == 4:
        return [value[0], value[2], value[3], value[1]]
    return value


@tf_api
def conv2d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
           dilations: Any = None, name: str | None = None) -> torch.Tensor:
    """2-D cross-correlation like ``tf.nn.conv2d``: NHWC input, ``(kh, kw, in, out)`` filters.

    Args:
        input: ``(batch, height, width, channels)`` (or NCHW with ``data_format="NCHW"``).
        filters: ``(kh, kw, in_channels, out_channels)``.
        strides: an int, ``[sh, sw]`` or ``[1, sh, sw, 1]``.
        padding: ``"SAME"``, ``"VALID"`` or explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]``.
        dilations: like ``strides``; default 1.

    Shape:
        Output ``(batch, ceil(h / sh), ceil(w / sw), out)`` for SAME.
    """
    first = _data_format(data_format, "tf.nn.conv2d")
    if first and isinstance(padding, (list, tuple)) and len(padding) == 4:
        padding = [padding[0], padding[2], padding[3], padding[1]]
    out = ops.conv2d(_nhwc(input, first, "tf.nn.conv2d"), to_tensor(filters, "tf.nn.conv2d", "filters"),
                     strides=_nchw_strides(_one_value(strides), first), padding=padding,
                     dilations=_nchw_strides(_one_value(1 if dilations is None else dilations), first))
    return _back(out, first)


def _one_value(value: Any) -> Any:
    """TF accepts a 1-list ``[s]`` for strides and ksize; ops takes an int or a pair."""
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


def _pool(op, input: Any, ksize: Any, strides: Any, padding: Any, data_format: Any, where: str) -> torch.Tensor:  # noqa: A002
    first = _data_format(data_format, where)
    x = _nhwc(input, first, where)
    if x.dim() != 4:
        raise ShapeError(f"{where}: cnnlab's tf.nn pooling takes 4-D images (batch, height, width, channels); got "
                         f"shape {tuple(x.shape)}. For 1-D or 3-D pooling use cnnlab.layers.MaxPooling1D/3D. "
                         f"Received: input.shape={tuple(x.shape)}")
    out = op(x, _nchw_strides(_one_value(ksize), first), _nchw_strides(_one_value(strides), first), padding)
    return _back(out, first)


@tf_api
def max_pool2d(input: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",  # noqa: A002
               name: str | None = None) -> torch.Tensor:
    """Max pooling like ``tf.nn.max_pool2d``; ``'SAME'`` never lets padding win."""
    return _pool(ops.max_pool2d, input, ksize, strides, padding, data_format, "tf.nn.max_pool2d")


@tf_api
def max_pool(input: Any, ksize: Any, strides: Any, padding: str, data_format: str | None = None,  # noqa: A002
             name: str | None = None) -> torch.Tensor:
    """Max pooling like ``tf.nn.max_pool`` (4-D images)."""
    return _pool(ops.max_pool2d, input, ksize, strides, padding, data_format, "tf.nn.max_pool")


@tf_api
def avg_pool2d(input: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",  # noqa: A002
               name: str | None = None) -> torch.Tensor:
    """Average pooling like ``tf.nn.avg_pool2d``; ``'SAME'`` averages only the real cells of a window."""
    return _pool(ops.avg_pool2d, input, ksize, strides, padding, data_format, "tf.nn.avg_pool2d")


@tf_api
def avg_pool(input: Any, ksize: Any, strides: Any, padding: str, data_format: str | None = None,  # noqa: A002
             name: str | None = None) -> torch.Tensor:
    """Average pooling like ``tf.nn.avg_pool`` (4-D images)."""
    return _pool(ops.avg_pool2d, input, ksize, strides, padding, data_format, "tf.nn.avg_pool")


# --------------------------------------------------------------------------- activations


@tf_api
def relu(features: Any, name: str | None = None) -> torch.Tensor:
    """``max(features, 0)``."""
    return torch.relu(to_tensor(features, "tf.nn.relu", "features"))


@tf_api
def relu6(features: Any, name: str | None = None) -> torch.Tensor:
    """``min(max(features, 0), 6)``."""
    return torch.clamp(to_float_tensor(features, "tf.nn.relu6", "features"), 0.0, 6.0)


@tf_api
def elu(features: Any, name: str | None = None) -> torch.Tensor:
    """``x`` for ``x > 0``, else ``exp(x) - 1``."""
    return F.elu(to_float_tensor(features, "tf.nn.elu", "features"))


@tf_api
def selu(features: Any, name: str | None = None) -> torch.Tensor:
    """Scaled ELU with the self-normalising constants."""
    return F.selu(to_float_tensor(features, "tf.nn.selu", "features"))


@tf_api
def gelu(features: Any, approximate: bool = False, name: str | None = None) -> torch.Tensor:
    """Gaussian error linear unit; exact by default, as ``tf.nn.gelu`` (the tanh form with approximate=True)."""
    return F.gelu(to_float_tensor(features, "tf.nn.gelu", "features"), approximate="tanh" if approximate else "none")


@tf_api
def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> torch.Tensor:
    """``x`` for ``x > 0``, else ``alpha * x`` (TF's default alpha is 0.2)."""
    return F.leaky_relu(to_float_tensor(features, "tf.nn.leaky_relu", "features"), float(alpha))


@tf_api
def softmax(logits: Any, axis: int | None = None, name: str | None = None) -> torch.Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (default: the last)."""
    return torch.softmax(to_float_tensor(logits, "tf.nn.softmax", "logits"), -1 if axis is None else int(axis))


@tf_api
def log_softmax(logits: Any, axis: int | None = None, name: str | None = None) -> torch.Tensor:
    """``x - log(sum(exp(x)))`` along ``axis`` (default: the last)."""
    return torch.log_softmax(to_float_tensor(logits, "tf.nn.log_softmax", "logits"), -1 if axis is None else int(axis))


@tf_api
def sigmoid(x: Any, name: str | None = None) -> torch.Tensor:
    """``1 / (1 + exp(-x))``."""
    return torch.sigmoid(to_float_tensor(x, "tf.nn.sigmoid"))


@tf_api
def tanh(x: Any, name: str | None = None) -> torch.Tensor:
    """Hyperbolic tangent."""
    return torch.tanh(to_float_tensor(x, "tf.nn.tanh"))


@tf_api
def softplus(features: Any, name: str | None = None) -> torch.Tensor:
    """``log(1 + exp(x))``."""
    return F.softplus(to_float_tensor(features, "tf.nn.softplus", "features"))


@tf_api
def silu(features: Any, beta: float = 1.0) -> torch.Tensor:
    """``x * sigmoid(beta * x)`` (also ``tf.nn.swish``)."""
    x = to_float_tensor(features, "tf.nn.silu", "features")
    return x * torch.sigmoid(beta * x)


swish = silu


@tf_api
def dropout(x: Any, rate: float, noise_shape: Any = None, seed: Any = None, name: str | None = None) -> torch.Tensor:
    """Zero values with probability ``rate``, scaling the rest by ``1 / (1 - rate)``; always active, as in TF."""
    if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ConfigError(f"tf.nn.dropout: rate must be a number in [0, 1) (the fraction dropped; TF1's keep_prob "
                          f"is 1 - rate). Received: rate={rate!r}")
    return random.dropout(to_float_tensor(x, "tf.nn.dropout"), rate, noise_shape=noise_shape, seed=seed)


@tf_api
def bias_add(value: Any, bias: Any, data_format: str | None = None, name: str | None = None) -> torch.Tensor:
    """``value + bias`` along the channel axis (last for NHWC, 1 for NCHW)."""
    x = to_tensor(value, "tf.nn.bias_add", "value")
    b = to_tensor(bias, "tf.nn.bias_add", "bias").to(x.device)
    first = _data_format(data_format, "tf.nn.bias_add")
    axis = 1 if first else -1
    if b.dim() != 1 or b.shape[0] != x.shape[axis]:
        raise ShapeError(f"tf.nn.bias_add: bias must be 1-D with one value per channel ({x.shape[axis]}); got "
                         f"shape {tuple(b.shape)}. Received: bias.shape={tuple(b.shape)}")
    return x + (b.view(-1, *([1] * (x.dim() - 2))) if first else b)


# --------------------------------------------------------------------------- losses


def _labels_logits(labels: Any, logits: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    if labels is None or logits is None:
        raise ConfigError(f"{where}: give both labels= and logits= (TF names them). Received: "
                          f"labels={'None' if labels is None else '...'}, logits={'None' if logits is None else '...'}")
    z = to_float_tensor(logits, where, "logits")
    return to_tensor(labels, where, "labels").to(z.device), z


@tf_api
def sparse_softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                             name: str | None = None) -> torch.Tensor:
    """Per-example ``-log softmax(logits)[label]`` for integer class ``labels`` of shape ``logits.shape[:-1]``."""
    y, z = _labels_logits(labels, logits, "tf.nn.sparse_softmax_cross_entropy_with_logits")
    if tuple(y.shape) != tuple(z.shape[:-1]):
        raise ShapeError(f"tf.nn.sparse_softmax_cross_entropy_with_logits: labels must have shape logits.shape[:-1] "
                         f"= {tuple(z.shape[:-1])}; got {tuple(y.shape)}. For one-hot labels use "
                         f"tf.nn.softmax_cross_entropy_with_logits. Received: labels.shape={tuple(y.shape)}")
    classes = z.shape[-1]
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise ConfigError(f"tf.nn.sparse_softmax_cross_entropy_with_logits: labels must be class indices in "
                          f"[0, {classes}). Received: labels with min {int(y.min())} and max {int(y.max())}")
    return -torch.log_softmax(z, -1).gather(-1, y.long().unsqueeze(-1)).squeeze(-1)


@tf_api
def softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None, axis: int = -1,
                                      name: str | None = None) -> torch.Tensor:
    """Per-example ``-sum(labels * log softmax(logits))`` over ``axis`` (labels are probabilities, e.g. one-hot)."""
    y, z = _labels_logits(labels, logits, "tf.nn.softmax_cross_entropy_with_logits")
    if tuple(y.shape) != tuple(z.shape):
        raise ShapeError(f"tf.nn.softmax_cross_entropy_with_logits: labels and logits must have one shape; got "
                         f"{tuple(y.shape)} and {tuple(z.shape)}. For integer labels use "
                         f"tf.nn.sparse_softmax_cross_entropy_with_logits. Received: labels.shape={tuple(y.shape)}")
    return -(y.to(z.dtype) * torch.log_softmax(z, int(axis))).sum(int(axis))


@tf_api
def sigmoid_cross_entropy_with_logits(labels: Any = None, logits: Any = None, name: str | None = None) -> torch.Tensor:
    """Element-wise ``max(x, 0) - x * z + log(1 + exp(-|x|))`` (logits ``x``, labels ``z``), TF's stable form."""
    z, x = _labels_logits(labels, logits, "tf.nn.sigmoid_cross_entropy_with_logits")
    if tuple(z.shape) != tuple(x.shape):
        raise ShapeError(f"tf.nn.sigmoid_cross_entropy_with_logits: labels and logits must have one shape; got "
                         f"{tuple(z.shape)} and {tuple(x.shape)}. Received: labels.shape={tuple(z.shape)}")
    return F.binary_cross_entropy_with_logits(x, z.to(x.dtype), reduction="none")


@tf_api
def l2_loss(t: Any, name: str | None = None) -> torch.Tensor:
    """``sum(t ** 2) / 2`` (weight decay in hand-written losses)."""
    x = to_float_tensor(t, "tf.nn.l2_loss", "t")
    return (x * x).sum() / 2


@tf_api
def compute_average_loss(per_example_loss: Any, sample_weight: Any = None, global_batch_size: int | None = None,
                         name: str | None = None) -> torch.Tensor:
    """Sum of the (weighted) per-example losses divided by the global batch size (default: this batch's)."""
    loss = to_float_tensor(per_example_loss, "tf.nn.compute_average_loss", "per_example_loss")
    if sample_weight is not None:
        loss = loss * to_float_tensor(sample_weight, "tf.nn.compute_average_loss", "sample_weight").to(loss.device)
    size = loss.shape[0] if global_batch_size is None and loss.dim() else global_batch_size or 1
    return loss.sum() / size


# --------------------------------------------------------------------------- normalisation


@tf_api
def moments(x: Any, axes: Any, shift: Any = None, keepdims: bool = False,
            name: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, variance)`` over ``axes`` (population variance)."""
    t = to_float_tensor(x, "tf.nn.moments")
    dims = axis_tuple(axes) or tuple(range(t.dim()))
    mean = t.mean(dims, keepdim=True)
    variance = ((t - mean) ** 2).mean(dims, keepdim=True)
    return (mean, variance) if keepdims else (mean.squeeze(dims), variance.squeeze(dims))



@tf_api
def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any, variance_epsilon: float,
                        name: str | None = None) -> torch.Tensor:
    """``scale * (x - mean) / sqrt(variance + variance_epsilon) + offset`` (offset and scale may be None)."""
    t = to_float_tensor(x, "tf.nn.batch_normalization")
    stats = [None if v is None else to_float_tensor(v, "tf.nn.batch_normalization").to(t.device)
             for v in (mean, variance, offset, scale)]
    m, v, beta, gamma = stats
    inv = torch.rsqrt(v + variance_epsilon)
    if gamma is not None:
        inv = inv * gamma
    return t * inv + ((beta if beta is not None else 0) - m * inv)


@tf_api
def local_response_normalization(input: Any, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0,  # noqa: A002
                                 beta: float = 0.5, name: str | None = None) -> torch.Tensor:
    """``x / (bias + alpha * sum of x**2 over 2*depth_radius+1 neighbouring channels) ** beta`` (AlexNet's LRN)."""
    x = to_float_tensor(input, "tf.nn.local_response_normalization", "input")
    squares = F.pad((x * x).unsqueeze(1), (depth_radius, depth_radius))
    window = F.avg_pool3d(squares, (1, 1, 2 * depth_radius + 1), stride=1, divisor_override=1).squeeze(1)
    return x / (bias + alpha * window) ** beta


__all__ = ["avg_pool", "avg_pool2d", "batch_normalization", "bias_add", "compute_average_loss", "conv2d", "dropout",
           "elu", "gelu", "l2_loss", "l2_normalize", "leaky_relu", "local_response_normalization", "log_softmax",
           "max_pool", "max_pool2d", "moments", "relu", "relu6", "selu", "sigmoid",
           "sigmoid_cross_entropy_with_logits", "silu", "softmax", "softmax_cross_entropy_with_logits", "softplus",
           "sparse_softmax_cross_entropy_with_logits", "swish", "tanh"]

"""Keras 3's neural-network ops on torch: activations, one-hot, normalisation, cross-entropies, and
(re-exported from ``_conv``) convolution and pooling.

Cross-entropies return one value per sample, with no reduction, as
``keras.ops`` does; probabilities are clipped to ``[1e-7, 1 - 1e-7]``
(``keras.backend.epsilon()``) before the log.

Example:
    >>> from cnnlab import ops
    >>> ops.relu([-1.0, 2.0]).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from cnnlab.backend import epsilon as keras_epsilon
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.ops import _conv
from cnnlab.ops._conv import *  # noqa: F403 - keras.ops.nn holds these too
from cnnlab.ops._convert import axis_tuple, convert_to_tensor, export, tensors, to_float, torch_dtype

# --------------------------------------------------------------------------- activations


def relu(x: Any) -> torch.Tensor:
    """``max(x, 0)``."""
    return torch.relu(to_float(x))


def relu6(x: Any) -> torch.Tensor:
    """``min(max(x, 0), 6)``."""
    return torch.clamp(to_float(x), 0.0, 6.0)


def sigmoid(x: Any) -> torch.Tensor:
    """``1 / (1 + exp(-x))``."""
    return torch.sigmoid(to_float(x))


def sparse_sigmoid(x: Any) -> torch.Tensor:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between."""
    return torch.clamp((to_float(x) + 1.0) / 2.0, 0.0, 1.0)


def softplus(x: Any) -> torch.Tensor:
    """``log(1 + exp(x))``."""
    return F.softplus(to_float(x))


def softsign(x: Any) -> torch.Tensor:
    """``x / (1 + |x|)``."""
    return F.softsign(to_float(x))


def soft_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x - threshold`` above it, ``x + threshold`` below ``-threshold``, 0 between."""
    return F.softshrink(to_float(x), threshold)


def hard_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x`` where ``|x| > threshold``, else 0."""
    return F.hardshrink(to_float(x), threshold)


def sparse_plus(x: Any) -> torch.Tensor:
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` between."""
    t = to_float(x)
    return torch.where(t <= -1, torch.zeros_like(t), torch.where(t >= 1, t, (t + 1) ** 2 / 4))


def silu(x: Any) -> torch.Tensor:
    """``x * sigmoid(x)`` (swish)."""
    return F.silu(to_float(x))


def squareplus(x: Any, b: float = 4) -> torch.Tensor:
    """``(x + sqrt(x**2 + b)) / 2``."""
    t = to_float(x)
    return (t + torch.sqrt(t * t + b)) / 2


def log_sigmoid(x: Any) -> torch.Tensor:
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(to_float(x))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """``x`` for positive values, ``negative_slope * x`` otherwise (Keras's default slope is 0.2)."""
    return F.leaky_relu(to_float(x), negative_slope)


def hard_sigmoid(x: Any) -> torch.Tensor:
    """``relu6(x + 3) / 6``."""
    return F.hardsigmoid(to_float(x))


def hard_silu(x: Any) -> torch.Tensor:
    """``x * hard_sigmoid(x)`` (hard swish)."""
    return F.hardswish(to_float(x))


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """``x`` for positive values, ``alpha * (exp(x) - 1)`` otherwise."""
    return F.elu(to_float(x), alpha)


def selu(x: Any) -> torch.Tensor:
    """Scaled ELU with the self-normalising constants."""
    return F.selu(to_float(x))


def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(to_float(x), alpha)


def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """Gaussian error linear unit; Keras's default is the tanh approximation."""
    return F.gelu(to_float(x), approximate="tanh" if approximate else "none")


def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second half."""
    return F.glu(to_float(x), axis)


def tanh_shrink(x: Any) -> torch.Tensor:
    """``x - tanh(x)``."""
    return F.tanhshrink(to_float(x))


def hard_tanh(x: Any) -> torch.Tensor:
    """``clip(x, -1, 1)``."""
    return F.hardtanh(to_float(x))


def threshold(x: Any, threshold: float, default_value: float) -> torch.Tensor:
    """``x`` where ``x > threshold``, else ``default_value``."""
    return F.threshold(to_float(x), threshold, default_value)


def mish(x: Any) -> torch.Tensor:
    """``x * tanh(softplus(x))`` (``keras.activations.mish``)."""
    return F.mish(to_float(x))


def _over_axes(fn, x: Any, axis: Any) -> torch.Tensor:
    """Apply a one-axis function over several axes by flattening them into one."""
    t = to_float(x)
    axes = axis_tuple(axis) or tuple(range(t.dim()))
    if len(axes) == 1:
        return fn(t, axes[0])
    moved = torch.movedim(t, axes, tuple(range(-len(axes), 0)))
    out = fn(moved.reshape(moved.shape[: t.dim() - len(axes)] + (-1,)), -1)
    return torch.movedim(out.reshape(moved.shape), tuple(range(-len(axes), 0)), axes)


def softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int or a tuple of axes)."""
    return _over_axes(lambda t, a: torch.softmax(t, a), x, axis)


def log_softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """``x - logsumexp(x)`` along ``axis``."""
    return _over_axes(lambda t, a: torch.log_softmax(t, a), x, axis)


def sparsemax(x: Any, axis: int = -1) -> torch.Tensor:
    """Euclidean projection onto the simplex: like softmax, but with exact zeros."""
    t = torch.movedim(to_float(x), axis, -1)
    z = torch.sort(t, dim=-1, descending=True).values
    k = torch.arange(1, t.shape[-1] + 1, dtype=t.dtype, device=t.device)
    cumulative = z.cumsum(-1)
    support = (1 + k * z > cumulative).sum(-1, keepdim=True)
    tau = (cumulative.gather(-1, support - 1) - 1) / support.to(t.dtype)
    return torch.movedim(torch.clamp(t - tau, min=0), -1, axis)


swish, hard_swish = silu, hard_silu

# --------------------------------------------------------------------------- encodings


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> torch.Tensor:
    """One-hot encode integer labels; labels outside ``[0, num_classes)`` give all-zero rows, as in TF."""
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"one_hot: argument 'num_classes' must be a positive int. Received: num_classes={num_classes!r}")
    labels = convert_to_tensor(x).long()
    valid = (labels >= 0) & (labels < num_classes)
    out = F.one_hot(torch.where(valid, labels, 0), num_classes) * valid.unsqueeze(-1)
    out = out.to(torch_dtype(dtype, "one_hot"))
    return out if axis == -1 else torch.movedim(out, -1, axis)


def multi_hot(inputs: Any, num_classes: int | None = None, axis: int = -1, dtype: Any = None, sparse: bool = False,
              **kwargs: Any) -> torch.Tensor:
    """Multi-hot encode lists of labels: 1 where a class occurs (rank-2 input: one row per sample)."""
    num_classes = kwargs.pop("num_tokens", num_classes)
    if num_classes is None:
        raise ConfigError("multi_hot: argument 'num_classes' is required. Received: num_classes=None")
    t = convert_to_tensor(inputs)
    encoded = one_hot(t, num_classes, axis=axis, dtype=dtype)
    return torch.amax(encoded, dim=1 if t.dim() > 1 else 0)


# --------------------------------------------------------------------------- normalisation


def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, variance)`` over ``axes`` (population variance); half precision is computed in float32."""
    t = to_float(x)
    work = t.float() if t.dtype in (torch.float16, torch.bfloat16) else t
    dims = axis_tuple(axes)
    variance, mean = torch.var_mean(work, dim=dims, keepdim=keepdims, correction=0)
    return mean.to(t.dtype), variance.to(t.dtype)


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None,
                        epsilon: float = 1e-3) -> torch.Tensor:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with 1-D statistics along ``axis``."""
    t = to_float(x)
    shape = [1] * t.dim()
    shape[axis] = t.shape[axis]

    def stat(v: Any) -> torch.Tensor | None:
        if v is None:
            return None
        s = convert_to_tensor(v).to(device=t.device, dtype=t.dtype)
        return s.reshape(shape) if s.dim() == 1 else s

    inv = torch.rsqrt(stat(variance) + epsilon)
    if scale is not None:
        inv = inv * stat(scale)
    out = (t - stat(mean)) * inv
    return out if offset is None else out + stat(offset)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> torch.Tensor:
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``, Keras's 1e-7 by default)."""
    if not isinstance(order, int) or order < 1:
        raise ConfigError(f"normalize: argument 'order' must be an int >= 1. Received: order={order!r}")
    t = to_float(x)
    t = t.unsqueeze(0) if t.dim() == 0 else t
    eps = keras_epsilon() if epsilon is None else epsilon
    if order == 2:
        inv = torch.rsqrt(torch.sum(t * t, dim=axis, keepdim=True))
        return t * torch.clamp(inv, max=1.0 / eps)
    norm = torch.linalg.vector_norm(t, ord=order, dim=axis, keepdim=True)
    return t / torch.clamp(norm, min=eps)


def rms_normalization(x: Any, scale: Any = None, axis: Any = -1, epsilon: float | None = None) -> torch.Tensor:
    """``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis``."""
    t = to_float(x)
    work = t.float() if t.dtype in (torch.float16, torch.bfloat16) else t
    eps = keras_epsilon() if epsilon is None else epsilon
    out = work * torch.rsqrt(torch.mean(work * work, dim=axis_tuple(axis), keepdim=True) + eps)
    if scale is not None:
        out = out * convert_to_tensor(scale).to(device=t.device, dtype=work.dtype)
    return out.to(t.dtype)


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: Any = -1, epsilon: float | None = None,
                        **kwargs: Any) -> torch.Tensor:
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over ``axis`` (``rms_scaling=True``: no centring)."""
    t = to_float(x)
    work = t.float() if t.dtype in (torch.float16, torch.bfloat16) else t
    eps = keras_epsilon() if epsilon is None else epsilon
    axes = sorted(a % t.dim() for a in axis_tuple(axis))
    shape = [t.shape[d] if d in axes else 1 for d in range(t.dim())]

    def param(v: Any) -> torch.Tensor | None:
        if v is None:
            return None
        p = convert_to_tensor(v).to(device=t.device, dtype=work.dtype)
        return p.reshape(shape) if p.dim() != t.dim() and axes != [t.dim() - 1] else p

    variance, mean = torch.var_mean(work, dim=axes, keepdim=True, correction=0)
    if kwargs.pop("rms_scaling", False):
        out = work * torch.rsqrt(variance + eps)
    else:
        out = (work - mean) * torch.rsqrt(variance + eps)
    if gamma is not None:
        out = out * param(gamma)
    if beta is not None:
        out = out + param(beta)
    return out.to(t.dtype)


# --------------------------------------------------------------------------- losses


def _check_same_shape(target: torch.Tensor, output: torch.Tensor, op: str) -> None:
    if tuple(target.shape) != tuple(output.shape):
        raise ShapeError(
            f"{op}: target and output must have the same shape; got target {tuple(target.shape)} and output "
            f"{tuple(output.shape)}. For integer class labels use sparse_categorical_crossentropy. "
            f"Received: target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Element-wise binary cross-entropy (no reduction)."""
    y, p = (to_float(v) for v in tensors(target, output))
    _check_same_shape(y, p, "binary_crossentropy")
    y = y.to(p.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(p, y, reduction="none")
    eps = keras_epsilon()
    p = torch.clamp(p, eps, 1.0 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """Cross-entropy between one-hot (or soft) targets and predictions along ``axis``; one value per sample."""
    y, p = (to_float(v) for v in tensors(target, output))
    _check_same_shape(y, p, "categorical_crossentropy")
    y = y.to(p.dtype)
    if from_logits:
        return -torch.sum(y * torch.log_softmax(p, dim=axis), dim=axis)
    eps = keras_epsilon()
    p = torch.clamp(p / torch.sum(p, dim=axis, keepdim=True), eps, 1.0 - eps)
    return -torch.sum(y * torch.log(p), dim=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """Cross-entropy with integer class labels; ``target`` has the shape of ``output`` without ``axis``."""
    labels, p = tensors(target, output)
    p = to_float(p)
    if axis not in (-1, p.dim() - 1):
        raise ConfigError(f"sparse_categorical_crossentropy: only axis=-1 is supported (as in Keras). "
                          f"Received: axis={axis}")
    labels = labels.long()
    if labels.dim() == p.dim() and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    if tuple(labels.shape) != tuple(p.shape[:-1]):
        raise ShapeError(
            f"sparse_categorical_crossentropy: target must have the shape of output without its last axis; "
            f"got target {tuple(labels.shape)} and output {tuple(p.shape)}. For one-hot targets use "
            f"categorical_crossentropy. Received: target.shape={tuple(labels.shape)}, output.shape={tuple(p.shape)}"
        )
    if from_logits:
        log_p = torch.log_softmax(p, dim=-1)
    else:
        eps = keras_epsilon()
        log_p = torch.log(torch.clamp(p / torch.sum(p, dim=-1, keepdim=True), eps, 1.0 - eps))
    valid = (labels >= 0) & (labels < p.shape[-1])
    picked = log_p.gather(-1, torch.where(valid, labels, 0).unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, torch.zeros_like(picked))


def psnr(x1: Any, x2: Any, max_val: float) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB: ``20 log10(max_val) - 10 log10(mse)``."""
    a, b = (to_float(v) for v in tensors(x1, x2))
    mse = torch.mean((a - b) ** 2)
    return 20.0 * math.log10(max_val) - 10.0 * torch.log10(mse)


# --------------------------------------------------------------------------- reshaping and attention


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Move channel blocks into ``block_size`` x ``block_size`` spatial tiles, like ``tf.nn.depth_to_space``."""
    t, b = convert_to_tensor(x), int(block_size)
    last = data_format == "channels_last"
    n, h, w, c = t.shape if last else (t.shape[0], t.shape[2], t.shape[3], t.shape[1])
    if c % (b * b):
        raise ShapeError(f"depth_to_space: channels ({c}) must be divisible by block_size**2 = {b * b}. "
                         f"Received: block_size={block_size}")
    if last:
        return t.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, -1)
    return t.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, -1, h * b, w * b)


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """The inverse of :func:`depth_to_space`."""
    t, b = convert_to_tensor(x), int(block_size)
    last = data_format == "channels_last"
    n, h, w, c = t.shape if last else (t.shape[0], t.shape[2], t.shape[3], t.shape[1])
    if h % b or w % b:
        raise ShapeError(f"space_to_depth: height ({h}) and width ({w}) must be divisible by block_size = {b}. "
                         f"Received: block_size={block_size}")
    if last:
        return t.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, -1)
    return t.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4).reshape(n, -1, h // b, w // b)


def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> torch.Tensor:
    """Sliding blocks of an NCHW tensor as columns, like ``torch.nn.functional.unfold``."""
    return F.unfold(to_float(x), kernel_size, dilation, padding, stride)


def fold(x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> torch.Tensor:
    """Sum columns of sliding blocks back into an NCHW tensor (the adjoint of :func:`unfold`)."""
    return F.fold(to_float(x), output_size, kernel_size, dilation, padding, stride)


def polar(abs_: Any, angle: Any) -> torch.Tensor:
    """Complex numbers from magnitudes and angles."""
    a, b = (to_float(v) for v in tensors(abs_, angle))
    return torch.polar(a, b.to(a.dtype))


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None, scale: Any = None,
                          is_causal: bool = False, flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> torch.Tensor:
    """Scaled dot-product attention on ``(batch, seq, heads, head_dim)`` tensors; ``mask`` True = attend."""
    q, k, v = (to_float(t).transpose(1, 2) for t in tensors(query, key, value))
    if k.shape[1] != q.shape[1]:  # grouped-query attention: each key head serves several query heads
        k, v = (t.repeat_interleave(q.shape[1] // t.shape[1], dim=1) for t in (k, v))
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + convert_to_tensor(bias).to(device=q.device, dtype=q.dtype)
    keep = None if mask is None else convert_to_tensor(mask).to(q.device).bool()
    if is_causal:
        causal = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = logits.masked_fill(~keep, torch.finfo(logits.dtype).min)
    return torch.matmul(torch.softmax(logits, dim=-1), v).transpose(1, 2)


__all__ = sorted(set(_conv.__all__) | {
    "batch_normalization", "binary_crossentropy", "categorical_crossentropy", "celu", "depth_to_space",
    "dot_product_attention", "elu", "fold", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "layer_normalization", "leaky_relu", "log_sigmoid", "log_softmax", "mish",
    "moments", "multi_hot", "normalize", "one_hot", "polar", "psnr", "relu", "relu6", "rms_normalization", "selu",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "space_to_depth", "sparse_categorical_crossentropy",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink", "threshold", "unfold",
})
export(globals(), [n for n in __all__ if n not in _conv.__all__])

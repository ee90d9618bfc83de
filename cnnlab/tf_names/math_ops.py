"""``tf.math`` on torch: reductions, element-wise math, comparisons, ``top_k``, ``confusion_matrix``.

TF's rules are kept where they differ from NumPy's: ``argmax`` defaults to axis 0 and returns int64,
``reduce_mean`` of integers is an integer, ``divide`` of two int32 tensors is float64.

Example:
    >>> import cnnlab as tf
    >>> tf.reduce_sum([[1, 2], [3, 4]], axis=1).tolist()
    [3, 7]
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.tf_names._args import axes, check_arguments, to_float_tensor, to_tensor
from cnnlab.tf_names.dtypes import as_dtype

tf_api = check_arguments("tf.math")
TopKV2 = namedtuple("TopKV2", ["values", "indices"])


def _binary(x: Any, y: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Both operands as tensors on one device; a Python number takes the other operand's dtype, as in TF."""
    number = (bool, int, float)
    if isinstance(x, number) and not isinstance(y, number):
        b = to_tensor(y, where, "y")
        return torch.as_tensor(x, dtype=b.dtype, device=b.device), b
    a = to_tensor(x, where, "x")
    if isinstance(y, number):
        return a, torch.as_tensor(y, dtype=a.dtype, device=a.device)
    return a, to_tensor(y, where, "y").to(a.device)


# --------------------------------------------------------------------------- reductions


def _reduce(fn, input_tensor: Any, axis: Any, keepdims: bool, where: str) -> torch.Tensor:
    t = to_tensor(input_tensor, where, "input_tensor")
    dims = axes(axis)
    if dims is None:
        dims = tuple(range(t.dim()))
    if not dims:
        return t.clone()
    return fn(t, dims, bool(keepdims))


@tf_api
def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Sum over ``axis`` (all axes when None); integers stay integers."""
    return _reduce(lambda t, d, k: t.sum(d, keepdim=k, dtype=t.dtype if t.dtype != torch.bool else torch.int32),
                   input_tensor, axis, keepdims, "tf.reduce_sum")


@tf_api
def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Mean over ``axis`` (all axes when None); the mean of integers is truncated to an integer, as in TF."""
    def mean(t, d, k):
        if t.is_floating_point() or t.is_complex():
            return t.mean(d, keepdim=k)
        count = 1
        for a in d:
            count *= t.shape[a]
        return torch.div(t.sum(d, keepdim=k, dtype=torch.int64), count, rounding_mode="trunc").to(t.dtype)

    return _reduce(mean, input_tensor, axis, keepdims, "tf.reduce_mean")


@tf_api
def reduce_max(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Maximum over ``axis`` (all axes when None)."""
    return _reduce(lambda t, d, k: t.amax(d, keepdim=k), input_tensor, axis, keepdims, "tf.reduce_max")


@tf_api
def reduce_min(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Minimum over ``axis`` (all axes when None)."""
    return _reduce(lambda t, d, k: t.amin(d, keepdim=k), input_tensor, axis, keepdims, "tf.reduce_min")


def _prod(t: torch.Tensor, dims: tuple[int, ...], keep: bool) -> torch.Tensor:
    for a in sorted((d % t.dim() for d in dims), reverse=True):
        t = t.prod(a, keepdim=keep, dtype=t.dtype)
    return t


@tf_api
def reduce_prod(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Product over ``axis`` (all axes when None)."""
    return _reduce(_prod, input_tensor, axis, keepdims, "tf.reduce_prod")


@tf_api
def reduce_any(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Logical or over ``axis``."""
    return _reduce(lambda t, d, k: t.bool().any(d, keepdim=k) if d else t.bool(), input_tensor, axis, keepdims,
                   "tf.reduce_any")


@tf_api
def reduce_all(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Logical and over ``axis``."""
    return _reduce(lambda t, d, k: t.bool().all(d, keepdim=k) if d else t.bool(), input_tensor, axis, keepdims,
                   "tf.reduce_all")


@tf_api
def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                     name: str | None = None) -> torch.Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    return _reduce(lambda t, d, k: torch.logsumexp(t.float() if not t.is_floating_point() else t, d, keepdim=k),
                   input_tensor, axis, keepdims, "tf.reduce_logsumexp")


@tf_api
def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Population standard deviation over ``axis`` (divides by n, as TF)."""
    return _reduce(lambda t, d, k: t.std(d, keepdim=k, correction=0), to_float_tensor(input_tensor, "tf.reduce_std"),
                   axis, keepdims, "tf.reduce_std")


@tf_api
def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                    name: str | None = None) -> torch.Tensor:
    """Population variance over ``axis`` (divides by n, as TF)."""
    return _reduce(lambda t, d, k: t.var(d, keepdim=k, correction=0),
                   to_float_tensor(input_tensor, "tf.reduce_variance"), axis, keepdims, "tf.reduce_variance")


def _arg_extreme(fn, input: Any, axis: Any, output_type: Any, where: str) -> torch.Tensor:  # noqa: A002
    t = to_tensor(input, where, "input")
    if t.dtype == torch.bool:  # TF ranks bools (True > False); torch's argmax refuses them
        t = t.to(torch.uint8)
    return fn(t, dim=0 if axis is None else int(axis)).to(as_dtype(output_type, where, "output_type"))


@tf_api
def argmax(input: Any, axis: Any = None, output_type: Any = torch.int64, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """Index of the largest value along ``axis`` (TF's default: axis 0), as int64."""
    return _arg_extreme(torch.argmax, input, axis, output_type, "tf.argmax")


@tf_api
def argmin(input: Any, axis: Any = None, output_type: Any = torch.int64, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """Index of the smallest value along ``axis`` (TF's default: axis 0), as int64."""
    return _arg_extreme(torch.argmin, input, axis, output_type, "tf.argmin")


# --------------------------------------------------------------------------- element-wise

def _unary(torch_fn, doc: str, floats_only: bool = True):
    def op(x: Any, name: str | None = None) -> torch.Tensor:
        return torch_fn(to_float_tensor(x, f"tf.math.{op.__name__}") if floats_only
                        else to_tensor(x, f"tf.math.{op.__name__}"))
    op.__doc__ = doc
    return op


_UNARY = {
    "exp": (torch.exp, "``e ** x``.", True), "log": (torch.log, "Natural logarithm.", True),
    "log1p": (torch.log1p, "``log(1 + x)``.", True), "sqrt": (torch.sqrt, "Square root.", True),
    "rsqrt": (torch.rsqrt, "``1 / sqrt(x)``.", True), "square": (torch.square, "``x * x``.", False),
    "abs": (torch.abs, "Absolute value.", False), "negative": (torch.negative, "``-x``.", False),
    "sign": (torch.sign, "-1, 0 or 1 by the sign of ``x``.", False),
    "round": (torch.round, "Round half to even, as TF.", False), "floor": (torch.floor, "Round down.", False),
    "ceil": (torch.ceil, "Round up.", False), "reciprocal": (torch.reciprocal, "``1 / x``.", True),
    "sigmoid": (torch.sigmoid, "``1 / (1 + exp(-x))``.", True), "tanh": (torch.tanh, "Hyperbolic tangent.", True),
    "softplus": (torch.nn.functional.softplus, "``log(1 + exp(x))``.", True),
    "sin": (torch.sin, "Sine.", True), "cos": (torch.cos, "Cosine.", True),
    "is_nan": (torch.isnan, "True where ``x`` is NaN.", False),
    "is_finite": (torch.isfinite, "True where ``x`` is finite.", False),
    "is_inf": (torch.isinf, "True where ``x`` is infinite.", False),
    "logical_not": (torch.logical_not, "Element-wise not.", False),
}
for _name, (_fn, _doc, _floats) in _UNARY.items():
    _op = _unary(_fn, _doc, _floats)
    _op.__name__ = _op.__qualname__ = _name
    globals()[_name] = tf_api(_op)


def _binary_op(torch_fn, doc: str):
    def op(x: Any, y: Any, name: str | None = None) -> torch.Tensor:
        return torch_fn(*_binary(x, y, f"tf.math.{op.__name__}"))
    op.__doc__ = doc
    return op


_BINARY = {
    "add": (torch.add, "``x + y``, broadcasting."), "subtract": (torch.subtract, "``x - y``."),
    "multiply": (torch.multiply, "``x * y``."), "maximum": (torch.maximum, "Element-wise maximum."),
    "minimum": (torch.minimum, "Element-wise minimum."), "pow": (torch.pow, "``x ** y``."),
    "equal": (torch.eq, "``x == y``."), "not_equal": (torch.ne, "``x != y``."),
    "greater": (torch.gt, "``x > y``."), "greater_equal": (torch.ge, "``x >= y``."),
    "less": (torch.lt, "``x < y``."), "less_equal": (torch.le, "``x <= y``."),
    "logical_and": (torch.logical_and, "Element-wise and."), "logical_or": (torch.logical_or, "Element-wise or."),
    "floordiv": (lambda a, b: torch.div(a, b, rounding_mode="floor"), "``x // y`` (rounds down)."),
    "mod": (torch.remainder, "Remainder with the sign of ``y``, as Python's ``%``."),
    "squared_difference": (lambda a, b: (a - b) ** 2, "``(x - y) ** 2``."),
}
for _name, (_fn, _doc) in _BINARY.items():
    _op = _binary_op(_fn, _doc)
    _op.__name__ = _op.__qualname__ = _name
    globals()[_name] = tf_api(_op)

_WIDE_INTS = (torch.int32, torch.int64, torch.uint32, torch.uint64)


def _true_divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.is_floating_point() or a.is_complex() or b.is_floating_point() or b.is_complex():
        return torch.true_divide(a, b)
    # TF: int8/int16/uint8 divide to float32, int32/int64 to float64.
    target = torch.float64 if a.dtype in _WIDE_INTS or b.dtype in _WIDE_INTS else torch.float32
    return torch.true_divide(a.to(target), b.to(target))


@tf_api
def divide(x: Any, y: Any, name: str | None = None) -> torch.Tensor:
    """``x / y``; two int32 tensors divide to float64, as in TF."""
    return _true_divide(*_binary(x, y, "tf.math.divide"))


truediv = divide


@tf_api
def divide_no_nan(x: Any, y: Any, name: str | None = None) -> torch.Tensor:
    """``x / y``, with 0 where ``y`` is 0."""
    a, b = _binary(x, y, "tf.math.divide_no_nan")
    out = _true_divide(a, b)
    return torch.where(b == 0, torch.zeros_like(out), out)


@tf_api
def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, adjoint_a: bool = False,
           adjoint_b: bool = False, a_is_sparse: bool = False, b_is_sparse: bool = False, output_type: Any = None,
           grad_a: bool = False, grad_b: bool = False, name: str | None = None) -> torch.Tensor:
    """Matrix product of the last two axes (batched over the others)."""
    x, y = (to_tensor(v, "tf.linalg.matmul", n) for v, n in ((a, "a"), (b, "b")))
    if x.dim() < 2 or y.dim() < 2:
        raise ShapeError(f"tf.matmul: both arguments must have rank >= 2 (TF does not treat vectors as "
                         f"matrices); got shapes {tuple(x.shape)} and {tuple(y.shape)}. Add an axis with "
                         f"tf.expand_dims or use tf.tensordot. Received: a.shape={tuple(x.shape)}")
    x = x.mT.conj() if adjoint_a else x.mT if transpose_a else x
    y = y.mT.conj() if adjoint_b else y.mT if transpose_b else y
    if x.shape[-1] != y.shape[-2]:
        raise ShapeError(f"tf.matmul: inner sizes differ: a is {tuple(x.shape)} and b is {tuple(y.shape)} (after "
                         f"any transpose); a's last size must equal b's second-to-last. Received: "
                         f"a.shape={tuple(x.shape)}, b.shape={tuple(y.shape)}")
    out = torch.matmul(x, y.to(x.device))
    return out if output_type is None else out.to(as_dtype(output_type, "tf.matmul"))


@tf_api
def top_k(input: Any, k: int = 1, sorted: bool = True, index_type: Any = torch.int32,  # noqa: A002
          name: str | None = None) -> TopKV2:
    """The ``k`` largest values of the last axis and their indices, as ``(values, indices)``."""
    t = to_tensor(input, "tf.math.top_k", "input")
    values, indices = torch.topk(t, int(k), dim=-1, largest=True, sorted=True)
    return TopKV2(values, indices.to(as_dtype(index_type, "tf.math.top_k")))


@tf_api
def in_top_k(targets: Any, predictions: Any, k: int, name: str | None = None) -> torch.Tensor:
    """Whether each target class is among the ``k`` highest predictions of its row."""
    scores = to_float_tensor(predictions, "tf.math.in_top_k", "predictions")
    target = to_tensor(targets, "tf.math.in_top_k", "targets").to(device=scores.device, dtype=torch.int64)
    own = scores.gather(1, target.unsqueeze(1))
    return (scores > own).sum(1) < int(k)


@tf_api
def confusion_matrix(labels: Any, predictions: Any, num_classes: int | None = None, weights: Any = None,
                     dtype: Any = torch.int32, name: str | None = None) -> torch.Tensor:
    """The ``(num_classes, num_classes)`` counts: rows are true labels, columns predictions."""
    true = to_tensor(labels, "tf.math.confusion_matrix", "labels").reshape(-1).to(torch.int64)
    pred = to_tensor(predictions, "tf.math.confusion_matrix", "predictions").reshape(-1).to(true.device, torch.int64)
    if true.shape != pred.shape:
        raise ShapeError(f"tf.math.confusion_matrix: labels and predictions must have as many values; got "
                         f"{true.numel()} and {pred.numel()}. Received: predictions.shape={tuple(pred.shape)}")
    if true.numel() and min(int(true.min()), int(pred.min())) < 0:
        raise ConfigError("tf.math.confusion_matrix: labels and predictions must be >= 0 (class indices). "
                          f"Received: min label {int(true.min())}, min prediction {int(pred.min())}")
    n = int(num_classes) if num_classes is not None else int(max(true.max(), pred.max())) + 1 if true.numel() else 0
    target = as_dtype(dtype, "tf.math.confusion_matrix")
    w = None if weights is None else to_tensor(weights, "tf.math.confusion_matrix", "weights").reshape(-1).double()
    counts = torch.bincount(true * n + pred, weights=w, minlength=n * n)
    return counts[: n * n].reshape(n, n).to(target)


@tf_api
def count_nonzero(input: Any, axis: Any = None, keepdims: bool = False, dtype: Any = torch.int64,  # noqa: A002
                  name: str | None = None) -> torch.Tensor:
    """Number of non-zero values over ``axis``."""
    return _reduce(lambda t, d, k: (t != 0).sum(d, keepdim=k), input, axis, keepdims,
                   "tf.math.count_nonzero").to(as_dtype(dtype, "tf.math.count_nonzero"))


@tf_api
def cumsum(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
           name: str | None = None) -> torch.Tensor:
    """Running sum along ``axis``."""
    t = to_tensor(x, "tf.math.cumsum")
    t = t.flip(axis) if reverse else t
    out = t.cumsum(int(axis), dtype=t.dtype)
    out = out - t if exclusive else out
    return out.flip(axis) if reverse else out


@tf_api
def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: str | None = None,
                 dim: Any = None) -> torch.Tensor:
    """``x / sqrt(max(sum(x**2), epsilon))`` over ``axis``."""
    t = to_float_tensor(x, "tf.math.l2_normalize")
    dims = axes(axis if axis is not None else dim) or tuple(range(t.dim()))
    return t * torch.rsqrt(torch.clamp((t * t).sum(dims, keepdim=True), min=epsilon))


@tf_api
def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: str | None = None) -> torch.Tensor:
    """Values of ``t`` limited to ``[clip_value_min, clip_value_max]``."""
    x = to_tensor(t, "tf.clip_by_value", "t")
    low, high = (v if isinstance(v, (int, float)) else to_tensor(v, "tf.clip_by_value").to(x.device)
                 for v in (clip_value_min, clip_value_max))
    return torch.clamp(x, low, high)


@tf_api
def scalar_mul(scalar: Any, x: Any, name: str | None = None) -> torch.Tensor:
    """``scalar * x``."""
    return to_tensor(x, "tf.math.scalar_mul") * scalar


__all__ = ["TopKV2", "argmax", "argmin", "clip_by_value", "confusion_matrix", "count_nonzero", "cumsum", "divide",
           "divide_no_nan", "in_top_k", "l2_normalize", "matmul", "reduce_all", "reduce_any", "reduce_logsumexp",
           "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_std", "reduce_sum", "reduce_variance",
           "scalar_mul", "top_k", "truediv", *_UNARY, *_BINARY]
# tf.math itself: TF keeps matmul in tf.linalg and clip_by_value at the top level only.
TF_MATH = [name for name in __all__ if name not in ("TopKV2", "clip_by_value", "matmul")]

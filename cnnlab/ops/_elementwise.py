"""Element-wise NumPy-like ops (``keras.ops.add``, ``sqrt``, ``equal``, ...) on torch.

Most are one torch call; the factories below give each its Keras name, its
Keras argument names (``x`` or ``x1, x2``) and Keras's result dtype: ops with
a float result (``sqrt``, ``exp``, ``divide``) turn integer input into
``float32``; comparisons give ``bool``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cnnlab.ops._convert import convert_to_tensor, export, floatx_dtype, operands, to_float


def _unary(fn: Callable, name: str, what: str, float_result: bool = False) -> Callable:
    def op(x: Any) -> torch.Tensor:
        return fn(to_float(x) if float_result else convert_to_tensor(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise {what}, like ``numpy.{name}`` (``keras.ops.{name}``)."
    return op


def _binary(fn: Callable, name: str, what: str, float_result: bool = False) -> Callable:
    def op(x1: Any, x2: Any) -> torch.Tensor:
        a, b = operands(x1, x2)
        if float_result:
            a, b = (to_float(v) if isinstance(v, torch.Tensor) else float(v) for v in (a, b))
        return fn(a, b)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise {what} of ``x1`` and ``x2`` with broadcasting, like ``numpy.{name}``."
    return op


def _bitwise(fn: Callable, name: str, what: str) -> Callable:
    """Keras names the bitwise ops' arguments ``x, y`` rather than ``x1, x2``."""
    binary = _binary(fn, name, what)

    def op(x: Any, y: Any) -> torch.Tensor:
        return binary(x, y)

    op.__name__, op.__qualname__, op.__doc__ = name, name, binary.__doc__.replace("x1", "x").replace("x2", "y")
    return op


def _float_valued(fn: Callable) -> Callable:
    """Rounding ops: Keras returns floatx for integer input."""
    return lambda t: fn(t) if t.is_floating_point() else t.to(floatx_dtype())


def _cbrt(t: torch.Tensor) -> torch.Tensor:
    return torch.sign(t) * torch.abs(t) ** (1.0 / 3.0)


# name, torch function, description, float result for int input
_UNARY = [
    ("abs", torch.abs, "absolute value", False), ("absolute", torch.abs, "absolute value", False),
    ("fabs", torch.abs, "absolute value (float result)", True), ("negative", torch.neg, "negation", False),
    ("sign", torch.sign, "sign (-1, 0 or 1)", False), ("square", torch.square, "square", False),
    ("sqrt", torch.sqrt, "square root", True), ("cbrt", _cbrt, "cube root", True),
    ("exp", torch.exp, "exponential", True), ("exp2", torch.exp2, "2**x", True),
    ("expm1", torch.expm1, "exp(x) - 1", True), ("log", torch.log, "natural logarithm", True),
    ("log1p", torch.log1p, "log(1 + x)", True), ("log2", torch.log2, "base-2 logarithm", True),
    ("log10", torch.log10, "base-10 logarithm", True), ("reciprocal", torch.reciprocal, "1 / x", True),
    ("sin", torch.sin, "sine", True), ("cos", torch.cos, "cosine", True), ("tan", torch.tan, "tangent", True),
    ("arcsin", torch.asin, "inverse sine", True), ("arccos", torch.acos, "inverse cosine", True),
    ("arctan", torch.atan, "inverse tangent", True), ("sinh", torch.sinh, "hyperbolic sine", True),
    ("cosh", torch.cosh, "hyperbolic cosine", True), ("tanh", torch.tanh, "hyperbolic tangent", True),
    ("arcsinh", torch.asinh, "inverse hyperbolic sine", True),
    ("arccosh", torch.acosh, "inverse hyperbolic cosine", True),
    ("arctanh", torch.atanh, "inverse hyperbolic tangent", True),
    ("deg2rad", torch.deg2rad, "degrees to radians", True), ("rad2deg", torch.rad2deg, "radians to degrees", True),
    ("sinc", torch.sinc, "normalised sinc", True), ("i0", torch.special.i0, "modified Bessel function I0", True),
    ("floor", _float_valued(torch.floor), "floor", False), ("ceil", _float_valued(torch.ceil), "ceiling", False),
    ("trunc", lambda t: torch.trunc(t) if t.is_floating_point() else t, "truncation towards zero", False),
    ("isnan", torch.isnan, "test for NaN", False), ("isinf", torch.isinf, "test for +/-inf", False),
    ("isfinite", torch.isfinite, "test for finite values", False), ("isneginf", torch.isneginf, "test for -inf", False),
    ("isposinf", torch.isposinf, "test for +inf", False), ("signbit", torch.signbit, "test of the sign bit", False),
    ("isreal", torch.isreal, "test for a zero imaginary part", False),
    ("logical_not", torch.logical_not, "logical NOT", False),
    ("bitwise_not", torch.bitwise_not, "bitwise NOT", False), ("bitwise_invert", torch.bitwise_not, "bitwise NOT", False),
    ("conj", torch.conj_physical, "complex conjugate", False),
    ("conjugate", torch.conj_physical, "complex conjugate", False),
    ("real", lambda t: torch.real(t) if t.is_complex() else t, "real part", False),
    ("imag", lambda t: torch.imag(t) if t.is_complex() else torch.zeros_like(t), "imaginary part", False),
    ("angle", torch.angle, "complex angle", True),
]


def _floor_divide(a, b):
    return torch.floor_divide(a, b)


def _power(a, b):
    return torch.pow(a, b)


def _divide_no_nan(a, b):
    out = torch.true_divide(a, b)
    return torch.where(torch.as_tensor(b) == 0, torch.zeros_like(out), out)


def _logaddexp2(a, b):
    return torch.logaddexp2(torch.as_tensor(a), torch.as_tensor(b))


def _weak_scalar(value: Any, ref: torch.Tensor) -> torch.Tensor:
    """A Python scalar as a tensor typed the way Keras types it next to ``ref``."""
    floaty = isinstance(value, float) and not (ref.is_floating_point() or ref.is_complex())
    return torch.tensor(value, dtype=floatx_dtype() if floaty else ref.dtype, device=ref.device)


def _tensor_pair(fn: Callable) -> Callable:
    """For torch functions that take no Python scalars."""

    def call(a, b):
        a = a if isinstance(a, torch.Tensor) else _weak_scalar(a, b)
        b = b if isinstance(b, torch.Tensor) else _weak_scalar(b, a)
        return fn(a, b)

    return call


_BINARY = [
    ("add", torch.add, "sum", False), ("subtract", torch.sub, "difference", False),
    ("multiply", torch.mul, "product", False), ("divide", torch.true_divide, "true division", True),
    ("true_divide", torch.true_divide, "true division", True),
    ("divide_no_nan", _divide_no_nan, "division, 0 where x2 is 0,", True),
    ("floor_divide", _floor_divide, "floor division", False), ("power", _power, "power x1**x2", False),
    ("mod", torch.remainder, "remainder (sign of x2)", False), ("fmod", torch.fmod, "remainder (sign of x1)", False),
    ("maximum", torch.maximum, "maximum", False), ("minimum", torch.minimum, "minimum", False),
    ("fmax", torch.fmax, "NaN-ignoring maximum", False), ("fmin", torch.fmin, "NaN-ignoring minimum", False),
    ("arctan2", torch.atan2, "arctan(x1 / x2) by quadrant", True), ("hypot", torch.hypot, "hypotenuse", True),
    ("logaddexp", torch.logaddexp, "log(exp(x1) + exp(x2))", True),
    ("logaddexp2", _logaddexp2, "log2(2**x1 + 2**x2)", True), ("heaviside", torch.heaviside, "Heaviside step", True),
    ("nextafter", torch.nextafter, "next float after x1 towards x2", True), ("ldexp", torch.ldexp, "x1 * 2**x2", True),
    ("equal", torch.eq, "==", False), ("not_equal", torch.ne, "!=", False), ("greater", torch.gt, ">", False),
    ("greater_equal", torch.ge, ">=", False), ("less", torch.lt, "<", False), ("less_equal", torch.le, "<=", False),
    ("logical_and", torch.logical_and, "logical AND", False), ("logical_or", torch.logical_or, "logical OR", False),
    ("logical_xor", torch.logical_xor, "logical XOR", False),
    ("gcd", torch.gcd, "greatest common divisor", False), ("lcm", torch.lcm, "least common multiple", False),
]
_BITWISE = [
    ("bitwise_and", torch.bitwise_and, "bitwise AND"), ("bitwise_or", torch.bitwise_or, "bitwise OR"),
    ("bitwise_xor", torch.bitwise_xor, "bitwise XOR"), ("bitwise_left_shift", torch.bitwise_left_shift, "left shift"),
    ("bitwise_right_shift", torch.bitwise_right_shift, "right shift"),
]
# torch functions that refuse a Python scalar in either place.
_NEEDS_TENSORS = {"fmax", "fmin", "arctan2", "hypot", "logaddexp", "heaviside", "nextafter", "gcd", "lcm", "ldexp",
                  "bitwise_left_shift", "bitwise_right_shift", "maximum", "minimum", "fmod", "logical_and",
                  "logical_or", "logical_xor"}

__all__: list[str] = []
for _name, _fn, _what, _float in _UNARY:
    globals()[_name] = _unary(_fn, _name, _what, _float)
    __all__.append(_name)
for _name, _fn, _what, _float in _BINARY:
    globals()[_name] = _binary(_tensor_pair(_fn) if _name in _NEEDS_TENSORS else _fn, _name, _what, _float)
    __all__.append(_name)
for _name, _fn, _what in _BITWISE:
    globals()[_name] = _bitwise(_tensor_pair(_fn), _name, _what)
    __all__.append(_name)
# NumPy's aliases, as keras.ops has them.
left_shift, right_shift = globals()["bitwise_left_shift"], globals()["bitwise_right_shift"]
__all__ += ["left_shift", "right_shift"]


def round(x: Any, decimals: int = 0) -> torch.Tensor:  # noqa: A001 - Keras's name
    """Round half to even to ``decimals`` places, like ``numpy.round``; integer input stays integer."""
    t = convert_to_tensor(x)
    if not t.is_floating_point():
        if decimals >= 0:
            return t
        factor = 10 ** (-decimals)
        return (torch.round(t.double() / factor) * factor).to(t.dtype)
    return torch.round(t, decimals=decimals)


def clip(x: Any, x_min: Any, x_max: Any) -> torch.Tensor:
    """Limit values to ``[x_min, x_max]``, like ``numpy.clip``; bool input becomes int32 as in Keras."""
    t = convert_to_tensor(x)
    if t.dtype == torch.bool:
        t = t.to(torch.int32)
    low, high = (v if isinstance(v, (int, float)) else convert_to_tensor(v).to(t.device) for v in (x_min, x_max))
    return torch.clamp(t, low, high)


def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> torch.Tensor:
    """Replace NaN and infinities with numbers, like ``numpy.nan_to_num``."""
    t = convert_to_tensor(x)
    return torch.nan_to_num(t, nan=nan, posinf=posinf, neginf=neginf) if t.is_floating_point() else t


def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> torch.Tensor:
    """Element-wise ``|x1 - x2| <= atol + rtol * |x2|``, like ``numpy.isclose``."""
    a, b = (to_float(v) for v in (x1, x2))
    a, b = torch.broadcast_tensors(a, b.to(a.device))
    dtype = torch.promote_types(a.dtype, b.dtype)
    return torch.isclose(a.to(dtype), b.to(dtype), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> torch.Tensor:
    """True when every pair is close (see :func:`isclose`)."""
    return torch.all(isclose(x1, x2, rtol, atol, equal_nan))


def kaiser(x: int, beta: float) -> torch.Tensor:
    """Kaiser window of length ``x``, like ``numpy.kaiser``."""
    return torch.kaiser_window(int(x), periodic=False, beta=float(beta), dtype=floatx_dtype())


def _window(torch_window: Callable, name: str) -> Callable:
    def op(x: int) -> torch.Tensor:
        return torch_window(int(x), periodic=False, dtype=floatx_dtype())

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{name.capitalize()} window of length ``x``, like ``numpy.{name}``."
    return op


bartlett = _window(torch.bartlett_window, "bartlett")
blackman = _window(torch.blackman_window, "blackman")
hamming = _window(torch.hamming_window, "hamming")
hanning = _window(torch.hann_window, "hanning")

__all__ += ["allclose", "bartlett", "blackman", "clip", "hamming", "hanning", "isclose", "kaiser", "nan_to_num",
            "round"]
export(globals(), __all__)

"""cnnlab.ops NumPy-like ops against NumPy itself on known inputs."""

import numpy as np
import pytest
import torch

from cnnlab import ops
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError, UnknownNameError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)).astype("float32")
Y = RNG.normal(size=(3, 4)).astype("float32")
POS = np.abs(X) + 0.5
INTS = RNG.integers(-5, 6, size=(3, 4)).astype("int32")


def _close(got, expected, tol=1e-5):
    got = got.numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, np.asarray(expected), rtol=tol, atol=tol)


UNARY = {
    "abs": np.abs, "absolute": np.abs, "negative": np.negative, "sign": np.sign, "square": np.square,
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "arcsinh": np.arcsinh,
    "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "round": np.round, "isnan": np.isnan,
    "isinf": np.isinf, "isfinite": np.isfinite, "signbit": np.signbit, "logical_not": np.logical_not,
    "deg2rad": np.deg2rad, "rad2deg": np.rad2deg, "sinc": np.sinc, "cbrt": np.cbrt, "ravel": np.ravel,
    "transpose": np.transpose, "flip": np.flip, "fliplr": np.fliplr, "flipud": np.flipud, "copy": np.copy,
    "sort": np.sort, "argsort": lambda a: np.argsort(a, kind="stable"), "cumsum": np.cumsum, "cumprod": np.cumprod,
    "sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "amax": np.amax, "amin": np.amin,
    "prod": np.prod, "std": np.std, "var": np.var, "argmax": np.argmax, "argmin": np.argmin, "all": np.all,
    "any": np.any, "count_nonzero": np.count_nonzero, "ptp": np.ptp, "median": np.median, "diag": np.diag,
    "triu": np.triu, "tril": np.tril, "trace": np.trace, "zeros_like": np.zeros_like, "ones_like": np.ones_like,
    "real": np.real, "imag": np.imag, "fabs": np.fabs, "diff": np.diff, "rot90": np.rot90, "corrcoef": np.corrcoef,
    "nan_to_num": np.nan_to_num, "conj": np.conj,
}
POSITIVE = {"sqrt": np.sqrt, "log1p": np.log1p, "log": np.log, "log2": np.log2, "log10": np.log10, "reciprocal": np.reciprocal,
            "arccosh": lambda a: np.arccosh(a + 1), "arcsin": lambda a: np.arcsin(a / 3), "i0": np.i0}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "true_divide": np.true_divide, "maximum": np.maximum, "minimum": np.minimum, "fmax": np.fmax, "fmin": np.fmin,
    "equal": np.equal, "not_equal": np.not_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "less": np.less, "less_equal": np.less_equal, "arctan2": np.arctan2, "hypot": np.hypot,
    "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2, "logical_and": np.logical_and,
    "logical_or": np.logical_or, "logical_xor": np.logical_xor, "heaviside": np.heaviside, "isclose": np.isclose,
    "matmul": lambda a, b: a @ b.T, "dot": lambda a, b: np.dot(a, b.T), "inner": np.inner, "outer": np.outer,
    "kron": np.kron, "append": np.append, "nextafter": np.nextafter,
}
POS_BINARY = {"power": np.power, "mod": np.mod, "fmod": np.fmod, "floor_divide": np.floor_divide}
INT_BINARY = {"bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
              "gcd": np.gcd, "lcm": np.lcm}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_op_matches_numpy(name):
    _close(getattr(ops, name)(X), UNARY[name](X))


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_positive_domain_op_matches_numpy(name):
    arg = POS + 1 if name == "arccosh" else (POS / 3 if name == "arcsin" else POS)
    expected = {"arccosh": np.arccosh, "arcsin": np.arcsin}.get(name, POSITIVE[name])(arg)
    _close(getattr(ops, name)(arg), expected)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_op_matches_numpy(name):
    args = (X, Y.T) if name in ("matmul", "dot") else (X, Y)
    _close(getattr(ops, name)(*args), BINARY[name](X, Y))


@pytest.mark.parametrize("name", sorted(POS_BINARY))
def test_binary_op_on_positive_values_matches_numpy(name):
    _close(getattr(ops, name)(POS, Y), POS_BINARY[name](POS, Y))


@pytest.mark.parametrize("name", sorted(INT_BINARY))
def test_integer_binary_op_matches_numpy(name):
    a, b = np.abs(INTS), np.arange(12, dtype="int32").reshape(3, 4)
    _close(getattr(ops, name)(a, b), INT_BINARY[name](a, b))


def test_shift_ops_match_numpy():
    a = np.arange(8, dtype="int32")
    _close(ops.left_shift(a, 2), np.left_shift(a, 2))
    _close(ops.right_shift(a, 1), np.right_shift(a, 1))
    _close(ops.bitwise_not(a), np.invert(a))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any", "amax", "amin",
                                  "ptp", "median", "argmax", "argmin", "count_nonzero"])
@pytest.mark.parametrize("axis", [0, 1, -1, (0, 1)])
def test_reduction_over_axis_matches_numpy(name, axis):
    if name in ("argmax", "argmin") and isinstance(axis, tuple):
        return
    fn = getattr(np, name)
    kwargs = {} if name in ("argmax", "argmin", "count_nonzero") else {"keepdims": True}
    _close(getattr(ops, name)(X, axis=axis, **kwargs), fn(X, axis=axis, **kwargs))


def test_max_and_min_initial_bound_the_result():
    _close(ops.max(X, axis=1, initial=0.5), np.max(X, axis=1, initial=0.5))
    _close(ops.min(X, axis=0, initial=-0.2), np.min(X, axis=0, initial=-0.2))


def test_dtypes_follow_keras():
    assert ops.sum(INTS).dtype == torch.int32
    assert ops.sum(np.array([True, True])).dtype == torch.int32
    assert ops.mean(INTS).dtype == torch.float32
    assert ops.sqrt(INTS).dtype == torch.float32
    assert ops.argmax(X).dtype == torch.int32
    assert ops.add(INTS, 1.5).dtype == torch.float32
    assert ops.add(INTS, 1).dtype == torch.int32
    assert ops.add([1.0], [2.0]).dtype == torch.float32
    assert ops.add(X.astype("float64"), 1.0).dtype == torch.float64
    assert ops.zeros((2,)).dtype == torch.float32
    assert ops.arange(3).dtype == torch.int32 and ops.arange(3.0).dtype == torch.float32


@pytest.mark.parametrize("args, kwargs", [((X, 0.3), {"axis": 1}), ((X, [0.1, 0.9]), {}),
                                          ((X, 0.5), {"axis": 0, "method": "nearest", "keepdims": True})])
def test_quantile_and_percentile_match_numpy(args, kwargs):
    _close(ops.quantile(*args, **kwargs), np.quantile(*args, **kwargs))
    pct = (args[0], np.asarray(args[1]) * 100)
    _close(ops.percentile(*pct, **kwargs), np.percentile(*pct, **kwargs), 1e-4)


def test_nan_reductions_match_numpy():
    a = X.copy()
    a[0, 1] = a[2, 3] = np.nan
    for name in ("nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanstd", "nanvar", "nanmedian",
                 "nanargmax", "nanargmin"):
        _close(getattr(ops, name)(a, axis=1), getattr(np, name)(a, axis=1))
    _close(ops.nancumsum(a, axis=1), np.nancumsum(a, axis=1))
    _close(ops.nancumprod(a, axis=0), np.nancumprod(a, axis=0))
    _close(ops.nanquantile(a, 0.25, axis=1), np.nanquantile(a, 0.25, axis=1))


def test_average_with_weights_matches_numpy():
    w = [1.0, 2.0, 3.0, 4.0]
    _close(ops.average(X, axis=1, weights=w), np.average(X, axis=1, weights=w))
    _close(ops.average(X), np.average(X))


@pytest.mark.parametrize("call, expected", [
    (lambda: ops.zeros((2, 3)), np.zeros((2, 3))), (lambda: ops.ones(4, dtype="int32"), np.ones(4)),
    (lambda: ops.full((2, 2), 7), np.full((2, 2), 7.0)), (lambda: ops.full_like(X, 2), np.full_like(X, 2)),
    (lambda: ops.eye(3, 4, k=1), np.eye(3, 4, k=1)), (lambda: ops.identity(3), np.identity(3)),
    (lambda: ops.tri(3, 4, k=-1), np.tri(3, 4, k=-1)), (lambda: ops.arange(1, 10, 3), np.arange(1, 10, 3)),
    (lambda: ops.arange(0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25)),
    (lambda: ops.linspace(0, 1, 5), np.linspace(0, 1, 5)),
    (lambda: ops.linspace(2, 3, 4, endpoint=False), np.linspace(2, 3, 4, endpoint=False)),
    (lambda: ops.logspace(0, 2, 3), np.logspace(0, 2, 3)), (lambda: ops.geomspace(1, 1000, 4), np.geomspace(1, 1000, 4)),
    (lambda: ops.array([[1, 2]]), np.array([[1, 2]])), (lambda: ops.vander([1, 2, 3]), np.vander([1, 2, 3])),
    (lambda: ops.empty((2,)), np.zeros(2)), (lambda: ops.empty_like(X), np.zeros_like(X)),
])
def test_creation_ops_match_numpy(call, expected):
    _close(call(), expected)


@pytest.mark.parametrize("call, expected", [
    (lambda: ops.reshape(X, (4, 3)), X.reshape(4, 3)), (lambda: ops.reshape(X, (-1, 2)), X.reshape(-1, 2)),
    (lambda: ops.transpose(X, (1, 0)), X.T), (lambda: ops.expand_dims(X, (0, 3)), np.expand_dims(X, (0, 3))),
    (lambda: ops.squeeze(X[None, :, None], axis=0), X[:, None]), (lambda: ops.squeeze(X[None]), X),
    (lambda: ops.concatenate([X, Y], axis=1), np.concatenate([X, Y], 1)),
    (lambda: ops.concatenate([X, Y], axis=None), np.concatenate([X, Y], axis=None)),
    (lambda: ops.stack([X, Y], axis=2), np.stack([X, Y], 2)), (lambda: ops.vstack([X, Y]), np.vstack([X, Y])),
    (lambda: ops.hstack([X, Y]), np.hstack([X, Y])), (lambda: ops.dstack([X, Y]), np.dstack([X, Y])),
    (lambda: ops.tile(X, (2, 1)), np.tile(X, (2, 1))), (lambda: ops.repeat(X, 2, axis=1), np.repeat(X, 2, 1)),
    (lambda: ops.repeat(X, 2), np.repeat(X, 2)), (lambda: ops.repeat(X, [1, 0, 2], axis=0), np.repeat(X, [1, 0, 2], 0)),
    (lambda: ops.roll(X, 2), np.roll(X, 2)), (lambda: ops.roll(X, -1, axis=1), np.roll(X, -1, 1)),
    (lambda: ops.rot90(X, k=3), np.rot90(X, 3)), (lambda: ops.flip(X, 1), np.flip(X, 1)),
    (lambda: ops.broadcast_to(X[0], (2, 4)), np.broadcast_to(X[0], (2, 4))),
    (lambda: ops.moveaxis(X[None], 0, 2), np.moveaxis(X[None], 0, 2)),
    (lambda: ops.swapaxes(X[None], 0, 2), np.swapaxes(X[None], 0, 2)),
    (lambda: ops.take(X, [2, -1], axis=1), np.take(X, [2, -1], 1)), (lambda: ops.take(X, [[5, 1]]), np.take(X, [[5, 1]])),
    (lambda: ops.take_along_axis(X, np.argsort(X, 1), axis=1), np.take_along_axis(X, np.argsort(X, 1), 1)),
    (lambda: ops.diag(X), np.diag(X)), (lambda: ops.diag(X[0], k=-1), np.diag(X[0], k=-1)),
    (lambda: ops.diagflat(X[0]), np.diagflat(X[0])), (lambda: ops.diagonal(X, 1), np.diagonal(X, 1)),
    (lambda: ops.where(X > 0, X, 0.0), np.where(X > 0, X, 0.0)),
    (lambda: ops.select([X < 0, X > 1], [X, Y], 7.0), np.select([X < 0, X > 1], [X, Y], 7.0)),
    (lambda: ops.get_item(X, 1), X[1]), (lambda: ops.get_item(X, np.array([0, 2])), X[[0, 2]]),
    (lambda: ops.cumsum(X, axis=1), np.cumsum(X, 1)), (lambda: ops.sort(X, axis=0), np.sort(X, 0)),
    (lambda: ops.tensordot(X, Y, axes=([1], [1])), np.tensordot(X, Y, ([1], [1]))),
    (lambda: ops.tensordot(X, Y.T, axes=1), np.tensordot(X, Y.T, 1)),
    (lambda: ops.einsum("ij,kj->ik", X, Y), np.einsum("ij,kj->ik", X, Y)),
    (lambda: ops.dot(np.ones((2, 3, 4)), np.ones((5, 4, 6))), np.dot(np.ones((2, 3, 4)), np.ones((5, 4, 6)))),
    (lambda: ops.vdot(X, Y), np.vdot(X, Y)), (lambda: ops.cross(X[:, :3], Y[:, :3]), np.cross(X[:, :3], Y[:, :3])),
    (lambda: ops.searchsorted([1, 3, 5], [0, 3, 6], side="right"), np.searchsorted([1, 3, 5], [0, 3, 6], "right")),
    (lambda: ops.digitize(X, [-1.0, 0.0, 1.0]), np.digitize(X, [-1.0, 0.0, 1.0])),
    (lambda: ops.bincount([0, 1, 1, 4], minlength=6), np.bincount([0, 1, 1, 4], minlength=6)),
    (lambda: ops.bincount([0, 1, 1], weights=[0.5, 1.0, 2.0]), np.bincount([0, 1, 1], weights=[0.5, 1.0, 2.0])),
    (lambda: ops.isin(INTS, [1, 2]), np.isin(INTS, [1, 2])), (lambda: ops.clip(X, -0.5, 0.5), np.clip(X, -0.5, 0.5)),
    (lambda: ops.round(X * 100, decimals=-1), np.round(X * 100, -1)),
    (lambda: ops.correlate([1.0, 2, 3, 4], [1.0, 0, 1], "same"), np.correlate([1.0, 2, 3, 4], [1.0, 0, 1], "same")),
    (lambda: ops.correlate([1.0, 2, 3, 4], [1.0, 0, 1], "full"), np.correlate([1.0, 2, 3, 4], [1.0, 0, 1], "full")),
    (lambda: ops.trapezoid(X, dx=0.5), np.trapezoid(X, dx=0.5)), (lambda: ops.slogdet(X[:3, :3])[1],
                                                                 np.linalg.slogdet(X[:3, :3])[1]),
    (lambda: ops.unravel_index([5, 7], (3, 4))[1], np.unravel_index([5, 7], (3, 4))[1]),
    (lambda: ops.hamming(5), np.hamming(5)), (lambda: ops.hanning(5), np.hanning(5)),
    (lambda: ops.bartlett(5), np.bartlett(5)), (lambda: ops.blackman(5), np.blackman(5)),
    (lambda: ops.kaiser(5, 3.0), np.kaiser(5, 3.0)),
])
def test_array_op_matches_numpy(call, expected):
    _close(call(), expected)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_pad_modes_match_numpy(mode):
    _close(ops.pad(X, ((2, 3), (1, 2)), mode=mode), np.pad(X, ((2, 3), (1, 2)), mode=mode))


def test_pad_constant_values_and_scalar_width():
    _close(ops.pad(X, 1, constant_values=3.0), np.pad(X, 1, constant_values=3.0))


def test_split_variants_match_numpy():
    for got, expected in zip(ops.split(X, 2, axis=1), np.split(X, 2, axis=1)):
        _close(got, expected)
    for got, expected in zip(ops.split(X, [1, 3], axis=1), np.split(X, [1, 3], axis=1)):
        _close(got, expected)
    for got, expected in zip(ops.array_split(X, 3, axis=1), np.array_split(X, 3, axis=1)):
        _close(got, expected)
    for got, expected in zip(ops.hsplit(X, 2), np.hsplit(X, 2)):
        _close(got, expected)


def test_nonzero_unique_meshgrid_histogram_match_numpy():
    for got, expected in zip(ops.nonzero(INTS), np.nonzero(INTS)):
        _close(got, expected)
    values = [3, 1, 3, 2, 1]
    for got, expected in zip(ops.unique(values, return_index=True, return_inverse=True, return_counts=True),
                             np.unique(values, return_index=True, return_inverse=True, return_counts=True)):
        _close(got, expected)
    _close(ops.unique(values, size=5, fill_value=0), [1, 2, 3, 0, 0])
    for indexing in ("xy", "ij"):
        for got, expected in zip(ops.meshgrid([1, 2], [3, 4, 5], indexing=indexing),
                                 np.meshgrid([1, 2], [3, 4, 5], indexing=indexing)):
            _close(got, expected)
    for got, expected in zip(ops.histogram(X.ravel(), bins=4), np.histogram(X.ravel(), bins=4)):
        _close(got, expected)
    assert ops.size(X) == 12 and ops.ndim(X) == 2


def test_vectorize_applies_elementwise():
    _close(ops.vectorize(lambda a, b: a * b + 1)(X, Y), X * Y + 1)


# ----------------------------------------------------------------------------- errors


def test_reshape_to_wrong_size_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"ops\.reshape: .*Received: <ndarray shape=\(3, 4\)"):
        ops.reshape(X, (5, 5))


def test_split_into_unequal_sections_suggests_array_split():
    with pytest.raises(ConfigError, match="array_split.*Received: indices_or_sections=3"):
        ops.split(X, 3, axis=1)


def test_squeeze_of_a_non_unit_axis_raises():
    with pytest.raises(ConfigError, match="axis 0 has size 3"):
        ops.squeeze(X, axis=0)


def test_unknown_dtype_suggests_the_close_name():
    with pytest.raises(UnknownNameError, match="Did you mean 'float32'.*Received: dtype='flaot32'"):
        ops.zeros((2,), dtype="flaot32")


def test_bad_pad_mode_lists_choices():
    with pytest.raises(ConfigError, match="pad: argument 'mode' must be one of.*Received: mode='mirror'"):
        ops.pad(X, 1, mode="mirror")
    with pytest.raises(ConfigError, match="constant_values only goes with mode='constant'"):
        ops.pad(X, 1, mode="edge", constant_values=1)


def test_where_with_one_branch_raises():
    with pytest.raises(ConfigError, match="give both x1 and x2"):
        ops.where(X > 0, X)


def test_axis_out_of_range_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"ops\.sum"):
        ops.sum(X, axis=3)


def test_strings_are_refused_with_the_type():
    with pytest.raises(ArgumentTypeError, match="cannot make a tensor.*str"):
        ops.add("a", 1)


def test_bad_choice_arguments_name_the_argument():
    with pytest.raises(ConfigError, match="Received: side='middle'"):
        ops.searchsorted([1, 2], [1], side="middle")
    with pytest.raises(ConfigError, match="Received: indexing='yx'"):
        ops.meshgrid([1], [2], indexing="yx")
    with pytest.raises(ConfigError, match="Received: method='cubic'"):
        ops.quantile(X, 0.5, method="cubic")

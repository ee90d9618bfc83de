"""cnnlab.ops against keras.ops on the TensorFlow backend: same values, dtypes and signatures."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from cnnlab import ops  # noqa: E402

TOLERANCE = 1e-5
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)).astype("float32")
Y = RNG.normal(size=(3, 4)).astype("float32")
POS = np.abs(X) + 0.5
INTS = RNG.integers(-5, 6, size=(3, 4)).astype("int32")
IMAGES = RNG.uniform(size=(2, 9, 13, 3)).astype("float32")
NHWC = RNG.normal(size=(2, 7, 7, 3)).astype("float32")
PROBS = np.abs(X) / np.abs(X).sum(-1, keepdims=True)
ONE_HOT = np.eye(4, dtype="float32")[[0, 3, 1]]

UNARY = ["abs", "absolute", "negative", "sign", "square", "exp", "expm1", "log1p", "sin", "cos", "tanh", "arctan",
         "floor", "ceil", "round", "trunc", "isnan", "isfinite", "logical_not", "relu", "relu6", "sigmoid", "softplus",
         "softsign", "silu", "swish", "gelu", "elu", "selu", "leaky_relu", "hard_sigmoid", "hard_silu", "log_sigmoid",
         "softmax", "log_softmax", "erf", "sinc", "celu", "hard_tanh", "tanh_shrink", "sparse_plus", "squareplus",
         "glu", "cbrt", "ravel", "transpose", "flip", "copy", "sort", "argsort", "cumsum", "cumprod",
         "sum", "mean", "max", "min", "prod", "std", "var", "argmax", "argmin", "all", "any", "count_nonzero", "amax",
         "amin", "ptp", "median", "logsumexp", "norm", "fliplr", "flipud", "diag", "triu", "tril", "trace",
         "nonzero", "zeros_like", "ones_like", "size", "ndim", "shape", "normalize"]
POSITIVE = ["sqrt", "log", "log2", "log10", "reciprocal", "rsqrt"]
BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "power", "equal", "not_equal",
          "greater", "greater_equal", "less", "less_equal", "arctan2", "hypot", "logaddexp", "mod", "floor_divide",
          "divide_no_nan", "fmod", "heaviside", "isclose"]

CASES = (
    [(name, (X,), {}) for name in UNARY]
    + [(name, (POS,), {}) for name in POSITIVE]
    + [(name, (X, Y), {}) for name in BINARY if name not in ("power", "mod", "floor_divide", "fmod")]
    + [(name, (POS, Y), {}) for name in ("power", "mod", "floor_divide", "fmod")]
    + [(name, (INTS,), {}) for name in ("abs", "sum", "mean", "max", "argmax", "sqrt", "cumsum", "square", "sign")]
    + [(name, (INTS, 2), {}) for name in ("add", "multiply", "divide", "floor_divide", "mod", "maximum", "equal")]
    + [(name, (X, 1.5), {}) for name in ("add", "multiply", "power", "maximum")]
    + [
        ("sum", (X,), {"axis": 1, "keepdims": True}), ("mean", (X,), {"axis": (0, 1)}), ("max", (X,), {"axis": 0}),
        ("std", (X,), {"axis": -1}), ("var", (X,), {"axis": 0, "keepdims": True}), ("argmax", (X,), {"axis": 1}),
        ("argmin", (X,), {"axis": 0, "keepdims": True}), ("prod", (X,), {"axis": 1}),
        ("cumsum", (X,), {"axis": 1}), ("cumprod", (X,), {"axis": 0}), ("sort", (X,), {"axis": 0}),
        ("argsort", (X,), {"axis": 0}), ("median", (X,), {"axis": 1}), ("quantile", (X, 0.3), {"axis": 1}),
        ("percentile", (X, [10, 90]), {}), ("average", (X,), {"axis": 1, "weights": [1.0, 2.0, 3.0, 4.0]}),
        ("logsumexp", (X,), {"axis": 1}), ("softmax", (X,), {"axis": 0}), ("log_softmax", (X,), {"axis": 0}),
        ("clip", (X, -0.5, 0.5), {}), ("where", (X > 0, X, Y), {}), ("matmul", (X, Y.T), {}), ("dot", (X, Y.T), {}),
        ("tensordot", (X, Y), {"axes": ([1], [1])}), ("einsum", ("ij,kj->ik", X, Y), {}), ("outer", (X[0], Y[0]), {}),
        ("inner", (X, Y), {}), ("vdot", (X, Y), {}), ("kron", (X[:2, :2], Y[:2, :2]), {}),
        ("cross", (X[:, :3], Y[:, :3]), {}),
        ("reshape", (X, (4, 3)), {}), ("reshape", (X, (-1,)), {}), ("transpose", (X, (1, 0)), {}),
        ("expand_dims", (X, 1), {}), ("squeeze", (X[None],), {"axis": 0}), ("concatenate", ([X, Y],), {"axis": 1}),
        ("stack", ([X, Y],), {"axis": 1}), ("split", (X, 2), {"axis": 1}), ("split", (X, [1, 3]), {"axis": 1}),
        ("tile", (X, (2, 1)), {}), ("repeat", (X, 2), {"axis": 0}), ("repeat", (X, 2), {}), ("roll", (X, 2), {}),
        ("roll", (X, 1), {"axis": 1}), ("flip", (X, 1), {}), ("take", (X, [2, 0]), {"axis": 1}),
        ("take", (X, [5, 1]), {}), ("take_along_axis", (X, np.argsort(X, axis=1)), {"axis": 1}),
        ("pad", (X, ((1, 2), (0, 1))), {}), ("pad", (X, ((1, 2), (2, 1))), {"mode": "symmetric"}),
        ("pad", (X, ((1, 1), (2, 1))), {"mode": "reflect"}), ("pad", (X, ((1, 1), (1, 1))), {"constant_values": 3.0}),
        ("broadcast_to", (X[0], (2, 4)), {}), ("diag", (X[0],), {"k": 1}), ("diagonal", (X,), {"offset": 1}),
        ("triu", (X,), {"k": 1}), ("tril", (X,), {"k": -1}), ("moveaxis", (NHWC, 3, 1), {}),
        ("swapaxes", (NHWC, 1, 3), {}), ("vstack", ([X, Y],), {}), ("hstack", ([X, Y],), {}),
        ("append", (X, Y), {"axis": 0}), ("meshgrid", ([1.0, 2.0], [3.0, 4.0, 5.0]), {}),
        ("meshgrid", ([1.0, 2.0], [3.0, 4.0, 5.0]), {"indexing": "ij"}), ("count_nonzero", (INTS,), {"axis": 0}),
        ("rot90", (X,), {}), ("diff", (X,), {}), ("searchsorted", ([1.0, 2.0, 3.0], [2.5, 0.0]), {}),
        ("digitize", (X, [-1.0, 0.0, 1.0]), {}), ("isin", (INTS, [1, 2]), {}), ("round", (X * 10,), {"decimals": -1}),
        ("zeros", ((2, 3),), {}), ("ones", ((2,),), {"dtype": "int32"}), ("full", ((2, 2), 7), {}),
        ("full_like", (X, 2), {}), ("eye", (3,), {"k": 1}), ("identity", (3,), {}), ("tri", (3, 4), {}),
        ("arange", (5,), {}), ("arange", (1, 2, 0.25), {}), ("arange", (2.0,), {}),
        ("linspace", (0, 1, 5), {}), ("linspace", (0, 1, 4), {"endpoint": False}), ("logspace", (0, 2, 3), {}),
        ("array", ([[1, 2], [3, 4]],), {}), ("array", ([1.5],), {"dtype": "float16"}),
        ("one_hot", ([0, 2, 5, -1], 4), {}), ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}),
        ("moments", (X, [0]), {}), ("moments", (NHWC, [0, 1, 2]), {"keepdims": True}),
        ("batch_normalization", (X, X.mean(0), X.var(0), 1), {"offset": Y[0], "scale": POS[0]}),
        ("normalize", (X,), {"order": 1}), ("leaky_relu", (X,), {"negative_slope": 0.1}),
        ("gelu", (X,), {"approximate": False}), ("elu", (X,), {"alpha": 0.5}),
        ("binary_crossentropy", (np.float32(X > 0), PROBS), {}),
        ("binary_crossentropy", (np.float32(X > 0), X), {"from_logits": True}),
        ("categorical_crossentropy", (ONE_HOT, PROBS), {}),
        ("categorical_crossentropy", (ONE_HOT, X), {"from_logits": True}),
        ("sparse_categorical_crossentropy", (np.array([0, 3, 1]), PROBS), {}),
        ("sparse_categorical_crossentropy", (np.array([0, 3, 1]), X), {"from_logits": True}),
        ("top_k", (X, 2), {}), ("in_top_k", (np.array([0, 3, 1]), X, 2), {}),
        ("segment_sum", (X, np.array([0, 0, 2])), {"num_segments": 3}), ("segment_max", (X, np.array([1, 0, 1])), {"num_segments": 3}),
        ("norm", (X,), {"axis": 1}), ("norm", (X,), {"ord": 1, "axis": 0}), ("norm", (X,), {"ord": "fro"}),
        ("cast", (X, "int32"), {}), ("cast", (INTS, "float16"), {}), ("convert_to_tensor", ([1, 2],), {}),
        ("convert_to_tensor", ([1.0, 2.0],), {}), ("scatter", ([[0, 1], [2, 3]], [1.0, 2.0], (3, 4)), {}),
        ("scatter_update", (X, [[0, 1], [2, 3]], [9.0, 8.0]), {}), ("slice", (X, (1, 1), (2, 2)), {}),
        ("slice_update", (X, (1, 1), np.ones((2, 2), "float32")), {}), ("unstack", (X,), {"axis": 1}),
        ("depth_to_space", (RNG.normal(size=(1, 2, 3, 8)).astype("float32"), 2), {}),
        ("space_to_depth", (NHWC[:, :6, :6], 2), {}),
        ("psnr", (IMAGES[0], IMAGES[1], 1.0), {}),
        ("dot_product_attention", (RNG.normal(size=(2, 5, 2, 4)).astype("float32"),) * 3, {"is_causal": True}),
    ]
)


def _to_numpy(value):
    if isinstance(value, (list, tuple)):
        return [_to_numpy(v) for v in value]
    return np.asarray(keras.ops.convert_to_numpy(value)) if not np.isscalar(value) else np.asarray(value)


def _assert_same(got, expected, name):
    got, expected = ops.convert_to_numpy(got) if hasattr(got, "dtype") else got, expected
    if isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), name
        for g, e in zip(got, expected):
            _assert_same(g, e, name)
        return
    expected = _to_numpy(expected)
    got = np.asarray(got)
    assert got.shape == expected.shape, f"{name}: shape {got.shape} vs Keras {expected.shape}"
    assert str(got.dtype) == str(expected.dtype), f"{name}: dtype {got.dtype} vs Keras {expected.dtype}"
    np.testing.assert_allclose(got.astype("float64"), expected.astype("float64"), rtol=TOLERANCE, atol=TOLERANCE,
                               err_msg=name)


def _fetch(module, name):
    for space in (module, getattr(module, "numpy", None), getattr(module, "nn", None), getattr(module, "linalg", None)):
        if space is not None and hasattr(space, name):
            return getattr(space, name)
    raise AttributeError(name)


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_matches_keras_on_tensorflow(name, args, kwargs):
    expected = _fetch(keras.ops, name)(*args, **kwargs)
    got = _fetch(ops, name)(*args, **kwargs)
    if isinstance(got, tuple) and name == "shape":
        assert got == tuple(expected)
        return
    if name in ("size", "ndim"):
        assert got == int(expected)
        return
    _assert_same(list(got) if isinstance(got, (list, tuple)) else got, expected, name)


def test_sparsemax_sums_to_one_where_keras_does_not():
    # Keras 3.15's sparsemax (every backend) sums the cumulative sums over the support for tau instead of taking
    # the k-th one, so its rows need not sum to 1; cnnlab keeps the published definition (Martins & Astudillo).
    got = ops.sparsemax(X).numpy()
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-6)
    assert not np.allclose(np.asarray(keras.ops.sparsemax(X)).sum(-1), 1.0)


CONV_CASES = [(pad, s) for pad in ("valid", "same") for s in (1, 2)]


@pytest.mark.parametrize("padding, strides", CONV_CASES)
def test_conv_family_matches_keras(padding, strides):
    k = RNG.normal(size=(3, 3, 3, 4)).astype("float32")
    dk = RNG.normal(size=(3, 3, 3, 2)).astype("float32")
    pk = RNG.normal(size=(1, 1, 6, 5)).astype("float32")
    volume = RNG.normal(size=(1, 5, 6, 7, 2)).astype("float32")
    pairs = [
        ("conv", (NHWC, k, strides, padding)), ("depthwise_conv", (NHWC, dk, strides, padding)),
        ("separable_conv", (NHWC, dk, pk, strides, padding)),
        ("conv", (NHWC[:, 0], RNG.normal(size=(3, 3, 2)).astype("float32"), strides, padding)),
        ("conv", (volume, RNG.normal(size=(2, 2, 2, 2, 3)).astype("float32"), strides, padding)),
        ("max_pool", (NHWC, 3, strides, padding)), ("average_pool", (NHWC, 3, strides, padding)),
        ("max_pool", (NHWC[:, 0], 2, strides, padding)), ("average_pool", (volume, 2, strides, padding)),
    ]
    for kernel_size in (2, 3, 4):
        kt = RNG.normal(size=(kernel_size, kernel_size, 5, 3)).astype("float32")
        pairs.append(("conv_transpose", (NHWC, kt, strides, padding)))
        if strides == 2:  # TF's oneDNN kernel rejects output_padding=0 at stride 1
            pairs.append(("conv_transpose", (NHWC, kt, strides, padding, 1)))
    for name, args in pairs:
        _assert_same(getattr(ops, name)(*args), getattr(keras.ops, name)(*args), f"{name}{padding}{strides}")


def test_conv_channels_first_and_dilation_match_keras():
    k = RNG.normal(size=(3, 3, 3, 2)).astype("float32")
    nchw = np.ascontiguousarray(NHWC.transpose(0, 3, 1, 2))
    _assert_same(ops.conv(NHWC, k, 1, "same", dilation_rate=2), keras.ops.conv(NHWC, k, 1, "same", dilation_rate=2),
                 "dilated conv")
    # TF's CPU conv has no NCHW kernel; Keras's answer is the channels-last one transposed.
    expected = np.asarray(keras.ops.conv(NHWC, k, 2, "same")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ops.conv(nchw, k, 2, "same", data_format="channels_first").numpy(), expected,
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area"])
@pytest.mark.parametrize("size", [(5, 6), (18, 20), (9, 26)])
@pytest.mark.parametrize("antialias, crop, pad", [(False, False, False), (True, False, False),
                                                   (False, True, False), (False, False, True)])
def test_image_resize_matches_keras(interpolation, size, antialias, crop, pad):
    args = (IMAGES, size, interpolation, antialias, crop, pad)
    _assert_same(ops.image.resize(*args), keras.ops.image.resize(*args), "resize")


TRANSFORMS = np.array([[1.1, 0.2, -1.5, 0.1, 0.9, 2.3, 0.001, -0.002], [0.7, -0.3, 4, 0.3, 1.2, -3, 0, 0]], "float32")


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "reflect"])
def test_image_affine_transform_matches_keras(interpolation, fill_mode):
    args = (IMAGES, TRANSFORMS, interpolation, fill_mode, 0.5)
    got, expected = ops.image.affine_transform(*args), keras.ops.image.affine_transform(*args)
    np.testing.assert_allclose(got.numpy(), np.asarray(expected), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size, strides, padding", [(2, None, "valid"), (3, 2, "same"), ((2, 3), (1, 2), "valid")])
def test_image_extract_patches_and_grayscale_match_keras(size, strides, padding):
    _assert_same(ops.image.extract_patches(IMAGES, size, strides, padding=padding),
                 keras.ops.image.extract_patches(IMAGES, size, strides, padding=padding), "extract_patches")
    _assert_same(ops.image.rgb_to_grayscale(IMAGES), keras.ops.image.rgb_to_grayscale(IMAGES), "rgb_to_grayscale")


# Differences on purpose: max_pool/average_pool take tf.nn's ksize too, so pool_size has a default.
SIGNATURE_EXCEPTIONS = {"max_pool", "average_pool"}


def _public_functions(module):
    return {n: getattr(module, n) for n in dir(module) if not n.startswith("_") and inspect.isfunction(getattr(module, n))}


def test_every_shared_name_has_keras_argument_names_and_defaults():
    namespaces = [(ops, keras.ops), (ops.image, keras.ops.image), (ops.linalg, keras.ops.linalg)]
    checked, wrong = 0, []
    for ours, theirs in namespaces:
        for name, fn in _public_functions(theirs).items():
            if not hasattr(ours, name) or name in SIGNATURE_EXCEPTIONS:
                continue
            ours_sig = inspect.signature(getattr(ours, name))
            theirs_sig = inspect.signature(fn)
            pair = [[(p.name, p.default) for p in s.parameters.values()] for s in (ours_sig, theirs_sig)]
            checked += 1
            if pair[0] != pair[1]:
                wrong.append(f"{name}: {ours_sig} vs Keras {theirs_sig}")
    assert checked > 250 and not wrong, "\n".join(wrong)


def test_cnnlab_has_most_of_keras_ops():
    missing = sorted(n for n in _public_functions(keras.ops) if not hasattr(ops, n))
    assert len(missing) <= 20, missing

"""cnnlab.ops neural-network ops against NumPy references written here."""

import itertools
import math

import numpy as np
import pytest
import torch

from cnnlab import ops
from cnnlab.errors import ConfigError, ShapeError

RNG = np.random.default_rng(1)
X = RNG.normal(size=(3, 4)).astype("float64")
NHWC = RNG.normal(size=(2, 7, 6, 3))


def _close(got, expected, tol=1e-6):
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=tol, atol=tol)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_ERF = np.vectorize(math.erf)
ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0), "relu6": lambda x: np.clip(x, 0, 6), "sigmoid": _sigmoid,
    "softplus": lambda x: np.log1p(np.exp(x)), "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x), "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x), "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6, "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))), "log_sigmoid": lambda x: np.log(_sigmoid(x)),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.exp(x) - 1), "tanh_shrink": lambda x: x - np.tanh(x),
    "hard_tanh": lambda x: np.clip(x, -1, 1), "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2, "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "glu": lambda x: x[:, :2] * _sigmoid(x[:, 2:]),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_numpy(name):
    _close(getattr(ops, name)(X), ACTIVATIONS[name](X))


def test_activation_arguments_match_numpy():
    _close(ops.gelu(X, approximate=False), 0.5 * X * (1 + _ERF(X / np.sqrt(2))))
    _close(ops.leaky_relu(X, negative_slope=0.1), np.where(X > 0, X, 0.1 * X))
    _close(ops.elu(X, alpha=0.5), np.where(X > 0, X, 0.5 * (np.exp(X) - 1)))
    _close(ops.softmax(X, axis=0), _softmax(X, 0))
    _close(ops.softmax(X, axis=(0, 1)), np.exp(X) / np.exp(X).sum())
    _close(ops.threshold(X, 0.1, -9.0), np.where(X > 0.1, X, -9.0))


def test_activations_turn_integers_into_float32():
    assert ops.relu([-1, 2]).dtype == torch.float32


def test_sparsemax_projects_onto_the_simplex():
    def reference(row):
        z = np.sort(row)[::-1]
        k = np.arange(1, len(z) + 1)
        support = 1 + k * z > np.cumsum(z)
        k_max = k[support][-1]
        tau = (np.cumsum(z)[k_max - 1] - 1) / k_max
        return np.maximum(row - tau, 0)

    got = ops.sparsemax(X).numpy()
    _close(got, np.stack([reference(r) for r in X]))
    _close(got.sum(-1), np.ones(3))


def test_one_hot_and_multi_hot_match_numpy():
    labels = np.array([0, 2, 5, -1])
    expected = np.zeros((4, 4), "float32")
    expected[0, 0] = expected[1, 2] = 1  # 5 and -1 are outside [0, 4): all-zero rows, as in TF
    got = ops.one_hot(labels, 4)
    assert got.dtype == torch.float32
    _close(got, expected)
    _close(ops.one_hot(labels, 4, axis=0), expected.T)
    _close(ops.multi_hot(np.array([[0, 2], [1, 1]]), 4), [[1, 0, 1, 0], [0, 1, 0, 0]])
    assert ops.one_hot([1], 3, dtype="int32").dtype == torch.int32


def test_moments_batch_normalization_and_normalize_match_numpy():
    mean, var = ops.moments(NHWC, axes=[0, 1, 2])
    _close(mean, NHWC.mean((0, 1, 2)))
    _close(var, NHWC.var((0, 1, 2)))
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.1, 0.0, -1.0])
    got = ops.batch_normalization(NHWC, mean, var, axis=-1, offset=beta, scale=gamma, epsilon=1e-3)
    _close(got, (NHWC - NHWC.mean((0, 1, 2))) / np.sqrt(NHWC.var((0, 1, 2)) + 1e-3) * gamma + beta)
    _close(ops.normalize(X), X / np.linalg.norm(X, axis=-1, keepdims=True))
    _close(ops.normalize(X, axis=0, order=1), X / np.abs(X).sum(0, keepdims=True))
    _close(ops.layer_normalization(X, gamma=np.ones(4) * 2, beta=np.ones(4)),
           (X - X.mean(-1, keepdims=True)) / np.sqrt(X.var(-1, keepdims=True) + 1e-7) * 2 + 1)
    _close(ops.rms_normalization(X, scale=np.ones(4) * 3), X / np.sqrt((X ** 2).mean(-1, keepdims=True) + 1e-7) * 3)


def test_cross_entropies_match_numpy():
    eps = 1e-7
    probs = _softmax(X)
    labels = np.array([0, 3, 1])
    one_hot = np.eye(4)[labels]
    _close(ops.categorical_crossentropy(one_hot, probs), -np.sum(one_hot * np.log(np.clip(probs, eps, 1 - eps)), -1))
    _close(ops.categorical_crossentropy(one_hot, X, from_logits=True), -np.sum(one_hot * np.log(_softmax(X)), -1))
    _close(ops.sparse_categorical_crossentropy(labels, probs), -np.log(probs[np.arange(3), labels]))
    _close(ops.sparse_categorical_crossentropy(labels[:, None], X, from_logits=True),
           -np.log(_softmax(X)[np.arange(3), labels]))
    targets = (X > 0).astype("float64")
    p = np.clip(_sigmoid(X), eps, 1 - eps)
    _close(ops.binary_crossentropy(targets, _sigmoid(X)), -(targets * np.log(p) + (1 - targets) * np.log(1 - p)))
    _close(ops.binary_crossentropy(targets, X, from_logits=True),
           -(targets * np.log(_sigmoid(X)) + (1 - targets) * np.log(1 - _sigmoid(X))))


def test_cross_entropy_shape_errors_name_the_fix():
    with pytest.raises(ShapeError, match="sparse_categorical_crossentropy"):
        ops.categorical_crossentropy(np.array([0, 1, 2]), _softmax(X))
    with pytest.raises(ShapeError, match="use categorical_crossentropy"):
        ops.sparse_categorical_crossentropy(np.eye(4)[[0, 1, 2]], _softmax(X))
    with pytest.raises(ConfigError, match="only axis=-1"):
        ops.sparse_categorical_crossentropy([0, 1, 2], _softmax(X), axis=0)


# ----------------------------------------------------------------------------- convolution and pooling


def _np_pads(size, k, s, d, padding):
    if padding == "valid":
        return 0, 0
    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _np_conv_nd(x, w, s, padding, d=1, groups=1):
    """Channels-last N-D convolution by loops; kernel (*window, in // groups, out)."""
    n = x.ndim - 2
    window = w.shape[:n]
    pads = [_np_pads(x.shape[1 + i], window[i], s, d, padding) for i in range(n)]
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out_sizes = [(xp.shape[1 + i] - d * (window[i] - 1) - 1) // s + 1 for i in range(n)]
    cin_g, cout = w.shape[-2], w.shape[-1]
    out = np.zeros((x.shape[0], *out_sizes, cout))
    for pos in itertools.product(*[range(o) for o in out_sizes]):
        for off in itertools.product(*[range(k) for k in window]):
            idx = tuple(p * s + o * d for p, o in zip(pos, off))
            pixel = xp[(slice(None),) + idx]
            for g in range(groups):
                cols = slice(g * cout // groups, (g + 1) * cout // groups)
                out[(slice(None),) + pos + (cols,)] += pixel[:, g * cin_g:(g + 1) * cin_g] @ w[off][:, cols]
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_conv_matches_numpy_for_each_rank(padding, strides, rank):
    x = RNG.normal(size=(2,) + (5,) * rank + (3,))
    w = RNG.normal(size=(3,) * rank + (3, 2))
    _close(ops.conv(x, w, strides, padding), _np_conv_nd(x, w, strides, padding), 1e-9)


def test_grouped_and_dilated_conv_match_numpy():
    x, w = RNG.normal(size=(1, 8, 8, 4)), RNG.normal(size=(3, 3, 2, 6))
    _close(ops.conv(x, w, 1, "same"), _np_conv_nd(x, w, 1, "same", groups=2), 1e-9)
    w1 = RNG.normal(size=(3, 3, 4, 2))
    _close(ops.conv(x, w1, 1, "same", dilation_rate=2), _np_conv_nd(x, w1, 1, "same", d=2), 1e-9)


def test_depthwise_and_separable_conv_match_numpy():
    x, dk, pk = RNG.normal(size=(1, 6, 6, 3)), RNG.normal(size=(3, 3, 3, 2)), RNG.normal(size=(1, 1, 6, 4))
    # Output channel c * multiplier + m sees only input channel c.
    expected = np.concatenate([_np_conv_nd(x[..., c:c + 1], dk[:, :, c:c + 1, :], 2, "same") for c in range(3)], -1)
    _close(ops.depthwise_conv(x, dk, 2, "same"), expected, 1e-9)
    _close(ops.separable_conv(x, dk, pk, 2, "same"), expected @ pk[0, 0], 1e-9)


def _np_conv_transpose_1d(x, w, s, padding, output_padding=None):
    """Scatter each input step into the output, then crop like TF; kernel (k, out, in)."""
    n, length, _ = x.shape
    k = w.shape[0]
    full = np.zeros((n, (length - 1) * s + k, w.shape[1]))
    for i in range(length):
        full[:, i * s:i * s + k] += np.einsum("nc,koc->nko", x[:, i], w)
    if output_padding is None:
        out_len = length * s + max(k - s, 0) if padding == "valid" else length * s
    else:
        out_len = (length - 1) * s + k - 2 * (k // 2 if padding == "same" else 0) + output_padding
    start = max((length - 1) * s + k - out_len, 0) // 2 if padding == "same" else 0
    out = np.zeros((n, out_len, w.shape[1]))
    usable = min(out_len, full.shape[1] - start)
    out[:, :usable] = full[:, start:start + usable]
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel, strides, output_padding", [(3, 1, None), (3, 2, None), (2, 3, None), (4, 2, 1),
                                                             (3, 2, 0)])
def test_conv_transpose_matches_numpy(padding, kernel, strides, output_padding):
    x, w = RNG.normal(size=(2, 5, 3)), RNG.normal(size=(kernel, 4, 3))
    got = ops.conv_transpose(x, w, strides, padding, output_padding)
    _close(got, _np_conv_transpose_1d(x, w, strides, padding, output_padding), 1e-9)


def _np_pool_nd(x, k, s, padding, reduce):
    n = x.ndim - 2
    pads = [_np_pads(x.shape[1 + i], k, s, 1, padding) for i in range(n)]
    out_sizes = [(x.shape[1 + i] + sum(pads[i]) - k) // s + 1 for i in range(n)]
    out = np.zeros((x.shape[0], *out_sizes, x.shape[-1]))
    for pos in itertools.product(*[range(o) for o in out_sizes]):
        starts = [p * s - pads[i][0] for i, p in enumerate(pos)]
        window = x[(slice(None),) + tuple(slice(max(a, 0), a + k) for a in starts)]
        out[(slice(None),) + pos] = reduce(window, axis=tuple(range(1, n + 1)))
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_matches_numpy_for_each_rank(padding, rank, kind):
    x = RNG.normal(size=(2,) + (5,) * rank + (3,))
    op, reduce = (ops.max_pool, np.max) if kind == "max" else (ops.average_pool, np.mean)
    _close(op(x, 2, 2, padding), _np_pool_nd(x, 2, 2, padding, reduce), 1e-9)
    _close(op(x, 3, None, padding), _np_pool_nd(x, 3, 3, padding, reduce), 1e-9)


def test_channels_first_matches_channels_last():
    x, w = RNG.normal(size=(2, 6, 5, 3)), RNG.normal(size=(3, 3, 3, 4))
    nchw = x.transpose(0, 3, 1, 2)
    _close(ops.conv(nchw, w, 2, "same", "channels_first"), ops.conv(x, w, 2, "same").permute(0, 3, 1, 2), 1e-9)
    _close(ops.max_pool(nchw, 2, 2, "same", "channels_first"), ops.max_pool(x, 2, 2, "same").permute(0, 3, 1, 2))
    _close(ops.average_pool(nchw, 3, 1, "same", "channels_first"),
           ops.average_pool(x, 3, 1, "same").permute(0, 3, 1, 2))


def test_adaptive_pooling_matches_numpy_on_even_bins():
    x = RNG.normal(size=(1, 4, 6, 2))
    expected = x.reshape(1, 2, 2, 3, 2, 2).mean((2, 4))
    _close(ops.adaptive_average_pool(x, (2, 3)), expected)
    _close(ops.adaptive_max_pool(x, (2, 3)), x.reshape(1, 2, 2, 3, 2, 2).max((2, 4)))


def test_depth_to_space_is_tf_order_and_space_to_depth_inverts_it():
    x = np.arange(16.0).reshape(1, 1, 1, 16)
    got = ops.depth_to_space(x, 2).numpy()
    # TF's DCR order: block position (i, j) takes channels (i * 2 + j) * 4 ... + 4.
    assert got.shape == (1, 2, 2, 4)
    _close(got[0, 1, 0], [8, 9, 10, 11])
    _close(ops.space_to_depth(got, 2), x)
    nchw = x.transpose(0, 3, 1, 2)
    _close(ops.depth_to_space(nchw, 2, "channels_first"), got.transpose(0, 3, 1, 2))


def test_dot_product_attention_matches_numpy():
    q, k, v = (RNG.normal(size=(2, 5, 2, 4)) for _ in range(3))
    logits = np.einsum("bqnh,bknh->bnqk", q, k) / 2.0
    mask = np.tril(np.ones((5, 5), bool))
    weights = _softmax(np.where(mask, logits, -1e30))
    _close(ops.dot_product_attention(q, k, v, is_causal=True), np.einsum("bnqk,bknh->bqnh", weights, v))


def test_psnr_matches_formula():
    a, b = RNG.uniform(size=(4, 4)), RNG.uniform(size=(4, 4))
    _close(ops.psnr(a, b, 1.0), 20 * np.log10(1.0) - 10 * np.log10(((a - b) ** 2).mean()))


def test_tf_style_max_pool_arguments_still_work():
    image = np.array([[[[4], [3]], [[2], [1]]]], dtype=np.float32)
    assert ops.max_pool(image, ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding="VALID").item() == 4


# ----------------------------------------------------------------------------- errors


def test_conv_rank_and_channel_errors_say_what_to_fix():
    with pytest.raises(ShapeError, match=r"3-D, 4-D or 5-D input.*x\[None\]"):
        ops.conv(np.ones((5, 5)), np.ones((3, 3, 1, 1)))
    with pytest.raises(ShapeError, match="not a multiple of the kernel's 2 input channels"):
        ops.conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 1)))
    with pytest.raises(ShapeError, match="kernel of rank 4"):
        ops.conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 3)))
    with pytest.raises(ShapeError, match="depthwise_conv"):
        ops.depthwise_conv(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 1)))
    with pytest.raises(ShapeError, match="conv_transpose"):
        ops.conv_transpose(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 2)))


def test_window_larger_than_input_and_bad_arguments():
    with pytest.raises(ShapeError, match="larger than the input's size 2"):
        ops.max_pool(np.ones((1, 2, 3)), 3)
    with pytest.raises(ConfigError, match="Received: strides=0"):
        ops.conv(np.ones((1, 5, 3)), np.ones((3, 3, 1)), strides=0)
    with pytest.raises(ConfigError, match="Received: data_format='nhwc'"):
        ops.conv(np.ones((1, 5, 3)), np.ones((3, 3, 1)), data_format="nhwc")
    with pytest.raises(ConfigError, match="Received: padding='full'"):
        ops.average_pool(np.ones((1, 5, 3)), 2, padding="full")
    with pytest.raises(ConfigError, match="pool_size' is required"):
        ops.max_pool(np.ones((1, 5, 3)))
    with pytest.raises(ConfigError, match="unexpected arguments"):
        ops.max_pool(np.ones((1, 5, 3)), 2, window=3)


def test_encoding_and_normalisation_argument_errors():
    with pytest.raises(ConfigError, match="num_classes"):
        ops.one_hot([1], 0)
    with pytest.raises(ConfigError, match="num_classes' is required"):
        ops.multi_hot([1])
    with pytest.raises(ConfigError, match="order"):
        ops.normalize(X, order=0)
    with pytest.raises(ShapeError, match="divisible by block_size"):
        ops.depth_to_space(np.ones((1, 2, 2, 3)), 2)
    with pytest.raises(ShapeError, match="divisible by block_size"):
        ops.space_to_depth(np.ones((1, 3, 2, 3)), 2)

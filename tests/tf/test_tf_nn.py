"""tf.nn through ``import cnnlab as tf`` against NumPy references of TF's rules (SAME padding, per-example losses)."""

import math

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

RNG = np.random.default_rng(3)
X = RNG.normal(size=(2, 7, 6, 3)).astype(np.float32)
W = RNG.normal(size=(3, 2, 3, 4)).astype(np.float32)


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2  # TF: the odd extra goes after (bottom/right)


def numpy_conv2d(x, w, stride, padding):
    kh, kw = w.shape[:2]
    if padding == "SAME":
        (t, b), (l, r) = _same_pads(x.shape[1], kh, stride), _same_pads(x.shape[2], kw, stride)
        x = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)])
    rows, cols = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], rows, cols, w.shape[3]), np.float64)
    for i in range(rows):
        for j in range(cols):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


def numpy_pool(x, k, stride, padding, reduce):
    if padding == "SAME":
        (t, b), (l, r) = _same_pads(x.shape[1], k, stride), _same_pads(x.shape[2], k, stride)
        x = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)], constant_values=np.nan)
    rows, cols = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], rows, cols, x.shape[3]))
    for i in range(rows):
        for j in range(cols):
            out[:, i, j, :] = reduce(x[:, i * stride:i * stride + k, j * stride:j * stride + k, :], axis=(1, 2))
    return out  # NaN padding is skipped: padding never wins a max, and averages count real cells only


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_conv2d_matches_numpy_with_tf_same_padding(stride, padding):
    out = tf.nn.conv2d(X, W, strides=stride, padding=padding)
    np.testing.assert_allclose(out.numpy(), numpy_conv2d(X, W, stride, padding), rtol=1e-4, atol=1e-4)


def test_conv2d_accepts_tf_stride_lists_and_nchw():
    expected = numpy_conv2d(X, W, 2, "SAME")
    np.testing.assert_allclose(tf.nn.conv2d(X, W, [1, 2, 2, 1], "SAME").numpy(), expected, rtol=1e-4, atol=1e-4)
    nchw = tf.nn.conv2d(X.transpose(0, 3, 1, 2), W, [1, 1, 2, 2], "SAME", data_format="NCHW")
    np.testing.assert_allclose(nchw.numpy(), expected.transpose(0, 3, 1, 2), rtol=1e-4, atol=1e-4)


def test_conv2d_errors_name_the_problem():
    with pytest.raises(ShapeError, match="channels"):
        tf.nn.conv2d(X, W[:, :, :2], 1, "SAME")
    with pytest.raises(ConfigError, match="padding"):
        tf.nn.conv2d(X, W, 1, "SAM")
    with pytest.raises(ConfigError, match="data_format"):
        tf.nn.conv2d(X, W, 1, "SAME", data_format="NWHC")
    with pytest.raises(ArgumentTypeError, match="Did you mean 'dilations'"):
        tf.nn.conv2d(X, W, 1, "SAME", dilation=2)


@pytest.mark.parametrize("pool,reduce", [("max_pool2d", np.nanmax), ("max_pool", np.nanmax),
                                         ("avg_pool2d", np.nanmean), ("avg_pool", np.nanmean)])
@pytest.mark.parametrize("k,stride,padding", [(2, 2, "VALID"), (3, 2, "SAME"), (2, 1, "SAME")])
def test_pooling_matches_numpy(pool, reduce, k, stride, padding):
    out = getattr(tf.nn, pool)(X, ksize=k, strides=stride, padding=padding)
    np.testing.assert_allclose(out.numpy(), numpy_pool(X, k, stride, padding, reduce), rtol=1e-5, atol=1e-6)


def test_pooling_refuses_other_ranks():
    with pytest.raises(ShapeError, match="4-D images"):
        tf.nn.max_pool(X[0], 2, 2, "VALID")


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_cross_entropies_are_per_example_and_match_numpy():
    logits = RNG.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2])
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    np.testing.assert_allclose(sparse.numpy(), -_log_softmax(logits)[np.arange(5), labels], rtol=1e-5)
    dense = tf.nn.softmax_cross_entropy_with_logits(labels=np.eye(4)[labels], logits=logits)
    np.testing.assert_allclose(dense.numpy(), sparse.numpy(), rtol=1e-5)
    z = (logits > 0).astype(np.float32)
    expected = np.maximum(logits, 0) - logits * z + np.log1p(np.exp(-np.abs(logits)))
    np.testing.assert_allclose(tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=logits).numpy(), expected,
                               rtol=1e-5)


def test_cross_entropy_errors_say_which_form_to_use():
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(ShapeError, match="softmax_cross_entropy_with_logits"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.eye(3)[[0, 1]], logits=logits)
    with pytest.raises(ConfigError, match="class indices"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 3], logits=logits)
    with pytest.raises(ShapeError, match="sparse_softmax"):
        tf.nn.softmax_cross_entropy_with_logits(labels=[0, 1], logits=logits)
    with pytest.raises(ConfigError, match="give both labels= and logits="):
        tf.nn.sigmoid_cross_entropy_with_logits(logits=logits)
    with pytest.raises(ShapeError, match="one shape"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0], logits=logits)


def test_activations_follow_tensorflow_defaults():
    x = np.array([-2.0, -0.5, 0.0, 3.0, 8.0], np.float32)
    np.testing.assert_allclose(tf.nn.leaky_relu(x).numpy(), np.where(x > 0, x, 0.2 * x))  # TF's alpha is 0.2
    np.testing.assert_allclose(tf.nn.relu6(x).numpy(), np.clip(x, 0, 6))
    exact = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    np.testing.assert_allclose(tf.nn.gelu(x).numpy(), exact, rtol=1e-6, atol=1e-6)  # exact by default
    np.testing.assert_allclose(tf.nn.softmax(x).numpy(), np.exp(_log_softmax(x)), rtol=1e-6)


def test_dropout_scales_kept_values_and_is_always_active():
    x = np.ones((1000,), np.float32)
    out = tf.nn.dropout(x, rate=0.25, seed=1).numpy()
    assert set(np.unique(out)) <= {np.float32(0.0), np.float32(1 / 0.75)} and 0.15 < (out == 0).mean() < 0.35
    with pytest.raises(ConfigError, match="keep_prob"):
        tf.nn.dropout(x, rate=1.0)


def test_moments_batch_normalization_bias_add_and_l2_loss_against_numpy():
    mean, var = tf.nn.moments(X, axes=[0, 1, 2])
    np.testing.assert_allclose(mean.numpy(), X.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.numpy(), X.var((0, 1, 2)), rtol=1e-5)
    out = tf.nn.batch_normalization(X, mean, var, offset=1.0, scale=2.0, variance_epsilon=1e-3)
    expected = 2.0 * (X - X.mean((0, 1, 2))) / np.sqrt(X.var((0, 1, 2)) + 1e-3) + 1.0
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    bias = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_allclose(tf.nn.bias_add(X, bias).numpy(), X + bias)
    with pytest.raises(ShapeError, match="one value per channel"):
        tf.nn.bias_add(X, bias[:2])
    assert tf.nn.l2_loss(np.array([3.0, 4.0])).item() == pytest.approx(12.5)
    assert tf.nn.compute_average_loss([1.0, 3.0], global_batch_size=4).item() == pytest.approx(1.0)

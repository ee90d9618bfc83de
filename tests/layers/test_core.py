"""Dense, Flatten, Dropout, ZeroPadding2D, Reshape and Activation against NumPy."""

import numpy as np
import pytest
import torch

from cnnlab import layers

TOL = dict(rtol=1e-5, atol=1e-5)


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _np(t):
    return t.detach().numpy()


def test_dense_on_2d_input_is_x_times_kernel_plus_bias():
    x = _random((4, 7))
    dense = layers.Dense(3)
    dense.build(x.shape)
    kernel, bias = _random((7, 3), 1), _random((3,), 2)
    dense.set_weights([kernel, bias])
    np.testing.assert_allclose(_np(dense(x)), x.astype(np.float64) @ kernel + bias, **TOL)


def test_dense_on_4d_input_acts_on_the_last_axis():
    x = _random((2, 3, 4, 5))
    dense = layers.Dense(6, activation="relu")
    got = _np(dense(x))
    kernel, bias = dense.get_weights()
    assert kernel.shape == (5, 6)
    expected = np.maximum(np.einsum("nhwc,cu->nhwu", x, kernel) + bias, 0)
    assert got.shape == (2, 3, 4, 6)
    np.testing.assert_allclose(got, expected, **TOL)


def test_dense_after_flatten_sees_the_numpy_flatten_of_nhwc():
    x = _random((2, 3, 4, 5))
    flatten, dense = layers.Flatten(), layers.Dense(3)
    got = _np(dense(flatten(x)))
    kernel, bias = dense.get_weights()
    assert kernel.shape == (60, 3)
    np.testing.assert_allclose(got, x.reshape(2, -1) @ kernel + bias, **TOL)


def test_flatten_channels_first_uses_channels_last_order():
    x_last = _random((2, 3, 4, 5))
    x_first = x_last.transpose(0, 3, 1, 2)
    got = _np(layers.Flatten(data_format="channels_first")(x_first))
    np.testing.assert_array_equal(got, x_last.reshape(2, -1))


def test_dropout_is_identity_in_inference():
    x = _random((8, 50))
    dropout = layers.Dropout(0.5)
    np.testing.assert_array_equal(_np(dropout(x)), x)
    np.testing.assert_array_equal(_np(dropout(x, training=False)), x)


def test_dropout_in_training_drops_rate_and_scales_survivors():
    torch.manual_seed(0)
    x = np.ones((200, 500), np.float32)
    got = _np(layers.Dropout(0.3)(x, training=True))
    # 100,000 Bernoulli(0.3) draws: the zero fraction's standard deviation is ~0.0015.
    assert abs((got == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(got[got != 0], 1 / (1 - 0.3), rtol=1e-6)


def test_dropout_gradient_flows_only_through_kept_units_with_the_same_scale():
    torch.manual_seed(1)
    x = torch.full((64, 40), 2.0, requires_grad=True)
    out = layers.Dropout(0.25)(x, training=True)
    out.sum().backward()
    kept = out.detach() != 0
    np.testing.assert_allclose(_np(x.grad[kept]), 1 / 0.75, rtol=1e-6)
    assert bool((x.grad[~kept] == 0).all())
    assert 0.2 < 1 - kept.float().mean().item() < 0.3


def test_dropout_keeps_a_bfloat16_input_in_bfloat16():
    x = torch.ones((16, 30), dtype=torch.bfloat16)
    for layer in (layers.Dropout(0.5), layers.Dropout(0.5, noise_shape=(None, 1))):
        out = layer(x, training=True)
        assert out.dtype == torch.bfloat16 and set(out.unique().tolist()) <= {0.0, 2.0}


def test_dropout_noise_shape_drops_whole_channels():
    torch.manual_seed(0)
    x = np.ones((4, 6, 6, 32), np.float32)
    got = _np(layers.Dropout(0.5, noise_shape=(None, 1, 1, 32))(x, training=True))
    per_channel = got.reshape(4, 36, 32)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))  # one decision per (sample, channel)
    assert set(np.unique(got)) <= {0.0, 2.0}


def test_zero_padding_matches_numpy_pad():
    x = _random((2, 3, 4, 2))
    got = _np(layers.ZeroPadding2D(((1, 2), (3, 0)))(x))
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (1, 2), (3, 0), (0, 0))))
    np.testing.assert_array_equal(_np(layers.ZeroPadding2D(1)(x)), np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))))
    first = _np(layers.ZeroPadding2D((2, 1), data_format="channels_first")(x.transpose(0, 3, 1, 2)))
    np.testing.assert_array_equal(first, np.pad(x, ((0, 0), (2, 2), (1, 1), (0, 0))).transpose(0, 3, 1, 2))


def test_reshape_matches_numpy_reshape():
    x = _random((2, 784))
    np.testing.assert_array_equal(_np(layers.Reshape((28, 28, 1))(x)), x.reshape(2, 28, 28, 1))
    np.testing.assert_array_equal(_np(layers.Reshape((-1, 7))(x)), x.reshape(2, -1, 7))


@pytest.mark.parametrize("name, reference", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh),
    ("linear", lambda x: x),
])
def test_activation_layer_applies_the_named_function(name, reference):
    x = _random((3, 5))
    np.testing.assert_allclose(_np(layers.Activation(name)(x)), reference(x.astype(np.float64)), **TOL)

"""ReLU, LeakyReLU, ELU, PReLU and Softmax layers against NumPy (Keras formulas and defaults)."""

import numpy as np
import pytest

from cnnlab import layers
from cnnlab.errors import ConfigError, ShapeError

TOL = dict(rtol=1e-5, atol=1e-6)


def _x(seed=0):
    return (np.random.default_rng(seed).standard_normal((4, 50)) * 2).astype(np.float32)


def _keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    # Keras: keep x above the threshold, cap at max_value, and add slope * (x - threshold) below it.
    kept = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        kept = np.clip(kept, 0, max_value)
    return kept - negative_slope * np.maximum(threshold - x, 0)


@pytest.mark.parametrize("kwargs", [
    {},
    {"max_value": 6.0},
    {"max_value": 1.5},
    {"negative_slope": 0.1},
    {"threshold": 0.5},
    {"max_value": 1.0, "negative_slope": 0.2, "threshold": 0.5},
])
def test_relu_options_follow_keras_formula(kwargs):
    x = _x()
    got = layers.ReLU(**kwargs)(x).detach().numpy()
    np.testing.assert_allclose(got, _keras_relu(x.astype(np.float64), **kwargs), **TOL)


def test_leaky_relu_default_slope_is_0_3():
    x = _x(1)
    assert layers.LeakyReLU().negative_slope == 0.3
    np.testing.assert_allclose(layers.LeakyReLU()(x).detach().numpy(), np.where(x >= 0, x, 0.3 * x), **TOL)


def test_leaky_relu_accepts_tf_keras_2_alpha():
    x = _x(2)
    np.testing.assert_allclose(layers.LeakyReLU(alpha=0.1)(x).detach().numpy(), np.where(x >= 0, x, 0.1 * x), **TOL)


@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax_matches_numpy(axis):
    x = np.random.default_rng(3).standard_normal((2, 4, 5)).astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    got = layers.Softmax(axis=axis)(x).detach().numpy()
    np.testing.assert_allclose(got, e / e.sum(axis=axis, keepdims=True), **TOL)


def test_relu_rejects_negative_threshold_like_keras():
    with pytest.raises(ConfigError, match=r"threshold must be a non-negative number.*Received: threshold=-1"):
        layers.ReLU(threshold=-1)


def test_relu_rejects_none_slope():
    with pytest.raises(ConfigError, match="Received: negative_slope=None"):
        layers.ReLU(negative_slope=None)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_matches_numpy(alpha):
    x = _x(4).astype(np.float64)
    expected = np.where(x > 0, x, alpha * (np.exp(x) - 1))
    np.testing.assert_allclose(layers.ELU(alpha=alpha)(x).detach().numpy(), expected, **TOL)


def test_elu_default_alpha_is_one_and_saved_in_config():
    assert layers.ELU().alpha == 1.0
    assert layers.ELU.from_config(layers.ELU(alpha=0.2).get_config()).alpha == 0.2


def test_elu_rejects_non_number_alpha():
    with pytest.raises(ConfigError, match="Received: alpha='big'"):
        layers.ELU(alpha="big")


def _np_prelu(x, alpha):
    return np.maximum(x, 0) - alpha * np.maximum(-x, 0)  # Keras: relu(x) - alpha * relu(-x)


def test_prelu_weight_is_alpha_of_input_shape_and_starts_at_zero():
    layer = layers.PReLU()
    layer.build((None, 5, 4, 3))
    assert [(w.name, w.shape) for w in layer.weights] == [("alpha", (5, 4, 3))]
    assert not layer.get_weights()[0].any()  # Keras's default alpha_initializer="Zeros": a ReLU at first


def test_prelu_shared_axes_set_those_axes_to_one_and_match_numpy():
    x = np.random.default_rng(5).standard_normal((2, 5, 4, 3))
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build((None, 5, 4, 3))
    alpha = np.random.default_rng(6).uniform(0.1, 0.9, (1, 1, 3)).astype(np.float32)
    layer.set_weights([alpha])
    assert layer.get_config()["shared_axes"] == [1, 2]
    np.testing.assert_allclose(layer(x).detach().numpy(), _np_prelu(x, alpha), **TOL)


def test_prelu_int_shared_axis_becomes_list():
    assert layers.PReLU(shared_axes=1).shared_axes == [1]


def test_prelu_alpha_learns_and_regularizer_adds_loss():
    layer = layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2")
    x = -np.ones((2, 3), np.float32)
    layer(x, training=True).sum().backward()
    assert layer.alpha.grad is not None and (layer.alpha.grad != 0).all()
    assert layer.losses[0].item() == pytest.approx(0.01 * 3)


def test_prelu_rejects_batch_axis_in_shared_axes():
    with pytest.raises(ConfigError, match=r"axis 0 is the batch.*Received: shared_axes=\[0, 1\]"):
        layers.PReLU(shared_axes=[0, 1])


def test_prelu_on_unknown_size_asks_to_share_that_axis():
    with pytest.raises(ShapeError, match=r"shared_axes=\[1, 2\]"):
        layers.PReLU().build((None, None, None, 3))


def test_prelu_shared_axis_beyond_input_rank_is_a_shape_error():
    with pytest.raises(ShapeError, match="shared_axes"):
        layers.PReLU(shared_axes=[3]).build((None, 4, 3))


def test_softmax_over_a_list_of_axes_normalises_them_jointly():
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 2))
    e = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    got = layers.Softmax(axis=[1, 2])(x).detach().numpy()
    np.testing.assert_allclose(got, e / e.sum(axis=(1, 2), keepdims=True), **TOL)
    assert layers.Softmax(axis=(1, 2)).get_config()["axis"] == [1, 2]


def test_softmax_with_several_axes_is_not_fused_into_the_loss():
    assert layers.Softmax().activation is not None
    assert layers.Softmax(axis=[1, 2]).activation is None


def test_softmax_rejects_non_int_axis():
    with pytest.raises(ConfigError, match="Received: axis='last'"):
        layers.Softmax(axis="last")

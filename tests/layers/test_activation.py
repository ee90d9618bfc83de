"""ReLU, LeakyReLU and Softmax layers against NumPy (Keras formulas and defaults)."""

import numpy as np
import pytest

from cnnlab import layers

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

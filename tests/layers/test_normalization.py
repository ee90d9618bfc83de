"""BatchNormalization with Keras's semantics, against NumPy."""

import numpy as np

from cnnlab import layers

TOL = dict(rtol=1e-5, atol=1e-5)
KERAS_EPSILON = 1e-3  # keras.layers.BatchNormalization default
KERAS_MOMENTUM = 0.99  # keras.layers.BatchNormalization default


def _random(shape, seed=0, scale=1.0, shift=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype(np.float32)


def _bn_with_stats(channels=3):
    bn = layers.BatchNormalization()
    bn.build((None, 4, 4, channels))
    gamma, beta = _random((channels,), 1, 0.5, 1.0), _random((channels,), 2)
    mean, var = _random((channels,), 3), np.abs(_random((channels,), 4)) + 0.5
    bn.set_weights([gamma, beta, mean, var])
    return bn, gamma, beta, mean, var


def test_defaults_are_keras_momentum_and_epsilon():
    bn = layers.BatchNormalization()
    assert (bn.momentum, bn.epsilon) == (KERAS_MOMENTUM, KERAS_EPSILON)


def test_inference_uses_moving_statistics():
    bn, gamma, beta, mean, var = _bn_with_stats()
    x = _random((5, 4, 4, 3), 5, 2.0, 1.0)
    expected = gamma * (x - mean) / np.sqrt(var + KERAS_EPSILON) + beta
    np.testing.assert_allclose(bn(x).detach().numpy(), expected, **TOL)
    np.testing.assert_allclose(bn(x, training=False).detach().numpy(), expected, **TOL)


def test_training_normalises_with_biased_batch_statistics():
    bn, gamma, beta, _, _ = _bn_with_stats()
    x = _random((5, 4, 4, 3), 6, 2.0, 1.0).astype(np.float64)
    batch_mean, batch_var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # ddof=0: biased
    expected = gamma * (x - batch_mean) / np.sqrt(batch_var + KERAS_EPSILON) + beta
    np.testing.assert_allclose(bn(x, training=True).detach().numpy(), expected, **TOL)


def test_training_updates_moving_stats_with_biased_variance():
    bn, _, _, mean, var = _bn_with_stats()
    x = _random((2, 3, 3, 3), 7, 3.0, -1.0).astype(np.float64)  # 18 values per channel: n/(n-1) = 1.06
    bn(x, training=True)
    batch_mean, batch_var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    _, _, moving_mean, moving_var = bn.get_weights()
    np.testing.assert_allclose(moving_mean, mean * KERAS_MOMENTUM + batch_mean * (1 - KERAS_MOMENTUM), **TOL)
    np.testing.assert_allclose(moving_var, var * KERAS_MOMENTUM + batch_var * (1 - KERAS_MOMENTUM), **TOL)


def test_inference_call_leaves_moving_stats_alone():
    bn, _, _, mean, var = _bn_with_stats()
    bn(_random((4, 4, 4, 3)))
    np.testing.assert_array_equal(bn.get_weights()[2], mean)
    np.testing.assert_array_equal(bn.get_weights()[3], var)


def test_channels_first_axis_1_normalises_per_channel():
    bn = layers.BatchNormalization(axis=1)
    x = _random((6, 3, 4, 4), 8, 2.0, 1.0).astype(np.float64)
    got = bn(x, training=True).detach().numpy()
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(got, (x - mean) / np.sqrt(var + KERAS_EPSILON), **TOL)


def test_weights_are_gamma_beta_moving_mean_moving_variance():
    bn = layers.BatchNormalization()
    bn.build((None, 4, 4, 8))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert bn.count_params() == 4 * 8

"""BatchNormalization, LayerNormalization, GroupNormalization and UnitNormalization with Keras's semantics, against NumPy."""

import numpy as np
import pytest

from cnnlab import layers
from cnnlab.errors import ConfigError, ShapeError

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


# ------------------------------------------------------------------ LayerNormalization, GroupNormalization
def _np_normalise(x, axes, epsilon):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # biased, as Keras's ops.moments
    return (x - mean) / np.sqrt(var + epsilon)


def test_layer_norm_defaults_are_keras_ones():
    ln = layers.LayerNormalization()
    assert (ln.axis, ln.epsilon, ln.center, ln.scale, ln.rms_scaling) == (-1, 1e-3, True, True, False)


def test_layer_norm_matches_numpy_over_last_axis():
    ln = layers.LayerNormalization()
    ln.build((None, 5, 4, 3))
    gamma, beta = _random((3,), 1, 0.5, 1.0), _random((3,), 2)
    ln.set_weights([gamma, beta])
    x = _random((2, 5, 4, 3), 3, 2.0, 1.0).astype(np.float64)
    np.testing.assert_allclose(ln(x).detach().numpy(), _np_normalise(x, -1, 1e-3) * gamma + beta, **TOL)
    assert [w.name for w in ln.weights] == ["gamma", "beta"]


def test_layer_norm_over_inner_axes_matches_numpy():
    ln = layers.LayerNormalization(axis=[2, 1], epsilon=1e-5)
    x = _random((2, 5, 4, 3), 4, 2.0, 1.0).astype(np.float64)
    ln.build(x.shape)
    gamma = _random((5, 4), 5, 0.5, 1.0)
    ln.set_weights([gamma, np.zeros((5, 4), np.float32)])
    expected = _np_normalise(x, (1, 2), 1e-5) * gamma[None, :, :, None]
    np.testing.assert_allclose(ln(x).detach().numpy(), expected, **TOL)
    assert ln.get_config()["axis"] == [1, 2]  # Keras sorts the axes and stores a list once built


def test_layer_norm_mixed_sign_axes_lay_gamma_out_as_keras():
    # Keras sorts [-1, 1] to [-1, 1]: gamma has shape (C, H) but its values are read in (H, C) order.
    ln = layers.LayerNormalization(axis=[1, -1], center=False)
    x = _random((2, 5, 4, 3), 6).astype(np.float64)
    ln.build(x.shape)
    assert ln.weights[0].shape == (3, 5)
    gamma = _random((3, 5), 7, 0.5, 1.0)
    ln.set_weights([gamma])
    expected = _np_normalise(x, (1, 3), 1e-3) * gamma.reshape(1, 5, 1, 3)
    np.testing.assert_allclose(ln(x).detach().numpy(), expected, **TOL)


def test_layer_norm_without_center_and_scale_has_no_weights():
    ln = layers.LayerNormalization(center=False, scale=False)
    x = _random((2, 6), 8).astype(np.float64)
    np.testing.assert_allclose(ln(x).detach().numpy(), _np_normalise(x, -1, 1e-3), **TOL)
    assert ln.weights == []


def test_layer_norm_rms_scaling_follows_keras_deprecated_formula():
    with pytest.warns(UserWarning, match="deprecated"):
        ln = layers.LayerNormalization(rms_scaling=True)
    x = _random((2, 6), 9, 1.0, 2.0).astype(np.float64)
    got = ln(x).detach().numpy()
    assert [w.name for w in ln.weights] == ["gamma"]
    np.testing.assert_allclose(got, x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-3), **TOL)


def test_layer_norm_same_in_training_and_inference():
    ln = layers.LayerNormalization()
    x = _random((3, 4), 10)
    np.testing.assert_array_equal(ln(x, training=True).detach().numpy(), ln(x).detach().numpy())


def test_layer_norm_rejects_bad_axis_and_epsilon():
    with pytest.raises(ConfigError, match="Received: axis='last'"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(ConfigError, match="Received: epsilon=0"):
        layers.LayerNormalization(epsilon=0)


def test_layer_norm_axis_out_of_bounds_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"axis 3 is out of bounds.*Received: axis=\[3\]"):
        layers.LayerNormalization(axis=3)(np.zeros((2, 4, 4), np.float32))


def test_layer_norm_of_unknown_size_axis_is_a_shape_error():
    with pytest.raises(ShapeError, match="known sizes"):
        layers.LayerNormalization(axis=1).build((None, None, 3))


def _np_group_norm(x, groups, epsilon, gamma, beta):
    n, h, w, c = x.shape
    grouped = x.reshape(n, h, w, groups, c // groups)
    normed = _np_normalise(grouped, (1, 2, 4), epsilon).reshape(x.shape)
    return normed * gamma + beta


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_group_norm_matches_numpy(groups):
    gn = layers.GroupNormalization(groups=groups)
    x = _random((2, 5, 4, 8), 11, 2.0, 1.0).astype(np.float64)
    gn.build(x.shape)
    gamma, beta = _random((8,), 12, 0.5, 1.0), _random((8,), 13)
    gn.set_weights([gamma, beta])
    np.testing.assert_allclose(gn(x).detach().numpy(), _np_group_norm(x, groups, 1e-3, gamma, beta), **TOL)


def test_group_norm_channels_first_matches_channels_last():
    x = _random((2, 4, 5, 6), 14).astype(np.float64)
    got = layers.GroupNormalization(groups=3, axis=1)(x.transpose(0, 3, 1, 2)).detach().numpy()
    expected = _np_group_norm(x, 3, 1e-3, 1.0, 0.0).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, expected, **TOL)


def test_group_norm_minus_one_is_instance_norm_and_saves_channel_count():
    gn = layers.GroupNormalization(groups=-1)
    x = _random((2, 5, 4, 3), 15).astype(np.float64)
    np.testing.assert_allclose(gn(x).detach().numpy(), _np_normalise(x, (1, 2), 1e-3), **TOL)
    assert gn.get_config()["groups"] == 3  # as Keras: -1 becomes the channel count at build


def test_group_norm_default_groups_32():
    assert layers.GroupNormalization().groups == 32


def test_group_norm_groups_not_dividing_channels_suggests_a_divisor():
    with pytest.raises(ShapeError, match=r"must divide the 6 channels.*groups=3.*Received: groups=4"):
        layers.GroupNormalization(groups=4)(np.zeros((2, 3, 3, 6), np.float32))


def test_group_norm_rejects_zero_groups_and_list_axis():
    with pytest.raises(ConfigError, match="Received: groups=0"):
        layers.GroupNormalization(groups=0)
    with pytest.raises(ConfigError, match=r"Received: axis=\[1, 2\]"):
        layers.GroupNormalization(axis=[1, 2])


def test_group_norm_on_batch_axis_is_a_shape_error():
    with pytest.raises(ShapeError, match="channel axis"):
        layers.GroupNormalization(groups=1, axis=0).build((None, 4))


def test_unit_norm_matches_numpy_and_keeps_zero_rows_zero():
    x = _random((3, 5), 16).astype(np.float64)
    x[1] = 0.0
    got = layers.UnitNormalization()(x).detach().numpy()
    norms = np.sqrt((x**2).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(got, x / np.maximum(norms, 1e-12), **TOL)
    assert not got[1].any()


def test_unit_norm_over_several_axes():
    x = _random((2, 3, 4, 2), 17).astype(np.float64)
    got = layers.UnitNormalization(axis=[1, 2])(x).detach().numpy()
    np.testing.assert_allclose(np.sqrt((got**2).sum(axis=(1, 2))), 1.0, **TOL)


def test_unit_norm_rejects_float_axis():
    with pytest.raises(ConfigError, match="Received: axis=1.5"):
        layers.UnitNormalization(axis=1.5)

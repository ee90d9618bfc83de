"""SpatialDropout, GaussianNoise, GaussianDropout, AlphaDropout and ActivityRegularization: Keras's formulas.

The random layers are checked statistically on large samples (bounds of about 6 standard errors, so a
correct layer fails far less than once in a million runs) and must be the identity at inference.
"""

import math

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. (2017)
SELU_SCALE = 1.0507009873554804934193349852946

RANDOM_LAYERS = [
    (layers.SpatialDropout1D, {"rate": 0.5}, (4, 6, 8)),
    (layers.SpatialDropout2D, {"rate": 0.5}, (4, 5, 5, 8)),
    (layers.SpatialDropout3D, {"rate": 0.5}, (4, 3, 3, 3, 8)),
    (layers.GaussianNoise, {"stddev": 0.5}, (4, 8)),
    (layers.GaussianDropout, {"rate": 0.5}, (4, 8)),
    (layers.AlphaDropout, {"rate": 0.5}, (4, 8)),
]


def _np(t):
    return t.detach().numpy()


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(1234)


@pytest.mark.parametrize("cls, kwargs, shape", RANDOM_LAYERS, ids=lambda v: getattr(v, "__name__", ""))
def test_random_layer_is_identity_at_inference(cls, kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    layer = cls(**kwargs)
    np.testing.assert_array_equal(_np(layer(x)), x)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    model = cnnlab.Sequential([layers.Input(shape=shape[1:]), cls(**kwargs)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("cls, kwargs, shape", RANDOM_LAYERS, ids=lambda v: getattr(v, "__name__", ""))
def test_random_layer_with_zero_rate_is_identity_in_training(cls, kwargs, shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    zero = {k: 0.0 for k in kwargs}
    np.testing.assert_array_equal(_np(cls(**zero)(x, training=True)), x)


# ------------------------------------------------------------------------------------------ SpatialDropout
@pytest.mark.parametrize("cls, shape, channel_axis, data_format", [
    (layers.SpatialDropout1D, (200, 7, 50), -1, None),
    (layers.SpatialDropout2D, (200, 4, 5, 50), -1, "channels_last"),
    (layers.SpatialDropout2D, (200, 50, 4, 5), 1, "channels_first"),
    (layers.SpatialDropout3D, (100, 3, 2, 3, 50), -1, None),
    (layers.SpatialDropout3D, (100, 50, 3, 2, 3), 1, "channels_first"),
])
def test_spatial_dropout_drops_whole_channels_at_rate_and_scales_the_rest(cls, shape, channel_axis, data_format):
    rate = 0.3
    kwargs = {} if data_format is None else {"data_format": data_format}
    x = np.random.default_rng(2).uniform(1.0, 2.0, shape).astype(np.float32)  # never 0 itself
    y = _np(cls(rate, **kwargs)(x, training=True))
    per_channel = np.moveaxis(y / x, channel_axis, 1).reshape(shape[0], shape[channel_axis], -1)
    # Each (sample, channel) is all dropped (0) or all kept (scaled by 1 / (1 - rate)).
    first = per_channel[..., :1]
    np.testing.assert_allclose(per_channel, np.broadcast_to(first, per_channel.shape), rtol=1e-6)
    values = np.unique(first)
    assert np.isclose(values[:, None], [0.0, 1 / (1 - rate)], rtol=1e-6).any(axis=1).all(), values
    dropped = (first == 0).mean()
    draws = first.size
    assert abs(dropped - rate) < 6 * math.sqrt(rate * (1 - rate) / draws)


def test_spatial_dropout_wrong_rank_is_a_shape_error():
    with pytest.raises(ShapeError, match="expects 4-D input"):
        layers.SpatialDropout2D(0.5)(np.zeros((2, 5, 3), np.float32))


def test_spatial_dropout_config_has_keras_keys_only():
    assert set(layers.SpatialDropout2D(0.2, seed=1).get_config()) == {"name", "dtype", "rate", "seed", "data_format"}
    assert set(layers.SpatialDropout1D(0.2).get_config()) == {"name", "dtype", "rate", "seed"}


def test_spatial_dropout_1d_takes_no_data_format_like_keras():
    with pytest.raises(ArgumentTypeError, match="data_format"):
        layers.SpatialDropout1D(0.2, data_format="channels_first")


@pytest.mark.parametrize("kwargs, message", [
    ({"rate": 1.0}, r"\[0, 1\).*Received: rate=1.0"),
    ({"rate": 0.5, "data_format": "NHWC"}, "Received: data_format='NHWC'"),
    ({"rate": 0.5, "seed": "abc"}, "Received: seed='abc'"),
])
def test_spatial_dropout_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        layers.SpatialDropout2D(**kwargs)


# ---------------------------------------------------------------------------- GaussianNoise, GaussianDropout
def test_gaussian_noise_adds_zero_mean_noise_of_stddev():
    x = np.full((400, 500), 3.0, np.float32)
    noise = _np(layers.GaussianNoise(0.2)(x, training=True)) - x
    n = noise.size
    assert abs(noise.mean()) < 6 * 0.2 / math.sqrt(n)
    assert abs(noise.std() - 0.2) < 6 * 0.2 / math.sqrt(2 * n)


def test_gaussian_noise_passes_gradient_through():
    x = torch.ones(3, 4, requires_grad=True)
    layers.GaussianNoise(0.3)(x, training=True).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 4)))


@pytest.mark.parametrize("stddev", [-0.1, 1.5, "0.1"])
def test_gaussian_noise_stddev_must_be_in_keras_range(stddev):
    with pytest.raises(ConfigError, match=r"\[0, 1\].*Received: stddev="):
        layers.GaussianNoise(stddev)


def test_gaussian_dropout_multiplies_by_noise_of_mean_one_and_keras_stddev():
    rate = 0.3
    expected_std = math.sqrt(rate / (1 - rate))  # Keras: normal(mean=1, stddev=sqrt(rate / (1 - rate)))
    x = np.full((400, 500), 2.0, np.float32)
    factor = _np(layers.GaussianDropout(rate)(x, training=True)) / x
    n = factor.size
    assert abs(factor.mean() - 1.0) < 6 * expected_std / math.sqrt(n)
    assert abs(factor.std() - expected_std) < 6 * expected_std / math.sqrt(2 * n)


def test_gaussian_dropout_rejects_rate_of_one():
    with pytest.raises(ConfigError, match="Received: rate=1"):
        layers.GaussianDropout(1)


# ------------------------------------------------------------------------------------------- AlphaDropout
def _alpha_dropout_affine(rate):
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    return alpha_p, a, -a * alpha_p * rate


def test_alpha_dropout_sets_dropped_to_saturation_and_maps_all_affinely():
    rate = 0.2
    alpha_p, a, b = _alpha_dropout_affine(rate)
    x = np.random.default_rng(3).standard_normal((300, 400)).astype(np.float32)
    y = _np(layers.AlphaDropout(rate)(x, training=True)).astype(np.float64)
    kept = np.isclose(y, a * x + b, atol=1e-5)
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-5)
    assert (kept | dropped).all()
    assert abs(dropped.mean() - rate) < 6 * math.sqrt(rate * (1 - rate) / x.size)


def test_alpha_dropout_keeps_mean_zero_and_variance_one():
    x = np.random.default_rng(4).standard_normal((500, 400)).astype(np.float32)
    y = _np(layers.AlphaDropout(0.1)(x, training=True))
    assert abs(y.mean()) < 0.01
    assert abs(y.var() - 1.0) < 0.02


def test_alpha_dropout_noise_shape_shares_the_mask():
    alpha_p, a, b = _alpha_dropout_affine(0.5)
    x = np.random.default_rng(5).standard_normal((50, 4, 4, 6)).astype(np.float32)
    y = _np(layers.AlphaDropout(0.5, noise_shape=(None, 1, 1, 6))(x, training=True))
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-5)
    assert (dropped == dropped[:, :1, :1, :]).all()
    assert 0 < dropped.mean() < 1


def test_alpha_dropout_config_keeps_noise_shape_as_a_tuple():
    config = layers.AlphaDropout(0.1, noise_shape=(None, 1, 3)).get_config()
    assert config["noise_shape"] == (None, 1, 3) and config["seed"] is None


def test_alpha_dropout_rejects_bad_noise_shape():
    with pytest.raises(ConfigError, match=r"Received: noise_shape=\(None, 0\)"):
        layers.AlphaDropout(0.1, noise_shape=(None, 0))


# -------------------------------------------------------------------------------- ActivityRegularization
def test_activity_regularization_passes_input_and_records_penalty_per_sample():
    x = np.random.default_rng(6).standard_normal((4, 5)).astype(np.float64)
    layer = layers.ActivityRegularization(l1=0.01, l2=0.1)
    np.testing.assert_allclose(_np(layer(x)), x, rtol=1e-6)
    expected = (0.01 * np.abs(x).sum() + 0.1 * (x**2).sum()) / 4  # Keras divides by the batch size
    assert [loss.item() for loss in layer.losses] == [pytest.approx(expected, rel=1e-5)]


def test_activity_regularization_defaults_and_config():
    layer = layers.ActivityRegularization()
    assert (layer.l1, layer.l2) == (0.0, 0.0)
    config = layers.ActivityRegularization(l1=0.5).get_config()
    assert config["l1"] == 0.5 and config["l2"] == 0.0 and "activity_regularizer" not in config


def test_activity_regularization_penalty_is_part_of_the_training_loss():
    model = cnnlab.Sequential([layers.Input(shape=(3,)), layers.Dense(2, kernel_initializer="ones"),
                               layers.ActivityRegularization(l2=0.5)])
    model.compile(optimizer=cnnlab.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.ones((4, 3), np.float32)
    y = np.full((4, 2), 3.0, np.float32)  # the Dense output exactly: the data loss is 0
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert history.history["loss"][0] == pytest.approx(0.5 * 2 * 9.0)  # l2 * sum(y**2) per sample


def test_activity_regularization_rejects_negative_factor():
    with pytest.raises(ConfigError, match="Received: l1=-1"):
        layers.ActivityRegularization(l1=-1)

"""Up-sampling, cropping, zero padding, Permute, RepeatVector and Identity against NumPy references."""

import math

import numpy as np
import pytest
import torch

from cnnlab import layers
from cnnlab.errors import ConfigError, ShapeError

TOL = dict(rtol=1e-5, atol=1e-5)


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ----------------------------------------------------------------------------- references (TF semantics)


def _half_pixel_source(o: int, factor: int) -> float:
    """TF's half-pixel centres: output cell o of an enlargement by ``factor`` samples the input here."""
    return float((np.float32(o) + np.float32(0.5)) * (np.float32(1) / np.float32(factor)) - np.float32(0.5))


def _resample(x, fh, fw, taps):
    """Enlarge NHWC ``x`` by (fh, fw), pixel by pixel: ``taps(o, factor, size)`` lists (source, weight) per axis."""
    n, h, w, c = x.shape
    out = np.zeros((n, h * fh, w * fw, c))
    for i in range(h * fh):
        for j in range(w * fw):
            for r, wr in taps(i, fh, h):
                for s, ws in taps(j, fw, w):
                    out[:, i, j] += wr * ws * x[:, r, s]
    return out


def _bilinear_taps(o, factor, size):
    """The two neighbours of the source position, clamped to the edges (TF's resize_bilinear)."""
    src = _half_pixel_source(o, factor)
    low = math.floor(src)
    frac = src - low
    return [(min(max(low, 0), size - 1), 1 - frac), (min(max(low + 1, 0), size - 1), frac)]


def _keys(t, a=-0.5):
    t = abs(t)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a if t < 2 else 0.0


def _bicubic_taps(o, factor, size):
    """Keys a=-0.5 on four neighbours, the offset on a 1/1024 grid, outside taps dropped and renormalised."""
    src = np.float32(_half_pixel_source(o, factor))
    low = math.floor(src)
    delta = round(float(np.float32(src - low)) * 1024) / 1024
    kept = [(low + k, _keys(delta - k)) for k in range(-1, 3) if 0 <= low + k < size]
    total = sum(wt for _, wt in kept)
    return [(i, wt / total) for i, wt in kept]


def bilinear_upsample(x, fh, fw):
    """``tf.image.resize(..., 'bilinear')`` of NHWC ``x`` to (H*fh, W*fw)."""
    return _resample(x, fh, fw, _bilinear_taps)


def bicubic_upsample(x, fh, fw):
    """``tf.image.resize(..., 'bicubic')`` of NHWC ``x`` to (H*fh, W*fw)."""
    return _resample(x, fh, fw, _bicubic_taps)


# ----------------------------------------------------------------------------- up-sampling


def test_upsampling_1d_repeats_each_step():
    x = _random((2, 4, 3))
    np.testing.assert_array_equal(layers.UpSampling1D(3)(x).numpy(), np.repeat(x, 3, axis=1))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_upsampling_2d_nearest_repeats_rows_and_columns(data_format):
    x = _random((2, 3, 4, 5))
    layer = layers.UpSampling2D((2, 3), data_format=data_format)
    if data_format == "channels_last":
        expected = np.repeat(np.repeat(x, 2, axis=1), 3, axis=2)
    else:
        expected = np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)
    np.testing.assert_array_equal(layer(x).numpy(), expected)


def test_upsampling_3d_repeats_each_cell():
    x = _random((1, 2, 3, 2, 4))
    expected = np.repeat(np.repeat(np.repeat(x, 2, axis=1), 1, axis=2), 3, axis=3)
    np.testing.assert_array_equal(layers.UpSampling3D((2, 1, 3))(x).numpy(), expected)
    first = layers.UpSampling3D(2, data_format="channels_first")(np.moveaxis(x, -1, 1)).numpy()
    np.testing.assert_array_equal(np.moveaxis(first, 1, -1), np.repeat(np.repeat(np.repeat(x, 2, 1), 2, 2), 2, 3))


@pytest.mark.parametrize("size", [2, 3, (2, 5), (4, 1)])
def test_bilinear_upsampling_uses_tf_half_pixel_rule(size):
    x = _random((2, 4, 5, 3), seed=7)
    fh, fw = (size, size) if isinstance(size, int) else size
    got = layers.UpSampling2D(size, interpolation="bilinear")(x).numpy()
    np.testing.assert_allclose(got, bilinear_upsample(x, fh, fw), **TOL)


def test_bilinear_upsampling_channels_first_matches_channels_last():
    x = _random((2, 4, 5, 3))
    got = layers.UpSampling2D(2, data_format="channels_first", interpolation="BILINEAR")(x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(got.numpy().transpose(0, 2, 3, 1), bilinear_upsample(x, 2, 2), **TOL)


@pytest.mark.parametrize("size", [2, 3, (3, 7)])
def test_bicubic_upsampling_uses_tf_keys_kernel(size):
    x = _random((1, 5, 6, 2), seed=3)
    fh, fw = (size, size) if isinstance(size, int) else size
    got = layers.UpSampling2D(size, interpolation="bicubic")(x).numpy()
    np.testing.assert_allclose(got, bicubic_upsample(x, fh, fw), **TOL)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos3", "lanczos5", "area"])
def test_every_interpolation_keeps_a_constant_image_constant(interpolation):
    x = np.full((1, 6, 7, 2), 3.5, np.float32)
    got = layers.UpSampling2D(3, interpolation=interpolation)(x).numpy()
    np.testing.assert_allclose(got, np.full((1, 18, 21, 2), 3.5), **TOL)


def test_area_upsampling_by_whole_factors_repeats_cells():
    x = _random((1, 3, 4, 2))
    got = layers.UpSampling2D((2, 3), interpolation="area")(x).numpy()
    np.testing.assert_array_equal(got, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))


def test_interpolating_upsampling_passes_gradients():
    x = torch.from_numpy(_random((1, 3, 3, 1))).requires_grad_()
    layers.UpSampling2D(2, interpolation="bicubic")(x).sum().backward()
    # every output row of the weight matrices sums to 1, so each 2x2 enlargement spreads 4 units in total
    np.testing.assert_allclose(x.grad.sum().item(), 36.0, **TOL)


def test_unknown_interpolation_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"interpolation must be one of .*'bilinear'.*Did you mean 'bilinear'.*"
                                          r"Received: interpolation='bilinar'"):
        layers.UpSampling2D(interpolation="bilinar")


@pytest.mark.parametrize("cls, size", [(layers.UpSampling1D, 0), (layers.UpSampling2D, (2, 2, 2)),
                                       (layers.UpSampling3D, 1.5)])
def test_bad_upsampling_size_is_a_config_error(cls, size):
    with pytest.raises(ConfigError, match=rf"{cls.__name__} .*size.*Received: size="):
        cls(size)


# ----------------------------------------------------------------------------- cropping and zero padding


def test_cropping_1d_2d_3d_match_slicing():
    x1, x2, x3 = _random((2, 8, 3)), _random((2, 7, 8, 3)), _random((1, 5, 6, 7, 2))
    np.testing.assert_array_equal(layers.Cropping1D((1, 2))(x1).numpy(), x1[:, 1:-2])
    np.testing.assert_array_equal(layers.Cropping1D((2, 0))(x1).numpy(), x1[:, 2:])
    np.testing.assert_array_equal(layers.Cropping2D(((1, 2), (0, 3)))(x2).numpy(), x2[:, 1:-2, 0:-3])
    np.testing.assert_array_equal(layers.Cropping2D((1, 2))(x2).numpy(), x2[:, 1:-1, 2:-2])
    np.testing.assert_array_equal(layers.Cropping3D()(x3).numpy(), x3[:, 1:-1, 1:-1, 1:-1])
    np.testing.assert_array_equal(layers.Cropping3D((0, (1, 2), 3))(x3).numpy(), x3[:, :, 1:-2, 3:-3])
    first = layers.Cropping2D(((1, 0), (2, 1)), data_format="channels_first")(x2.transpose(0, 3, 1, 2)).numpy()
    np.testing.assert_array_equal(first, x2[:, 1:, 2:-1].transpose(0, 3, 1, 2))


def test_zero_padding_1d_2d_3d_match_numpy_pad():
    x1, x2, x3 = _random((2, 5, 3)), _random((2, 4, 4, 3)), _random((1, 2, 3, 4, 2))
    np.testing.assert_array_equal(layers.ZeroPadding1D()(x1).numpy(), np.pad(x1, ((0, 0), (1, 1), (0, 0))))
    np.testing.assert_array_equal(layers.ZeroPadding1D((0, 3))(x1).numpy(), np.pad(x1, ((0, 0), (0, 3), (0, 0))))
    first = layers.ZeroPadding1D((2, 1), data_format="channels_first")(x1.transpose(0, 2, 1)).numpy()
    np.testing.assert_array_equal(first, np.pad(x1, ((0, 0), (2, 1), (0, 0))).transpose(0, 2, 1))
    np.testing.assert_array_equal(layers.ZeroPadding2D((1, 2))(x2).numpy(),
                                  np.pad(x2, ((0, 0), (1, 1), (2, 2), (0, 0))))
    np.testing.assert_array_equal(layers.ZeroPadding3D((1, (0, 2), 3))(x3).numpy(),
                                  np.pad(x3, ((0, 0), (1, 1), (0, 2), (3, 3), (0, 0))))
    first = layers.ZeroPadding3D(1, data_format="channels_first")(np.moveaxis(x3, -1, 1)).numpy()
    np.testing.assert_array_equal(np.moveaxis(first, 1, -1), np.pad(x3, ((0, 0), (1, 1), (1, 1), (1, 1), (0, 0))))


def test_cropping_undoes_zero_padding():
    x = _random((2, 4, 5, 6, 3))
    margins = ((1, 2), (0, 3), (2, 0))
    padded = layers.ZeroPadding3D(margins)(x)
    np.testing.assert_array_equal(layers.Cropping3D(margins)(padded).numpy(), x)


def test_margin_configs_have_keras_keys_and_forms():
    base = {"trainable": True, "dtype": "float32"}
    assert layers.ZeroPadding1D(2, name="z").get_config() == {
        **base, "name": "z", "padding": (2, 2), "data_format": "channels_last"}
    assert layers.Cropping1D(name="c").get_config() == {**base, "name": "c", "cropping": (1, 1)}
    assert layers.Cropping2D(1, name="c2").get_config()["cropping"] == ((1, 1), (1, 1))
    assert layers.ZeroPadding3D(name="z3").get_config()["padding"] == ((1, 1), (1, 1), (1, 1))


def test_zero_padding_2d_keeps_its_old_import_path():
    from cnnlab.layers.core import ZeroPadding2D

    assert ZeroPadding2D is layers.ZeroPadding2D


@pytest.mark.parametrize("make", [
    lambda: layers.Cropping1D((3, 3)),
    lambda: layers.Cropping2D(((2, 2), (0, 0))),
    lambda: layers.Cropping3D((0, 0, (5, 0))),
])
def test_cropping_everything_away_is_a_shape_error(make):
    x = {1: _random((1, 6, 2)), 2: _random((1, 4, 4, 2)), 3: _random((1, 4, 4, 5, 2))}
    layer = make()
    with pytest.raises(ShapeError, match=r"removes all of the input .*Received: cropping="):
        layer(x[layer._rank])


def test_cropping_too_much_fails_at_model_build_time():
    inputs = layers.Input(shape=(4, 4, 1))
    with pytest.raises(ShapeError, match=r"Cropping2D .*cropping \(2, 2\) removes all of the input height \(4\)"):
        layers.Cropping2D(2)(inputs)


@pytest.mark.parametrize("cls, value", [
    (layers.ZeroPadding1D, (1, 2, 3)),
    (layers.ZeroPadding3D, (1, 2)),
    (layers.ZeroPadding3D, -1),
    (layers.Cropping2D, "1"),
    (layers.Cropping2D, ((1, 2), (1, 2, 3))),
    (layers.Cropping3D, (1, 2, 1.5)),
])
def test_bad_margins_are_config_errors_naming_the_forms(cls, value):
    arg = "cropping" if cls.__name__.startswith("Cropping") else "padding"
    with pytest.raises(ConfigError, match=rf"{cls.__name__} .*{arg} must be an int.*Received: {arg}="):
        cls(value)


# ----------------------------------------------------------------------------- Permute, RepeatVector, Identity


def test_permute_counts_axes_from_one():
    x = _random((2, 3, 4, 5))
    np.testing.assert_array_equal(layers.Permute((3, 1, 2))(x).numpy(), x.transpose(0, 3, 1, 2))
    assert layers.Permute((2, 1)).compute_output_shape((None, 10, 64)) == (None, 64, 10)


def test_permute_with_0_based_dims_suggests_the_1_based_ones():
    with pytest.raises(ConfigError, match=r"did you mean dims=\(2, 1\)\? Received: dims=\(1, 0\)"):
        layers.Permute((1, 0))
    with pytest.raises(ConfigError, match=r"permutation of 1..rank.*Received: dims=\(1, 1\)"):
        layers.Permute((1, 1))


def test_repeat_vector_repeats_each_sample():
    x = _random((2, 3))
    np.testing.assert_array_equal(layers.RepeatVector(4)(x).numpy(), np.repeat(x[:, None, :], 4, axis=1))
    with pytest.raises(ConfigError, match=r"RepeatVector .*n must be a positive int.*Received: n=0"):
        layers.RepeatVector(0)
    with pytest.raises(ShapeError, match="RepeatVector .* expects 2-D input"):
        layers.RepeatVector(2)(_random((2, 3, 4)))


def test_identity_returns_its_input():
    x = torch.from_numpy(_random((2, 5)))
    assert layers.Identity()(x) is x
    assert layers.Identity(name="skip").get_config() == {"name": "skip", "trainable": True, "dtype": "float32"}


def test_layers_chain_in_a_model_with_the_expected_shapes():
    from cnnlab import Sequential

    model = Sequential([
        layers.Input(shape=(5, 5, 2)), layers.ZeroPadding2D(((0, 1), (1, 0))),  # 6x6
        layers.MaxPooling2D(),  # 3x3
        layers.UpSampling2D((2, 3), interpolation="bilinear"),  # 6x9
        layers.Cropping2D(((1, 1), (0, 3))),  # 4x6
        layers.Identity(),
    ])
    assert model.output_shape == (None, 4, 6, 2)
    assert model(_random((2, 5, 5, 2))).shape == (2, 4, 6, 2)

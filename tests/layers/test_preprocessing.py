"""Resizing, CenterCrop, Normalization and Rescaling against NumPy references (TensorFlow's rules)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab import layers
from cnnlab.errors import ConfigError, DataError, ShapeError

RNG = np.random.default_rng(0)


# ------------------------------------------------------------------------------------- NumPy references
def resize_bilinear_reference(x, out_h, out_w):
    """tf.image.resize bilinear, half-pixel centres: source = (i + 0.5) * in / out - 0.5, edges clamped."""
    n, in_h, in_w, c = x.shape
    out = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        sy = max((i + 0.5) * in_h / out_h - 0.5, 0.0)
        y0 = int(np.floor(sy))
        y1, fy = min(y0 + 1, in_h - 1), sy - y0
        for j in range(out_w):
            sx = max((j + 0.5) * in_w / out_w - 0.5, 0.0)
            x0 = int(np.floor(sx))
            x1, fx = min(x0 + 1, in_w - 1), sx - x0
            top = x[:, y0, x0] * (1 - fx) + x[:, y0, x1] * fx
            bottom = x[:, y1, x0] * (1 - fx) + x[:, y1, x1] * fx
            out[:, i, j] = top * (1 - fy) + bottom * fy
    return out


def resize_nearest_reference(x, out_h, out_w):
    """tf.image.resize nearest, half-pixel centres: source = floor((i + 0.5) * in / out)."""
    in_h, in_w = x.shape[1:3]
    rows = [min(int(np.floor((i + 0.5) * in_h / out_h)), in_h - 1) for i in range(out_h)]
    cols = [min(int(np.floor((j + 0.5) * in_w / out_w)), in_w - 1) for j in range(out_w)]
    return x[:, rows][:, :, cols]


def centred_window(in_h, in_w, out_h, out_w):
    crop_h = max(min(in_h, int(in_w * out_h / out_w)), 1)
    crop_w = max(min(in_w, int(in_h * out_w / out_h)), 1)
    return crop_h, crop_w, (in_h - crop_h) // 2, (in_w - crop_w) // 2


# ---------------------------------------------------------------------------------------------- Resizing
@pytest.mark.parametrize("size", [(5, 7), (20, 9), (3, 3), (12, 10)])
def test_resizing_bilinear_follows_tf_half_pixel_rule(size):
    x = RNG.uniform(0, 255, (2, 12, 10, 3)).astype(np.float32)
    got = layers.Resizing(*size)(x).numpy()
    np.testing.assert_allclose(got, resize_bilinear_reference(x, *size), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("size", [(5, 7), (25, 21), (6, 5)])
def test_resizing_nearest_follows_tf_half_pixel_rule(size):
    x = RNG.uniform(0, 255, (2, 12, 10, 1)).astype(np.float32)
    got = layers.Resizing(*size, interpolation="nearest")(x).numpy()
    np.testing.assert_array_equal(got, resize_nearest_reference(x, *size))


def test_resizing_crop_to_aspect_ratio_crops_the_centre_first():
    x = RNG.uniform(0, 1, (1, 12, 6, 2)).astype(np.float32)
    crop_h, crop_w, top, left = centred_window(12, 6, 4, 4)
    want = resize_bilinear_reference(x[:, top:top + crop_h, left:left + crop_w], 4, 4)
    got = layers.Resizing(4, 4, crop_to_aspect_ratio=True)(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_resizing_pad_to_aspect_ratio_pads_both_sides_with_fill_value():
    x = RNG.uniform(0, 1, (1, 8, 4, 1)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (0, 0)), constant_values=-1.0)
    got = layers.Resizing(8, 8, pad_to_aspect_ratio=True, fill_value=-1.0)(x).numpy()
    np.testing.assert_allclose(got, padded, rtol=1e-6)


def test_resizing_takes_a_single_image_and_uint8_channels_first():
    image = RNG.integers(0, 256, (3, 12, 10)).astype(np.uint8)
    got = layers.Resizing(6, 5, data_format="channels_first")(image)
    assert tuple(got.shape) == (3, 6, 5) and got.numpy().dtype == np.uint8  # Keras keeps integer images' dtype
    want = resize_bilinear_reference(image.transpose(1, 2, 0)[None].astype(np.float32), 6, 5)[0]
    np.testing.assert_allclose(got.numpy().transpose(1, 2, 0), np.clip(np.round(want), 0, 255), atol=1)


def test_resizing_refuses_both_aspect_options_and_unknown_interpolation():
    with pytest.raises(ConfigError, match="only one of crop_to_aspect_ratio"):
        layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ConfigError, match="interpolation must be one of"):
        layers.Resizing(4, 4, interpolation="cubic")
    with pytest.raises(ConfigError, match="fill_mode must be one of 'constant'"):
        layers.Resizing(4, 4, fill_mode="reflect")
    with pytest.raises(ConfigError, match="height must be a positive int"):
        layers.Resizing(0, 4)


def test_image_layers_refuse_inputs_that_are_not_images():
    with pytest.raises(ShapeError, match="Add a channel axis"):
        layers.Resizing(4, 4)(np.zeros((2, 8, 8, 3, 1)))
    with pytest.raises(ShapeError, match="Add a channel axis"):
        layers.CenterCrop(4, 4)(np.zeros((8, 8)))


# -------------------------------------------------------------------------------------------- CenterCrop
def test_center_crop_takes_the_middle_with_the_odd_pixel_after():
    x = RNG.uniform(0, 1, (2, 9, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(layers.CenterCrop(4, 5)(x).numpy(), x[:, 2:6, 1:6])
    np.testing.assert_array_equal(layers.CenterCrop(4, 5)(x[0]).numpy(), x[0, 2:6, 1:6])


def test_center_crop_of_a_smaller_image_crops_to_aspect_and_resizes():
    x = RNG.uniform(0, 1, (1, 6, 10, 1)).astype(np.float32)
    crop_h, crop_w, top, left = centred_window(6, 10, 8, 8)
    want = resize_bilinear_reference(x[:, top:top + crop_h, left:left + crop_w], 8, 8)
    np.testing.assert_allclose(layers.CenterCrop(8, 8)(x).numpy(), want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ Normalization
def test_normalization_adapt_computes_mean_and_biased_variance_per_channel():
    data = RNG.normal(3.0, 2.0, (50, 4, 4, 3)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    mean, variance, count = norm.get_weights()
    np.testing.assert_allclose(mean, data.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(variance, data.var(axis=(0, 1, 2)), rtol=1e-5)
    assert count.shape == () and count.dtype == np.int64
    np.testing.assert_allclose(norm(data).numpy(), (data - mean) / np.sqrt(variance), rtol=1e-4, atol=1e-5)


def test_normalization_adapt_on_batches_equals_adapt_on_the_whole_array():
    data = RNG.normal(-1.0, 3.0, (31, 5, 2)).astype(np.float32)
    norm = layers.Normalization(axis=(1, 2))
    norm.adapt([(data[i:i + 8], None) for i in range(0, 31, 8)])
    np.testing.assert_allclose(norm.get_weights()[0], data.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm.get_weights()[1], data.var(axis=0), rtol=1e-5, atol=1e-6)


def test_normalization_with_given_stats_and_invert():
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    forward = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25])
    inverse = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25], invert=True)
    want = (x - np.array([1.0, 2.0, 3.0])) / np.array([2.0, 1.0, 0.5])
    np.testing.assert_allclose(forward(x).numpy(), want, rtol=1e-5)
    np.testing.assert_allclose(inverse(forward(x)).numpy(), x, rtol=1e-5, atol=1e-6)
    assert forward.weights == []


def test_normalization_floors_the_scale_at_keras_epsilon():
    norm = layers.Normalization(axis=None, mean=0.0, variance=0.0)
    np.testing.assert_allclose(norm(np.array([[1e-7]], np.float32)).numpy(), [[1.0]], rtol=1e-5)


def test_adapted_normalization_survives_keras_and_native_files(tmp_path):
    data = RNG.normal(5.0, 2.0, (20, 6, 6, 2)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    model = cnnlab.Sequential([layers.Input((6, 6, 2)), norm, layers.Flatten(), layers.Dense(2)])
    for name in ("m.keras", "m.cnnlab"):
        model.save(tmp_path / name)
        loaded = cnnlab.load_model(tmp_path / name)
        np.testing.assert_allclose(loaded.layers[0].get_weights()[0], norm.get_weights()[0])
        np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-5)


def test_normalization_errors_name_the_argument():
    with pytest.raises(ConfigError, match="give both mean and variance"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ConfigError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ConfigError, match="axis must be an int"):
        layers.Normalization(axis="channels")
    with pytest.raises(ConfigError, match="cannot change a mean and variance"):
        layers.Normalization(mean=1.0, variance=1.0).adapt(np.zeros((2, 3)))
    with pytest.raises(DataError, match="no data"):
        layers.Normalization().adapt([])
    norm = layers.Normalization()
    norm.adapt(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match="does not fit the layer"):
        norm.adapt(np.zeros((4, 5)))
    with pytest.raises(ShapeError, match="does not fit inputs"):
        layers.Normalization(axis=3)(np.zeros((2, 3)))

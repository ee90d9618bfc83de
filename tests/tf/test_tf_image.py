"""tf.image through ``import cnnlab as tf`` against NumPy references of TF2's rules (half-pixel centres, dtype scaling)."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

RNG = np.random.default_rng(5)
IMAGE = RNG.uniform(size=(5, 7, 3)).astype(np.float32)


def numpy_resize_bilinear(image, out_h, out_w):
    """TF2 bilinear: sample at ((i + 0.5) * in / out - 0.5), clamp to the edge, blend the 4 neighbours."""
    in_h, in_w = image.shape[:2]

    def taps(out_size, in_size):
        centre = np.maximum((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0)
        low = np.floor(centre).astype(int)
        return low, np.minimum(low + 1, in_size - 1), centre - low

    y0, y1, wy = taps(out_h, in_h)
    x0, x1, wx = taps(out_w, in_w)
    top = image[y0][:, x0] * (1 - wx)[None, :, None] + image[y0][:, x1] * wx[None, :, None]
    bottom = image[y1][:, x0] * (1 - wx)[None, :, None] + image[y1][:, x1] * wx[None, :, None]
    return top * (1 - wy)[:, None, None] + bottom * wy[:, None, None]


def numpy_resize_nearest(image, out_h, out_w):
    """TF2 nearest: index floor((i + 0.5) * in / out), the input pixel whose area holds the output centre."""
    rows = np.minimum(np.floor((np.arange(out_h) + 0.5) * image.shape[0] / out_h).astype(int), image.shape[0] - 1)
    cols = np.minimum(np.floor((np.arange(out_w) + 0.5) * image.shape[1] / out_w).astype(int), image.shape[1] - 1)
    return image[rows][:, cols]


@pytest.mark.parametrize("size", [(10, 14), (3, 4), (8, 5)])
def test_resize_bilinear_and_nearest_match_numpy_half_pixel_centres(size):
    np.testing.assert_allclose(tf.image.resize(IMAGE, size).numpy(), numpy_resize_bilinear(IMAGE, *size),
                               rtol=1e-5, atol=1e-6)
    nearest = tf.image.resize(IMAGE, size, method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
    np.testing.assert_array_equal(nearest.numpy(), numpy_resize_nearest(IMAGE, *size))


def test_resize_takes_batches_and_returns_float32_except_nearest():
    batch = (IMAGE[None] * 255).astype(np.uint8).repeat(2, axis=0)
    assert tf.image.resize(batch, [4, 4]).dtype == tf.float32 and tf.image.resize(batch, [4, 4]).shape == (2, 4, 4, 3)
    assert tf.image.resize(batch, [4, 4], method="nearest").dtype == tf.uint8
    assert tf.image.resize(IMAGE, [20, 20], preserve_aspect_ratio=True).shape == (14, 20, 3)


def test_resize_errors_name_the_method_and_the_rank():
    with pytest.raises(ConfigError, match="Did you mean 'bilinear'"):
        tf.image.resize(IMAGE, [4, 4], method="bilinaer")
    with pytest.raises(ConfigError, match="not available in cnnlab"):
        tf.image.resize(IMAGE, [4, 4], method="lanczos3")
    with pytest.raises(ShapeError, match="add a channel axis"):
        tf.image.resize(IMAGE[..., 0], [4, 4])
    with pytest.raises(ConfigError, match="positive"):
        tf.image.resize(IMAGE, [0, 4])
    with pytest.raises(AttributeError, match="Did you mean 'resize'"):
        tf.image.resise  # noqa: B018


def test_convert_image_dtype_scales_like_tensorflow():
    pixels = np.array([0, 1, 128, 255], np.uint8).reshape(1, 4, 1)
    np.testing.assert_allclose(tf.image.convert_image_dtype(pixels, tf.float32).numpy(), pixels / 255.0, rtol=1e-6)
    floats = np.array([0.0, 0.5, 1.0, 1.2], np.float32).reshape(1, 4, 1)
    # float -> uint8 multiplies by 255.5 and truncates; saturate clips first.
    expected = np.clip(floats * 255.5, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(tf.image.convert_image_dtype(floats, tf.uint8, saturate=True).numpy(), expected)
    assert tf.image.convert_image_dtype(pixels, tf.uint8) is not None
    np.testing.assert_array_equal(tf.image.convert_image_dtype(pixels, tf.int16).numpy(), pixels.astype(np.int16) * 128)
    with pytest.raises(ConfigError, match="integer or float"):
        tf.image.convert_image_dtype(pixels, tf.bool)


def test_flips_rotations_and_crops_against_numpy():
    batch = np.stack([IMAGE, IMAGE[::-1]])
    np.testing.assert_array_equal(tf.image.flip_left_right(IMAGE).numpy(), IMAGE[:, ::-1])
    np.testing.assert_array_equal(tf.image.flip_up_down(batch).numpy(), batch[:, ::-1])
    np.testing.assert_array_equal(tf.image.rot90(IMAGE).numpy(), np.rot90(IMAGE, 1, axes=(0, 1)))
    np.testing.assert_array_equal(tf.image.rot90(batch, k=3).numpy(), np.rot90(batch, 3, axes=(1, 2)))
    np.testing.assert_array_equal(tf.image.central_crop(IMAGE, 0.5).numpy(), IMAGE[1:4, 1:6])
    padded = tf.image.resize_with_crop_or_pad(IMAGE, 9, 3).numpy()
    np.testing.assert_array_equal(padded, np.pad(IMAGE[:, 2:5], [(2, 2), (0, 0), (0, 0)]))
    with pytest.raises(ConfigError, match="central_fraction"):
        tf.image.central_crop(IMAGE, 0.0)
    with pytest.raises(ShapeError, match="inside the image"):
        tf.image.crop_to_bounding_box(IMAGE, 3, 0, 4, 2)
    with pytest.raises(ShapeError, match="hold the whole image"):
        tf.image.pad_to_bounding_box(IMAGE, 1, 0, 5, 7)


def test_random_flips_decide_per_image_and_repeat_with_a_seed():
    batch = np.stack([IMAGE] * 16)
    out = tf.image.random_flip_left_right(batch, seed=4).numpy()
    flipped = [bool(np.array_equal(o, IMAGE[:, ::-1])) for o in out]
    assert all(f or np.array_equal(o, IMAGE) for f, o in zip(flipped, out)) and 0 < sum(flipped) < 16
    np.testing.assert_array_equal(out, tf.image.random_flip_left_right(batch, seed=4).numpy())
    assert tf.image.random_flip_up_down(IMAGE).shape == IMAGE.shape
    assert tf.image.random_crop(IMAGE, [2, 3, 3]).shape == (2, 3, 3)


def test_colour_and_standardisation_against_numpy():
    gray = tf.image.rgb_to_grayscale(IMAGE).numpy()
    np.testing.assert_allclose(gray[..., 0], IMAGE @ np.array([0.2989, 0.5870, 0.1140]), rtol=1e-5)
    assert tf.image.grayscale_to_rgb(gray).shape == (5, 7, 3)
    with pytest.raises(ShapeError, match="3 channels"):
        tf.image.rgb_to_grayscale(gray)
    np.testing.assert_allclose(tf.image.adjust_brightness(IMAGE, 0.1).numpy(), IMAGE + 0.1, rtol=1e-6)
    mean = IMAGE.mean((0, 1))
    np.testing.assert_allclose(tf.image.adjust_contrast(IMAGE, 2.0).numpy(), (IMAGE - mean) * 2 + mean, atol=1e-6)
    std = max(IMAGE.std(), 1 / np.sqrt(IMAGE.size))
    np.testing.assert_allclose(tf.image.per_image_standardization(IMAGE).numpy(), (IMAGE - IMAGE.mean()) / std,
                               rtol=1e-4, atol=1e-5)


def test_misspelt_image_keyword_names_the_right_one():
    with pytest.raises(ArgumentTypeError, match="Did you mean 'method'"):
        tf.image.resize(IMAGE, [4, 4], methd="nearest")

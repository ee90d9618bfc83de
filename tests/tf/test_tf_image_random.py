"""tf.image's HSV family against NumPy references of TF's formulas, and the random/stateless augmentations.

The stateless ops' values are cnnlab's own (TF's Philox stream is not reproduced), so they are checked for
what TF promises: the same seed gives the same result, different seeds differ, and values stay in range.
"""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

RNG = np.random.default_rng(11)
# Random colours plus the cases with special rules: greys (hue 0), black (saturation 0) and ties for the max.
SPECIAL = np.array([[0.5, 0.5, 0.5], [0, 0, 0], [1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 0, 0], [0.2, 0.7, 0.7]])
IMAGE = np.concatenate([RNG.uniform(size=(5 * 9 - len(SPECIAL), 3)), SPECIAL]).reshape(5, 9, 3).astype(np.float32)
UINT8 = RNG.integers(0, 256, size=(2, 6, 7, 3)).astype(np.uint8)


def numpy_rgb_to_hsv(rgb):
    """Textbook hexcone: hue from the channel holding the max (red first on ties), in sixths of the circle."""
    rgb = np.asarray(rgb, np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v = rgb.max(-1)
    c = v - rgb.min(-1)
    s = np.divide(c, v, out=np.zeros_like(v), where=v > 0)
    safe = np.where(c > 0, c, 1)
    h = np.select([c == 0, r == v, g == v], [0.0, ((g - b) / safe) % 6, (b - r) / safe + 2], (r - g) / safe + 4)
    return np.stack([h / 6, s, v], -1)


def numpy_hsv_to_rgb(hsv):
    """Sextant form: chroma c = s * v, x = c * (1 - |h' mod 2 - 1|), then add m = v - c to every channel."""
    hsv = np.asarray(hsv, np.float64)
    h, s, v = hsv[..., 0] * 6, hsv[..., 1], hsv[..., 2]
    c = s * v
    x = c * (1 - np.abs(h % 2 - 1))
    zero = np.zeros_like(c)
    sextant = np.floor(h).astype(int) % 6
    table = [(c, x, zero), (x, c, zero), (zero, c, x), (zero, x, c), (x, zero, c), (c, zero, x)]
    rgb = np.stack([np.choose(sextant, [t[i] for t in table]) for i in range(3)], -1)
    return rgb + (v - c)[..., None]


def numpy_in_float(image, adjust):
    """TF's dtype rule for colour adjustments: uint8 -> x / 255, adjust, -> x * 255.5 truncated, saturated."""
    if image.dtype != np.uint8:
        return adjust(image.astype(np.float64))
    out = adjust(image / 255.0)
    return np.clip(out * 255.5, 0, 255).astype(np.uint8)


def numpy_adjust_saturation(image, factor):
    def adjust(x):
        hsv = numpy_rgb_to_hsv(x)
        hsv[..., 1] = np.clip(hsv[..., 1] * factor, 0, 1)
        return numpy_hsv_to_rgb(hsv)

    return numpy_in_float(image, adjust)


def numpy_adjust_hue(image, delta):
    def adjust(x):
        hsv = numpy_rgb_to_hsv(x)
        hsv[..., 0] = (hsv[..., 0] + delta) % 1.0
        return numpy_hsv_to_rgb(hsv)

    return numpy_in_float(image, adjust)


# --------------------------------------------------------------------------- HSV numerics


def test_rgb_to_hsv_matches_numpy_reference_including_greys_and_ties():
    out = tf.image.rgb_to_hsv(IMAGE)
    assert out.dtype == tf.float32 and tuple(out.shape) == IMAGE.shape
    np.testing.assert_allclose(out.numpy(), numpy_rgb_to_hsv(IMAGE), atol=1e-6)
    assert np.all((out.numpy()[..., 0] >= 0) & (out.numpy()[..., 0] < 1))


def test_hsv_to_rgb_matches_numpy_reference_and_inverts_rgb_to_hsv():
    hsv = RNG.uniform(size=(4, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(tf.image.hsv_to_rgb(hsv).numpy(), numpy_hsv_to_rgb(hsv), atol=1e-6)
    np.testing.assert_allclose(tf.image.hsv_to_rgb(tf.image.rgb_to_hsv(IMAGE)).numpy(), IMAGE, atol=1e-6)


def test_hsv_conversions_keep_float64():
    assert tf.image.rgb_to_hsv(IMAGE.astype(np.float64)).dtype == tf.float64
    assert tf.image.hsv_to_rgb(IMAGE.astype(np.float64)).dtype == tf.float64


@pytest.mark.parametrize("factor", [0.0, 0.4, 3])
@pytest.mark.parametrize("image", [IMAGE, UINT8], ids=["float32", "uint8"])
def test_adjust_saturation_matches_numpy_reference(image, factor):
    out = tf.image.adjust_saturation(image, factor)
    assert out.dtype == tf.as_dtype(image.dtype)
    expected = numpy_adjust_saturation(image, factor)
    np.testing.assert_allclose(out.numpy().astype(np.float64), expected, atol=1e-5 if image is IMAGE else 1)


@pytest.mark.parametrize("delta", [0.3, -0.7, 1.0, 0.0])
@pytest.mark.parametrize("image", [IMAGE, UINT8], ids=["float32", "uint8"])
def test_adjust_hue_matches_numpy_reference(image, delta):
    out = tf.image.adjust_hue(image, delta)
    expected = numpy_adjust_hue(image, delta)
    np.testing.assert_allclose(out.numpy().astype(np.float64), expected, atol=1e-5 if image is IMAGE else 1)


def test_adjust_saturation_zero_gives_the_value_channel_as_grey():
    grey = tf.image.adjust_saturation(IMAGE, 0.0).numpy()
    np.testing.assert_allclose(grey, np.repeat(IMAGE.max(-1, keepdims=True), 3, -1), atol=1e-6)


def test_adjust_hue_rejects_delta_outside_minus_one_to_one():
    with pytest.raises(ConfigError, match=r"delta must be in \[-1, 1\].*Received: delta=1.5"):
        tf.image.adjust_hue(IMAGE, 1.5)


def test_rgb_to_hsv_refuses_integer_images_with_the_conversion_to_write():
    with pytest.raises(ConfigError, match="convert_image_dtype"):
        tf.image.rgb_to_hsv(UINT8)


@pytest.mark.parametrize("name", ["rgb_to_hsv", "hsv_to_rgb", "adjust_saturation", "adjust_hue"])
def test_hsv_family_requires_three_channels(name):
    args = (IMAGE[..., :2],) + ((0.5,) if name.startswith("adjust") else ())
    with pytest.raises(ShapeError, match="3 channels"):
        getattr(tf.image, name)(*args)


# --------------------------------------------------------------------------- random and stateless augmentations

# (name, arguments after the image); each takes seed= too.
STATELESS = [
    ("stateless_random_brightness", {"max_delta": 0.5}),
    ("stateless_random_contrast", {"lower": 0.1, "upper": 0.9}),
    ("stateless_random_saturation", {"lower": 0.2, "upper": 3.0}),
    ("stateless_random_hue", {"max_delta": 0.5}),
    ("stateless_random_crop", {"size": [3, 4, 3]}),
]
BATCH = RNG.uniform(size=(16, 5, 6, 3)).astype(np.float32)


@pytest.mark.parametrize("name,kwargs", STATELESS, ids=[n for n, _ in STATELESS])
def test_stateless_op_repeats_with_the_same_seed_and_changes_with_another(name, kwargs):
    op = getattr(tf.image, name)
    first = op(IMAGE, **kwargs, seed=(1, 2)).numpy()
    np.testing.assert_array_equal(first, op(IMAGE, **kwargs, seed=tf.constant([1, 2])).numpy())
    others = [op(IMAGE, **kwargs, seed=(i, 0)).numpy() for i in range(3, 8)]
    assert any(not np.array_equal(first, other) for other in others)


@pytest.mark.parametrize("name", ["stateless_random_flip_left_right", "stateless_random_flip_up_down"])
def test_stateless_flips_decide_per_image_and_repeat_with_the_seed(name):
    axis = 2 if name.endswith("left_right") else 1
    out = getattr(tf.image, name)(BATCH, seed=(5, 6)).numpy()
    flipped = [np.array_equal(o, np.flip(b, axis - 1)) for o, b in zip(out, BATCH)]
    kept = [np.array_equal(o, b) for o, b in zip(out, BATCH)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    np.testing.assert_array_equal(out, getattr(tf.image, name)(BATCH, seed=(5, 6)).numpy())


def test_stateless_brightness_adds_one_delta_within_max_delta():
    out = tf.image.stateless_random_brightness(IMAGE, max_delta=0.3, seed=(4, 0)).numpy()
    delta = out - IMAGE
    assert np.ptp(delta) < 1e-6 and abs(delta.flat[0]) <= 0.3


def test_stateless_contrast_factor_lies_between_lower_and_upper():
    out = tf.image.stateless_random_contrast(IMAGE, lower=0.2, upper=0.5, seed=(9, 9)).numpy()
    mean = IMAGE.mean((0, 1))
    factor = ((out - mean) / (IMAGE - mean)).ravel()
    assert np.ptp(factor) < 1e-3 and 0.2 <= factor[0] < 0.5


def test_stateless_crop_is_a_window_of_the_input():
    big = np.arange(20 * 30 * 3, dtype=np.float32).reshape(20, 30, 3)
    for i in range(4):
        out = tf.image.stateless_random_crop(big, size=[7, 11, 3], seed=(i, 0)).numpy()
        top, left = divmod(int(out[0, 0, 0]) // 3, 30)
        np.testing.assert_array_equal(out, big[top:top + 7, left:left + 11])


def test_stateless_ops_keep_uint8_images_uint8():
    out = tf.image.stateless_random_saturation(UINT8, lower=0.5, upper=1.5, seed=(1, 1))
    assert out.dtype == tf.uint8 and tuple(out.shape) == UINT8.shape


def test_random_saturation_and_hue_repeat_with_an_int_seed():
    a = tf.image.random_saturation(IMAGE, 0.5, 2.0, seed=3).numpy()
    np.testing.assert_array_equal(a, tf.image.random_saturation(IMAGE, 0.5, 2.0, seed=3).numpy())
    b = tf.image.random_hue(IMAGE, 0.2, seed=3).numpy()
    np.testing.assert_array_equal(b, tf.image.random_hue(IMAGE, 0.2, seed=3).numpy())
    # Hue rotation keeps each pixel's max and min channel values.
    np.testing.assert_allclose(np.sort(b, -1)[..., ::2], np.sort(IMAGE, -1)[..., ::2], atol=1e-6)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("seed", [(1, 2, 3), (1,), [[1, 2]]])
def test_stateless_op_rejects_a_seed_not_of_shape_two(seed):
    with pytest.raises(ShapeError, match=r"seed must have shape \[2\]"):
        tf.image.stateless_random_brightness(IMAGE, max_delta=0.1, seed=seed)


def test_stateless_op_rejects_a_float_seed():
    with pytest.raises(ArgumentTypeError, match="seed must hold integers"):
        tf.image.stateless_random_flip_left_right(IMAGE, seed=(1.5, 2.0))


def test_stateless_op_without_seed_names_the_missing_argument():
    with pytest.raises(ArgumentTypeError, match="seed"):
        tf.image.stateless_random_crop(IMAGE, size=[2, 2, 3])


@pytest.mark.parametrize("name", ["stateless_random_contrast", "stateless_random_saturation",
                                  "random_contrast", "random_saturation"])
def test_contrast_and_saturation_reject_lower_above_upper(name):
    extra = {"seed": (1, 2)} if name.startswith("stateless") else {}
    with pytest.raises(ConfigError, match=r"0 <= lower < upper.*Received: lower=0.9, upper=0.1"):
        getattr(tf.image, name)(IMAGE, lower=0.9, upper=0.1, **extra)


def test_saturation_rejects_a_negative_lower():
    with pytest.raises(ConfigError, match="lower < upper"):
        tf.image.stateless_random_saturation(IMAGE, lower=-0.5, upper=1.0, seed=(1, 2))


@pytest.mark.parametrize("name", ["stateless_random_brightness", "stateless_random_hue", "random_hue"])
def test_max_delta_must_not_be_negative(name):
    extra = {"seed": (1, 2)} if name.startswith("stateless") else {}
    with pytest.raises(ConfigError, match="max_delta must be >= 0"):
        getattr(tf.image, name)(IMAGE, max_delta=-0.1, **extra)


def test_hue_max_delta_above_one_half_is_refused():
    with pytest.raises(ConfigError, match="max_delta must be <= 0.5"):
        tf.image.stateless_random_hue(IMAGE, max_delta=0.6, seed=(1, 2))


@pytest.mark.parametrize("size", [[6, 4, 3], [3, 4], [3, 4, 4]])
def test_stateless_crop_rejects_a_size_that_does_not_fit(size):
    with pytest.raises(ShapeError, match="no larger than value's shape"):
        tf.image.stateless_random_crop(IMAGE, size=size, seed=(1, 2))


def test_stateless_jpeg_quality_says_it_is_not_provided():
    with pytest.raises(ConfigError, match="not provided by cnnlab"):
        tf.image.stateless_random_jpeg_quality(UINT8[0], 50, 90, seed=(1, 2))

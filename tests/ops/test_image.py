"""cnnlab.ops.image against NumPy references of TensorFlow's pixel arithmetic."""

import numpy as np
import pytest
import torch

from cnnlab import ops
from cnnlab.errors import ConfigError, ShapeError

RNG = np.random.default_rng(3)
IMAGES = RNG.uniform(size=(2, 5, 7, 3))


def _close(got, expected, tol=1e-6):
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=tol, atol=tol)


def _np_resize_bilinear(x, out_h, out_w):
    """Half-pixel centres, edge-clamped neighbours (tf.image.resize 'bilinear')."""
    n, h, w, c = x.shape

    def axis(out, size):
        centre = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, None)
        low = np.floor(centre).astype(int)
        return np.minimum(low, size - 1), np.minimum(low + 1, size - 1), centre - low

    y0, y1, fy = axis(out_h, h)
    x0, x1, fx = axis(out_w, w)
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bottom = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bottom * fy[None, :, None, None]


@pytest.mark.parametrize("size", [(10, 14), (3, 4), (5, 9)])
def test_bilinear_resize_matches_half_pixel_reference(size):
    _close(ops.image.resize(IMAGES, size), _np_resize_bilinear(IMAGES, *size))


def test_nearest_resize_picks_floor_of_half_pixel_centre_and_keeps_dtype():
    x = np.arange(5 * 7, dtype="uint8").reshape(1, 5, 7, 1)
    rows = np.floor((np.arange(3) + 0.5) * 5 / 3).astype(int)
    cols = np.floor((np.arange(4) + 0.5) * 7 / 4).astype(int)
    got = ops.image.resize(x, (3, 4), interpolation="nearest")
    assert got.dtype == torch.uint8
    _close(got, x[:, rows][:, :, cols])


def test_area_resize_by_an_integer_factor_is_block_mean():
    x = RNG.uniform(size=(1, 4, 6, 2))
    _close(ops.image.resize(x, (2, 3), interpolation="area"), x.reshape(1, 2, 2, 3, 2, 2).mean((2, 4)))


def test_bicubic_resize_keeps_constant_images_constant():
    _close(ops.image.resize(np.full((1, 4, 5, 1), 0.7), (9, 3), interpolation="bicubic"), np.full((1, 9, 3, 1), 0.7))


def test_crop_and_pad_to_aspect_ratio():
    x = np.arange(4 * 8, dtype="float64").reshape(1, 4, 8, 1)
    # Crop to the 1:1 target: the centre 4x4 block, then an identity resize.
    _close(ops.image.resize(x, (4, 4), crop_to_aspect_ratio=True), x[:, :, 2:6])
    # Pad to 1:1 with fill_value: two rows above and below.
    padded = ops.image.resize(x, (8, 8), pad_to_aspect_ratio=True, fill_value=-1.0)
    _close(padded, np.pad(x, ((0, 0), (2, 2), (0, 0), (0, 0)), constant_values=-1.0))


def test_resize_single_image_and_channels_first():
    single = ops.image.resize(IMAGES[0], (10, 14))
    _close(single, _np_resize_bilinear(IMAGES, 10, 14)[0])
    nchw = ops.image.resize(IMAGES.transpose(0, 3, 1, 2), (10, 14), data_format="channels_first")
    _close(nchw, _np_resize_bilinear(IMAGES, 10, 14).transpose(0, 3, 1, 2))


def _np_affine(x, t, interpolation, fill_mode, fill_value):
    """A per-pixel loop of tf.raw_ops.ImageProjectiveTransformV3."""
    n, h, w, c = x.shape
    out = np.zeros_like(x)

    def fold(v, size):
        if fill_mode == "nearest":
            return min(max(v, 0), size - 1)
        if fill_mode == "wrap":
            if v < 0:
                v += size * (int(-v / (size - 1)) + 1)
            elif v > size - 1:
                v -= size * int(v / (size - 1))
            return min(max(v, 0), size - 1)
        if fill_mode == "reflect":
            if v < 0:
                v = 2 * size * int(-v / (2 * size)) + v
                v = v + 2 * size if v < -size else -v - 1
            elif v > size - 1:
                v -= 2 * size * int(v / (2 * size))
                v = 2 * size - v - 1 if v >= size else v
            return min(max(v, 0), size - 1)
        return v

    def read(b, yy, xx, ch):
        return x[b, yy, xx, ch] if 0 <= yy < h and 0 <= xx < w else fill_value

    for b in range(n):
        a = t[b if len(t) > 1 else 0]
        for i in range(h):
            for j in range(w):
                k = a[6] * j + a[7] * i + 1
                px, py = fold((a[0] * j + a[1] * i + a[2]) / k, w), fold((a[3] * j + a[4] * i + a[5]) / k, h)
                for ch in range(c):
                    if interpolation == "nearest":
                        out[b, i, j, ch] = read(b, int(np.sign(py) * np.floor(abs(py) + 0.5)),
                                                int(np.sign(px) * np.floor(abs(px) + 0.5)), ch)
                    else:
                        y0, x0 = int(np.floor(py)), int(np.floor(px))
                        fy, fx = py - y0, px - x0
                        out[b, i, j, ch] = ((1 - fy) * ((1 - fx) * read(b, y0, x0, ch) + fx * read(b, y0, x0 + 1, ch))
                                            + fy * ((1 - fx) * read(b, y0 + 1, x0, ch) + fx * read(b, y0 + 1, x0 + 1, ch)))
    return out


TRANSFORMS = np.array([[1.1, 0.2, -1.5, 0.1, 0.9, 2.3, 0.01, -0.02], [0.7, -0.3, 4, 0.3, 1.2, -3, 0, 0]])


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "reflect"])
def test_affine_transform_matches_tf_reference(interpolation, fill_mode):
    got = ops.image.affine_transform(IMAGES, TRANSFORMS, interpolation, fill_mode, fill_value=0.5)
    _close(got, _np_affine(IMAGES, TRANSFORMS, interpolation, fill_mode, 0.5), 1e-5)


def test_affine_identity_and_translation():
    identity = [1, 0, 0, 0, 1, 0, 0, 0]
    _close(ops.image.affine_transform(IMAGES, identity), IMAGES, 1e-6)
    shifted = ops.image.affine_transform(IMAGES, [1, 0, -1, 0, 1, 0, 0, 0])  # output x reads input x - 1
    _close(shifted[:, :, 1:], IMAGES[:, :, :-1], 1e-6)
    _close(shifted[:, :, 0], 0.0)


@pytest.mark.parametrize("size, strides, padding", [(2, None, "valid"), (3, 2, "same"), ((2, 3), (1, 2), "valid")])
def test_extract_patches_matches_numpy(size, strides, padding):
    ph, pw = (size, size) if isinstance(size, int) else size
    sh, sw = (ph, pw) if strides is None else ((strides, strides) if isinstance(strides, int) else strides)
    x = IMAGES
    if padding == "same":
        def pads(n, k, s):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            return total // 2, total - total // 2
        x = np.pad(x, ((0, 0), pads(5, ph, sh), pads(7, pw, sw), (0, 0)))
    rows, cols = (x.shape[1] - ph) // sh + 1, (x.shape[2] - pw) // sw + 1
    expected = np.stack([np.stack([x[:, i * sh:i * sh + ph, j * sw:j * sw + pw].reshape(2, -1) for j in range(cols)], 1)
                         for i in range(rows)], 1)
    _close(ops.image.extract_patches(IMAGES, size, strides, padding=padding), expected)


def test_grayscale_pad_and_crop_match_numpy():
    _close(ops.image.rgb_to_grayscale(IMAGES), (IMAGES @ [0.2989, 0.5870, 0.1140])[..., None])
    _close(ops.image.pad_images(IMAGES, 1, 2, target_height=8, target_width=10),
           np.pad(IMAGES, ((0, 0), (1, 2), (2, 1), (0, 0))))
    _close(ops.image.crop_images(IMAGES, 1, 2, bottom_cropping=1, right_cropping=3), IMAGES[:, 1:4, 2:4])


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_map_coordinates_matches_scipy_style_reference(order, fill_mode):
    image = RNG.uniform(size=(4, 5))
    coords = np.stack(np.meshgrid(np.linspace(-2, 6, 7), np.linspace(-1.5, 5.5, 6), indexing="ij"))

    def fold(i, size):
        if fill_mode == "nearest":
            return min(max(i, 0), size - 1)
        if fill_mode == "wrap":
            return i % size
        if fill_mode == "mirror":
            i %= 2 * size - 2
            return 2 * size - 2 - i if i >= size else i
        if fill_mode == "reflect":
            i %= 2 * size
            return 2 * size - 1 - i if i >= size else i
        return i

    def value(i, j):
        i, j = fold(i, 4), fold(j, 5)
        return image[i, j] if 0 <= i < 4 and 0 <= j < 5 else 0.25

    expected = np.zeros(coords.shape[1:])
    for idx in np.ndindex(*coords.shape[1:]):
        y, x = coords[0][idx], coords[1][idx]
        if order == 0:
            expected[idx] = value(int(np.floor(y + 0.5)), int(np.floor(x + 0.5)))
        else:
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            fy, fx = y - y0, x - x0
            expected[idx] = ((1 - fy) * ((1 - fx) * value(y0, x0) + fx * value(y0, x0 + 1))
                             + fy * ((1 - fx) * value(y0 + 1, x0) + fx * value(y0 + 1, x0 + 1)))
    _close(ops.image.map_coordinates(image, coords, order, fill_mode, 0.25), expected)


def test_image_errors_name_the_argument():
    with pytest.raises(ConfigError, match="Did you mean 'bilinear'.*Received: interpolation='billinear'"):
        ops.image.resize(IMAGES, (4, 4), interpolation="billinear")
    with pytest.raises(ConfigError, match="only one of crop_to_aspect_ratio"):
        ops.image.resize(IMAGES, (4, 4), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ConfigError, match="Received: size=4"):
        ops.image.resize(IMAGES, 4)
    with pytest.raises(ShapeError, match="rank 3 .* or 4"):
        ops.image.resize(IMAGES[0, 0], (4, 4))
    with pytest.raises(ShapeError, match=r"transform must have shape \(8,\)"):
        ops.image.affine_transform(IMAGES, [1, 0, 0])
    with pytest.raises(ConfigError, match="Received: fill_mode='mirror'"):
        ops.image.affine_transform(IMAGES, [1, 0, 0, 0, 1, 0, 0, 0], fill_mode="mirror")
    with pytest.raises(ConfigError, match="exactly two of top_padding"):
        ops.image.pad_images(IMAGES, 1, 1, 1, 1, target_height=9)
    with pytest.raises(ConfigError, match="order"):
        ops.image.map_coordinates(IMAGES[0, :, :, 0], [[0], [0]], order=3)

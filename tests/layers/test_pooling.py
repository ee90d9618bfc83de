"""Pooling layers against NumPy references with TensorFlow's padding rules."""

import numpy as np
import pytest
from numpy_reference import pool2d_nhwc

from cnnlab import layers

TOL = dict(rtol=1e-5, atol=1e-5)
POOLS = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "size, pool, strides, padding",
    [
        (8, 2, None, "valid"),
        (9, 3, 2, "valid"),
        (7, 2, None, "valid"),  # the last row/column is dropped
        (7, 2, None, "same"),  # odd input: one padded row/column at the bottom/right
        (8, 3, 2, "same"),  # even input, stride 2: total padding 1, at the bottom/right
        (6, 3, 1, "same"),
        (28, 3, None, "valid"),
    ],
)
def test_pooling_matches_numpy_reference(kind, size, pool, strides, padding):
    x = _random((2, size, size, 3))
    layer = POOLS[kind](pool, strides=strides, padding=padding)
    got = layer(x).detach().numpy()
    s = pool if strides is None else strides
    expected = pool2d_nhwc(x, kind, (pool, pool), (s, s), padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


def test_average_pooling_same_leaves_padding_out_of_the_average():
    # 1..9 in a 3x3 grid, pool 2, stride 2, 'same': one padded row/column at the bottom/right.
    # [[ (1+2+4+5)/4, (3+6)/2 ], [ (7+8)/2, 9/1 ]] = [[3, 4.5], [7.5, 9]]
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    got = layers.AveragePooling2D(2, padding="same")(x).detach().numpy()
    np.testing.assert_allclose(got[0, :, :, 0], [[3, 4.5], [7.5, 9]], **TOL)


def test_max_pooling_same_never_picks_the_padding():
    # All values negative: a zero from padding would win if padding were counted.
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    got = layers.MaxPooling2D(2, padding="same")(x).detach().numpy()
    np.testing.assert_array_equal(got[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_pooling_strides_default_to_pool_size():
    assert layers.MaxPooling2D(3).strides == (3, 3)
    assert layers.AveragePooling2D((2, 3)).strides == (2, 3)


def test_channels_first_pooling_matches_channels_last_reference():
    x_last = _random((2, 7, 7, 3))
    got = layers.MaxPooling2D(2, padding="same", data_format="channels_first")(x_last.transpose(0, 3, 1, 2))
    expected = pool2d_nhwc(x_last, "max", (2, 2), (2, 2), "same").transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got.detach().numpy(), expected, **TOL)


def test_global_average_and_max_pooling_reduce_height_and_width():
    x = _random((2, 5, 4, 3))
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)), **TOL)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D()(x).numpy(), x.max(axis=(1, 2)), **TOL)
    kept = layers.GlobalAveragePooling2D(keepdims=True)(x).numpy()
    np.testing.assert_allclose(kept, x.mean(axis=(1, 2), keepdims=True), **TOL)
    first = layers.GlobalMaxPooling2D(data_format="channels_first")(x.transpose(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(first, x.max(axis=(1, 2)), **TOL)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("height, width, padding", [(8, 8, "valid"), (7, 9, "valid"), (6, 10, "same"), (7, 7, "same")])
def test_inference_max_pooling_2x2_equals_the_training_kernel(data_format, height, width, padding):
    """Without autograd, 2x2/2 max pooling runs as two elementwise maxima: exactly F.max_pool2d's values."""
    import torch

    shape = (3, height, width, 5) if data_format == "channels_last" else (3, 5, height, width)
    x = torch.from_numpy(_random(shape, seed=height * width))
    x[0].view(-1)[::7] = float("nan")
    x[1].view(-1)[::5] = float("-inf")
    layer = layers.MaxPooling2D(2, padding=padding, data_format=data_format)
    with torch.no_grad():
        fast = layer(x)
    slow = layer(x.clone().requires_grad_()).detach()  # the F.max_pool2d path, as in training
    assert fast.shape == slow.shape
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())  # NaN in the same places, values bit for bit
    nhwc = x.numpy() if data_format == "channels_last" else x.numpy().transpose(0, 2, 3, 1)
    clean = np.nan_to_num(nhwc, nan=0.0, neginf=-1e30)
    expected = pool2d_nhwc(clean, "max", (2, 2), (2, 2), padding)
    got = layer(torch.from_numpy(clean if data_format == "channels_last" else clean.transpose(0, 3, 1, 2).copy()))
    got = got.detach().numpy() if data_format == "channels_last" else got.detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, expected, **TOL)

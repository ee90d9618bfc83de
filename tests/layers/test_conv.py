"""Conv2D against an independent NumPy convolution with TensorFlow's padding rules."""

import numpy as np
import pytest
from numpy_reference import conv2d_nhwc, tf_same_pads

from cnnlab import layers

TOL = dict(rtol=1e-5, atol=1e-5)


def _run(conv, x):
    return conv(x).detach().numpy()


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "size, kernel, strides, padding, dilation",
    [
        (8, 3, 1, "valid", 1),
        (8, 3, 1, "same", 1),
        (9, (3, 2), (2, 1), "valid", 1),
        (8, 3, 2, "same", 1),  # even input, stride 2: one padded row, at the bottom
        (6, 3, 2, "same", 1),
        (5, 2, 2, "same", 1),  # odd input, stride 2: one padded row, at the bottom
        (7, 4, 2, "same", 1),  # 3 padded rows: 1 on top, 2 at the bottom
        (9, 3, 1, "valid", 2),
        (8, 3, 1, "same", 2),
    ],
)
def test_conv2d_matches_numpy_reference(size, kernel, strides, padding, dilation):
    x = _random((2, size, size + 1, 3))
    conv = layers.Conv2D(4, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    conv.build(x.shape)
    kernel_w, bias = conv.get_weights()
    bias = np.random.default_rng(1).standard_normal(bias.shape).astype(np.float32)
    conv.set_weights([kernel_w, bias])
    got = _run(conv, x)
    s = (strides, strides) if isinstance(strides, int) else strides
    d = (dilation, dilation)
    np.testing.assert_allclose(got, conv2d_nhwc(x, kernel_w, bias, s, padding, d), **TOL)


def test_reference_same_padding_puts_the_odd_extra_row_at_the_bottom():
    # TF: 4 in, kernel 3, stride 2 -> 2 out; total = (2-1)*2 + 3 - 4 = 1 -> (0 top, 1 bottom).
    assert tf_same_pads(4, 3, 2) == (0, 1)
    # 7 in, kernel 4, stride 2 -> 4 out; total = 3*2 + 4 - 7 = 3 -> (1, 2).
    assert tf_same_pads(7, 4, 2) == (1, 2)


def test_same_padding_at_stride_2_pads_bottom_right_only():
    # A kernel that picks its top-left cell reads x_padded[2i, 2j]. With TF's padding (0 on
    # top/left, 1 at the bottom/right for 4x4 in, kernel 3, stride 2) that is x[2i, 2j].
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    pick_top_left = np.zeros((3, 3, 1, 1), np.float32)
    pick_top_left[0, 0] = 1
    conv = layers.Conv2D(1, 3, strides=2, padding="same", use_bias=False)
    conv.build((None, 4, 4, 1))
    conv.set_weights([pick_top_left])
    np.testing.assert_array_equal(_run(conv, x)[0, :, :, 0], [[0, 2], [8, 10]])


def test_same_padding_at_stride_2_sums_hand_worked_windows():
    # x = 0..15 in a 4x4 grid, ones kernel 3x3, stride 2, 'same' (bottom/right padding of 1):
    # out[0,0] = rows 0-2, cols 0-2 = 0+1+2+4+5+6+8+9+10 = 45
    # out[0,1] = rows 0-2, cols 2-3 = 2+3+6+7+10+11 = 39
    # out[1,0] = rows 2-3, cols 0-2 = 8+9+10+12+13+14 = 66
    # out[1,1] = rows 2-3, cols 2-3 = 10+11+14+15 = 50
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    conv = layers.Conv2D(1, 3, strides=2, padding="same", kernel_initializer="ones")
    np.testing.assert_array_equal(_run(conv, x)[0, :, :, 0], [[45, 39], [66, 50]])


def test_grouped_conv2d_matches_numpy_reference():
    x = _random((2, 6, 6, 4))
    conv = layers.Conv2D(6, 3, groups=2, padding="same")
    got = _run(conv, x)
    kernel, bias = conv.get_weights()
    assert kernel.shape == (3, 3, 2, 6)  # (kh, kw, in / groups, out), as in Keras
    np.testing.assert_allclose(got, conv2d_nhwc(x, kernel, bias, padding="same", groups=2), **TOL)


def test_channels_first_conv2d_matches_channels_last_reference():
    x_last = _random((2, 7, 6, 3))
    x_first = x_last.transpose(0, 3, 1, 2)
    conv = layers.Conv2D(5, 3, strides=2, padding="same", data_format="channels_first")
    got = _run(conv, x_first)
    kernel, bias = conv.get_weights()
    assert kernel.shape == (3, 3, 3, 5)  # the Keras layout does not depend on data_format
    expected = conv2d_nhwc(x_last, kernel, bias, (2, 2), "same").transpose(0, 3, 1, 2)
    assert got.shape == (2, 5, 4, 3)
    np.testing.assert_allclose(got, expected, **TOL)


def test_conv2d_activation_is_applied_after_bias():
    x = _random((2, 5, 5, 2))
    conv = layers.Conv2D(3, 3, activation="relu", bias_initializer="ones")
    got = _run(conv, x)
    kernel, bias = conv.get_weights()
    np.testing.assert_array_equal(bias, np.ones(3, np.float32))
    np.testing.assert_allclose(got, np.maximum(conv2d_nhwc(x, kernel, bias), 0), **TOL)


def test_conv2d_without_bias_has_only_a_kernel():
    conv = layers.Conv2D(3, 3, use_bias=False)
    x = _random((1, 5, 5, 2))
    got = _run(conv, x)
    (kernel,) = conv.get_weights()
    np.testing.assert_allclose(got, conv2d_nhwc(x, kernel), **TOL)

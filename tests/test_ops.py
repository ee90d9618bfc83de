"""TF-semantics ops against hand-worked values and loop-based NumPy references."""

import itertools
import re

import numpy as np
import pytest
import torch

from cnnlab import ops
from cnnlab.errors import ConfigError, ShapeError

IMAGE_1_TO_9 = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)


# ----------------------------------------------------------------------------- NumPy references


def _np_same_pads(size, kernel, stride, dilation):
    """TF 'SAME': output ceil(size/stride); the padding needed for that, extra at the end."""
    out = -(-size // stride)
    needed = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return needed // 2, needed - needed // 2


def _np_conv2d(x, w, stride, padding, dilation):
    kh, kw, _, _ = w.shape
    if padding == "SAME":
        pads = (_np_same_pads(x.shape[1], kh, stride, dilation), _np_same_pads(x.shape[2], kw, stride, dilation))
    else:
        pads = ((0, 0), (0, 0))
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    out_h = (xp.shape[1] - dilation * (kh - 1) - 1) // stride + 1
    out_w = (xp.shape[2] - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, w.shape[3]))
    for i, j in itertools.product(range(out_h), range(out_w)):
        for a, b in itertools.product(range(kh), range(kw)):
            pixel = xp[:, i * stride + a * dilation, j * stride + b * dilation, :]  # (N, C_in)
            out[:, i, j, :] += pixel @ w[a, b]
    return out


def _np_pool(x, k, stride, padding, reduce):
    """Pool over the real cells of each window; windows start at -pad_before (TF semantics)."""
    n, h, w, c = x.shape
    if padding == "SAME":
        (top, _), (left, _) = _np_same_pads(h, k, stride, 1), _np_same_pads(w, k, stride, 1)
        out_h, out_w = -(-h // stride), -(-w // stride)
    else:
        top = left = 0
        out_h, out_w = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, out_h, out_w, c))
    for i, j in itertools.product(range(out_h), range(out_w)):
        r0, c0 = i * stride - top, j * stride - left
        window = x[:, max(r0, 0) : r0 + k, max(c0, 0) : c0 + k, :]
        out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


# ----------------------------------------------------------------------------- shape arithmetic


def test_conv_output_size_known_values():
    assert ops.conv_output_size(28, 3, 0, 1) == 26
    assert ops.conv_output_size(28, 3, 1, 1) == 28
    assert ops.conv_output_size(28, 2, 0, 2) == 14
    assert ops.conv_output_size(7, 3, 0, 2) == 3  # floor((7 - 3) / 2) + 1
    assert ops.conv_output_size(10, 3, 0, 1, d=2) == 6  # dilated window spans 2*(3-1)+1 = 5; 10-5+1


def test_conv_output_size_explains_window_too_big():
    with pytest.raises(ConfigError, match=r"floor\(\(3 - 5 \+ 2\*0\) / 1\) \+ 1 = -1.*padding='same'"):
        ops.conv_output_size(3, 5, 0, 1)


def test_conv_output_size_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="Received: s=0"):
        ops.conv_output_size(28, 3, 0, 0)


@pytest.mark.parametrize(
    "args, expected",
    [
        ((28, 3, 1), (1, 1)),
        ((28, 2, 2), (0, 0)),
        ((3, 2, 1), (0, 1)),  # one pad row needed; it goes to the bottom
        ((5, 2, 2), (0, 1)),  # out 3: (3-1)*2 + 2 - 5 = 1
        ((6, 3, 2), (0, 1)),  # out 3: (3-1)*2 + 3 - 6 = 1
        ((7, 4, 1), (1, 2)),
        ((10, 3, 1, 2), (2, 2)),  # dilated span 5
    ],
)
def test_same_padding_puts_extra_row_bottom(args, expected):
    assert ops.same_padding(*args) == expected


def test_same_output_size_is_ceil():
    assert [ops.same_output_size(n, 2) for n in (4, 5, 6, 7)] == [2, 3, 3, 4]


# ----------------------------------------------------------------------------- conv2d


def test_conv2d_valid_known_answer():
    # [[1,2,3],[4,5,6],[7,8,9]] with a 2x2 ones filter: 1+2+4+5=12, 2+3+5+6=16, 4+5+7+8=24, 5+6+8+9=28.
    out = ops.conv2d(IMAGE_1_TO_9, np.ones((2, 2, 1, 1), np.float32), padding="VALID")
    assert out.shape == (1, 2, 2, 1)
    assert out[0, :, :, 0].tolist() == [[12, 16], [24, 28]]


def test_conv2d_same_known_answer_pads_bottom_right():
    # Zero row/column added after the image: last column 3+6=9, 6+9=15, 9; last row 7+8=15, 8+9=17.
    out = ops.conv2d(IMAGE_1_TO_9, np.ones((2, 2, 1, 1), np.float32), padding="same")
    assert out[0, :, :, 0].tolist() == [[12, 16, 9], [24, 28, 15], [15, 17, 9]]


CASES = [
    # (N, H, W, C_in, C_out, k, stride, dilation, padding)
    (2, 7, 7, 3, 4, 3, 1, 1, "SAME"),
    (2, 7, 7, 3, 4, 3, 1, 1, "VALID"),
    (1, 8, 6, 2, 3, 3, 2, 1, "SAME"),
    (1, 9, 9, 2, 3, 2, 2, 1, "SAME"),
    (1, 8, 8, 1, 2, 4, 2, 1, "VALID"),
    (2, 10, 9, 2, 2, 3, 1, 2, "SAME"),
    (1, 11, 10, 3, 2, 3, 1, 2, "VALID"),
    (1, 6, 5, 2, 2, 2, 1, 1, "SAME"),
    (1, 5, 5, 1, 1, 5, 1, 1, "VALID"),
]


@pytest.mark.parametrize("n, h, w, cin, cout, k, s, d, padding", CASES)
def test_conv2d_matches_numpy_reference(n, h, w, cin, cout, k, s, d, padding):
    rng = np.random.default_rng(h * 100 + w + k)
    x = rng.normal(size=(n, h, w, cin))
    f = rng.normal(size=(k, k, cin, cout))
    got = ops.conv2d(x, f, strides=s, padding=padding, dilations=d)
    expected = _np_conv2d(x, f, s, padding, d)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_conv2d_rectangular_kernel_and_stride_pair():
    rng = np.random.default_rng(0)
    x, f = rng.normal(size=(1, 6, 7, 2)), rng.normal(size=(1, 3, 2, 2))
    got = ops.conv2d(x, f, strides=[1, 1, 2, 1], padding="VALID")
    expected = np.zeros((1, 6, 3, 2))
    for i, j in itertools.product(range(6), range(3)):
        expected[0, i, j] = np.einsum("hwc,hwco->o", x[0, i : i + 1, 2 * j : 2 * j + 3], f)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_conv2d_explicit_padding_pairs_like_tf():
    f = np.ones((2, 2, 1, 1), np.float32)
    got = ops.conv2d(IMAGE_1_TO_9, f, padding=[[0, 0], [1, 0], [0, 0], [0, 0]])
    # One zero row on top: first row of sums is 1+2=3, 2+3=5; then the VALID result.
    assert got[0, :, :, 0].tolist() == [[3, 5], [12, 16], [24, 28]]


def test_conv2d_keeps_float64_and_converts_integers_to_float32():
    f = np.ones((1, 1, 1, 1))
    assert ops.conv2d(IMAGE_1_TO_9.astype(np.float64), f).dtype == torch.float64
    assert ops.conv2d(IMAGE_1_TO_9.astype(np.uint8), f.astype(np.float32)).dtype == torch.float32


def test_conv2d_output_is_channels_last_contiguous():
    out = ops.conv2d(torch.randn(2, 9, 9, 3), torch.randn(3, 3, 3, 4), strides=2, padding="SAME")
    assert out.shape == (2, 5, 5, 4) and out.is_contiguous()


def test_conv2d_backpropagates_to_input_and_filters():
    x = torch.randn(1, 5, 5, 2, requires_grad=True)
    w = torch.randn(2, 2, 2, 3, requires_grad=True)
    ops.conv2d(x, w, padding="SAME").sum().backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


def test_conv2d_three_d_input_suggests_batch_or_channel_axis():
    with pytest.raises(ShapeError, match=r"expects 4-D input.*got shape \(3, 3, 1\).*x\[None\]"):
        ops.conv2d(IMAGE_1_TO_9[0], np.ones((2, 2, 1, 1)))


def test_conv2d_two_d_input_suggests_reshape():
    with pytest.raises(ShapeError, match=r"reshape\(\(1,\) \+ x.shape \+ \(1,\)\)"):
        ops.conv2d(np.ones((28, 28)), np.ones((3, 3, 1, 1)))


def test_conv2d_channel_mismatch_names_both_counts():
    with pytest.raises(ShapeError, match="input has 1 channels but the filters expect 3"):
        ops.conv2d(IMAGE_1_TO_9, np.ones((2, 2, 3, 4)))


def test_conv2d_filters_must_be_four_d():
    with pytest.raises(ShapeError, match=r"\(kh, kw, in_channels, out_channels\)"):
        ops.conv2d(IMAGE_1_TO_9, np.ones((2, 2, 1)))


def test_conv2d_bad_padding_lists_choices():
    with pytest.raises(ConfigError, match=r"one of 'valid', 'same'.*Received: padding='sane'"):
        ops.conv2d(IMAGE_1_TO_9, np.ones((2, 2, 1, 1)), padding="sane")


def test_conv2d_kernel_larger_than_valid_input():
    with pytest.raises(ShapeError, match="larger than the input's height 3"):
        ops.conv2d(IMAGE_1_TO_9, np.ones((4, 4, 1, 1)))


def test_conv2d_four_value_strides_must_have_unit_batch_and_channel():
    with pytest.raises(ConfigError, match=r"\[1, h, w, 1\]"):
        ops.conv2d(IMAGE_1_TO_9, np.ones((1, 1, 1, 1)), strides=[2, 1, 1, 1])


# ----------------------------------------------------------------------------- pooling


def test_max_pool_same_known_answer():
    out = ops.max_pool(IMAGE_1_TO_9, 2, 1, "SAME")
    assert out[0, :, :, 0].tolist() == [[5, 6, 6], [8, 9, 9], [8, 9, 9]]


def test_avg_pool_same_excludes_padding_from_average():
    # Right column windows hold two real cells: (3+6)/2 = 4.5, (6+9)/2 = 7.5; the corner holds only 9.
    out = ops.avg_pool(IMAGE_1_TO_9, 2, 1, "SAME")
    assert out[0, :, :, 0].tolist() == [[3, 4, 4.5], [6, 7, 7.5], [7.5, 8.5, 9]]


def test_max_pool_same_padding_never_wins_over_negative_values():
    out = ops.max_pool(-IMAGE_1_TO_9, 2, 2, "SAME")
    # Windows: {1,2,4,5}, {3,6}, {7,8}, {9} negated -> maxima -1, -3, -7, -9.
    assert out[0, :, :, 0].tolist() == [[-1, -3], [-7, -9]]


POOL_CASES = [(7, 7, 2, 2, "SAME"), (7, 6, 3, 2, "SAME"), (8, 8, 2, 2, "VALID"), (9, 9, 3, 1, "SAME"),
              (6, 6, 4, 1, "SAME"), (10, 7, 3, 3, "VALID"), (5, 5, 2, 1, "SAME")]


@pytest.mark.parametrize("h, w, k, s, padding", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_numpy_reference(kind, h, w, k, s, padding):
    x = np.random.default_rng(h * 10 + w + k).normal(size=(2, h, w, 3))
    op, reduce = (ops.max_pool2d, np.max) if kind == "max" else (ops.avg_pool2d, np.mean)
    got = op(x, k, s, padding)
    expected = _np_pool(x, k, s, padding, reduce)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_pooling_accepts_tf_four_value_ksize_and_strides():
    out = ops.max_pool(IMAGE_1_TO_9, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
    assert out[0, :, :, 0].tolist() == [[5, 6], [8, 9]]


def test_pool_window_larger_than_valid_input_raises():
    with pytest.raises(ShapeError, match="max_pool2d: the window"):
        ops.max_pool(IMAGE_1_TO_9, 4, 1, "VALID")


def test_pool_rejects_explicit_padding():
    with pytest.raises(ConfigError, match="Received: padding=\\[\\[0, 0\\]"):
        ops.avg_pool(IMAGE_1_TO_9, 2, 1, [[0, 0], [0, 1], [0, 1], [0, 0]])


# ----------------------------------------------------------------------------- argument helpers


def test_normalize_tuple_int_and_sequence():
    assert ops.normalize_tuple(3, 2, "kernel_size") == (3, 3)
    assert ops.normalize_tuple([3, 5], 2, "kernel_size") == (3, 5)
    assert ops.normalize_tuple((0, 1), 2, "padding", allow_zero=True) == (0, 1)


@pytest.mark.parametrize("bad", [0, -1, (3,), (3, 3, 3), (3, 0), "3", 2.5, True, None])
def test_normalize_tuple_rejects_bad_values_naming_argument(bad):
    with pytest.raises(ConfigError, match=rf"argument 'kernel_size'.*Received: kernel_size={re.escape(repr(bad))}$"):
        ops.normalize_tuple(bad, 2, "kernel_size")


def test_normalize_padding_lowercases_and_checks_allowed():
    assert ops.normalize_padding("VALID") == "valid"
    assert ops.normalize_padding("Causal", allowed=("valid", "same", "causal")) == "causal"
    with pytest.raises(ConfigError, match=r"Did you mean 'same'\? Received: padding='sane'"):
        ops.normalize_padding("sane")
    with pytest.raises(ConfigError, match="Received: padding=1"):
        ops.normalize_padding(1)

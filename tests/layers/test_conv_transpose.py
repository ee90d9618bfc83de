"""Conv1DTranspose, Conv2DTranspose and Conv3DTranspose against an independent NumPy transposed convolution.

The reference scatters each input cell times the kernel into a full-size output, then crops it the way
TensorFlow's ``conv_transpose`` does (the padding of the forward 'same' convolution, ``total // 2`` before),
to the output size Keras 3 documents.
"""

import numpy as np
import pytest

from cnnlab import layers
from cnnlab.errors import ArgumentTypeError, ConfigError

TOL = dict(rtol=1e-5, atol=1e-5)


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def keras_output_size(size, kernel, stride, padding, output_padding, dilation):
    """Keras 3's transposed-convolution output length (keras/src/backend/common/backend_utils.py)."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (size - 1) * stride + span + extra
    return size * stride if output_padding is None else (size - 1) * stride + span % 2 + output_padding


def conv_transpose_nd(x, kernel, bias=None, strides=1, padding="valid", output_padding=None, dilation=1):
    """Transposed convolution of channels-last ``x`` with a Keras kernel ``(k..., out, in)``."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation, rank)
    output_padding = [None] * rank if output_padding is None else _tuple(output_padding, rank)
    window, sizes = kernel.shape[:rank], x.shape[1:-1]
    full_sizes = [(n - 1) * s + (k - 1) * d + 1 for n, k, s, d in zip(sizes, window, strides, dilation)]
    full = np.zeros((x.shape[0], *full_sizes, kernel.shape[-2]))
    for i in np.ndindex(*sizes):
        for j in np.ndindex(*window):
            at = tuple(a * s + b * d for a, b, s, d in zip(i, j, strides, dilation))
            full[(slice(None), *at)] += x[(slice(None), *i)] @ kernel[j].T
    outs = [keras_output_size(n, k, s, padding, p, d)
            for n, k, s, p, d in zip(sizes, window, strides, output_padding, dilation)]
    out = np.zeros((x.shape[0], *outs, kernel.shape[-2]))
    src, dst = [slice(None)], [slice(None)]
    for full_size, size in zip(full_sizes, outs):
        before = 0 if padding == "valid" else max(full_size - size, 0) // 2
        length = min(size, full_size - before)  # past the full result the output is zero
        src.append(slice(before, before + length))
        dst.append(slice(0, length))
    out[tuple(dst)] = full[tuple(src)]
    return out if bias is None else out + bias


CASES = [
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 3}),
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 3, "strides": 2}),
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 2, "strides": 3}),  # stride > kernel: zeros at the end
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 3, "strides": 2, "padding": "same"}),
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 4, "strides": 2, "padding": "same"}),
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 5, "strides": 2, "padding": "same", "output_padding": 1}),
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 3, "strides": 3, "output_padding": 2}),
    (layers.Conv1DTranspose, (2, 5, 3), {"kernel_size": 3, "dilation_rate": 2, "padding": "same"}),
    (layers.Conv2DTranspose, (2, 4, 5, 3), {"kernel_size": 3}),
    (layers.Conv2DTranspose, (2, 4, 5, 3), {"kernel_size": 3, "strides": 2, "padding": "same"}),
    (layers.Conv2DTranspose, (2, 4, 5, 3), {"kernel_size": (4, 3), "strides": (2, 3), "padding": "same"}),
    (layers.Conv2DTranspose, (2, 4, 5, 3), {"kernel_size": 3, "strides": 2, "output_padding": 1}),
    (layers.Conv2DTranspose, (2, 4, 5, 3), {"kernel_size": 3, "strides": 2, "padding": "same",
                                            "output_padding": (0, 1)}),
    (layers.Conv2DTranspose, (1, 4, 4, 2), {"kernel_size": 2, "dilation_rate": (2, 3)}),
    (layers.Conv3DTranspose, (1, 3, 4, 2, 2), {"kernel_size": 2, "strides": 2}),
    (layers.Conv3DTranspose, (1, 3, 4, 2, 2), {"kernel_size": 3, "strides": (1, 2, 2), "padding": "same"}),
]


@pytest.mark.parametrize("cls, shape, kwargs", CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_transpose_matches_numpy_reference(cls, shape, kwargs, data_format):
    x = _random(shape)
    layer = cls(4, data_format=data_format, **kwargs)
    feed = x if data_format == "channels_last" else np.moveaxis(x, -1, 1)
    layer.build(feed.shape)
    kernel = layer.get_weights()[0]
    bias = _random((4,), seed=2)
    layer.set_weights([kernel, bias])
    expected = conv_transpose_nd(x, kernel, bias, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                                 kwargs.get("output_padding"), kwargs.get("dilation_rate", 1))
    got = layer(feed).detach().numpy()
    assert tuple(layer.compute_output_shape(feed.shape)) == got.shape
    if data_format == "channels_first":
        got = np.moveaxis(got, 1, -1)
    np.testing.assert_allclose(got, expected, **TOL)


def test_transposed_conv_hand_worked_valid_and_same():
    # x = [1, 2], kernel of ones (3), stride 2. Full result: x0 at 0..2, x1 at 2..4 -> [1, 1, 3, 2, 2].
    # 'valid' keeps all 5; 'same' wants 2*2 = 4: TF crops total 1, 0 before and 1 after -> [1, 1, 3, 2].
    x = np.array([1, 2], np.float32).reshape(1, 2, 1)
    for padding, expected in (("valid", [1, 1, 3, 2, 2]), ("same", [1, 1, 3, 2])):
        layer = layers.Conv1DTranspose(1, 3, strides=2, padding=padding, kernel_initializer="ones")
        np.testing.assert_array_equal(layer(x).detach().numpy().ravel(), expected)


def test_kernel_layout_is_keras_k_out_in():
    layer = layers.Conv2DTranspose(5, (3, 2))
    layer.build((None, 4, 4, 7))
    assert [w.shape for w in layer.weights] == [(3, 2, 5, 7), (5,)]


def test_same_padding_output_is_input_times_stride():
    layer = layers.Conv3DTranspose(2, (3, 4, 5), strides=(2, 3, 1), padding="same")
    assert layer.compute_output_shape((None, 4, 5, 6, 3)) == (None, 8, 15, 6, 2)


def test_conv3d_transpose_takes_data_format_before_output_padding_as_keras():
    layer = layers.Conv3DTranspose(2, 3, 2, "same", "channels_first", 1)
    assert layer.data_format == "channels_first" and layer.output_padding == (1, 1, 1)
    layer = layers.Conv2DTranspose(2, 3, 2, "same", 1, "channels_first")
    assert layer.data_format == "channels_first" and layer.output_padding == (1, 1)


def test_config_round_trip_keeps_output_padding():
    layer = layers.Conv2DTranspose(2, 3, strides=2, output_padding=1)
    config = layer.get_config()
    assert config["output_padding"] == (1, 1)
    assert layers.Conv2DTranspose.from_config(config).output_padding == (1, 1)
    assert layers.Conv1DTranspose(2, 3).get_config()["output_padding"] is None
    assert "groups" not in config


def test_aliases_are_the_keras_classes():
    assert layers.Convolution1DTranspose is layers.Conv1DTranspose
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert layers.Convolution3DTranspose is layers.Conv3DTranspose


def test_output_padding_must_be_smaller_than_the_stride():
    with pytest.raises(ConfigError, match=r"Conv2DTranspose .*output_padding must be smaller than the stride"
                                          r".*Received: output_padding=2"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)


def test_output_padding_must_be_non_negative_ints():
    with pytest.raises(ConfigError, match=r"output_padding.*non-negative.*Received: output_padding=-1"):
        layers.Conv1DTranspose(2, 3, strides=2, output_padding=-1)


def test_strides_with_dilation_are_refused_for_every_padding():
    with pytest.raises(ConfigError, match=r"strides > 1 cannot be combined with dilation_rate > 1"):
        layers.Conv1DTranspose(2, 3, strides=2, dilation_rate=2, padding="valid")


def test_transposed_convolutions_take_no_groups():
    with pytest.raises(ArgumentTypeError, match="unexpected keyword argument 'groups'"):
        layers.Conv2DTranspose(2, 3, groups=2)

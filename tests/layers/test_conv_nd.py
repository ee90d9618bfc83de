"""Conv1D, Conv3D, DepthwiseConv1D/2D and SeparableConv1D/2D against independent NumPy convolutions
(TensorFlow's padding rules, plain loops), plus their argument errors and Keras's weight names and config keys."""

import numpy as np
import pytest
from numpy_reference import tf_same_pads

from cnnlab import layers, regularizers
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

TOL = dict(rtol=1e-5, atol=1e-5)


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _pad_input(x, window, strides, dilation, padding):
    """Channels-last ``x`` padded as TensorFlow would: 'same' (odd extra after), 'causal' (all before)."""
    rank = x.ndim - 2
    if padding == "same":
        pads = [tf_same_pads(x.shape[1 + i], window[i], strides[i], dilation[i]) for i in range(rank)]
    elif padding == "causal":
        pads = [(dilation[0] * (window[0] - 1), 0)]
    else:
        pads = [(0, 0)] * rank
    return np.pad(x, [(0, 0), *pads, (0, 0)])


def _windows(xp, window, strides, dilation):
    """Yield (output position, patch of shape (N, *window, C)) for every output position."""
    rank = xp.ndim - 2
    spans = [d * (k - 1) + 1 for k, d in zip(window, dilation)]
    sizes = [(xp.shape[1 + i] - spans[i]) // strides[i] + 1 for i in range(rank)]
    for pos in np.ndindex(*sizes):
        cut = tuple(slice(p * s, p * s + span, d) for p, s, span, d in zip(pos, strides, spans, dilation))
        yield sizes, pos, xp[(slice(None), *cut)]


def conv_nd(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1):
    """Cross-correlation of channels-last ``x`` with a Keras kernel ``(k..., in / groups, out)``."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation, rank)
    window, group_in, out_channels = kernel.shape[:rank], kernel.shape[-2], kernel.shape[-1]
    group_out = out_channels // groups
    xp = _pad_input(x, window, strides, dilation, padding)
    out = None
    for sizes, pos, patch in _windows(xp, window, strides, dilation):
        if out is None:
            out = np.zeros((x.shape[0], *sizes, out_channels))
        for g in range(groups):
            part = np.tensordot(patch[..., g * group_in:(g + 1) * group_in],
                                kernel[..., g * group_out:(g + 1) * group_out],
                                axes=(list(range(1, rank + 2)), list(range(rank + 1))))
            out[(slice(None), *pos, slice(g * group_out, (g + 1) * group_out))] = part
    return out if bias is None else out + bias


def depthwise_nd(x, kernel, bias=None, strides=1, padding="valid", dilation=1):
    """Each channel c with its own filters ``kernel[..., c, m]``; output channel ``c * multiplier + m``."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation, rank)
    window, (channels, multiplier) = kernel.shape[:rank], kernel.shape[rank:]
    xp = _pad_input(x, window, strides, dilation, padding)
    out = None
    for sizes, pos, patch in _windows(xp, window, strides, dilation):
        if out is None:
            out = np.zeros((x.shape[0], *sizes, channels * multiplier))
        for c in range(channels):
            for m in range(multiplier):
                value = (patch[..., c] * kernel[..., c, m]).reshape(x.shape[0], -1).sum(axis=1)
                out[(slice(None), *pos, c * multiplier + m)] = value
    return out if bias is None else out + bias


def _with_random_weights(layer, x, seed=1):
    layer.build(x.shape)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in layer.weights]
    layer.set_weights(weights)
    return weights


def _run(layer, x):
    return layer(x).detach().numpy()


def _channels_first(x):
    return np.moveaxis(x, -1, 1)


# ------------------------------------------------------------------------------------------ Conv1D, Conv3D

CONV_CASES = [
    (layers.Conv1D, (2, 11, 3), {"kernel_size": 3}),
    (layers.Conv1D, (2, 11, 3), {"kernel_size": 3, "strides": 2, "padding": "same"}),
    (layers.Conv1D, (2, 10, 3), {"kernel_size": 4, "strides": 3, "padding": "same"}),  # 2 padded: 1 before
    (layers.Conv1D, (2, 11, 3), {"kernel_size": 3, "dilation_rate": 2, "padding": "same"}),
    (layers.Conv1D, (2, 11, 3), {"kernel_size": 3, "padding": "causal"}),
    (layers.Conv1D, (2, 11, 3), {"kernel_size": 3, "padding": "causal", "dilation_rate": 3}),
    (layers.Conv1D, (2, 11, 3), {"kernel_size": 2, "padding": "causal", "strides": 2}),
    (layers.Conv1D, (2, 11, 4), {"kernel_size": 3, "groups": 2}),
    (layers.Conv3D, (2, 5, 6, 7, 2), {"kernel_size": 3}),
    (layers.Conv3D, (2, 5, 6, 7, 2), {"kernel_size": (2, 3, 2), "strides": 2, "padding": "same"}),
    (layers.Conv3D, (1, 6, 6, 6, 2), {"kernel_size": 2, "dilation_rate": (1, 2, 2), "padding": "same"}),
    (layers.Conv3D, (1, 5, 5, 5, 4), {"kernel_size": 3, "groups": 2, "strides": (1, 2, 3)}),
]


@pytest.mark.parametrize("cls, shape, kwargs", CONV_CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_matches_numpy_reference(cls, shape, kwargs, data_format):
    x = _random(shape)
    layer = cls(4, data_format=data_format, **kwargs)
    feed = x if data_format == "channels_last" else _channels_first(x)
    layer.build(feed.shape)
    kernel, bias = layer.get_weights()
    bias = _random(bias.shape, seed=2)
    layer.set_weights([kernel, bias])
    expected = conv_nd(x, kernel, bias, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                       kwargs.get("dilation_rate", 1), kwargs.get("groups", 1))
    got = _run(layer, feed)
    if data_format == "channels_first":
        got = np.moveaxis(got, 1, -1)
    np.testing.assert_allclose(got, expected, **TOL)


def test_causal_conv1d_sees_only_the_past_hand_worked():
    # kernel [10, 1] with causal padding: y[t] = 10 * x[t-1] + 1 * x[t], x[-1] = 0.
    # x = 1 2 3 4 -> y = 1, 10+2, 20+3, 30+4.
    layer = layers.Conv1D(1, 2, padding="causal", use_bias=False)
    layer.build((None, 4, 1))
    layer.set_weights([np.array([10, 1], np.float32).reshape(2, 1, 1)])
    got = _run(layer, np.arange(1, 5, dtype=np.float32).reshape(1, 4, 1))
    np.testing.assert_array_equal(got[0, :, 0], [1, 12, 23, 34])


def test_conv1d_activation_is_applied_after_bias():
    x = _random((2, 9, 3))
    layer = layers.Conv1D(5, 3, activation="relu", bias_initializer="ones")
    got = _run(layer, x)
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(got, np.maximum(conv_nd(x, kernel, bias), 0), **TOL)


# ------------------------------------------------------------------------------- depthwise and separable

DEPTHWISE_CASES = [
    (layers.DepthwiseConv1D, (2, 11, 3), {"kernel_size": 3}),
    (layers.DepthwiseConv1D, (2, 11, 3), {"kernel_size": 4, "strides": 2, "padding": "same", "depth_multiplier": 2}),
    (layers.DepthwiseConv1D, (2, 11, 3), {"kernel_size": 3, "dilation_rate": 2, "depth_multiplier": 3}),
    (layers.DepthwiseConv2D, (2, 7, 8, 3), {"kernel_size": 3}),
    (layers.DepthwiseConv2D, (2, 7, 8, 3), {"kernel_size": (3, 2), "strides": 2, "padding": "same",
                                            "depth_multiplier": 2}),
    (layers.DepthwiseConv2D, (1, 9, 9, 2), {"kernel_size": 3, "dilation_rate": 2, "padding": "same"}),
]


@pytest.mark.parametrize("cls, shape, kwargs", DEPTHWISE_CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depthwise_conv_matches_numpy_reference(cls, shape, kwargs, data_format):
    x = _random(shape)
    layer = cls(data_format=data_format, **kwargs)
    feed = x if data_format == "channels_last" else _channels_first(x)
    kernel, bias = _with_random_weights(layer, feed)
    expected = depthwise_nd(x, kernel, bias, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                            kwargs.get("dilation_rate", 1))
    got = _run(layer, feed)
    if data_format == "channels_first":
        got = np.moveaxis(got, 1, -1)
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("cls, shape, kwargs", DEPTHWISE_CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_separable_conv_is_depthwise_then_pointwise_in_numpy(cls, shape, kwargs, data_format):
    separable = layers.SeparableConv1D if cls is layers.DepthwiseConv1D else layers.SeparableConv2D
    x = _random(shape)
    layer = separable(5, data_format=data_format, **kwargs)
    feed = x if data_format == "channels_last" else _channels_first(x)
    depthwise, pointwise, bias = _with_random_weights(layer, feed)
    middle = depthwise_nd(x, depthwise, None, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                          kwargs.get("dilation_rate", 1))
    expected = conv_nd(middle, pointwise, bias)
    got = _run(layer, feed)
    if data_format == "channels_first":
        got = np.moveaxis(got, 1, -1)
    np.testing.assert_allclose(got, expected, **TOL)


def test_depthwise_output_channels_are_grouped_by_input_channel_hand_worked():
    # 2 input channels, multiplier 2, 1x1 kernel: out = [x0*k00, x0*k01, x1*k10, x1*k11] (TF's order).
    layer = layers.DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    layer.build((None, 1, 1, 2))
    layer.set_weights([np.array([[2, 3], [5, 7]], np.float32).reshape(1, 1, 2, 2)])
    got = _run(layer, np.array([1, 10], np.float32).reshape(1, 1, 1, 2))
    np.testing.assert_array_equal(got.ravel(), [2, 3, 50, 70])


# --------------------------------------------------------------------------- Keras names, order and config

def test_weight_names_follow_keras():
    depthwise = layers.DepthwiseConv2D(3)
    depthwise.build((None, 5, 5, 2))
    separable = layers.SeparableConv1D(4, 3)
    separable.build((None, 5, 2))
    conv = layers.Conv3D(2, 2)
    conv.build((None, 3, 3, 3, 1))
    assert [w.name for w in depthwise.weights] == ["kernel", "bias"]
    assert [w.name for w in separable.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert [w.name for w in conv.weights] == ["kernel", "bias"]


COMMON_KEYS = ["name", "trainable", "dtype", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
               "activation", "use_bias", "bias_initializer", "bias_regularizer", "activity_regularizer",
               "bias_constraint"]


@pytest.mark.parametrize("layer, own_keys", [
    (layers.Conv1D(2, 3), ["filters", "groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"]),
    (layers.Conv3D(2, 3), ["filters", "groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"]),
    (layers.DepthwiseConv1D(3), ["depth_multiplier", "depthwise_initializer", "depthwise_regularizer",
                                 "depthwise_constraint"]),
    (layers.SeparableConv2D(2, 3), ["depth_multiplier", "filters", "depthwise_initializer", "pointwise_initializer",
                                    "depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint",
                                    "pointwise_constraint"]),
])
def test_config_has_the_keys_keras_writes(layer, own_keys):
    assert sorted(layer.get_config()) == sorted(COMMON_KEYS + own_keys)


def test_depthwise_and_pointwise_regularizers_add_their_penalties():
    layer = layers.SeparableConv2D(2, 3, depthwise_regularizer=regularizers.L2(0.5),
                                   pointwise_regularizer=regularizers.L1(0.25))
    layer.build((None, 5, 5, 3))
    depthwise, pointwise, _ = layer.get_weights()
    expected = 0.5 * np.square(depthwise).sum() + 0.25 * np.abs(pointwise).sum()
    assert float(sum(loss.item() for loss in layer.losses)) == pytest.approx(expected, rel=1e-5)


def test_depthwise_initializer_is_used_for_the_kernel():
    layer = layers.DepthwiseConv1D(3, depthwise_initializer="ones", bias_initializer="ones", depth_multiplier=2)
    layer.build((None, 6, 2))
    kernel, bias = layer.get_weights()
    np.testing.assert_array_equal(kernel, np.ones((3, 2, 2)))
    np.testing.assert_array_equal(bias, np.ones(4))


def test_conv1d_config_keeps_causal_padding():
    layer = layers.Conv1D(2, 3, padding="Causal")
    assert layer.get_config()["padding"] == "causal"
    assert layers.Conv1D.from_config(layer.get_config()).padding == "causal"


def test_aliases_are_the_keras_classes():
    assert layers.Convolution1D is layers.Conv1D and layers.Convolution3D is layers.Conv3D
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    assert layers.SeparableConvolution2D is layers.SeparableConv2D


# ------------------------------------------------------------------------------------------------- errors

def test_causal_padding_is_refused_outside_conv1d():
    with pytest.raises(ConfigError, match=r"'valid'.*'same'.*Received: padding='causal'"):
        layers.Conv2D(2, 3, padding="causal")
    with pytest.raises(ConfigError, match="Received: padding='causal'"):
        layers.SeparableConv1D(2, 3, padding="causal")


def test_conv1d_padding_error_lists_causal():
    with pytest.raises(ConfigError, match=r"Conv1D 'c1'.*'causal'.*Received: padding='sane'"):
        layers.Conv1D(2, 3, padding="sane", name="c1")


def test_depth_multiplier_must_be_a_positive_int():
    with pytest.raises(ConfigError, match=r"DepthwiseConv2D .*depth_multiplier.*Received: depth_multiplier=0"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ConfigError, match="Received: depth_multiplier=1.5"):
        layers.SeparableConv1D(2, 3, depth_multiplier=1.5)


def test_separable_filters_must_be_a_positive_int():
    with pytest.raises(ConfigError, match="Received: filters=0"):
        layers.SeparableConv2D(0, 3)


def test_kernel_size_of_the_wrong_rank_is_refused():
    with pytest.raises(ConfigError, match=r"Conv3D .*kernel_size.*3 positive ints.*Received: kernel_size=\(3, 3\)"):
        layers.Conv3D(2, (3, 3))


def test_same_padding_with_strides_and_dilation_is_refused():
    with pytest.raises(ConfigError, match=r"strides > 1 cannot be combined with dilation_rate > 1"):
        layers.DepthwiseConv1D(3, strides=2, dilation_rate=2, padding="same")


def test_family_arguments_do_not_leak_across_the_family():
    with pytest.raises(ArgumentTypeError, match="unexpected keyword argument 'groups'"):
        layers.DepthwiseConv2D(3, groups=2)
    with pytest.raises(ArgumentTypeError, match="kernel_initializer"):
        layers.SeparableConv2D(2, 3, kernel_initializer="ones")


def test_conv3d_on_4d_input_names_the_5d_layout():
    with pytest.raises(ShapeError, match=r"Conv3D .*5-D input \(batch, depth, height, width, channels\)"):
        layers.Conv3D(2, 3)(np.zeros((1, 8, 8, 3), np.float32))


def test_conv1d_valid_kernel_longer_than_the_sequence_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"kernel steps \(5\) is larger than the input steps \(4\)"):
        layers.Conv1D(2, 5)(np.zeros((1, 4, 3), np.float32))


def test_depthwise_dilated_kernel_longer_than_the_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"kernel width \(5\) is larger than the input width \(4\)"):
        layers.DepthwiseConv2D(3, dilation_rate=2)(np.zeros((1, 6, 4, 3), np.float32))


def test_conv1d_groups_must_divide_the_input_channels():
    with pytest.raises(ConfigError, match=r"input channels \(3\) must be divisible by groups \(2\)"):
        layers.Conv1D(4, 3, groups=2)(np.zeros((1, 6, 3), np.float32))


def test_unknown_channel_axis_is_a_shape_error():
    with pytest.raises(ShapeError, match="channel axis of the input must be known"):
        layers.SeparableConv1D(2, 3).build((None, 6, None))

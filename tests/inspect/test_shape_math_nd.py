"""Shape arithmetic of every conv, pooling, up-sampling, cropping and padding layer of any rank.

The formulas' numbers are checked against the layers' own compute_output_shape and against sizes worked out
by hand (TensorFlow's rules, written next to each case); receptive fields follow the recurrence in the
shape_math docstring, worked out by hand.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest

import cnnlab
from cnnlab import layers
from cnnlab.errors import ShapeError
from cnnlab.inspect import receptive_fields, render_summary
from cnnlab.inspect.shape_math import axis_formula, layer_macs, output_formula
from cnnlab.models.trace import shape_arithmetic

# (layer, input shape): every windowed or resizing family, ranks 1 to 3, both data formats, odd sizes.
LAYERS = [
    (lambda: layers.Conv1D(4, 3, strides=2, padding="same"), (None, 11, 2)),
    (lambda: layers.Conv1D(4, 3, padding="causal", dilation_rate=2), (None, 11, 2)),
    (lambda: layers.Conv2D(4, (3, 5), strides=(2, 1)), (None, 11, 13, 2)),
    (lambda: layers.Conv2D(4, 3, padding="same", data_format="channels_first"), (None, 2, 9, 7)),
    (lambda: layers.Conv3D(4, (1, 3, 3), strides=2, padding="same"), (None, 5, 9, 8, 2)),
    (lambda: layers.Conv1DTranspose(4, 3, strides=2), (None, 7, 2)),
    (lambda: layers.Conv1DTranspose(4, 4, strides=3, padding="same", output_padding=2), (None, 7, 2)),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, padding="same"), (None, 5, 6, 2)),
    (lambda: layers.Conv2DTranspose(4, (3, 2), strides=(2, 3), output_padding=(1, 0)), (None, 5, 6, 2)),
    (lambda: layers.Conv2DTranspose(4, 2, strides=3), (None, 5, 6, 2)),
    (lambda: layers.Conv3DTranspose(4, 3, strides=(1, 2, 2), padding="same", output_padding=(0, 1, 1)),
     (None, 3, 4, 5, 2)),
    (lambda: layers.SeparableConv1D(4, 3, strides=2), (None, 10, 2)),
    (lambda: layers.SeparableConv2D(4, 3, padding="same", strides=2), (None, 9, 10, 2)),
    (lambda: layers.DepthwiseConv1D(3, depth_multiplier=2), (None, 10, 2)),
    (lambda: layers.DepthwiseConv2D(3, strides=2, padding="same"), (None, 9, 10, 2)),
    (lambda: layers.MaxPooling1D(3, strides=2), (None, 10, 2)),
    (lambda: layers.AveragePooling1D(2, padding="same"), (None, 9, 2)),
    (lambda: layers.MaxPooling3D(2), (None, 5, 6, 7, 2)),
    (lambda: layers.AveragePooling3D((1, 2, 3), padding="same"), (None, 5, 6, 7, 2)),
    (lambda: layers.UpSampling1D(3), (None, 4, 2)),
    (lambda: layers.UpSampling2D((2, 3), interpolation="bilinear"), (None, 4, 5, 2)),
    (lambda: layers.UpSampling3D((1, 2, 2)), (None, 2, 3, 4, 2)),
    (lambda: layers.ZeroPadding1D((1, 2)), (None, 4, 2)),
    (lambda: layers.ZeroPadding2D(((1, 0), (2, 3))), (None, 4, 5, 2)),
    (lambda: layers.ZeroPadding3D(1, data_format="channels_first"), (None, 2, 3, 4, 5)),
    (lambda: layers.Cropping1D((1, 2)), (None, 6, 2)),
    (lambda: layers.Cropping2D(((1, 0), (2, 1))), (None, 6, 7, 2)),
    (lambda: layers.Cropping3D(1), (None, 4, 5, 6, 2)),
]


def _results(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"= (\d+)", text)]


def _spatial(shape, layer):
    return shape[2:] if getattr(layer, "data_format", "channels_last") == "channels_first" else shape[1:-1]


@pytest.mark.parametrize("make, in_shape", LAYERS)
def test_formula_results_equal_the_layer_output_shape(make, in_shape):
    layer = make()
    want = list(_spatial(layer.compute_output_shape(in_shape), layer))
    detail = output_formula(layer, in_shape)
    got = _results(detail)
    assert got == want or (len(got) == 1 and got * len(want) == want), detail
    compact = shape_arithmetic(layer, in_shape)
    assert _results(compact) == want, compact


@pytest.mark.parametrize("make, in_shape", LAYERS)
def test_layer_outputs_have_the_shapes_the_formulas_give(make, in_shape):
    layer = make()
    x = np.random.default_rng(0).random((1, *in_shape[1:]), dtype=np.float32)
    assert tuple(layer(x).shape)[1:] == layer.compute_output_shape(in_shape)[1:]


def test_transposed_formula_is_tf_output_padding_formula():
    # (n - 1)*s + k - 2p + op with p = k // 2 for 'same': (7 - 1)*3 + 4 - 2*2 + 2 = 20
    assert output_formula(layers.Conv1DTranspose(1, 4, strides=3, padding="same", output_padding=2),
                          (None, 7, 1)) == "(7 - 1)*3 + 4 - 2*2 + 2 = 20"
    # no output_padding: 'valid' n*s + max(k - s, 0) = 5*2 + 1 = 11; 'same' n*s = 10
    assert output_formula(layers.Conv2DTranspose(1, 3, strides=2), (None, 5, 5, 1)) == "5*2 + max(3 - 2, 0) = 11"
    assert output_formula(layers.Conv2DTranspose(1, 3, strides=2, padding="same"), (None, 5, 5, 1)) == "5*2 = 10"


def test_causal_padding_is_all_before():
    # k_eff = 2*(3-1)+1 = 5, padded by 4 before: (11 - 5 + 4)/1 + 1 = 11
    assert axis_formula(11, 3, 1, 2, "causal") == "(11 - 5 + 4+0)/1 + 1 = 11"


def test_per_axis_formulas_name_the_axes_of_a_volume():
    text = output_formula(layers.MaxPooling3D((1, 2, 3)), (None, 5, 6, 7, 2))
    assert text == "D: (5 - 1 + 2*0)/1 + 1 = 5; H: (6 - 2 + 2*0)/2 + 1 = 3; W: floor((7 - 3 + 2*0)/3) + 1 = 2"


def test_receptive_fields_of_a_1d_model():
    # causal conv3 (3, 1); pool2 (4, 2); conv3 same: 4 + 2*2 = 8, j 2; global pooling sees all
    model = cnnlab.Sequential([cnnlab.Input((32, 4)), layers.Conv1D(8, 3, padding="causal"), layers.MaxPooling1D(2),
                               layers.Conv1D(8, 3, padding="same"), layers.GlobalMaxPooling1D(), layers.Dense(2)])
    fields = receptive_fields(model)
    assert [(f.r, f.j) for f in fields[:3]] == [((3,), (1,)), ((4,), (2,)), ((8,), (2,))]
    assert fields[3].r is None and fields[4].r is None


def test_receptive_fields_of_a_3d_model_are_per_axis():
    # conv (1,3,3): r (1,3,3); pool (1,2,2): r (1,4,4), j (1,2,2); global average pooling 3-D sees all
    model = cnnlab.Sequential([cnnlab.Input((4, 8, 8, 1)), layers.Conv3D(2, (1, 3, 3)), layers.MaxPooling3D((1, 2, 2)),
                               layers.GlobalAveragePooling3D()])
    fields = receptive_fields(model)
    assert [(f.r, f.j) for f in fields[:2]] == [((1, 3, 3), (1, 1, 1)), ((1, 4, 4), (1, 2, 2))]
    assert fields[2].r is None


def test_up_sampling_and_transposed_conv_divide_the_jump():
    # conv3 /2: (3, 2). nearest up x2: r 3, j 1. bilinear up x2 blends 2: r 3 + 1 = 4, j 1/2.
    # transposed k3 /2: r 4 + floor(2/2)*(1/2) = 4.5 -> 5 pixels, j 1/4. conv3: 4.5 + 2/4 = 5, j 1/4.
    model = cnnlab.Sequential([
        cnnlab.Input((16, 16, 1)), layers.Conv2D(2, 3, strides=2), layers.UpSampling2D(2),
        layers.UpSampling2D(2, interpolation="bilinear"), layers.Conv2DTranspose(2, 3, strides=2),
        layers.Conv2D(2, 3), layers.Cropping2D(1),
    ])
    fields = receptive_fields(model)
    assert [(f.r[0], f.j[0]) for f in fields] == [(3, 2), (3, 1), (4, Fraction(1, 2)), (5, Fraction(1, 4)),
                                                  (5, Fraction(1, 4)), (5, Fraction(1, 4))]


def test_macs_of_other_convolutions():
    # Conv1D 3 taps, 2 -> 4 channels, 9 outputs: 9*3*2*4 = 216
    assert layer_macs(layers.Conv1D(4, 3), (None, 11, 2), (None, 9, 4)) == 216
    # transposed: every input scatters a kernel: 5*5 inputs * 9 taps * 2 * 4 = 1,800
    assert layer_macs(layers.Conv2DTranspose(4, 3), (None, 5, 5, 2), (None, 7, 7, 4)) == 1800
    # depthwise 3x3, multiplier 2, 3 channels, 4x4 outputs: 16*9*3*2 = 864
    assert layer_macs(layers.DepthwiseConv2D(3, depth_multiplier=2), (None, 6, 6, 3), (None, 4, 4, 6)) == 864
    # separable: depthwise 16*9*3 = 432 plus pointwise 16*3*5 = 240
    assert layer_macs(layers.SeparableConv2D(5, 3), (None, 6, 6, 3), (None, 4, 4, 5)) == 672


def test_detail_summary_of_1d_and_3d_models_has_formulas_for_every_window():
    model = cnnlab.Sequential([
        cnnlab.Input((4, 8, 8, 2)), layers.Conv3D(4, 3), layers.AveragePooling3D(2),
        layers.Conv3DTranspose(3, 2, strides=2), layers.UpSampling3D(), layers.ZeroPadding3D(), layers.Cropping3D(2),
        layers.GlobalMaxPooling3D(), layers.Dense(2),
    ])
    captured = []
    model.summary(detail=True, print_fn=captured.append)
    text = "".join(captured)
    for expected in ("3x3x3 /1 valid", "pool 2x2x2 /2 valid", "transp. 2x2x2 /2 valid", "up 2", "pad 1+1",
                     "crop 2+2", "D: (4 - 3 + 2*0)/1 + 1 = 2"):
        assert expected in text
    model_1d = cnnlab.Sequential([cnnlab.Input((10, 3)), layers.SeparableConv1D(4, 3), layers.UpSampling1D(),
                                  layers.Conv1DTranspose(2, 3, strides=2), layers.GlobalAveragePooling1D()])
    assert "(8 - 1)*2" not in render_summary(model_1d)  # plain summary unchanged
    captured = []
    model_1d.summary(detail=True, print_fn=captured.append)
    assert "16*2 + max(3 - 2, 0) = 33" in "".join(captured)


def test_shape_error_in_a_1d_model_explains_the_steps():
    with pytest.raises(ShapeError) as info:
        cnnlab.Sequential([cnnlab.Input((12, 1)), layers.Conv1D(2, 5), layers.MaxPooling1D(2), layers.Conv1D(2, 5)])
    message = str(info.value)
    assert "[(12 - 5)/1 + 1 = 8]" in message and "[(8 - 2)/2 + 1 = 4]" in message


def test_shape_error_after_a_transposed_conv_shows_its_formula():
    with pytest.raises(ShapeError) as info:
        cnnlab.Sequential([cnnlab.Input((3, 3, 1)), layers.Conv2DTranspose(2, 3, strides=2, padding="same",
                                                                          output_padding=1), layers.Conv2D(2, 9)])
    assert "[(3 - 1)*2 + 3 - 2*1 + 1 = 6; (3 - 1)*2 + 3 - 2*1 + 1 = 6]" in str(info.value)

"""summary(detail=True) on Keras's architectures: MACs and receptive fields of inverted residual and
bottleneck blocks against hand counts, nested bases, and the published totals of MobileNetV2 and ResNet50."""

from __future__ import annotations

import re

import pytest

import cnnlab
from cnnlab import applications, layers
from cnnlab.inspect import receptive_fields
from cnnlab.inspect.shape_math import row_macs
from cnnlab.inspect.model_graph import summary_rows


def _detail(model) -> str:
    lines = []
    model.summary(detail=True, print_fn=lines.append)
    return "\n".join(lines)


def _total_macs(model) -> int:
    return int(re.search(r"MACs per image: ([\d,]+)", _detail(model)).group(1).replace(",", ""))


def _inverted_residual_pair():
    """MobileNetV2's two kinds of block on an 8x8x4 input: stride 2 (pad + valid depthwise), then stride 1 + add."""
    inputs = cnnlab.Input((8, 8, 4))
    x = layers.Conv2D(24, 1, use_bias=False, name="expand")(inputs)
    x = layers.BatchNormalization(name="expand_bn")(x)
    x = layers.ReLU(6.0)(x)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False, name="dw_s2")(x)
    x = layers.ReLU(6.0)(x)
    first = layers.Conv2D(8, 1, use_bias=False, name="project")(x)
    y = layers.Conv2D(48, 1, use_bias=False, name="expand_2")(first)
    y = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False, name="dw_s1")(y)
    y = layers.Conv2D(8, 1, use_bias=False, name="project_2")(y)
    out = layers.Add(name="add")([first, y])
    return cnnlab.Model(inputs, layers.Concatenate(name="concat")([out, first]))


def test_inverted_residual_macs_equal_a_hand_count():
    model = _inverted_residual_pair()
    expected = {
        "expand": 8 * 8 * 4 * 24,          # 1x1 conv: positions * C_in * C_out
        "dw_s2": 4 * 4 * 9 * 24,           # (8+1-3)//2+1 = 4; depthwise: positions * 3*3 * C_in * multiplier 1
        "project": 4 * 4 * 24 * 8,
        "expand_2": 4 * 4 * 8 * 48,
        "dw_s1": 4 * 4 * 9 * 48 * 2,       # depth_multiplier 2 doubles the products
        "project_2": 4 * 4 * 96 * 8,
    }
    by_name = {row.name: row_macs(row) for row in summary_rows(model)}
    for name, macs in expected.items():
        assert by_name[name] == macs, name
    assert by_name["add"] == by_name["concat"] == by_name["pad"] == by_name["expand_bn"] == 0
    assert _total_macs(model) == sum(expected.values()) == 44_928


def test_inverted_residual_receptive_fields_by_hand():
    fields = {f.layer: (f.r, f.j) for f in receptive_fields(_inverted_residual_pair())}
    assert fields["expand"] == ((1, 1), (1, 1))
    assert fields["pad"] == ((1, 1), (1, 1))               # padding moves the image, not what a pixel sees
    assert fields["dw_s2"] == ((3, 3), (2, 2))             # 1 + (3-1)*1, jump 1*2
    assert fields["dw_s1"] == ((7, 7), (2, 2))             # 3 + (3-1)*2
    assert fields["add"] == ((7, 7), (2, 2))               # a merge takes its largest input field
    assert fields["concat"] == ((7, 7), (2, 2))


def test_bottleneck_block_of_resnet50_by_hand():
    model = applications.ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3))
    by_name = {row.name: row_macs(row) for row in summary_rows(model)}
    assert by_name["conv1_conv"] == 32 * 32 * 7 * 7 * 3 * 64    # (64+6-7)//2+1 = 32
    # After the 3x3/2 max pool: 16x16. Block 1: 1x1 64->64, 3x3 64->64 same, 1x1 64->256, shortcut 1x1 64->256.
    assert by_name["conv2_block1_1_conv"] == 16 * 16 * 64 * 64
    assert by_name["conv2_block1_2_conv"] == 16 * 16 * 9 * 64 * 64
    assert by_name["conv2_block1_3_conv"] == by_name["conv2_block1_0_conv"] == 16 * 16 * 64 * 256
    assert by_name["conv2_block1_add"] == 0
    fields = {f.layer: f.r for f in receptive_fields(model)}
    assert fields["conv1_conv"] == (7, 7) and fields["pool1_pool"] == (11, 11)  # 7 + (3-1)*2
    assert fields["conv2_block1_2_conv"] == (19, 19)                          # 11 + (3-1)*4


@pytest.mark.parametrize(("fn", "published"), [
    ("MobileNetV2", 300e6),   # Sandler et al. 2018, table 4: 300M multiply-adds at 224x224
    ("ResNet50", 3.86e9),     # He et al. 2016 report 3.8e9 FLOPs (multiply-adds) for the 1000-class model
])
def test_totals_at_224_match_the_published_multiply_adds(fn, published):
    macs = _total_macs(getattr(applications, fn)(weights=None))
    assert abs(macs - published) / published < 0.02


def test_nested_base_row_sums_its_layers():
    base = applications.MobileNetV2(alpha=0.35, include_top=False, weights=None, input_shape=(96, 96, 3))
    base.trainable = False
    inputs = cnnlab.Input((96, 96, 3))
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    model = cnnlab.Model(inputs, layers.Dense(5)(x))
    assert _total_macs(model) == _total_macs(base) + 1280 * 5
    text = _detail(model)
    assert "Non-trainable params: 410,208" in text

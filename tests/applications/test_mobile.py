"""MobileNet V1-V3, EfficientNet V1-V2 and ConvNeXt builders: shapes, argument rules, private layers.

Small inputs and headless models keep these fast; parameter counts and
summaries against real Keras live in compat/test_applications_mobile.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import applications
from cnnlab.applications import convnext, efficientnet, mobilenet_v3
from cnnlab.errors import ConfigError, ShapeError


@pytest.mark.parametrize(("fn", "kwargs", "channels"), [
    ("MobileNet", {"alpha": 0.25}, 256),
    ("MobileNetV2", {"alpha": 0.35}, 1280),
    ("MobileNetV3Small", {"minimalistic": True}, 576),
    ("EfficientNetB0", {}, 1280),
    ("EfficientNetV2B0", {}, 1280),
])
@pytest.mark.parametrize("pooling", [None, "avg", "max"])
def test_headless_output_shape_follows_pooling(fn, kwargs, channels, pooling):
    model = getattr(applications, fn)(include_top=False, weights=None, input_shape=(64, 64, 3), pooling=pooling,
                                      **kwargs)
    expected = (None, channels) if pooling else (None, 2, 2, channels)
    assert model.output_shape == expected
    assert model.predict(np.zeros((1, 64, 64, 3), "float32"), verbose=0).shape == (1,) + expected[1:]


def test_classifier_has_requested_classes_and_sums_to_one():
    model = applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=4)
    out = model.predict(np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32"), verbose=0)
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_default_names_follow_keras():
    assert applications.MobileNet(weights=None, include_top=False, input_shape=(96, 96, 3), alpha=0.5).name == \
        "mobilenet_0.50_96"  # rows of the input, whatever the published sizes
    assert applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3)).name == \
        "mobilenetv2_1.00_96"
    assert applications.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3)).name == \
        "MobileNetV3Small"
    assert applications.EfficientNetV2B0(weights=None, include_top=False, input_shape=(32, 32, 3)).name == \
        "efficientnetv2-b0"


def test_dotted_model_name_can_be_nested_in_another_model():
    base = applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    inputs = cnnlab.layers.Input((32, 32, 3))
    outputs = cnnlab.layers.Dense(2)(cnnlab.layers.GlobalAveragePooling2D()(base(inputs, training=False)))
    model = cnnlab.Model(inputs, outputs)
    assert base.name == "mobilenetv2_0.35_32" and model.get_layer(base.name) is base
    assert model.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0).shape == (1, 2)


@pytest.mark.parametrize(("fn", "kwargs", "message"), [
    ("MobileNet", {"alpha": 0.3}, "alpha 0.25, 0.50, 0.75 or 1.0"),
    ("MobileNet", {"depth_multiplier": 2}, "depth_multiplier=1"),
    ("MobileNetV2", {"alpha": 0.6}, "alpha 0.35"),
    ("MobileNetV3Small", {"alpha": 0.75, "minimalistic": True}, "alpha 0.75 or 1.0"),
    ("MobileNetV3Large", {"alpha": 0.5}, "alpha 0.75 or 1.0"),
])
def test_imagenet_weights_refuse_unpublished_widths(fn, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        getattr(applications, fn)(weights="imagenet", include_top=False, input_shape=(224, 224, 3), **kwargs)


def test_imagenet_with_top_needs_1000_classes():
    with pytest.raises(ConfigError, match="classes must be 1000"):
        applications.EfficientNetB0(weights="imagenet", classes=10)


def test_unknown_weights_value_is_refused():
    with pytest.raises(ConfigError, match="weights"):
        applications.ConvNeXtTiny(weights="imagenet21k")


@pytest.mark.parametrize("fn", ["MobileNet", "MobileNetV3Small", "EfficientNetB0", "ConvNeXtTiny"])
def test_input_smaller_than_32_is_refused(fn):
    with pytest.raises(ShapeError, match="32"):
        getattr(applications, fn)(weights=None, include_top=False, input_shape=(16, 16, 3))


def test_mobilenet_v2_input_tensor_must_match_input_shape():
    tensor = cnnlab.layers.Input((64, 64, 3))
    with pytest.raises(ConfigError, match="disagree"):
        applications.MobileNetV2(weights=None, include_top=False, input_tensor=tensor, input_shape=(96, 96, 3))


def test_mobilenet_v3_accepts_any_size_without_top():
    model = applications.MobileNetV3Large(weights=None, include_top=False)
    assert model.input_shape == (None, None, None, 3)
    assert model.predict(np.zeros((1, 64, 96, 3), "float32"), verbose=0).shape == (1, 2, 3, 960)


def test_include_preprocessing_adds_rescaling_to_minus_one_one():
    with_pre = applications.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3))
    without = applications.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3),
                                            include_preprocessing=False)
    rescaling = [layer for layer in with_pre.layers if type(layer).__name__ == "Rescaling"]
    assert len(rescaling) == 1 and not any(type(layer).__name__ == "Rescaling" for layer in without.layers)
    out = rescaling[0](np.array([[0.0, 127.5, 255.0]], "float32")).numpy()
    np.testing.assert_allclose(out, [[-1.0, 0.0, 1.0]], atol=1e-6)


def test_efficientnet_v2_b_series_normalises_and_s_rescales():
    b0 = applications.EfficientNetV2B0(weights=None, include_top=False, input_shape=(32, 32, 3))
    s = applications.EfficientNetV2S(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert [type(l).__name__ for l in b0.layers[1:3]] == ["Rescaling", "Normalization"]
    assert type(s.layers[1]).__name__ == "Rescaling" and s.layers[1].offset == -1


def test_efficientnet_drop_connect_rates_grow_with_depth():
    model = applications.EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3))
    rates = {layer.name: layer.rate for layer in model.layers if layer.name.endswith("drop")}
    # 16 blocks, rate 0.2 * b / 16 for block b; block1a (b=0) and the strided/widening blocks have no residual.
    assert rates["block2b_drop"] == pytest.approx(0.2 * 2 / 16)
    assert "block1a_drop" not in rates and "block2a_drop" not in rates
    assert rates["block6d_drop"] == pytest.approx(0.2 * 14 / 16)


def test_preprocess_input_of_self_normalising_models_is_identity():
    x = np.arange(12, dtype="float32").reshape(1, 2, 2, 3)
    for module in (efficientnet, convnext, mobilenet_v3, applications.efficientnet_v2):
        assert module.preprocess_input(x) is x


def test_mobilenet_preprocess_input_maps_to_minus_one_one():
    out = applications.mobilenet_v2.preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]], "float32"))
    np.testing.assert_allclose(out, [[[[-1.0, 0.0, 1.0]]]], atol=1e-6)


def test_hard_sigmoid_nodes_match_numpy():
    x = np.linspace(-5, 5, 21, dtype="float32").reshape(1, 21)
    inputs = cnnlab.layers.Input((21,))
    model = cnnlab.Model(inputs, mobilenet_v3.hard_sigmoid(inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), np.clip(x + 3.0, 0.0, 6.0) / 6.0, atol=1e-6)
    assert [type(l).__name__ for l in model.layers[1:]] == ["ReLU"]  # x + 3 and * (1 / 6) are operations


def test_hard_swish_matches_numpy():
    x = np.linspace(-5, 5, 21, dtype="float32")
    out = cnnlab.layers.Activation("hard_swish")(x.reshape(1, 21)).numpy()
    np.testing.assert_allclose(out, (x * np.clip(x + 3.0, 0.0, 6.0) / 6.0).reshape(1, 21), atol=1e-6)


def test_layer_scale_multiplies_channels_and_round_trips():
    layer = convnext.LayerScale(0.5, 3)
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(layer(x).numpy(), x * 0.5, atol=1e-7)
    gamma = np.array([1.0, -2.0, 3.0], "float32")
    layer.set_weights([gamma])
    np.testing.assert_allclose(layer(x).numpy(), x * gamma, atol=1e-6)
    clone = convnext.LayerScale.from_config(layer.get_config())
    assert (clone.init_values, clone.projection_dim) == (0.5, 3)


def test_layer_scale_refuses_bad_projection_dim():
    with pytest.raises(ConfigError, match="projection_dim"):
        convnext.LayerScale(1e-6, 0)


def test_stochastic_depth_drops_whole_samples_in_training_only():
    layer = convnext.StochasticDepth(0.5)
    x = torch.ones(64, 3, 3, 2)
    assert torch.equal(layer(x, training=False), x)
    out = layer(x, training=True)
    per_sample = out.reshape(64, -1)
    assert set(per_sample.unique().tolist()) <= {0.0, 2.0}  # kept samples scaled by 1 / keep_prob
    assert torch.all(per_sample == per_sample[:, :1])  # one decision per sample
    assert convnext.StochasticDepth.from_config(layer.get_config()).drop_path_rate == 0.5


def test_stochastic_depth_refuses_rate_of_one():
    with pytest.raises(ConfigError, match="drop_path_rate"):
        convnext.StochasticDepth(1.0)


def test_convnext_private_layers_are_loadable_by_name():
    from cnnlab.layers.serialization import builtin_classes

    table = builtin_classes()
    assert table["LayerScale"] is convnext.LayerScale and table["StochasticDepth"] is convnext.StochasticDepth


def test_convnext_imagenet_needs_variant_in_name():
    with pytest.raises(ConfigError, match="convnext_tiny"):
        convnext.ConvNeXt([1, 1, 1, 1], [8, 16, 32, 64], name="tiny_custom", weights="imagenet",
                          weights_name="convnext_tiny", include_top=False, input_shape=(32, 32, 3))


def test_rescaling_accepts_one_scale_per_channel():
    layer = cnnlab.layers.Rescaling([1.0, 2.0, 3.0])
    np.testing.assert_allclose(layer(np.ones((1, 2, 2, 3), "float32")).numpy()[0, 0, 0], [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="list of numbers"):
        cnnlab.layers.Rescaling(["a"])

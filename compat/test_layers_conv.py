"""The convolution family against real Keras 3: Conv1D/3D, the transposed, separable and depthwise convolutions.

Same weights give the same outputs (several strides, dilations, paddings, data formats and output paddings),
summaries print the same text, and .keras / .h5 files cross both ways with the same outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
import cnnlab.inspect  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_compat import keras_summary, normalise_names  # noqa: E402

TOLERANCE = 1e-5

LAYER_CASES = [
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 4, "strides": 3, "padding": "same"}, (2, 10, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "padding": "causal", "strides": 2}, (2, 11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"}, (2, 9, 4)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "data_format": "channels_first"}, (2, 3, 11)),
    ("Conv3D", {"filters": 3, "kernel_size": 3}, (2, 5, 6, 7, 2)),
    ("Conv3D", {"filters": 3, "kernel_size": (2, 3, 2), "strides": 2, "padding": "same"}, (2, 5, 6, 7, 2)),
    ("Conv3D", {"filters": 3, "kernel_size": 2, "dilation_rate": (1, 2, 2), "padding": "same"}, (1, 6, 6, 6, 2)),
    # Channels-first cases keep the last axis of the output shorter or longer than the channel axis: when the two
    # are equal, Keras 3.15 on TF 2.21 (CPU) adds the bias along the last axis (a Keras/TF bug).
    ("Conv3D", {"filters": 3, "kernel_size": 2, "strides": 2, "data_format": "channels_first"}, (1, 2, 5, 6, 8)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 5, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 2, "strides": 3}, (2, 5, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 5, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 5, "strides": 2, "padding": "same", "output_padding": 1},
     (2, 5, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (2, 5, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": (4, 3), "strides": (2, 3), "padding": "same"}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": (0, 1)},
     (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 2, "dilation_rate": (2, 3)}, (1, 4, 4, 2)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                         "data_format": "channels_first"}, (2, 3, 4, 5)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2}, (1, 3, 4, 2, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "strides": (1, 2, 2), "padding": "same"}, (1, 3, 4, 2, 2)),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 3}, (2, 11, 3)),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 4, "strides": 2, "padding": "same", "depth_multiplier": 2},
     (2, 11, 3)),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 3, "dilation_rate": 2, "data_format": "channels_first"},
     (2, 3, 11)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": 3}, (2, 7, 8, 3)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": (3, 2), "strides": 2, "padding": "same",
                         "depth_multiplier": 3}, (2, 7, 8, 3)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (1, 9, 9, 2)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 7, 8)),
    ("DepthwiseConv1D", {"kernel_size": 3}, (2, 11, 3)),
    ("DepthwiseConv1D", {"kernel_size": 4, "strides": 2, "padding": "same", "depth_multiplier": 2}, (2, 11, 3)),
    ("DepthwiseConv1D", {"kernel_size": 3, "dilation_rate": 3}, (2, 11, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3}, (2, 7, 8, 3)),
    ("DepthwiseConv2D", {"kernel_size": (3, 2), "strides": 2, "padding": "same", "depth_multiplier": 2},
     (2, 7, 8, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (1, 9, 9, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "data_format": "channels_first"}, (2, 3, 7, 9)),
]


def _case_id(case):
    name, kwargs, _ = case
    return f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}"


@pytest.mark.parametrize("name, kwargs, shape", LAYER_CASES, ids=[_case_id(c) for c in LAYER_CASES])
def test_layer_outputs_match_keras_for_the_same_weights(name, kwargs, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(shape)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    c_layer = getattr(cnnlab.layers, name)(**kwargs)
    c_layer.build(shape)
    assert [w.shape for w in c_layer.get_weights()] == [w.shape for w in weights]
    c_layer.set_weights(weights)
    expected = np.asarray(k_layer(x))
    got = c_layer(x).detach().numpy()
    assert got.shape == expected.shape
    assert tuple(c_layer.compute_output_shape((None, *shape[1:]))) == tuple(k_layer.compute_output_shape(
        (None, *shape[1:])))
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("name, kwargs, shape", LAYER_CASES[::4], ids=[_case_id(c) for c in LAYER_CASES[::4]])
def test_keras_layer_config_rebuilds_the_same_cnnlab_config(name, kwargs, shape):
    k_config = getattr(keras.layers, name)(**kwargs).get_config()
    c_config = getattr(cnnlab.layers, name)(**kwargs).get_config()
    assert sorted(c_config) == sorted(k_config)
    for key in ("kernel_size", "strides", "padding", "data_format", "dilation_rate", "output_padding", "filters",
                "depth_multiplier", "groups", "use_bias"):
        if key in k_config:
            expected = k_config[key]
            assert c_config[key] == expected, key  # tuples where Keras has tuples


def model_1d(k):
    L = k.layers
    return k.Sequential([
        L.Input(shape=(16, 3)),
        L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"),
        L.SeparableConv1D(6, 3, depth_multiplier=2, padding="same"),
        L.DepthwiseConv1D(3, depth_multiplier=2),
        L.Conv1DTranspose(4, 3, strides=2, padding="same"),
        L.Convolution1D(2, 5, strides=2),
    ])


def model_2d(k):
    L = k.layers
    inputs = L.Input(shape=(12, 12, 3))
    x = L.SeparableConv2D(8, 3, depth_multiplier=2, activation="relu")(inputs)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)(x)
    x = L.Conv2D(4, 1)(x)
    up = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)(x)
    up = L.Convolution2DTranspose(2, 3, strides=2)(up)
    return k.Model(inputs, L.GlobalAveragePooling2D()(up))


def model_3d(k):
    L = k.layers
    return k.Sequential([
        L.Input(shape=(6, 6, 6, 2)),
        L.Conv3D(4, 3, strides=2, padding="same", activation="relu"),
        L.Conv3DTranspose(2, 2, strides=2),
        L.Convolution3D(3, (1, 2, 3)),
    ])


MODELS = {"model_1d": model_1d, "model_2d": model_2d, "model_3d": model_3d}


def _pair(name):
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = MODELS[name](keras), MODELS[name](cnnlab)
    rng = np.random.default_rng(0)
    k_model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in k_model.get_weights()])
    c_model.set_weights(k_model.get_weights())
    x = rng.standard_normal((3,) + tuple(k_model.inputs[0].shape[1:])).astype("float32")
    return k_model, c_model, x


@pytest.mark.parametrize("name", sorted(MODELS))
def test_summary_matches_keras(name):
    k_model, c_model, _ = _pair(name)
    assert normalise_names(cnnlab.inspect.render_summary(c_model)) == normalise_names(keras_summary(k_model))
    assert [layer.count_params() for layer in c_model.layers] == [layer.count_params() for layer in k_model.layers]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_outputs_match_keras(name):
    k_model, c_model, x = _pair(name)
    np.testing.assert_allclose(c_model.predict(x, verbose=0), np.asarray(k_model(x, training=False)),
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_cnnlab_file_opens_in_keras_with_the_same_outputs(tmp_path, name, suffix):
    _, c_model, x = _pair(name)
    c_model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), c_model.predict(x, verbose=0),
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_file_opens_in_cnnlab_with_the_same_outputs(tmp_path, name, suffix):
    k_model, _, x = _pair(name)
    k_model.save(tmp_path / f"m{suffix}")
    loaded = cnnlab.load_model(tmp_path / f"m{suffix}")
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in k_model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.asarray(k_model(x, training=False)),
                               rtol=TOLERANCE, atol=TOLERANCE)

"""Pooling (1-D/3-D, global), up-sampling, cropping, zero padding, Permute, RepeatVector, Identity against Keras 3.

Same outputs (1e-5) and configs layer by layer, the same summary() for small models built from them, and
.keras/.h5 files crossing both ways.
"""

from __future__ import annotations

import json
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
CF = {"data_format": "channels_first"}

# (Keras class name, constructor kwargs, input shape with batch)
LAYER_CONFIGS = [
    ("MaxPooling1D", {}, (2, 9, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 10, 3)),
    ("MaxPooling1D", {"pool_size": 4, "strides": 1, "padding": "same", **CF}, (2, 3, 7)),
    ("AveragePooling1D", {"pool_size": 3}, (2, 10, 2)),
    ("AveragePooling1D", {"pool_size": 2, "padding": "same"}, (2, 7, 2)),
    ("AveragePooling1D", {"pool_size": 4, "strides": 3, "padding": "same", **CF}, (2, 3, 11)),
    ("MaxPooling3D", {}, (2, 4, 5, 6, 2)),
    ("MaxPooling3D", {"pool_size": (2, 3, 2), "strides": (1, 2, 3), "padding": "same"}, (2, 5, 6, 7, 3)),
    ("MaxPooling3D", {"pool_size": 2, "padding": "same", **CF}, (1, 2, 5, 4, 3)),
    ("AveragePooling3D", {"pool_size": 2}, (2, 4, 4, 4, 2)),
    ("AveragePooling3D", {"pool_size": (3, 2, 3), "strides": 2, "padding": "same"}, (2, 5, 6, 7, 2)),
    ("AveragePooling3D", {"pool_size": 3, "strides": 1, "padding": "same", **CF}, (1, 2, 4, 5, 3)),
    ("GlobalAveragePooling1D", {}, (2, 7, 3)),
    ("GlobalAveragePooling1D", {"keepdims": True, **CF}, (2, 3, 7)),
    ("GlobalMaxPooling1D", {"keepdims": True}, (2, 7, 3)),
    ("GlobalAveragePooling3D", {}, (2, 3, 4, 5, 2)),
    ("GlobalAveragePooling3D", {"keepdims": True, **CF}, (2, 2, 3, 4, 5)),
    ("GlobalMaxPooling3D", {**CF}, (2, 2, 3, 4, 5)),
    ("UpSampling1D", {}, (2, 5, 3)),
    ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (2, 3), **CF}, (2, 2, 3, 4)),
    *[("UpSampling2D", {"size": size, "interpolation": mode}, (2, 5, 6, 3))
      for mode in ("bilinear", "bicubic", "lanczos3", "lanczos5", "area") for size in (2, (3, 5))],
    ("UpSampling2D", {"size": 3, "interpolation": "bilinear", **CF}, (2, 3, 4, 5)),
    ("UpSampling2D", {"size": (1, 4), "interpolation": "bicubic", **CF}, (2, 3, 4, 5)),
    ("UpSampling3D", {}, (1, 2, 3, 4, 2)),
    ("UpSampling3D", {"size": (1, 2, 3), **CF}, (1, 2, 2, 3, 4)),
    ("Cropping1D", {}, (2, 6, 3)),
    ("Cropping1D", {"cropping": (0, 2)}, (2, 6, 3)),
    ("Cropping2D", {"cropping": ((1, 2), (0, 3))}, (2, 7, 8, 3)),
    ("Cropping2D", {"cropping": (2, 1), **CF}, (2, 3, 6, 5)),
    ("Cropping3D", {}, (1, 4, 5, 6, 2)),
    ("Cropping3D", {"cropping": (0, (1, 0), 2), **CF}, (1, 2, 4, 5, 6)),
    ("ZeroPadding1D", {}, (2, 5, 3)),
    ("ZeroPadding1D", {"padding": (0, 3), **CF}, (2, 3, 5)),
    ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}, (2, 4, 4, 3)),
    ("ZeroPadding3D", {}, (1, 2, 3, 4, 2)),
    ("ZeroPadding3D", {"padding": (1, (0, 2), 0), **CF}, (1, 2, 2, 3, 4)),
    ("Permute", {"dims": (2, 1)}, (2, 5, 3)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 4, 5, 3)),
    ("RepeatVector", {"n": 4}, (2, 3)),
    ("Identity", {}, (2, 4, 4, 3)),
]


def _config_id(entry):
    name, kwargs, _ = entry
    return f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'default'}"


def _comparable(config: dict) -> dict:
    """A layer config without its name and dtype (Keras writes a dtype policy), in JSON form."""
    return {k: v for k, v in json.loads(json.dumps(config)).items() if k not in ("name", "dtype")}


@pytest.mark.parametrize("entry", LAYER_CONFIGS, ids=[_config_id(e) for e in LAYER_CONFIGS])
def test_layer_output_and_config_match_keras(entry):
    name, kwargs, shape = entry
    x = np.random.default_rng(len(shape) * 100 + sum(shape)).normal(size=shape).astype("float32")
    k_layer, c_layer = getattr(keras.layers, name)(**kwargs), getattr(cnnlab.layers, name)(**kwargs)
    expected = np.asarray(k_layer(x))
    got = c_layer(x).detach().numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)
    assert tuple(c_layer.compute_output_shape((None, *shape[1:]))) == tuple(k_layer.compute_output_shape(
        (None, *shape[1:])))
    assert _comparable(c_layer.get_config()) == _comparable(k_layer.get_config())


# ----------------------------------------------------------------------------- small models


def sequence_model(k):
    """1-D: padding, pooling, up-sampling, cropping, Permute, global pooling, RepeatVector, Identity."""
    L = k.layers
    return k.Sequential([
        L.Input(shape=(20, 4)),
        L.ZeroPadding1D((1, 2)), L.MaxPooling1D(3, strides=2, padding="same"), L.AveragePooling1D(2, padding="same"),
        L.UpSampling1D(3), L.Cropping1D((2, 1)), L.Permute((2, 1)), L.Dense(5), L.GlobalMaxPooling1D(),
        L.RepeatVector(3), L.GlobalAveragePooling1D(), L.Identity(), L.Dense(3),
    ])


def volume_model(k):
    """3-D: padding, max and average pooling, up-sampling, cropping, global pooling."""
    L = k.layers
    return k.Sequential([
        L.Input(shape=(6, 7, 8, 2)),
        L.ZeroPadding3D((1, (0, 1), 2)), L.MaxPooling3D(padding="same"),
        L.AveragePooling3D(2, strides=1, padding="same"),
        L.UpSampling3D((1, 2, 1)), L.Cropping3D(((0, 1), 1, (1, 0))), L.Dense(3), L.GlobalAveragePooling3D(),
        L.Dense(2),
    ])


def image_branches(k):
    """2-D functional: an interpolating up-sampling branch and a pad-then-crop branch, concatenated."""
    L = k.layers
    inputs = L.Input(shape=(9, 9, 3))
    x = L.Conv2D(4, 3, padding="same")(inputs)
    a = L.MaxPooling2D(2)(L.UpSampling2D(2, interpolation="bicubic")(x))
    b = L.Cropping2D(1)(L.ZeroPadding2D(1)(x))
    merged = L.Concatenate()([a, L.UpSampling2D(1, interpolation="bilinear")(b)])
    pooled = L.GlobalMaxPooling2D(keepdims=True)(merged)
    return k.Model(inputs, L.Dense(3)(L.Flatten()(pooled)))


MODELS = {"sequence": sequence_model, "volume": volume_model, "image_branches": image_branches}


def _pair(name):
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = MODELS[name](keras), MODELS[name](cnnlab)
    c_model.set_weights(k_model.get_weights())
    x = np.random.default_rng(0).normal(size=(3,) + tuple(k_model.inputs[0].shape[1:])).astype("float32")
    return k_model, c_model, x


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_summary_and_outputs_match_keras(name):
    k_model, c_model, x = _pair(name)
    assert normalise_names(cnnlab.inspect.render_summary(c_model)) == normalise_names(keras_summary(k_model))
    np.testing.assert_allclose(c_model(x).detach().numpy(), np.asarray(k_model(x, training=False)),
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("direction", ["cnnlab-to-keras", "keras-to-cnnlab"])
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_files_cross_both_ways_with_the_same_layers_and_outputs(tmp_path, name, suffix, direction):
    k_model, c_model, x = _pair(name)
    saved, load = (c_model, keras.models.load_model) if direction == "cnnlab-to-keras" else (k_model, cnnlab.load_model)
    saved.save(tmp_path / f"m{suffix}")
    loaded = load(tmp_path / f"m{suffix}")
    assert sorted(type(layer).__name__ for layer in loaded.layers) == sorted(type(layer).__name__
                                                                             for layer in saved.layers)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), saved.predict(x, verbose=0),
                               rtol=TOLERANCE, atol=TOLERANCE)


def test_subclassed_model_summary_matches_keras():
    def build(k):
        class Net(k.Model):
            def __init__(self):
                super().__init__()
                self.pool, self.up = k.layers.MaxPooling1D(), k.layers.UpSampling1D()
                self.gap, self.skip, self.dense = k.layers.GlobalAveragePooling1D(), k.layers.Identity(), k.layers.Dense(2)

            def call(self, x):
                return self.dense(self.skip(self.gap(self.up(self.pool(x)))))

        model = Net()
        model(np.zeros((2, 8, 3), "float32"))
        return model

    keras.backend.clear_session()
    reset_names()
    assert normalise_names(cnnlab.inspect.render_summary(build(cnnlab))) == normalise_names(keras_summary(build(keras)))

"""Normalisation, regularisation and activation layers, and every activation name, against real Keras 3.

Same weights -> same outputs, same summary, same configs, and .keras/.h5 files written by one open in the other.
The random layers (SpatialDropout, GaussianNoise, GaussianDropout, AlphaDropout) are checked at inference
(identity in both) and through files; their training statistics are tested in tests/layers/test_regularization.py.
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
import test_compat as shared  # noqa: E402  (its helpers, not its tests)

TOLERANCE = 1e-5

# name -> (input shape without batch, builder of the layers after the Input given a layers module)
MODELS = {
    "layer_norm": ((6, 5, 4), lambda L: [L.LayerNormalization()]),
    "layer_norm_two_axes": ((6, 5, 4), lambda L: [L.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False)]),
    "layer_norm_mixed_sign_axes": ((6, 5, 4), lambda L: [L.LayerNormalization(axis=[-1, 1])]),
    "layer_norm_axis_1_no_scale": ((6, 5, 4), lambda L: [L.LayerNormalization(axis=1, scale=False)]),
    "layer_norm_after_dense": ((7,), lambda L: [L.Dense(8), L.LayerNormalization(epsilon=1e-6)]),
    "group_norm": ((6, 5, 8), lambda L: [L.GroupNormalization(groups=4)]),
    "group_norm_instance": ((6, 5, 4), lambda L: [L.GroupNormalization(groups=-1)]),
    "group_norm_channels_first": ((4, 6, 5), lambda L: [L.GroupNormalization(groups=2, axis=1, center=False)]),
    "unit_norm": ((6, 5, 4), lambda L: [L.UnitNormalization()]),
    "unit_norm_two_axes": ((6, 5, 4), lambda L: [L.UnitNormalization(axis=[1, 2])]),
    "elu": ((6, 5, 4), lambda L: [L.ELU(alpha=0.5)]),
    "prelu": ((6, 5, 4), lambda L: [L.PReLU()]),
    "prelu_shared": ((6, 5, 4), lambda L: [L.Conv2D(3, 3), L.PReLU(shared_axes=[1, 2], alpha_initializer="ones")]),
    "softmax_two_axes": ((6, 5, 4), lambda L: [L.Softmax(axis=[1, 2])]),
    "relu_options": ((6, 5, 4), lambda L: [L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5)]),
    "activity_regularization": ((6,), lambda L: [L.Dense(4), L.ActivityRegularization(l1=0.01, l2=0.001)]),
    "random_2d": ((6, 5, 4), lambda L: [L.GaussianNoise(0.1, seed=1), L.Conv2D(4, 3), L.SpatialDropout2D(0.3),
                                         L.GaussianDropout(0.2), L.AlphaDropout(0.1, noise_shape=(None, 1, 1, 2))]),
    "random_channels_first": ((4, 6, 5), lambda L: [L.SpatialDropout2D(0.3, data_format="channels_first")]),
    "spatial_dropout_1d": ((10, 4), lambda L: [L.SpatialDropout1D(0.2, seed=3), L.Dense(2)]),
    "spatial_dropout_3d": ((3, 3, 3, 4), lambda L: [L.SpatialDropout3D(0.2)]),
}


def _build(k, name):
    shape, layers = MODELS[name]
    return k.Sequential([k.layers.Input(shape=shape), *layers(k.layers)])


def _pair(name, seed=0):
    """The model built with Keras and with cnnlab, with the same random (non-trivial) weights."""
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = _build(keras, name), _build(cnnlab, name)
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") if w.ndim and "alpha" not in v.path
               else rng.normal(size=w.shape).astype("float32") for v, w in zip(k_model.weights, k_model.get_weights())]
    k_model.set_weights(weights)
    c_model.set_weights(weights)
    x = rng.normal(size=(3,) + MODELS[name][0]).astype("float32")
    return k_model, c_model, x


@pytest.mark.parametrize("name", sorted(MODELS))
def test_outputs_match_keras_for_the_same_weights(name):
    k_model, c_model, x = _pair(name)
    assert [w.shape for w in c_model.get_weights()] == [tuple(w.shape) for w in k_model.get_weights()]
    assert [w.path.split("/")[-1] for w in c_model.weights] == [w.path.split("/")[-1] for w in k_model.weights]
    np.testing.assert_allclose(c_model(x).detach().numpy(), np.asarray(k_model(x, training=False)),
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_summary_matches_keras(name):
    k_model, c_model, _ = _pair(name)
    assert shared.normalise_names(cnnlab.inspect.render_summary(c_model)) == \
        shared.normalise_names(shared.keras_summary(k_model))
    assert c_model.count_params() == k_model.count_params()


def _plain(config: dict) -> dict:
    """A layer config without Keras's dtype policy object and nested-object envelopes."""
    out = {}
    for key, value in config.items():
        if key == "dtype":
            continue
        if isinstance(value, dict) and "class_name" in value:
            value = {"class_name": value["class_name"], "config": value.get("config")}
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layer_configs_match_keras(name):
    k_model, c_model, x = _pair(name)
    for k_layer, c_layer in zip(k_model.layers, c_model.layers):
        if type(c_layer).__module__.split(".")[-1] not in ("normalization", "regularization", "activation"):
            continue  # Dense and Conv2D configs are compared in their own families' compat tests
        assert _plain(c_layer.get_config()) == _plain(k_layer.get_config()), type(c_layer).__name__


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_files_open_both_ways_with_the_same_outputs(tmp_path, name, suffix):
    k_model, c_model, x = _pair(name)
    c_model.save(tmp_path / f"c{suffix}")
    into_keras = keras.models.load_model(tmp_path / f"c{suffix}")
    np.testing.assert_allclose(np.asarray(into_keras(x, training=False)), c_model.predict(x, verbose=0),
                               rtol=TOLERANCE, atol=TOLERANCE)
    k_model.save(tmp_path / f"k{suffix}")
    into_cnnlab = cnnlab.load_model(tmp_path / f"k{suffix}")
    np.testing.assert_allclose(into_cnnlab.predict(x, verbose=0), np.asarray(k_model(x, training=False)),
                               rtol=TOLERANCE, atol=TOLERANCE)
    assert [l.get_config() for l in into_cnnlab.layers] == [l.get_config() for l in c_model.layers]


def test_activity_regularization_loss_matches_keras():
    k_model, c_model, x = _pair("activity_regularization")
    k_model(x)
    c_model(x)
    expected = sum(float(loss) for loss in k_model.losses)
    assert expected > 0
    assert sum(float(loss) for loss in c_model.losses) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------------------------------- activation names
KERAS_NAMES = sorted(keras.src.activations.ALL_OBJECTS_DICT)
ARGS = {"threshold": (0.3, -2.0)}  # Keras's threshold has no defaults


def test_every_keras_activation_name_exists_in_cnnlab():
    assert set(cnnlab.activations.names()) == set(KERAS_NAMES)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_activation_by_name_matches_keras(name):
    x = (np.random.default_rng(0).normal(size=(4, 6)) * 3).astype("float32")
    if name == "sparsemax":  # one clear winner per row: Keras 3.15 is right only then (keras-team/keras#23425)
        x[np.arange(4), np.arange(4)] += 10
    expected = np.asarray(keras.activations.get(name)(x, *ARGS.get(name, ())))
    import torch

    got = cnnlab.activations.get(name)(torch.from_numpy(x), *ARGS.get(name, ())).numpy()
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)
    assert cnnlab.activations.serialize(cnnlab.activations.get(name)) == keras.activations.serialize(
        keras.activations.get(name))


# glu halves the last axis, which Keras's Dense/Activation shape inference does not know; threshold needs args.
FILE_NAMES = [n for n in KERAS_NAMES if n not in ("glu", "threshold")]


@pytest.mark.parametrize("name", FILE_NAMES)
def test_activation_names_cross_in_keras_files(tmp_path, name):
    def build(k):
        return k.Sequential([k.layers.Input(shape=(5,)), k.layers.Dense(6, activation=name),
                             k.layers.Activation(name)])

    keras.backend.clear_session()
    reset_names()
    k_model, c_model = build(keras), build(cnnlab)
    weights = k_model.get_weights()
    if name == "sparsemax":
        weights[1][0] = 100.0  # one clear winner: Keras 3.15's sparsemax is right only then (keras-team/keras#23425)
    k_model.set_weights(weights)
    c_model.set_weights(weights)
    x = np.random.default_rng(1).normal(size=(3, 5)).astype("float32")
    c_model.save(tmp_path / "c.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "c.keras")(x)),
                               c_model.predict(x, verbose=0), rtol=TOLERANCE, atol=TOLERANCE)
    k_model.save(tmp_path / "k.keras")
    np.testing.assert_allclose(cnnlab.load_model(tmp_path / "k.keras").predict(x, verbose=0),
                               np.asarray(k_model(x)), rtol=TOLERANCE, atol=TOLERANCE)

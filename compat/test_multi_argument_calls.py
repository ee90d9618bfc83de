"""Layers called on several symbolic tensors (``endpoint(targets, logits)``) against real Keras 3: the functional
config's call entries are Keras's, and .keras files load both ways with equal outputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

TOLERANCE = 1e-5
RNG = np.random.default_rng(0)
X = RNG.random((6, 3), dtype=np.float32)
TARGETS = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 6)]
SAMPLE_WEIGHTS = RNG.random((6, 1), dtype=np.float32)


def _endpoint_class(lib):
    """The same custom layer written against each library (a class named LogisticEndpoint in both)."""
    ops = lib.ops

    class LogisticEndpoint(lib.layers.Layer):
        def call(self, targets, logits, sample_weights=None):
            per_sample = -ops.sum(targets * ops.log_softmax(logits), axis=-1)
            if sample_weights is not None:
                per_sample = per_sample * ops.reshape(sample_weights, (-1,))
            self.add_loss(ops.mean(per_sample))
            return ops.softmax(logits)

    return LogisticEndpoint


ENDPOINTS = {"keras": _endpoint_class(keras), "cnnlab": _endpoint_class(cnnlab)}


def _custom(lib):
    return {"LogisticEndpoint": ENDPOINTS[lib.__name__]}


def _build(lib, keyword_tensor: bool):
    inputs = lib.Input(shape=(3,), name="inputs")
    targets = lib.Input(shape=(10,), name="targets")
    logits = lib.layers.Dense(10)(inputs)
    endpoint = ENDPOINTS[lib.__name__](name="predictions")
    if keyword_tensor:
        weights = lib.Input(shape=(1,), name="sample_weights")
        return lib.Model([inputs, targets, weights], endpoint(targets, logits, sample_weights=weights))
    return lib.Model([inputs, targets], endpoint(targets, logits))


def _pair(keyword_tensor: bool):
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = _build(keras, keyword_tensor), _build(cnnlab, keyword_tensor)
    c_model.set_weights(k_model.get_weights())
    return k_model, c_model


def _data(keyword_tensor: bool):
    return [X, TARGETS, SAMPLE_WEIGHTS] if keyword_tensor else [X, TARGETS]


def _np(value):
    return keras.ops.convert_to_numpy(value) if not hasattr(value, "detach") else value.detach().cpu().numpy()


def _call_entries(model) -> dict:
    """Each layer's ``inbound_nodes`` as JSON text, with ``_<n>`` name counters blanked."""
    layers = model.get_config()["layers"]
    return {re.sub(r"_\d+$", "", layer["name"]): re.sub(r"(?<=[a-z])_\d+\b", "", json.dumps(layer["inbound_nodes"]))
            for layer in layers}


KEYWORD = pytest.mark.parametrize("keyword_tensor", [False, True], ids=["positional", "keyword"])


@KEYWORD
def test_endpoint_call_entries_equal_keras(keyword_tensor):
    k_model, c_model = _pair(keyword_tensor)
    assert _call_entries(c_model) == _call_entries(k_model)
    k_config, c_config = k_model.get_config(), c_model.get_config()
    assert c_config["input_layers"] == k_config["input_layers"]
    assert c_config["output_layers"] == k_config["output_layers"]


@KEYWORD
def test_endpoint_outputs_and_added_loss_equal_keras(keyword_tensor):
    k_model, c_model = _pair(keyword_tensor)
    data = _data(keyword_tensor)
    np.testing.assert_allclose(_np(c_model(data)), _np(k_model(data)), atol=TOLERANCE)
    np.testing.assert_allclose(_np(c_model.losses[0]), _np(k_model.losses[0]), atol=TOLERANCE)


@KEYWORD
def test_endpoint_keras_file_from_cnnlab_loads_in_keras(tmp_path, keyword_tensor):
    k_model, c_model = _pair(keyword_tensor)
    path = tmp_path / "endpoint_cnnlab.keras"
    c_model.save(path)
    loaded = keras.models.load_model(path, custom_objects=_custom(keras))
    assert isinstance(loaded.get_layer("predictions"), ENDPOINTS["keras"])
    data = _data(keyword_tensor)
    np.testing.assert_allclose(_np(loaded(data)), _np(c_model(data)), atol=TOLERANCE)


@KEYWORD
def test_endpoint_keras_file_from_keras_loads_in_cnnlab(tmp_path, keyword_tensor):
    k_model, _ = _pair(keyword_tensor)
    path = tmp_path / "endpoint_keras.keras"
    k_model.save(path)
    loaded = cnnlab.models.load_model(path, custom_objects=_custom(cnnlab))
    assert isinstance(loaded.get_layer("predictions"), ENDPOINTS["cnnlab"])
    data = _data(keyword_tensor)
    np.testing.assert_allclose(_np(loaded(data)), _np(k_model(data)), atol=TOLERANCE)
    assert _call_entries(loaded) == _call_entries(k_model)


def test_input_named_inputs_config_equals_keras():
    def build(lib):
        inputs = lib.Input(shape=(4,), name="inputs")
        return lib.Model(inputs, lib.layers.Dense(2)(inputs))

    keras.backend.clear_session()
    reset_names()
    k_model, c_model = build(keras), build(cnnlab)
    assert [layer.name for layer in c_model.layers] == [layer.name for layer in k_model.layers]
    assert _call_entries(c_model) == _call_entries(k_model)
    assert c_model.get_config()["input_layers"] == k_model.get_config()["input_layers"]

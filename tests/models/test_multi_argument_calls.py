"""Layers called on several symbolic tensors (``endpoint(targets, logits)``, Keras 3 style) and an Input named
"inputs": the graph runs eagerly and in fit, and survives get_config/from_config, .keras and .cnnlab files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import ops
from cnnlab.errors import FileFormatError
from cnnlab.layers.base import reset_names

TOL = dict(rtol=1e-5, atol=1e-6)
RNG = np.random.default_rng(0)
X = RNG.random((32, 3), dtype=np.float32)
TARGETS = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 32)]
SAMPLE_WEIGHTS = RNG.random((32, 1), dtype=np.float32)


class LogisticEndpoint(keras.layers.Layer):
    """Adds a cross-entropy loss of ``logits`` against ``targets`` and returns the probabilities."""

    def call(self, targets, logits, sample_weights=None):
        per_sample = -ops.sum(targets * ops.log_softmax(logits), axis=-1)
        if sample_weights is not None:
            per_sample = per_sample * ops.reshape(sample_weights, (-1,))
        self.add_loss(ops.mean(per_sample))
        return ops.softmax(logits)


CUSTOM = {"LogisticEndpoint": LogisticEndpoint}


def _endpoint_model(keyword_tensor: bool = False):
    reset_names()
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    if keyword_tensor:
        weights = keras.Input(shape=(1,), name="sample_weights")
        predictions = LogisticEndpoint(name="predictions")(targets, logits, sample_weights=weights)
        return keras.Model(inputs=[inputs, targets, weights], outputs=predictions)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    return keras.Model(inputs=[inputs, targets], outputs=predictions)


def _data(keyword_tensor: bool = False):
    return [X, TARGETS, SAMPLE_WEIGHTS] if keyword_tensor else [X, TARGETS]


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _reference(model, keyword_tensor: bool = False):
    """NumPy forward pass and loss of the endpoint model from its Dense weights."""
    kernel, bias = model.get_layer("dense").get_weights()
    logits = X @ kernel + bias
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    per_sample = -(TARGETS * log_probs).sum(axis=-1)
    if keyword_tensor:
        per_sample = per_sample * SAMPLE_WEIGHTS[:, 0]
    return np.exp(log_probs), per_sample.mean()


def _summary(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


@pytest.mark.parametrize("keyword_tensor", [False, True], ids=["positional", "keyword"])
def test_endpoint_graph_runs_eagerly_with_numpy_outputs_and_added_loss(keyword_tensor):
    model = _endpoint_model(keyword_tensor)
    probs, loss = _reference(model, keyword_tensor)
    out = model(_data(keyword_tensor))
    np.testing.assert_allclose(_np(out), probs, **TOL)
    assert len(model.losses) == 1
    np.testing.assert_allclose(_np(model.losses[0]), loss, rtol=1e-5)
    np.testing.assert_allclose(model.predict(_data(keyword_tensor), verbose=0), probs, **TOL)


def test_endpoint_node_keeps_every_tensor_argument_as_graph_input():
    model = _endpoint_model(keyword_tensor=True)
    node = model.get_layer("predictions")._inbound_nodes[0]
    assert [t.name for t in node.inputs] == ["targets", "dense", "sample_weights"]
    assert len(node.call_args) == 2 and "sample_weights" in node.call_kwargs
    assert not node.single_input_call


@pytest.mark.parametrize("keyword_tensor", [False, True], ids=["positional", "keyword"])
def test_endpoint_model_fits_on_add_loss_alone_and_loss_decreases(keyword_tensor):
    keras.utils.set_random_seed(0)
    model = _endpoint_model(keyword_tensor)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05))
    _, first_loss = _reference(model, keyword_tensor)
    history = model.fit(_data(keyword_tensor), epochs=5, batch_size=32, verbose=0)
    losses = history.history["loss"]
    # One full batch per epoch: the first epoch's loss is the add_loss value at the initial weights.
    np.testing.assert_allclose(losses[0], first_loss, rtol=1e-5)
    assert losses[-1] < losses[0]
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_endpoint_model_compiled_with_adam_string_and_no_loss_trains():
    keras.utils.set_random_seed(0)
    model = _endpoint_model()
    model.compile(optimizer="adam")
    history = model.fit(_data(), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("keyword_tensor", [False, True], ids=["positional", "keyword"])
def test_endpoint_model_config_round_trip_gives_equal_outputs(keyword_tensor):
    model = _endpoint_model(keyword_tensor)
    config = model.get_config()
    endpoint = next(layer for layer in config["layers"] if layer["name"] == "predictions")
    (call,) = endpoint["inbound_nodes"]
    assert [a["config"]["keras_history"][0] for a in call["args"]] == ["targets", "dense"]
    if keyword_tensor:
        assert call["kwargs"]["sample_weights"]["config"]["keras_history"] == ["sample_weights", 0, 0]
    clone = keras.Model.from_config(config, custom_objects=CUSTOM)
    clone.set_weights(model.get_weights())
    assert isinstance(clone.get_layer("predictions"), LogisticEndpoint)
    assert [t.name for t in clone.inputs] == [t.name for t in model.inputs]
    data = _data(keyword_tensor)
    np.testing.assert_allclose(_np(clone(data)), _np(model(data)), **TOL)


@pytest.mark.parametrize("suffix", [".keras", ".cnnlab"])
@pytest.mark.parametrize("keyword_tensor", [False, True], ids=["positional", "keyword"])
def test_endpoint_model_save_load_gives_equal_outputs(tmp_path, suffix, keyword_tensor):
    model = _endpoint_model(keyword_tensor)
    path = tmp_path / f"endpoint{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects=CUSTOM)
    data = _data(keyword_tensor)
    np.testing.assert_allclose(_np(loaded(data)), _np(model(data)), **TOL)
    np.testing.assert_allclose(_np(loaded.losses[0]), _reference(model, keyword_tensor)[1], rtol=1e-5)


def _with_endpoint_option(src, dst, **options):
    """A copy of the .keras file ``src`` whose endpoint config has ``options`` added, as Keras 3 writes them."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if layer["name"] == "predictions":
                        layer["config"].update(options)
                data = json.dumps(config).encode()
            zout.writestr(item, data)


def test_keras_written_null_activity_regularizer_of_custom_layer_loads(tmp_path):
    # Keras 3 writes "activity_regularizer": null for a custom layer that keeps the base Layer's __init__.
    model = _endpoint_model()
    model.save(tmp_path / "plain.keras")
    _with_endpoint_option(tmp_path / "plain.keras", tmp_path / "keras_style.keras", activity_regularizer=None)
    loaded = keras.models.load_model(tmp_path / "keras_style.keras", custom_objects=CUSTOM)
    np.testing.assert_allclose(_np(loaded(_data())), _np(model(_data())), **TOL)


def test_custom_layer_with_activity_regularizer_in_file_is_refused_with_its_name(tmp_path):
    model = _endpoint_model()
    model.save(tmp_path / "plain.keras")
    l2 = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": None}
    _with_endpoint_option(tmp_path / "plain.keras", tmp_path / "regularized.keras", activity_regularizer=l2)
    with pytest.raises(FileFormatError, match=r"'predictions' \(LogisticEndpoint\).*activity_regularizer"):
        keras.models.load_model(tmp_path / "regularized.keras", custom_objects=CUSTOM)


def test_endpoint_summary_connects_both_tensor_arguments():
    text = _summary(_endpoint_model())
    row = text[text.index("predictions"):]
    assert "targets[0][0]" in row and "dense[0][0]" in row
    assert "LogisticEndpoint" in row


def test_endpoint_summary_connects_keyword_tensor_argument():
    text = _summary(_endpoint_model(keyword_tensor=True))
    row = text[text.index("predictions"):]
    assert "sample_weights[0][0]" in row


# ------------------------------------------------------------------ an Input named "inputs"
def _inputs_named_model():
    reset_names()
    inputs = keras.Input(shape=(4,), name="inputs")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(2)(hidden)
    return keras.Model(inputs, outputs)


def test_input_named_inputs_keeps_its_name_in_layers_summary_and_config():
    model = _inputs_named_model()
    assert model.layers[0].name == "inputs"
    assert [layer.name for layer in model.layers] == ["inputs", "dense", "dense_1"]
    assert "inputs (InputLayer)" in _summary(model)
    config = model.get_config()
    assert config["layers"][0]["name"] == "inputs"
    assert config["layers"][0]["config"]["name"] == "inputs"
    assert config["input_layers"] in (["inputs", 0, 0], [["inputs", 0, 0]])
    assert config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["inputs", 0, 0]


def test_input_named_inputs_runs_with_numpy_outputs():
    model = _inputs_named_model()
    x = RNG.random((5, 4), dtype=np.float32)
    k1, b1, k2, b2 = model.get_weights()
    expected = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(_np(model(x)), expected, **TOL)


@pytest.mark.parametrize("suffix", [".keras", ".cnnlab"])
def test_input_named_inputs_save_load_round_trip(tmp_path, suffix):
    model = _inputs_named_model()
    path = tmp_path / f"inputs_named{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[0].name == "inputs"
    assert loaded.get_config()["layers"][0]["name"] == "inputs"
    x = RNG.random((5, 4), dtype=np.float32)
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), **TOL)


def test_input_named_inputs_config_round_trip():
    model = _inputs_named_model()
    clone = keras.Model.from_config(model.get_config())
    assert clone.layers[0].name == "inputs"
    clone.set_weights(model.get_weights())
    x = RNG.random((5, 4), dtype=np.float32)
    np.testing.assert_allclose(_np(clone(x)), _np(model(x)), **TOL)

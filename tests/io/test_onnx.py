"""ONNX export: a checked file, channels-last input named after the Input layer, dynamic batch, same outputs."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import cnnlab  # noqa: E402
from cnnlab import layers as L  # noqa: E402
from cnnlab.errors import ConfigError  # noqa: E402


def lenet5():
    return cnnlab.Sequential([
        L.Input(shape=(28, 28, 1), name="image"), L.Conv2D(6, 5, padding="same", activation="tanh"),
        L.AveragePooling2D(2), L.Conv2D(16, 5, activation="tanh"), L.AveragePooling2D(2), L.Flatten(),
        L.Dense(120, activation="tanh"), L.Dense(84, activation="tanh"), L.Dense(10, activation="softmax")])


def fashion_cnn():
    return cnnlab.Sequential([
        L.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
        L.Dense(10, activation="softmax")])


def bn_model():
    model = cnnlab.Sequential([L.Input(shape=(16, 16, 3)), L.Conv2D(8, 3, use_bias=False), L.BatchNormalization(),
                               L.ReLU(), L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")])
    rng = np.random.default_rng(1)
    bn = model.layers[1]
    bn.set_weights([rng.uniform(0.5, 1.5, 8), rng.normal(size=8), rng.normal(size=8), rng.uniform(0.5, 2, 8)])
    return model


def branching():
    inputs = L.Input(shape=(16, 16, 3))
    a = L.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    b = L.Conv2D(8, 1)(inputs)
    x = L.Concatenate()([L.Add()([a, b]), a])
    x = L.GlobalAveragePooling2D()(L.MaxPooling2D(2)(x))
    return cnnlab.Model(inputs, L.Dense(10, activation="softmax")(x))


@pytest.mark.parametrize("build", [lenet5, fashion_cnn, bn_model, branching])
def test_onnxruntime_matches_predict(tmp_path, build):
    model = build()
    path = cnnlab.io.export_onnx(model, tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (feed,) = session.get_inputs()
    assert feed.name == model.inputs[0].node.layer.name
    assert feed.shape[0] == "batch" and tuple(feed.shape[1:]) == model.inputs[0].shape[1:]  # channels-last
    x = np.random.default_rng(0).uniform(size=(5,) + model.inputs[0].shape[1:]).astype("float32")
    (got,) = session.run(None, {feed.name: x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)  # softmax kept in the graph


def test_model_export_method_writes_onnx(tmp_path):
    model = lenet5()
    model.export(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "image"


def test_export_refuses_other_extensions(tmp_path):
    with pytest.raises(ConfigError, match=r"must end with \.onnx"):
        cnnlab.io.export_onnx(lenet5(), tmp_path / "m.pb")

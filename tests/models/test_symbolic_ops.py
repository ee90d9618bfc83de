"""Operators and cnnlab.ops calls on symbolic tensors become graph operations (cnnlab/models/op_nodes.py)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import cnnlab
from cnnlab import layers, ops
from cnnlab.errors import ConfigError, FileFormatError
from cnnlab.layers.base import reset_names
from cnnlab.models.op_nodes import Operation


@pytest.fixture(autouse=True)
def _fresh_names():
    reset_names()


def _two_inputs():
    return layers.Input((4,)), layers.Input((4,))


def test_operators_record_keras_named_operations_not_layers():
    x, y = _two_inputs()
    out = x * 0.5 + y
    model = cnnlab.Model([x, y], out)
    assert [type(op).__name__ for op in model._operations] == ["InputLayer", "Multiply", "InputLayer", "Add"]
    assert [op.name for op in model._operations if isinstance(op, Operation)] == ["multiply", "add"]
    assert [layer.name for layer in model.layers] == ["input_layer", "input_layer_1"]


def test_operation_names_share_counters_with_layers():
    x, y = _two_inputs()
    first = layers.Add()([x, y])  # the merge layer takes "add" ...
    second = first + y  # ... so the operation is "add_1", as Keras's shared auto_name counter gives
    assert first.node.layer.name == "add" and second.node.layer.name == "add_1"


def test_every_operator_matches_numpy():
    x, y = _two_inputs()
    outputs = [x + y, x - 1.0, 2.0 * x, x / 4.0, x // 0.3, x % 0.3, x ** 2, -x, abs(x), x[:, 1:3], x[..., None],
               x < y, x >= 0.5, 1.0 - x, 3.0 / (x + 1.0)]
    model = cnnlab.Model([x, y], outputs)
    a = np.random.default_rng(0).uniform(-1, 1, (3, 4)).astype("float32")
    b = np.random.default_rng(1).uniform(-1, 1, (3, 4)).astype("float32")
    expected = [a + b, a - 1, 2 * a, a / 4, a // 0.3, a % 0.3, a ** 2, -a, np.abs(a), a[:, 1:3], a[..., None],
                a < b, a >= 0.5, 1 - a, 3 / (a + 1)]
    for got, want in zip(model.predict([a, b], verbose=0), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_ops_functions_record_operations_with_their_arguments():
    x = layers.Input((5, 3))
    out = ops.relu6(ops.mean(x, axis=1, keepdims=True))
    mean = out.node.parent_nodes[0].layer
    assert type(mean).__name__ == "Mean" and mean.get_config() == {"name": "mean", "axis": 1, "keepdims": True}
    assert out.shape == (None, 1, 3)
    a = np.random.default_rng(2).normal(0, 4, (2, 5, 3)).astype("float32")
    got = cnnlab.Model(x, out).predict(a, verbose=0)
    np.testing.assert_allclose(got, np.clip(a.mean(axis=1, keepdims=True), 0, 6), rtol=1e-5)


def test_matmul_and_concatenate_take_several_symbolic_tensors():
    x, y = layers.Input((2, 3)), layers.Input((3, 4))
    prod = x @ y
    joined = ops.concatenate([prod, prod], axis=-1)
    assert prod.shape == (None, 2, 4) and joined.shape == (None, 2, 8)
    a = np.ones((2, 2, 3), "float32")
    b = np.full((2, 3, 4), 2.0, "float32")
    np.testing.assert_allclose(cnnlab.Model([x, y], joined).predict([a, b], verbose=0), np.full((2, 2, 8), 6.0))


def test_ops_on_real_tensors_still_compute():
    assert ops.add(np.float32(1.0), 2.0).item() == 3.0


def test_summary_lists_operations_as_keras_does():
    x, y = _two_inputs()
    model = cnnlab.Model([x, y], layers.Dense(2)(x * 0.5 + y))
    lines = []
    model.summary(print_fn=lines.append)
    text = "".join(lines)
    assert "multiply (Multiply)" in text and "add (Add)" in text and "multiply[0][0]" in text
    assert model.count_params() == 10


def test_symbolic_tensor_cannot_be_iterated():
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(layers.Input((3,)))


def _save_and_load(model, path):
    model.save(path)
    return cnnlab.models.load_model(path)


@pytest.mark.parametrize("suffix", [".keras", ".cnnlab"])
def test_model_with_operations_saves_and_loads_without_user_code(tmp_path, suffix):
    x, y = _two_inputs()
    h = layers.Dense(4, name="dense")(x * 0.5 + y)
    out = ops.mean(h[..., 1:], axis=-1, keepdims=True)
    model = cnnlab.Model([x, y], out)
    path = tmp_path / f"m{suffix}"
    loaded = _save_and_load(model, path)
    a = np.random.default_rng(3).normal(size=(2, 4)).astype("float32")
    b = np.random.default_rng(4).normal(size=(2, 4)).astype("float32")
    np.testing.assert_allclose(loaded.predict([a, b], verbose=0), model.predict([a, b], verbose=0), rtol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    with zipfile.ZipFile(path) as zf:
        entries = json.loads(zf.read("config.json"))["config"]["layers"]
    mean = next(e for e in entries if e["name"] == "mean")
    assert mean["module"] == "keras.src.ops.numpy" and mean["class_name"] == "Mean"
    assert mean["config"] == {"name": "mean", "axis": -1, "keepdims": True}


def _op_config(module="keras.src.ops.numpy", class_name="Add", config=None, args=None):
    tensor = {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "dtype": "float32",
                                                           "keras_history": ["input_layer", 0, 0]}}
    return {"name": "functional", "trainable": True, "input_layers": ["input_layer", 0, 0],
            "output_layers": ["op", 0, 0], "layers": [
                {"class_name": "InputLayer", "name": "input_layer", "inbound_nodes": [],
                 "config": {"batch_shape": [None, 4], "name": "input_layer"}},
                {"module": module, "class_name": class_name, "registered_name": class_name, "name": "op",
                 "config": config or {"name": "op"},
                 "inbound_nodes": [{"args": args or [tensor, 1.0], "kwargs": {}}]}]}


def test_loading_refuses_an_operation_outside_the_allow_list():
    with pytest.raises(FileFormatError, match="not among the ops cnnlab can rebuild"):
        cnnlab.Model.from_config(_op_config(module="keras.src.ops.core", class_name="VectorizedMap"))


def test_loading_refuses_an_unknown_operation_argument():
    with pytest.raises(FileFormatError, match="does not take"):
        cnnlab.Model.from_config(_op_config(class_name="Add", config={"name": "op", "function": "os.system"}))


def test_loading_refuses_an_object_as_operation_argument():
    with pytest.raises(FileFormatError, match="only be tensors, slices"):
        cnnlab.Model.from_config(_op_config(args=[{"class_name": "__keras_tensor__", "config": {
            "keras_history": ["input_layer", 0, 0]}}, {"class_name": "function", "config": "eval"}]))


def test_saving_refuses_a_config_value_that_is_not_json():
    x = layers.Input((4,))
    model = cnnlab.Model(x, ops.mean(x, axis=-1))
    model._operations[-1].config["axis"] = object()  # what ops.mean(x, axis=<an object>) would leave
    with pytest.raises(ConfigError, match="cannot hold"):
        model.get_config()


def _mobilenet():
    return cnnlab.applications.MobileNetV3Small(weights=None, input_shape=(64, 64, 3))


def _convnext():
    return cnnlab.applications.ConvNeXtTiny(weights=None, input_shape=(32, 32, 3), classes=5)


@pytest.mark.parametrize("build", [_mobilenet, _convnext], ids=["MobileNetV3Small", "ConvNeXtTiny"])
@pytest.mark.parametrize("suffix", [".keras", ".cnnlab"])
def test_applications_with_operations_save_and_load_with_equal_outputs(tmp_path, build, suffix):
    model = build()
    assert any(isinstance(op, Operation) for op in model._operations)
    assert not any(isinstance(layer, Operation) for layer in model.layers)
    loaded = _save_and_load(model, tmp_path / f"m{suffix}")
    x = np.random.default_rng(5).uniform(0, 255, (2, *model.input_shape[1:])).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert len(loaded.layers) == len(model.layers)

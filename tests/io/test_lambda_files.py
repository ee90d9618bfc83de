"""Lambda layers in model files: saved by name, reloaded from custom_objects only, never from code in the file."""

from __future__ import annotations

import json
import sys
import warnings
import zipfile

import numpy as np
import pytest

import cnnlab
from cnnlab import layers as L
from cnnlab.errors import FileFormatError
from cnnlab.io.keras_config import model_from_keras_config
from cnnlab.io.registry import layer_from_config


def double(x):
    return x * 2


def halve_shape(shape):
    return shape


def _sequential(function, **kwargs):
    return cnnlab.Sequential([L.Input((4,)), L.Dense(3), L.Lambda(function, name="fn_layer", **kwargs), L.Dense(2)])


def _x():
    return np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".cnnlab", ".keras", ".h5"])
def test_named_function_round_trips_through_custom_objects(tmp_path, suffix):
    model = _sequential(double)
    model.save(tmp_path / f"m{suffix}")
    loaded = cnnlab.load_model(tmp_path / f"m{suffix}", custom_objects={"double": double})
    np.testing.assert_allclose(loaded.predict(_x(), verbose=0), model.predict(_x(), verbose=0), rtol=1e-6)
    assert loaded.get_layer("fn_layer").function is double


def test_functional_model_with_lambda_round_trips(tmp_path):
    inputs = L.Input((4,))
    doubled = L.Lambda(double, name="fn_layer")(L.Dense(3)(inputs))
    model = cnnlab.Model(inputs, L.Dense(2)(L.concatenate([doubled, inputs])))
    model.save(tmp_path / "m.cnnlab")
    loaded = cnnlab.load_model(tmp_path / "m.cnnlab", custom_objects={"double": double})
    np.testing.assert_allclose(loaded.predict(_x(), verbose=0), model.predict(_x(), verbose=0), rtol=1e-6)


@pytest.mark.parametrize("suffix", [".cnnlab", ".keras"])
def test_loading_without_the_function_names_layer_function_and_fix(tmp_path, suffix):
    _sequential(double).save(tmp_path / f"m{suffix}")
    with pytest.raises(FileFormatError, match=r"Lambda 'fn_layer' calls the function 'double'.*never imports or runs "
                                              r"code.*custom_objects=\{'double': double\}"):
        cnnlab.load_model(tmp_path / f"m{suffix}")


def test_a_module_named_in_the_file_is_never_imported(tmp_path):
    path = tmp_path / "m.cnnlab"
    _sequential(double).save(path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["function"] = {
        "module": "cnnlab_never_imported_module", "class_name": "function", "config": "system",
        "registered_name": "system"}
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(FileFormatError, match="calls the function 'system'"):
        cnnlab.load_model(path)
    assert "cnnlab_never_imported_module" not in sys.modules


def test_anonymous_lambda_warns_when_saved_and_load_says_to_use_def(tmp_path):
    model = _sequential(lambda x: x + 1)
    with pytest.warns(UserWarning, match=r"'fn_layer': its function is an anonymous lambda, which cannot be saved") \
            as caught:
        model.save(tmp_path / "m.cnnlab")
        model.save(tmp_path / "again.cnnlab")
    assert len([w for w in caught if "anonymous lambda" in str(w.message)]) == 1
    with pytest.raises(FileFormatError, match=r"'fn_layer': its function was an anonymous lambda.*Define the function "
                                              r"with def.*custom_objects=\{'fn_layer': my_fn\}"):
        cnnlab.load_model(tmp_path / "m.cnnlab")


def test_anonymous_lambda_file_loads_with_a_function_under_the_layer_name(tmp_path):
    model = _sequential(lambda x: x * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "m.cnnlab")
    loaded = cnnlab.load_model(tmp_path / "m.cnnlab", custom_objects={"fn_layer": double})
    np.testing.assert_allclose(loaded.predict(_x(), verbose=0), model.predict(_x(), verbose=0), rtol=1e-6)


def _keras_lambda_model(function_config: dict, extra: dict | None = None) -> dict:
    """A Keras 3 Sequential config holding one Lambda layer."""
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {
            "name": "keras_lambda", "trainable": True, "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                                                 "config": {"name": "float32"}},
            "function": function_config, "arguments": {}, **(extra or {})}}]}}


_KERAS_BYTECODE = {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}


def test_keras_lambda_bytecode_is_refused_with_the_fix():
    entry = model_from_keras_config(_keras_lambda_model(_KERAS_BYTECODE))
    assert entry["config"]["layers"][0]["config"]["function"] == {"class_name": "__lambda__", "config": {}}
    with pytest.raises(FileFormatError, match=r"layer 'keras_lambda' is a Lambda layer whose function is a Python "
                                              r"lambda stored as marshalled bytecode.*never runs code.*def.*"
                                              r"custom_objects=\{'keras_lambda': my_fn\}"):
        layer_from_config(entry)


def test_keras_lambda_bytecode_is_replaced_by_the_function_given_under_the_layer_name():
    entry = model_from_keras_config(_keras_lambda_model(_KERAS_BYTECODE), {"keras_lambda": double})
    model = layer_from_config(entry, {"keras_lambda": double})
    np.testing.assert_allclose(model.predict(_x(), verbose=0), _x() * 2, rtol=1e-6)


def test_keras_named_function_and_output_shape_load_from_custom_objects():
    named = {"module": "__main__", "class_name": "function", "config": "double", "registered_name": "double"}
    shape_fn = {"module": "__main__", "class_name": "function", "config": "halve_shape",
                "registered_name": "halve_shape"}
    objects = {"double": double, "halve_shape": halve_shape}
    model = layer_from_config(model_from_keras_config(_keras_lambda_model(named, {"output_shape": shape_fn})),
                              objects)
    assert model.layers[0].function is double and model.layers[0]._output_shape is halve_shape
    assert model.output_shape == (None, 4)


def test_missing_output_shape_function_is_dropped_with_a_warning():
    named = {"module": "__main__", "class_name": "function", "config": "double", "registered_name": "double"}
    config = _keras_lambda_model(named, {"output_shape": _KERAS_BYTECODE})
    with pytest.warns(UserWarning, match="output_shape function cannot be loaded"):
        model = layer_from_config(model_from_keras_config(config), {"double": double})
    assert model.output_shape == (None, 4)  # found by running the function instead


@pytest.mark.parametrize("function_type, function, works", [("function", "double", True),
                                                             ("lambda", ["4wEAAAAA", None, None], False)])
def test_tf_keras_2_lambda_configs_are_translated(function_type, function, works):
    legacy = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "Lambda", "config": {
            "name": "old_lambda", "trainable": True, "dtype": "float32", "batch_input_shape": [None, 4],
            "function": function, "function_type": function_type, "module": "__main__", "output_shape": None,
            "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}]}}
    entry = model_from_keras_config(legacy)
    if works:
        model = layer_from_config(entry, {"double": double})
        np.testing.assert_allclose(model.predict(_x(), verbose=0), _x() * 2, rtol=1e-6)
    else:
        with pytest.raises(FileFormatError, match="'old_lambda' is a Lambda layer whose function is a Python lambda"):
            layer_from_config(entry)

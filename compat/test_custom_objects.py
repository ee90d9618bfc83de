"""Custom layers, metrics, models and compile objects against real Keras 3 (same weights -> same numbers, files
both ways with their compile settings)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

TOLERANCE = 1e-5
RNG = np.random.default_rng(0)
X = RNG.random((48, 8), dtype=np.float32)
Y = RNG.integers(0, 3, 48)


def _model(lib):
    return lib.Sequential([lib.layers.Input((8,)), lib.layers.Dense(16, activation="relu"), lib.layers.Dense(3)])


def _compile(model, lib):
    model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.003),
                  loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[lib.metrics.SparseCategoricalAccuracy()])
    return model


def _pair():
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = _compile(_model(keras), keras), _compile(_model(cnnlab), cnnlab)
    c_model.set_weights(k_model.get_weights())
    return k_model, c_model


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_file_with_compile_objects_evaluates_in_cnnlab_without_compile(tmp_path, suffix):
    k_model, _ = _pair()
    k_model.fit(X, Y, epochs=1, verbose=0)
    k_model.save(tmp_path / f"m{suffix}")
    loaded = cnnlab.load_model(tmp_path / f"m{suffix}")
    assert loaded.compiled and loaded._compiled_loss.single.from_logits
    assert loaded.optimizer.learning_rate == pytest.approx(0.003, rel=1e-6)
    np.testing.assert_allclose(loaded.evaluate(X, Y, verbose=0), k_model.evaluate(X, Y, verbose=0), rtol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_cnnlab_file_with_compile_objects_evaluates_in_keras_without_compile(tmp_path, suffix):
    _, c_model = _pair()
    c_model.fit(X, Y, epochs=1, verbose=0)
    c_model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    assert loaded.compiled
    assert isinstance(loaded.loss, keras.losses.SparseCategoricalCrossentropy) and loaded.loss.from_logits
    np.testing.assert_allclose(loaded.evaluate(X, Y, verbose=0), c_model.evaluate(X, Y, verbose=0), rtol=1e-5)


def test_compile_config_matches_keras_for_the_same_objects():
    k_model, c_model = _pair()
    k_config, c_config = k_model.get_compile_config(), c_model.get_compile_config()
    assert c_config["loss"]["class_name"] == k_config["loss"]["class_name"]
    assert {k: v for k, v in c_config["loss"]["config"].items() if k != "dtype"} == k_config["loss"]["config"]
    assert [m["class_name"] for m in c_config["metrics"]] == [m["class_name"] for m in k_config["metrics"]]
    assert c_config["optimizer"]["config"]["learning_rate"] == pytest.approx(
        k_config["optimizer"]["config"]["learning_rate"], rel=1e-6)


def _linear(lib):
    class Linear(lib.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs):
            self.add_loss(0.01 * lib.ops.sum(inputs))
            return lib.ops.matmul(inputs, self.w) + self.b

    return Linear


def test_guide_layer_same_weights_same_outputs_losses_and_names():
    keras.backend.clear_session()
    reset_names()
    k_layer, c_layer = _linear(keras)(), _linear(cnnlab)()
    k_out = np.asarray(k_layer(X))
    c_layer(X)
    c_layer.set_weights(k_layer.get_weights())
    np.testing.assert_allclose(c_layer(X).numpy(), k_out, rtol=TOLERANCE, atol=TOLERANCE)
    assert [v.shape for v in c_layer.weights] == [tuple(v.shape) for v in k_layer.weights]
    assert len(c_layer.losses) == len(k_layer.losses) == 1
    assert float(c_layer.losses[0].detach()) == pytest.approx(float(np.asarray(k_layer.losses[0])), rel=1e-5)


def _true_positives(lib):
    class CategoricalTruePositives(lib.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = lib.ops.reshape(lib.ops.argmax(y_pred, axis=1), (-1, 1))
            values = lib.ops.cast(lib.ops.cast(y_true, "int32") == lib.ops.cast(y_pred, "int32"), "float32")
            self.true_positives.assign_add(lib.ops.sum(values))

        def result(self):
            return self.true_positives.value

    return CategoricalTruePositives


def test_guide_metric_same_counts_as_keras():
    scores = RNG.random((20, 3), dtype=np.float32)
    labels = RNG.integers(0, 3, (20, 1))
    k_metric, c_metric = _true_positives(keras)(), _true_positives(cnnlab)()
    for metric, lib in ((k_metric, keras), (c_metric, cnnlab)):
        metric.update_state(lib.ops.convert_to_tensor(labels), lib.ops.convert_to_tensor(scores))
    assert float(c_metric.result()) == float(np.asarray(k_metric.result()))
    k_metric.reset_state()
    c_metric.reset_state()
    assert float(c_metric.result()) == float(np.asarray(k_metric.result())) == 0.0


def test_model_subclass_built_functionally_has_keras_name_and_counts():
    keras.backend.clear_session()
    reset_names()
    results = []
    for lib in (keras, cnnlab):
        class CustomModel(lib.Model):
            pass

        inputs = lib.Input(shape=(8,))
        model = CustomModel(inputs, lib.layers.Dense(3)(inputs))
        results.append((model.name, model.count_params(), tuple(model.outputs[0].shape)))
    assert results[0] == results[1]


def test_keras_tensor_dtype_shape_and_ndim_match():
    k_input, c_input = keras.Input(shape=(28, 28, 1)), cnnlab.Input(shape=(28, 28, 1))
    assert c_input.dtype == k_input.dtype == "float32"
    assert c_input.shape == tuple(k_input.shape) and c_input.ndim == k_input.ndim


def test_rank_short_input_gets_the_channel_axis_in_both():
    keras.backend.clear_session()
    reset_names()
    k_model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten()])
    c_model = cnnlab.Sequential([cnnlab.Input((6, 6, 1)), cnnlab.layers.Conv2D(2, 3), cnnlab.layers.Flatten()])
    c_model.set_weights(k_model.get_weights())
    x = RNG.random((2, 6, 6), dtype=np.float32)
    np.testing.assert_allclose(c_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=TOLERANCE,
                               atol=TOLERANCE)

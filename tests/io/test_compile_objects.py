"""Compile settings given as objects (loss, metrics, optimizer) are saved with the model and restored on load.

As in the tensorflow.org "Save and load models" tutorial: ``load_model(path)`` then ``evaluate`` without compile.
"""

import json
import zipfile

import numpy as np
import pytest

import cnnlab as keras
from cnnlab import layers
from cnnlab.io.keras_format import keras_compile_config

RNG = np.random.default_rng(0)
X = RNG.random((40, 8), dtype=np.float32)
Y = RNG.integers(0, 3, 40)


def _trained():
    model = keras.Sequential([layers.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    model.fit(X, Y, epochs=2, verbose=0)
    return model


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".cnnlab"])
def test_load_then_evaluate_without_compile(tmp_path, suffix):
    model = _trained()
    expected = model.evaluate(X, Y, verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.compiled
    assert loaded.evaluate(X, Y, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert isinstance(loaded.optimizer, keras.optimizers.Adam)
    assert loaded.optimizer.learning_rate == pytest.approx(0.003)
    loss = loaded._compiled_loss.single
    assert isinstance(loss, keras.losses.SparseCategoricalCrossentropy) and loss.from_logits
    assert [m.name for m in loaded.metrics] == ["loss", "sparse_categorical_accuracy"]
    loaded.fit(X, Y, epochs=1, verbose=0)  # the restored optimizer state carries on


def test_keras_compile_config_has_keras_object_envelopes(tmp_path):
    config = keras_compile_config(_trained())
    assert config["loss"] == {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy",
                              "config": {"name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size",
                                         "dtype": None, "from_logits": True, "ignore_class": None},
                              "registered_name": None}
    assert config["metrics"][0]["class_name"] == "SparseCategoricalAccuracy"
    assert config["optimizer"]["class_name"] == "Adam" and config["optimizer"]["module"] == "keras.optimizers"
    path = tmp_path / "m.keras"
    _trained().save(path)
    assert json.loads(zipfile.ZipFile(path).read("config.json"))["compile_config"]["loss"]["config"]["from_logits"]


def test_names_and_objects_mixed_round_trip(tmp_path):
    model = keras.Sequential([layers.Input((8,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)])
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "m.cnnlab"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [m.name for m in loaded.metrics] == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]
    assert loaded.metrics[2].k == 2
    assert loaded.evaluate(X, Y, verbose=0) == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-5)


def test_custom_loss_and_metric_classes_come_back_through_custom_objects(tmp_path):
    class ScaledMSE(keras.losses.Loss):
        def __init__(self, scale=2.0, name="scaled_mse", **kwargs):
            super().__init__(name=name, **kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * ((y_true - y_pred) ** 2).mean(dim=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    class Total(keras.metrics.Metric):
        def __init__(self, name="total", **kwargs):
            super().__init__(name=name, **kwargs)
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(y_pred.sum())

        def result(self):
            return self.total.value

    model = keras.Sequential([layers.Input((8,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss=ScaledMSE(scale=3.0), metrics=[Total()])
    model.fit(X, Y[:, None].astype(np.float32), epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"ScaledMSE": ScaledMSE, "Total": Total})
    assert loaded._compiled_loss.single.scale == 3.0 and loaded.metrics[1].name == "total"
    with pytest.warns(UserWarning, match="loaded uncompiled"):
        assert not keras.models.load_model(path).compiled


def test_a_plain_user_loss_function_saves_the_model_without_compile_settings(tmp_path):
    model = keras.Sequential([layers.Input((8,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss=lambda y, p: ((y - p) ** 2).mean(dim=-1))
    assert model.get_compile_config() is None
    model.save(tmp_path / "m.cnnlab")
    assert not keras.models.load_model(tmp_path / "m.cnnlab").compiled


def test_get_compile_config_and_compile_from_config_keras_api():
    model = _trained()
    config = model.get_compile_config()
    fresh = keras.Sequential([layers.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(3)])
    assert fresh.get_compile_config() == {}
    fresh.compile_from_config(config)
    assert fresh.get_compile_config() == config


def test_compiled_but_untrained_model_keeps_its_compile_settings_in_h5(tmp_path):
    model = keras.Sequential([layers.Input((8,)), layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss="mse")
    model.save(tmp_path / "m.h5")
    loaded = keras.models.load_model(tmp_path / "m.h5")
    assert loaded.compiled and loaded.optimizer.learning_rate == pytest.approx(0.01)

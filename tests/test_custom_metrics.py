"""Metric subclasses as the Keras 3 guides write them: add_variable, assign_add, result, reset_state."""

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import layers, ops
from cnnlab.errors import ConfigError


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0.0)


def _np_true_positives(y_true, y_pred):
    return float((y_true.reshape(-1) == y_pred.argmax(axis=1)).sum())


def test_guide_metric_counts_and_resets():
    metric = CategoricalTruePositives()
    y_true = np.array([[1], [0], [2]])
    y_pred = np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.5, 0.2, 0.3]], np.float32)
    metric.update_state(torch.as_tensor(y_true), torch.as_tensor(y_pred))
    assert float(metric.result()) == _np_true_positives(y_true, y_pred) == 2.0
    metric.reset_state()
    assert float(metric.result()) == 0.0
    assert [v.path for v in metric.variables] == ["categorical_true_positives/ctp"]


def test_guide_metric_in_compile_logs_per_epoch_counts():
    rng = np.random.default_rng(0)
    x = rng.random((30, 6), dtype=np.float32)
    y = rng.integers(0, 3, (30, 1))
    model = keras.Sequential([layers.Input((6,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy",
                  metrics=[CategoricalTruePositives()])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    expected = _np_true_positives(y, model.predict(x, verbose=0))
    assert history.history["categorical_true_positives"] == [expected, expected]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["categorical_true_positives"] == expected


def test_reset_state_sets_zeros_whatever_the_initializer_as_keras_does():
    class Ones(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="ones")
            self.v = self.add_variable(shape=(2,), initializer="ones", name="v")

        def update_state(self, *args):
            self.v.assign_add([1.0, 1.0])

        def result(self):
            return self.v.value.sum()

    metric = Ones()
    assert float(metric.result()) == 2.0
    metric.update_state()
    assert float(metric.result()) == 4.0
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_add_weight_alias_and_dtype_and_in_place_updates():
    class Count(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="count")
            self.n = self.add_weight(shape=(), initializer="zeros", dtype="int64", name="n")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n += len(y_true)

        def result(self):
            return self.n

    metric = Count()
    metric.update_state(torch.zeros(5), None)
    metric.update_state(torch.zeros(2), None)
    assert metric.result().dtype == torch.int64 and int(metric.result()) == 7
    assert metric.n.numpy() == 7


def test_add_variable_before_super_init_says_so():
    class Early(keras.metrics.Metric):
        def __init__(self):
            self.v = self.add_variable(shape=(), initializer="zeros")

    with pytest.raises(ConfigError, match=r"call super\(\).__init__\(\) before add_variable"):
        Early()


def test_metric_moves_state_in_place():
    metric = keras.metrics.Mean()
    total = metric.total
    metric.to("cpu")
    metric.update_state(torch.tensor([1.0, 3.0]))
    assert metric.total is total and float(metric.result()) == 2.0

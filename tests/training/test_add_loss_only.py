"""fit on a model without trainable weights whose loss comes only from add_loss: Keras 3 trains anyway and warns;
with no weights and no loss at all there is nothing to compute and fit says so."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import cnnlab as keras
from cnnlab import ops
from cnnlab.errors import ConfigError
from cnnlab.layers.base import reset_names

RNG = np.random.default_rng(0)
X = RNG.standard_normal((30, 4)).astype(np.float32)
NO_WEIGHTS_WARNING = "does not have any trainable weights"


class SquarePenalty(keras.layers.Layer):
    """Adds mean(x ** 2) as a loss and passes x through."""

    def call(self, inputs):
        self.add_loss(ops.mean(inputs ** 2))
        return inputs


def _penalty_model(frozen_dense: bool = False):
    reset_names()
    inputs = keras.Input(shape=(4,))
    x = inputs
    if frozen_dense:
        dense = keras.layers.Dense(4)
        dense.trainable = False
        x = dense(x)
    return keras.Model(inputs, SquarePenalty()(x))


def _fit_recording(model, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(*args, **kwargs)
    return history, [w for w in caught if NO_WEIGHTS_WARNING in str(w.message)]


def test_add_loss_only_model_without_weights_fits_and_warns_once():
    model = _penalty_model()
    assert not model.trainable_weights
    model.compile(optimizer="adam")
    history, caught = _fit_recording(model, X, epochs=3, batch_size=8, verbose=0)
    assert len(caught) == 1
    assert caught[0].category is UserWarning
    message = str(caught[0].message)
    assert model.name in message and "changes no weight" in message
    assert caught[0].filename == __file__  # reported at the user's fit(...) line
    assert len(history.history["loss"]) == 3


def test_add_loss_only_history_holds_the_added_loss_values():
    model = _penalty_model()
    model.compile(optimizer="adam")
    history, _ = _fit_recording(model, X, epochs=2, batch_size=8, verbose=0)
    # Batches of 8, 8, 8, 6 weighted by their size: the epoch loss is the mean of x ** 2 over all samples.
    expected = float(np.mean(X ** 2))
    np.testing.assert_allclose(history.history["loss"], [expected, expected], rtol=1e-5)


def test_add_loss_only_with_labels_passed_ignores_them():
    model = _penalty_model()
    model.compile(optimizer="adam")
    history, _ = _fit_recording(model, X, np.zeros((30, 4), np.float32), epochs=1, batch_size=30, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [np.mean(X ** 2)], rtol=1e-5)


def test_add_loss_only_model_with_frozen_weights_keeps_them_and_warns():
    model = _penalty_model(frozen_dense=True)
    assert model.weights and not model.trainable_weights
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer="adam")
    history, caught = _fit_recording(model, X, epochs=2, batch_size=10, verbose=0)
    assert len(caught) == 1
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    kernel, bias = before
    expected = float(np.mean((X @ kernel + bias) ** 2))
    np.testing.assert_allclose(history.history["loss"], [expected, expected], rtol=1e-5)


def test_add_loss_only_each_fit_warns_again():
    model = _penalty_model()
    model.compile(optimizer="adam")
    _, first = _fit_recording(model, X, epochs=2, verbose=0)
    _, second = _fit_recording(model, X, epochs=2, verbose=0)
    assert len(first) == len(second) == 1


def test_model_with_trainable_weights_does_not_warn():
    reset_names()
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, SquarePenalty()(keras.layers.Dense(4)(inputs)))
    model.compile(optimizer="adam")
    history, caught = _fit_recording(model, X, epochs=3, batch_size=30, verbose=0)
    assert not caught
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_model_without_weights_or_any_loss_raises_clear_error():
    reset_names()
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Activation("relu")(inputs))
    model.compile(optimizer="adam")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ConfigError, match=r"no loss to compute.*loss=\.\.\. to compile\(\).*add_loss\(\)") as info:
            model.fit(X, X, epochs=1, verbose=0)
    assert model.name in str(info.value)
    assert isinstance(info.value, ValueError)  # what Keras 3 raises, so `except ValueError` still catches it


def test_model_without_any_loss_raises_in_evaluate_too():
    reset_names()
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam")
    with pytest.raises(ConfigError, match="no loss to compute"):
        model.evaluate(X, np.zeros((30, 2), np.float32), verbose=0)

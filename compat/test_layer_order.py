"""Functional.layers order against real Keras 3: get_weights and weight files follow it."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402


def two_inputs(k):
    a, b = k.Input((8, 8, 3)), k.Input((4,))
    x = k.layers.Flatten()(k.layers.Conv2D(4, 3)(a))
    return k.Model([a, b], k.layers.Dense(2)(k.layers.Concatenate()([x, k.layers.Dense(5)(b)])))


def residual_two_outputs(k):
    a = k.Input((8, 8, 3))
    x = k.layers.Conv2D(4, 3, padding="same")(a)
    p = k.layers.Conv2D(4, 1)(x)
    q = k.layers.Conv2D(4, 3, padding="same")(k.layers.Conv2D(2, 1)(x))
    r = k.layers.BatchNormalization()(k.layers.Add()([p, q, x]))
    return k.Model(a, [k.layers.Dense(3)(k.layers.GlobalAveragePooling2D()(r)),
                       k.layers.Dense(1)(k.layers.Flatten()(x))])


def shared_layer_three_inputs(k):
    a, b, c = k.Input((6,)), k.Input((6,)), k.Input((3,))
    shared = k.layers.Dense(3)
    u, v = shared(a), shared(b)
    return k.Model([a, b, c], [k.layers.Dense(1)(k.layers.Add()([u, v, c])), k.layers.Dense(2)(u)])


def unused_input(k):
    a, b = k.Input((3,)), k.Input((2,))
    return k.Model([a, b], k.layers.Dense(1)(k.layers.Dense(4)(a)))


def inception_like(k):
    a = k.Input((8, 8, 3))
    branches = [k.layers.Conv2D(2, 1)(a), k.layers.Conv2D(2, 3, padding="same")(k.layers.Conv2D(2, 1)(a)),
                k.layers.Conv2D(2, 1)(k.layers.MaxPooling2D(3, 1, padding="same")(a))]
    return k.Model(a, k.layers.Dense(2)(k.layers.Flatten()(k.layers.Concatenate()(branches))))


@pytest.mark.parametrize("builder", [two_inputs, residual_two_outputs, shared_layer_three_inputs, unused_input,
                                     inception_like])
def test_layer_order_and_weight_shapes_match_keras(builder):
    keras.backend.clear_session()
    reset_names()
    theirs, ours = builder(keras), builder(cnnlab)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


@pytest.mark.parametrize("builder", [two_inputs, residual_two_outputs])
def test_weights_file_written_by_keras_loads_in_layer_order(builder, tmp_path):
    keras.backend.clear_session()
    reset_names()
    theirs, ours = builder(keras), builder(cnnlab)
    theirs.save(tmp_path / "m.keras")
    loaded = cnnlab.models.load_model(tmp_path / "m.keras")
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in theirs.layers]
    for a, b in zip(loaded.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    ours.set_weights(theirs.get_weights())  # same order, so the list fits as it is

"""Keras files both ways against real Keras 3: cnnlab writes, Keras reads (and the reverse), same outputs and optimizer state."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

TOLERANCE = 1e-5
GRAPH_MODELS = sorted(n for n in models.COMPAT_MODELS if n != "subclassed")
OPTIMIZERS = {"adam": lambda k: k.optimizers.Adam(1e-3), "sgd": lambda k: k.optimizers.SGD(0.01, momentum=0.9)}


def _pair(name):
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = models.COMPAT_MODELS[name](keras), models.COMPAT_MODELS[name](cnnlab)
    rng = np.random.default_rng(0)
    for layer in k_model.layers:
        if type(layer).__name__ == "BatchNormalization":
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(size=b.shape), rng.normal(size=m.shape),
                               rng.uniform(0.5, 2.0, v.shape)])
    c_model.set_weights(k_model.get_weights())
    x = rng.uniform(0, 1, size=(3,) + tuple(k_model.inputs[0].shape[1:])).astype("float32")
    return k_model, c_model, x


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_cnnlab_file_opens_in_keras_with_the_same_outputs(tmp_path, name, suffix):
    _, c_model, x = _pair(name)
    c_model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), c_model.predict(x, verbose=0),
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_keras_file_opens_in_cnnlab_with_the_same_outputs(tmp_path, name, suffix):
    k_model, _, x = _pair(name)
    k_model.save(tmp_path / f"m{suffix}")
    loaded = cnnlab.load_model(tmp_path / f"m{suffix}")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.asarray(k_model(x, training=False)),
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("name", ["branching", "batchnorm"])
def test_weights_h5_both_ways(tmp_path, name):
    k_model, c_model, x = _pair(name)
    k_model.save_weights(tmp_path / "k.weights.h5")
    fresh = models.COMPAT_MODELS[name](cnnlab)
    fresh.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), np.asarray(k_model(x, training=False)), atol=TOLERANCE)
    c_model.save_weights(tmp_path / "c.weights.h5")
    k_fresh = models.COMPAT_MODELS[name](keras)
    k_fresh.load_weights(tmp_path / "c.weights.h5")
    np.testing.assert_allclose(np.asarray(k_fresh(x, training=False)), c_model.predict(x, verbose=0), atol=TOLERANCE)


def _train(model, k, optimizer, x):
    model.compile(optimizer=OPTIMIZERS[optimizer](k), loss="sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 2]), epochs=2, batch_size=3, verbose=0)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_optimizer_state_crosses_in_keras_files_both_ways(tmp_path, optimizer):
    k_model, c_model, x = _pair("branching")
    _train(k_model, keras, optimizer, x)
    k_model.save(tmp_path / "k.keras")
    from_keras = cnnlab.load_model(tmp_path / "k.keras")
    keras_slots = [np.asarray(v) for v in k_model.optimizer.variables]
    assert from_keras.optimizer.iterations == int(keras_slots[0]) == 2
    ours = [np.asarray(v) for v in cnnlab.io.keras_format.optimizer_to_keras(from_keras.optimizer)]
    for a, b in zip(ours, keras_slots):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    _train(c_model, cnnlab, optimizer, x)
    c_model.save(tmp_path / "c.keras")
    into_keras = keras.models.load_model(tmp_path / "c.keras")
    assert int(into_keras.optimizer.iterations) == 2
    ours = cnnlab.io.keras_format.optimizer_to_keras(c_model.optimizer)
    for a, b in zip(ours[2:], into_keras.optimizer.variables[2:]):
        np.testing.assert_allclose(np.asarray(b), a, rtol=1e-6)
    # Both continue training identically from the restored state.
    y = np.array([2, 1, 0])
    c_model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    into_keras.fit(x, y, epochs=1, batch_size=3, verbose=0)
    np.testing.assert_allclose(c_model.predict(x, verbose=0), np.asarray(into_keras(x, training=False)), atol=1e-4)

"""Operations on symbolic tensors (``x * 0.5 + y``, ``ops.mean(x)``) against real Keras 3.

Same summary rows and ``model.layers``; a model with operations saved by cnnlab loads in Keras and the other
way round, with the same outputs; whole MobileNetV3Small and ConvNeXtTiny models saved by cnnlab load in Keras.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

from compat.test_applications_mobile import summary_text  # noqa: E402


def _graph(lib):
    """The same graph in Keras or cnnlab: operators and ops functions between two Dense layers."""
    x, y = lib.Input((6,)), lib.Input((6,))
    h = lib.layers.Dense(6, name="dense")(x * 0.5 + y)
    h = lib.ops.relu6(-h[..., 1:]) ** 2 - lib.ops.mean(h, axis=-1, keepdims=True)
    h = abs(h) / 3.0 + 1.0
    return lib.Model([x, y], lib.layers.Dense(3, name="head")(h))


def _pair():
    keras.backend.clear_session()
    reset_names()
    return _graph(keras), _graph(cnnlab)


def _inputs(rng):
    return [rng.normal(size=(4, 6)).astype("float32") for _ in range(2)]


def test_summary_and_layers_equal_keras():
    k_model, c_model = _pair()
    assert summary_text(c_model) == summary_text(k_model)
    assert [layer.name for layer in c_model.layers] == [layer.name for layer in k_model.layers]
    assert c_model.count_params() == k_model.count_params()


def test_cnnlab_file_with_operations_loads_in_keras(tmp_path):
    _, c_model = _pair()
    path = tmp_path / "ops.keras"
    c_model.save(path)
    k_loaded = keras.models.load_model(path)
    data = _inputs(np.random.default_rng(0))
    np.testing.assert_allclose(k_loaded.predict(data, verbose=0), c_model.predict(data, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_keras_file_with_operations_loads_in_cnnlab(tmp_path):
    k_model, _ = _pair()
    path = tmp_path / "ops.keras"
    k_model.save(path)
    c_loaded = cnnlab.models.load_model(path)
    data = _inputs(np.random.default_rng(1))
    np.testing.assert_allclose(c_loaded.predict(data, verbose=0), k_model.predict(data, verbose=0),
                               rtol=1e-5, atol=1e-5)
    assert summary_text(c_loaded) == summary_text(k_model)


@pytest.mark.parametrize(("fn", "kwargs"), [
    ("MobileNetV3Small", {"input_shape": (64, 64, 3)}),
    ("ConvNeXtTiny", {"input_shape": (32, 32, 3), "classes": 5}),
])
def test_whole_application_saved_by_cnnlab_loads_in_keras(fn, kwargs, tmp_path):
    reset_names()
    c_model = getattr(cnnlab.applications, fn)(weights=None, **kwargs)
    path = tmp_path / f"{fn}.keras"
    c_model.save(path)
    k_loaded = keras.models.load_model(path)
    assert len(k_loaded.layers) == len(c_model.layers)
    assert k_loaded.count_params() == c_model.count_params()
    x = np.random.default_rng(2).uniform(0, 255, (2, *kwargs["input_shape"])).astype("float32")
    np.testing.assert_allclose(k_loaded.predict(x, verbose=0), c_model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)

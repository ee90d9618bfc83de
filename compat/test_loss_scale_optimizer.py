"""cnnlab's LossScaleOptimizer against real Keras 3: same gradients (overflows included) -> same weights and scale."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import torch  # noqa: E402

import cnnlab  # noqa: E402

INF, NAN = math.inf, math.nan
# Scaled gradients for a (2, 3) kernel and a (3,) bias; None marks a step where both overflow.
RNG = np.random.default_rng(0)
STEPS = [(RNG.normal(size=(2, 3)) * 100, RNG.normal(size=3) * 100) for _ in range(9)]
STEPS[2] = (np.full((2, 3), INF), STEPS[2][1])  # overflow in one tensor only
STEPS[5] = (STEPS[5][0], np.array([NAN, 1.0, 2.0]))
STEPS[6] = (np.full((2, 3), -INF), np.full(3, NAN))


def _pair(kind: str):
    if kind == "sgd":
        return keras.optimizers.SGD(0.05, momentum=0.9), cnnlab.optimizers.SGD(0.05, momentum=0.9)
    return keras.optimizers.Adam(0.01), cnnlab.optimizers.Adam(0.01)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_same_gradient_sequence_gives_the_same_weights_scale_and_counters(kind):
    k_inner, c_inner = _pair(kind)
    k_opt = keras.optimizers.LossScaleOptimizer(k_inner, initial_scale=64.0, dynamic_growth_steps=2)
    c_opt = cnnlab.optimizers.LossScaleOptimizer(c_inner, initial_scale=64.0, dynamic_growth_steps=2)
    start = [np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), np.array([0.5, -0.5, 0.0], np.float32)]
    k_vars = [keras.Variable(w) for w in start]
    c_vars = [torch.nn.Parameter(torch.tensor(w)) for w in start]
    for kernel_grad, bias_grad in STEPS:
        grads = [np.asarray(kernel_grad, np.float32), np.asarray(bias_grad, np.float32)]
        k_opt.apply([keras.ops.convert_to_tensor(g) for g in grads], k_vars)
        c_opt.apply([torch.tensor(g) for g in grads], c_vars)
        for kv, cv in zip(k_vars, c_vars):
            np.testing.assert_allclose(cv.detach().numpy(), keras.ops.convert_to_numpy(kv), rtol=1e-5, atol=1e-6)
        assert float(c_opt.dynamic_scale) == float(keras.ops.convert_to_numpy(k_opt.dynamic_scale))
        assert int(c_opt.step_counter) == int(keras.ops.convert_to_numpy(k_opt.step_counter))
        assert c_opt.iterations == int(keras.ops.convert_to_numpy(k_opt.iterations))
    assert c_opt.iterations == 6  # three of the nine steps were skipped


def test_scale_loss_matches_before_and_after_building():
    k_opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(), initial_scale=100.0)
    c_opt = cnnlab.optimizers.LossScaleOptimizer(cnnlab.optimizers.SGD(), initial_scale=100.0)
    assert float(c_opt.scale_loss(torch.tensor(1.5))) == float(keras.ops.convert_to_numpy(k_opt.scale_loss(1.5)))


def test_configs_load_both_ways():
    k_opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.002), initial_scale=512.0,
                                                dynamic_growth_steps=50)
    c_opt = cnnlab.optimizers.deserialize(keras.optimizers.serialize(k_opt))
    assert isinstance(c_opt.inner_optimizer, cnnlab.optimizers.Adam)
    assert (c_opt.initial_scale, c_opt.dynamic_growth_steps) == (512.0, 50)
    back = keras.optimizers.deserialize({"class_name": "LossScaleOptimizer", "config": c_opt.get_config(),
                                         "module": "keras.optimizers", "registered_name": None})
    assert isinstance(back.inner_optimizer, keras.optimizers.Adam)
    assert back.get_config()["initial_scale"] == 512.0
    assert back.inner_optimizer.get_config()["learning_rate"] == pytest.approx(0.002)


def test_compile_under_mixed_float16_wraps_like_keras():
    from keras import mixed_precision

    mixed_precision.set_global_policy("mixed_float16")
    cnnlab.mixed_precision.set_global_policy("mixed_float16")
    try:
        k_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        k_model.compile("adam", "mse")
        c_model = cnnlab.Sequential([cnnlab.Input((4,)), cnnlab.layers.Dense(2)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # float16 is slow on a CPU: tested in tests/test_mixed_precision.py
            c_model.compile("adam", "mse")
        k_config, c_config = k_model.optimizer.get_config(), c_model.optimizer.get_config()
        assert type(c_model.optimizer).__name__ == type(k_model.optimizer).__name__ == "LossScaleOptimizer"
        assert {k: v for k, v in c_config.items() if k != "inner_optimizer"} == \
            {k: v for k, v in k_config.items() if k != "inner_optimizer"}
    finally:
        mixed_precision.set_global_policy("float32")
        cnnlab.mixed_precision.set_global_policy("float32")



def _fitted(lib, x, y):
    """A float32 model compiled with LossScaleOptimizer(Adam) after 3 steps, its scale grown once."""
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=lib.optimizers.LossScaleOptimizer(lib.optimizers.Adam(2.0 ** -10), initial_scale=64.0,
                                                                dynamic_growth_steps=2),
                  loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model


def _scale_state(optimizer):
    return float(np.asarray(optimizer.dynamic_scale)), int(np.asarray(optimizer.step_counter)), \
        int(np.asarray(optimizer.iterations))


@pytest.mark.parametrize("writer", ["cnnlab", "keras"])
def test_keras_files_carry_the_loss_scale_and_inner_state_both_ways(tmp_path, writer):
    x, y = np.random.default_rng(1).random((12, 4), dtype=np.float32), np.arange(12) % 3
    source, reader = (cnnlab, keras) if writer == "cnnlab" else (keras, cnnlab)
    model = _fitted(source, x, y)
    model.save(tmp_path / "m.keras")
    loaded = reader.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == "LossScaleOptimizer"
    assert _scale_state(loaded.optimizer) == _scale_state(model.optimizer) == (128.0, 1, 3)
    for m in (model, loaded):  # the same next epoch: Adam's moments came across too
        m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

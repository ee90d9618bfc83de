"""Mixed precision: bfloat16/float16 training steps, float32 weights, float32 evaluate/predict, speed warnings."""

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import mixed_precision
from cnnlab.errors import ConfigError


@pytest.fixture(autouse=True)
def restore_policy():
    yield
    mixed_precision.set_global_policy("float32")


def _model():
    return keras.Sequential([
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def test_policy_names_and_dtypes():
    assert mixed_precision.global_policy().name == "float32"
    mixed_precision.set_global_policy("mixed_bfloat16")
    policy = mixed_precision.global_policy()
    assert (policy.compute_dtype, policy.variable_dtype) == ("bfloat16", "float32")


def test_unknown_policy_suggests_the_closest_name():
    with pytest.raises(ConfigError, match=r"Did you mean 'mixed_bfloat16'\?.*Received: name='mixed_bfloat'"):
        mixed_precision.set_global_policy("mixed_bfloat")


def test_float16_policy_computes_in_float16_with_float32_weights():
    mixed_precision.set_global_policy("mixed_float16")
    policy = mixed_precision.global_policy()
    assert (policy.compute_dtype, policy.variable_dtype) == ("float16", "float32")
    assert policy.autocast_dtype() == torch.float16
    assert mixed_precision.LossScaleOptimizer is keras.optimizers.LossScaleOptimizer


def test_float16_training_runs_the_forward_in_float16_and_keeps_float32_weights(monkeypatch):
    monkeypatch.setattr(mixed_precision, "_WARNED", {"mixed_float16"})  # the speed warning is tested below
    mixed_precision.set_global_policy("mixed_float16")
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    seen = []
    model.layers[0].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    x = np.random.default_rng(0).random((64, 8, 8, 1), dtype=np.float32)
    model.fit(x, np.arange(64) % 10, epochs=1, batch_size=32, verbose=0)
    assert torch.float16 in seen and all(v.value.dtype == torch.float32 for v in model.weights)
    assert model.optimizer.iterations == 2  # no overflow at the initial scale on this small model


def _trained_weights(policy, steps=5, seed=3):
    mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(seed)
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(seed)
    x, y = rng.random((32 * steps, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 32 * steps)
    model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    return model.get_weights(), model.optimizer


def test_a_few_float16_steps_with_loss_scaling_stay_close_to_float32(monkeypatch):
    monkeypatch.setattr(mixed_precision, "_WARNED", {"mixed_float16"})
    reference, _ = _trained_weights("float32")
    weights, optimizer = _trained_weights("mixed_float16")
    assert type(optimizer).__name__ == "LossScaleOptimizer" and optimizer.iterations == 5
    for got, want in zip(weights, reference):
        # float16 keeps 11 significant bits: 5 steps of lr 0.1 drift by far less than the updates themselves.
        np.testing.assert_allclose(got, want, atol=2e-3, rtol=1e-2)
    assert max(np.abs(w - r).max() for w, r in zip(weights, reference)) > 0  # the forward really ran in float16


def test_bfloat16_training_runs_the_forward_in_bfloat16_and_keeps_float32_weights():
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seen = []
    model.layers[0].register_forward_hook(lambda module, args, out: seen.append((module.training, out.dtype)))
    x = np.random.default_rng(0).random((64, 8, 8, 1), dtype=np.float32)
    y = np.arange(64) % 10
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert (torch.bfloat16 in {dtype for _, dtype in seen})  # the training steps ran in bfloat16
    assert all(v.value.dtype == torch.float32 for v in model.weights)
    seen.clear()
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32 and {dtype for _, dtype in seen} == {torch.float32}


def test_predictions_do_not_depend_on_the_policy_for_the_same_weights():
    x = np.random.default_rng(1).random((16, 8, 8, 1), dtype=np.float32)
    reference = _model()
    expected = reference.predict(x, verbose=0)
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.set_weights(reference.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)


def test_bfloat16_training_learns_the_digits():
    mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[..., None] / 255.0, y_train, epochs=15, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test[..., None] / 255.0, y_test, verbose=0)
    assert accuracy > 0.9


def test_mixed_bfloat16_warns_once_with_the_measured_slowdown_on_a_cpu_without_native_bfloat16(monkeypatch):
    import warnings

    import cnnlab as keras
    from cnnlab import mixed_precision

    monkeypatch.setattr(mixed_precision, "native_cpu_bfloat16", lambda: False)
    monkeypatch.setattr(mixed_precision, "_WARNED", set())
    monkeypatch.setattr(mixed_precision, "_MEASURED", {("cpu", "torch.bfloat16"): 9.6})  # as measured on an AVX2 VM
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
                model.compile("sgd", "mse", device="cpu")
        messages = [str(w.message) for w in caught if "policy makes training slower" in str(w.message)]
        assert len(messages) == 1 and "9.6x slower" in messages[0] and "set_global_policy('float32')" in messages[0]
    finally:
        mixed_precision.set_global_policy("float32")


def test_the_slowdown_is_measured_not_assumed():
    import torch

    from cnnlab import mixed_precision

    ratio = mixed_precision.measured_slowdown(torch.bfloat16, torch.device("cpu"))
    assert 0 < ratio < 1000 and mixed_precision._MEASURED[("cpu", "torch.bfloat16")] == ratio


def test_a_cpu_with_native_bfloat16_is_not_warned(monkeypatch):
    import warnings

    import cnnlab as keras
    from cnnlab import mixed_precision

    monkeypatch.setattr(mixed_precision, "native_cpu_bfloat16", lambda: True)
    monkeypatch.setattr(mixed_precision, "_WARNED", set())
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).compile("sgd", "mse", device="cpu")
        assert not [w for w in caught if "policy makes training slower" in str(w.message)]
    finally:
        mixed_precision.set_global_policy("float32")


def test_mixed_float16_on_a_cpu_warns_once_with_the_measured_slowdown(monkeypatch):
    import warnings

    monkeypatch.setattr(mixed_precision, "native_cpu_bfloat16", lambda: True)  # a bfloat16 CPU: float16 still slow
    monkeypatch.setattr(mixed_precision, "_WARNED", set())
    monkeypatch.setattr(mixed_precision, "_MEASURED", {("cpu", "torch.float16"): 137.2})  # this Xeon, torch 2.13
    mixed_precision.set_global_policy("mixed_float16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).compile("sgd", "mse", device="cpu")
    messages = [str(w.message) for w in caught if "policy makes training slower" in str(w.message)]
    assert len(messages) == 1 and "'mixed_float16'" in messages[0] and "137.2x slower" in messages[0]
    assert "pays off on recent GPUs." in messages[0]


def test_mixed_float16_is_not_measured_on_a_gpu(monkeypatch):
    monkeypatch.setattr(mixed_precision, "_WARNED", set())
    monkeypatch.setattr(mixed_precision, "measured_slowdown", lambda *a: pytest.fail("measured on a GPU"))
    mixed_precision.warn_if_slower(mixed_precision.Policy("mixed_float16"), torch.device("cuda"))

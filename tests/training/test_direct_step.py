"""fit's direct step (cnnlab.training.direct_step): the backward written out gives autograd's numbers bit for bit,
and every model or call it does not cover trains through autograd as before."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers
from cnnlab.training import direct_step
from cnnlab.training.direct_step import DirectStep


def _lenet():
    return [layers.Input((16, 16, 1)), layers.Conv2D(4, 5, padding="same", activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(6, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
            layers.Dense(12, activation="relu"), layers.Dense(5, activation="softmax")]


def _mixed():
    """Every covered form: a pooling after a linear convolution, a convolution without pooling, strides,
    dilation, no bias, Dropout, a linear hidden Dense."""
    return [layers.Input((16, 16, 2)), layers.Conv2D(4, 3, activation="linear"), layers.MaxPooling2D(2),
            layers.Conv2D(5, 3, strides=2, padding="valid", activation="relu", use_bias=False),
            layers.Conv2D(6, 3, padding="same", dilation_rate=1, activation="relu"), layers.Flatten(),
            layers.Dropout(0.3), layers.Dense(7), layers.Dense(5, activation="softmax")]


def _data(shape, n=48, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    x[:, : shape[0] // 3] = 0.0  # flat regions: pre-activations tie there, where pooling must pick the first cell
    return x, rng.integers(0, classes, n)


def _train(monkeypatch, stack, direct: bool, optimizer="adam", freeze=None, epochs=2):
    monkeypatch.setenv("CNNLAB_DIRECT_STEP", "1" if direct else "0")
    cnnlab.utils.set_random_seed(0)
    model = cnnlab.Sequential(stack())
    if freeze is not None:
        model.layers[freeze].trainable = False
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data(model.inputs[0].shape[1:])
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    return model, history.history


@pytest.mark.parametrize("stack, optimizer, freeze", [
    (_lenet, "adam", None), (_lenet, "sgd", None), (_mixed, "adam", None), (_lenet, "adam", 0), (_mixed, "rmsprop", 3),
])
def test_training_gives_autograds_weights_and_logs_bit_for_bit(monkeypatch, stack, optimizer, freeze):
    fast, fast_logs = _train(monkeypatch, stack, True, optimizer, freeze)
    slow, slow_logs = _train(monkeypatch, stack, False, optimizer, freeze)
    assert fast._direct_step is not None and slow._direct_step is None
    assert fast_logs == slow_logs
    for a, b in zip(fast.weights, slow.weights):
        assert torch.equal(a.value, b.value), a.path


def test_a_frozen_layer_gets_no_gradient_and_keeps_its_weights(monkeypatch):
    cnnlab.utils.set_random_seed(0)
    model, _ = _train(monkeypatch, _lenet, True, freeze=0, epochs=1)
    cnnlab.utils.set_random_seed(0)
    fresh = cnnlab.Sequential(_lenet())
    assert torch.equal(model.layers[0].kernel.value, fresh.layers[0].kernel.value)
    assert model.layers[0].kernel.value.grad is None
    assert not torch.equal(model.layers[2].kernel.value, fresh.layers[2].kernel.value)


def test_the_step_runs_and_records_the_shapes_diagrams_read(monkeypatch):
    calls = []
    real = DirectStep.run
    monkeypatch.setattr(DirectStep, "run", lambda self, *a: calls.append(1) or real(self, *a))
    model, _ = _train(monkeypatch, _lenet, True, epochs=1)
    assert len(calls) == 3  # 48 samples, batch 16
    assert model._last_shapes == ((16, 16, 16, 1), (16, 5))
    assert model.layers[1]._last_shapes == ((16, 16, 16, 4), (16, 8, 8, 4))


def _model(stack, **compile_args):
    cnnlab.utils.set_random_seed(0)
    model = cnnlab.Sequential(stack)
    model.compile(optimizer="sgd", loss=compile_args.pop("loss", "sparse_categorical_crossentropy"), **compile_args)
    return model


@pytest.mark.parametrize("stack", [
    [layers.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.BatchNormalization(), layers.Flatten(),
     layers.Dense(3, activation="softmax")],  # a layer it does not write out
    [layers.Input((8, 8, 1)), layers.Conv2D(2, 3, kernel_regularizer="l2"), layers.Flatten(),
     layers.Dense(3, activation="softmax")],  # a penalty
    [layers.Input((8, 8, 1)), layers.Conv2D(2, 3, activation="tanh"), layers.Flatten(),
     layers.Dense(3, activation="softmax")],  # another activation
    [layers.Input((8, 8, 1)), layers.Conv2D(2, 2, padding="same"), layers.Flatten(),
     layers.Dense(3, activation="softmax")],  # TF's uneven 'same' padding (even kernel)
    [layers.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)],  # logits, no softmax
    [layers.Input((8, 8, 4)), layers.Conv2D(4, 3, groups=2), layers.Flatten(), layers.Dense(3, activation="softmax")],
    [layers.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.Dense(4), layers.Flatten(),
     layers.Dense(3, activation="softmax")],  # a Dense on every pixel
    [layers.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.Flatten(data_format="channels_first"),
     layers.Dense(3, activation="softmax")],  # channels-first flattening order
])
def test_models_it_does_not_cover_train_through_autograd(stack):
    model = _model(stack)
    x, y = _data((8, 8, stack[0].shape[-1] if hasattr(stack[0], "shape") else 1), n=8, classes=3)
    model.fit(x, y, epochs=1, verbose=0)
    assert model._direct_step is None


def test_functional_models_are_not_covered():
    inputs = layers.Input((8, 8, 1))
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(layers.Conv2D(2, 3)(inputs)))
    model = cnnlab.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert DirectStep.plan(model) is None


def _runs(monkeypatch) -> list:
    calls = []
    real = DirectStep.run
    monkeypatch.setattr(DirectStep, "run", lambda self, *a: calls.append(1) or real(self, *a))
    return calls


def test_add_loss_values_left_on_the_model_go_at_the_next_step_as_with_its_own_call(monkeypatch):
    calls = _runs(monkeypatch)
    model = _model(_lenet())
    other = layers.Dense(2)
    other.add_loss(torch.tensor(5.0))  # another model's layer holding a loss: not this model's business
    model.add_loss(torch.tensor(3.0))
    x, y = _data((16, 16, 1), n=16)
    logs = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history
    assert len(calls) == 1 and model.losses == [] and len(other.losses) == 1
    monkeypatch.setenv("CNNLAB_DIRECT_STEP", "0")
    slow = _model(_lenet())
    slow.add_loss(torch.tensor(3.0))
    assert slow.fit(x, y, batch_size=16, epochs=1, verbose=0).history == logs and slow.losses == []


def test_a_hooked_layer_trains_through_autograd_and_sees_its_output(monkeypatch):
    calls = _runs(monkeypatch)
    model = _model(_lenet())
    seen = []
    handle = model.layers[0].register_forward_hook(lambda layer, args, out: seen.append(out.shape))
    x, y = _data((16, 16, 1), n=32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert calls == [] and len(seen) == 2
    handle.remove()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert len(calls) == 2 and len(seen) == 2


def test_sample_weights_mixed_precision_and_jit_train_through_autograd(monkeypatch):
    calls = _runs(monkeypatch)
    x, y = _data((16, 16, 1), n=32)
    model = _model(_lenet())
    model.fit(x, y, sample_weight=np.ones(32, np.float32), batch_size=16, epochs=1, verbose=0)
    assert calls == []
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert len(calls) == 2
    try:
        cnnlab.mixed_precision.set_global_policy("mixed_bfloat16")
        with warnings.catch_warnings():  # CPUs without bfloat16 get a speed warning at compile
            warnings.simplefilter("ignore")
            _model(_lenet()).fit(x, y, batch_size=16, epochs=1, verbose=0)
    finally:
        cnnlab.mixed_precision.set_global_policy("float32")
    assert len(calls) == 2
    assert direct_step._enabled()
    monkeypatch.setenv("CNNLAB_DIRECT_STEP", "0")
    assert DirectStep.plan(_model(_lenet())) is None


def test_a_jit_compiled_model_does_not_take_the_direct_step(monkeypatch):
    model = _model(_lenet(), jit_compile=True)
    model._prepare_training()
    assert model._direct_step is not None and not model._direct_step_applies()

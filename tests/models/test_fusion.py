"""Sequential runs Conv2D(relu) + MaxPooling2D as relu(pool(conv)): the same numbers, and nothing observable moves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers, regularizers
from cnnlab.layers.conv import Conv2D
from cnnlab.models import _fusion
from cnnlab.models import sequential as sequential_module


def _model(pool_padding="valid", activity_regularizer=None):
    cnnlab.utils.set_random_seed(0)
    return cnnlab.Sequential([
        layers.Input((12, 12, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu", activity_regularizer=activity_regularizer),
        layers.MaxPooling2D(2, padding=pool_padding),
        layers.Conv2D(6, 3, activation="relu"),
        layers.MaxPooling2D(3, strides=2, padding=pool_padding),
        layers.Flatten(),
        layers.Dense(3),
    ])


def _images():
    x = np.random.default_rng(0).normal(size=(5, 12, 12, 1)).astype(np.float32)
    x[:, :6] = 0.0  # flat regions: the pre-activations tie there (bias only), the case where pooling picks a cell
    return torch.from_numpy(x)


def _outputs_and_grads(model, x):
    out = model(x, training=True)
    grads = torch.autograd.grad(out.pow(2).sum(), [w.value for w in model.trainable_weights])
    return out.detach(), grads


@pytest.mark.parametrize("pool_padding", ["valid", "same"])
def test_fused_order_gives_identical_outputs_and_gradients(monkeypatch, pool_padding):
    x = _images()
    fused = _outputs_and_grads(_model(pool_padding), x)
    monkeypatch.setattr(sequential_module, "relu_then_max_pool", lambda *args: False)
    plain = _outputs_and_grads(_model(pool_padding), x)
    assert torch.equal(fused[0], plain[0])
    for a, b in zip(fused[1], plain[1]):
        assert torch.equal(a, b)


def test_both_pairs_are_fused_and_the_flag_is_cleared(monkeypatch):
    seen = []
    real = Conv2D.call
    monkeypatch.setattr(Conv2D, "call", lambda self, inputs: seen.append(self._defer_activation) or real(self, inputs))
    model = _model()
    model(_images())
    assert seen == [True, True]
    assert not any(getattr(layer, "_defer_activation", False) for layer in model.layers)
    standalone = model.layers[0](_images())  # called on its own, the layer applies its ReLU
    assert bool((standalone >= 0).all())


def test_a_hooked_layer_runs_unfused_and_sees_its_relu_output():
    model = _model()
    captured = []
    handle = model.layers[0].register_forward_hook(lambda layer, args, out: captured.append(out))
    model(_images())
    handle.remove()
    assert bool((captured[0] >= 0).all()) and bool((captured[0] == 0).any())
    assert _fusion.relu_then_max_pool(model.layers[2], model.layers[3], torch.zeros(1, 6, 6, 4))  # still fused


def test_activity_regularizer_sees_the_relu_output(monkeypatch):
    x = _images()
    fused_model = _model(activity_regularizer=regularizers.L1(0.1))
    fused_model(x)
    monkeypatch.setattr(sequential_module, "relu_then_max_pool", lambda *args: False)
    plain_model = _model(activity_regularizer=regularizers.L1(0.1))
    plain_model(x)
    assert torch.equal(torch.stack(fused_model.losses), torch.stack(plain_model.losses))


@pytest.mark.parametrize("conv, pool, fusable", [
    (layers.Conv2D(2, 3, activation="relu"), layers.MaxPooling2D(2), True),
    (layers.Conv2D(2, 3, activation="tanh"), layers.MaxPooling2D(2), False),
    (layers.Conv2D(2, 3, activation=lambda t: torch.relu(t)), layers.MaxPooling2D(2), False),
    (layers.Conv2D(2, 3, activation="relu"), layers.AveragePooling2D(2), False),
    (layers.Conv2D(2, 3, activation="relu", data_format="channels_first"), layers.MaxPooling2D(2), False),
])
def test_only_relu_followed_by_max_pooling_of_the_same_layout_is_fused(conv, pool, fusable):
    conv.build((None, 8, 8, 1) if conv.data_format == "channels_last" else (None, 1, 8, 8))
    x = torch.zeros((1, 8, 8, 1) if conv.data_format == "channels_last" else (1, 1, 8, 8))
    assert _fusion.relu_then_max_pool(conv, pool, x) is fusable


def test_inference_keeps_the_relu_inside_the_convolution_with_the_same_numbers(monkeypatch):
    """Outside autograd the convolution runs as one oneDNN primitive with its ReLU fused (no extra pass), so the
    pair is not reordered there; the outputs equal the reordered (training-mode) ones."""
    seen = []
    real = Conv2D.call
    monkeypatch.setattr(Conv2D, "call", lambda self, inputs: seen.append(self._defer_activation) or real(self, inputs))
    model, x = _model(), _images()
    with torch.no_grad():
        inferred = model(x)
    assert seen == [False, False]
    reordered = model(x).detach()  # grad enabled: conv, pool, then ReLU
    assert seen[2:] == [True, True]
    torch.testing.assert_close(inferred, reordered, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------- functional models
def _functional(expose_conv=False, second_reader=False):
    cnnlab.utils.set_random_seed(0)
    inputs = layers.Input((12, 12, 1))
    conv = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    pooled = layers.MaxPooling2D(2, name="pool")(conv)
    x = layers.Conv2D(6, 3, activation="relu", name="conv_b")(pooled)
    x = layers.MaxPooling2D(2, name="pool_b")(x)
    x = layers.Dense(3, name="head")(layers.Flatten()(x))
    if second_reader:
        side = layers.Dense(3, name="side")(layers.GlobalAveragePooling2D()(conv))
        x = layers.Add()([x, side])
    outputs = [x, conv] if expose_conv else x
    return cnnlab.Model(inputs, outputs)


@pytest.mark.parametrize("expose_conv, second_reader", [(False, False), (True, False), (False, True)])
def test_functional_model_fuses_only_private_single_reader_pairs(monkeypatch, expose_conv, second_reader):
    seen = []
    real = Conv2D.call
    monkeypatch.setattr(Conv2D, "call", lambda self, inputs: seen.append((self.name, self._defer_activation))
                        or real(self, inputs))
    x = _images()
    model = _functional(expose_conv, second_reader)
    fused = model(x, training=True)
    first_fused = not (expose_conv or second_reader)
    assert dict(seen) == {"conv": first_fused, "conv_b": True}
    if expose_conv:
        assert bool((fused[1] >= 0).all())  # the exposed Conv2D output is its ReLU output
    with monkeypatch.context() as patch:
        patch.setattr(sequential_module, "relu_then_max_pool", lambda *args: False)
        from cnnlab.models import functional as functional_module
        patch.setattr(functional_module, "relu_then_max_pool", lambda *args: False)
        plain = _functional(expose_conv, second_reader)(x, training=True)
    for a, b in zip(fused if expose_conv else [fused], plain if expose_conv else [plain]):
        assert torch.equal(a, b)


def test_functional_fused_gradients_equal_the_layer_by_layer_ones(monkeypatch):
    from cnnlab.models import functional as functional_module

    x = _images()
    fused = _outputs_and_grads(_functional(), x)
    monkeypatch.setattr(functional_module, "relu_then_max_pool", lambda *args: False)
    plain = _outputs_and_grads(_functional(), x)
    assert torch.equal(fused[0], plain[0])
    for a, b in zip(fused[1], plain[1]):
        assert torch.equal(a, b)

"""Inference runs Conv2D/DepthwiseConv2D -> BatchNormalization (-> ReLU) as one convolution with the
normalisation folded into the weights: the same numbers as layer by layer (to float rounding), and only where
nothing can observe the difference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers as L
from cnnlab.layers import _kernels

pytestmark = pytest.mark.skipif(not _kernels._CONV_ENABLED, reason="this torch build has no oneDNN convolutions")


def _randomise_batch_norms(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                               rng.normal(size=beta.shape).astype("float32"),
                               rng.normal(size=mean.shape).astype("float32"),
                               rng.uniform(0.5, 2.0, var.shape).astype("float32")])


def _reference(model, x):
    """Layer by layer in NumPy: each layer's own call, outside inference (autograd on, so nothing is folded)."""
    out = x
    with torch.enable_grad():
        for layer in model.layers:
            out = layer(torch.from_numpy(out) if isinstance(out, np.ndarray) else out)
    return out.detach().numpy()


def _numpy_bn_block(x, kernel, bias, gamma, beta, mean, var, eps, relu_max):
    """NumPy: 'same' 3x3 stride-1 convolution, batch normalisation, ReLU capped at relu_max (or not)."""
    n, h, w, c = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    z = np.zeros((n, h, w, kernel.shape[-1]), np.float64)
    for i in range(3):
        for j in range(3):
            z += padded[:, i:i + h, j:j + w, :] @ kernel[i, j]
    z = (z + bias - mean) / np.sqrt(var + eps) * gamma + beta
    z = np.maximum(z, 0)
    return np.minimum(z, relu_max) if relu_max is not None else z


def _block(activation_layer):
    model = cnnlab.Sequential([L.Input((10, 10, 3)), L.Conv2D(6, 3, padding="same"), L.BatchNormalization(),
                               activation_layer])
    _randomise_batch_norms(model)
    return model


@pytest.mark.parametrize("act, relu_max", [(L.ReLU(), None), (L.ReLU(6.0), 6.0), (L.Activation("relu"), None)])
def test_a_folded_block_equals_a_numpy_reference(act, relu_max):
    model = _block(act)
    x = np.random.default_rng(1).normal(size=(4, 10, 10, 3)).astype("float32")
    conv, bn = model.layers[0], model.layers[1]
    gamma, beta, mean, var = bn.get_weights()
    expected = _numpy_bn_block(x.astype(np.float64), *conv.get_weights(), gamma, beta, mean, var, bn.epsilon, relu_max)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def _calls_of(layer):
    seen = []
    original = type(layer).call

    def counting(self, *args, **kwargs):
        seen.append(self.name)
        return original(self, *args, **kwargs)

    return seen, counting


def test_predict_skips_the_batch_norm_and_activation_layers(monkeypatch):
    model = _block(L.ReLU(6.0))
    seen, counting = _calls_of(model.layers[1])
    monkeypatch.setattr(L.BatchNormalization, "call", counting)
    model.predict(np.zeros((2, 10, 10, 3), "float32"), verbose=0)
    assert seen == []  # folded into the convolution
    with torch.enable_grad():
        model(np.zeros((2, 10, 10, 3), "float32"))
    assert seen == [model.layers[1].name]  # autograd on: layer by layer


def test_an_activation_that_cannot_fuse_still_runs_after_the_folded_convolution():
    model = _block(L.Activation("swish"))
    x = np.random.default_rng(2).normal(size=(3, 10, 10, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), _reference(model, x), rtol=1e-5, atol=1e-6)


def test_training_mode_batch_norm_is_never_folded():
    model = _block(L.ReLU())
    x = np.random.default_rng(3).normal(size=(8, 10, 10, 3)).astype("float32")
    with torch.no_grad():
        out = model(x, training=True).numpy()  # batch statistics: the output is normalised per channel
    before_relu = model.layers[1](model.layers[0](torch.from_numpy(x)), training=True).detach().numpy()
    np.testing.assert_allclose(out, np.maximum(before_relu, 0), rtol=1e-5, atol=1e-5)


def test_new_weights_refresh_the_folded_ones():
    model = _block(L.ReLU())
    x = np.random.default_rng(4).normal(size=(2, 10, 10, 3)).astype("float32")
    first = model.predict(x, verbose=0)
    _randomise_batch_norms(model, seed=7)
    second = model.predict(x, verbose=0)
    assert not np.allclose(first, second)
    np.testing.assert_allclose(second, _reference(model, x), rtol=1e-5, atol=1e-5)
    model.compile("sgd", "mse")
    model.fit(x, np.zeros_like(second), epochs=1, verbose=0)  # in-place optimizer updates
    np.testing.assert_allclose(model.predict(x, verbose=0), _reference(model, x), rtol=1e-5, atol=1e-5)


def test_a_hooked_layer_runs_layer_by_layer_so_feature_maps_see_it():
    model = _block(L.ReLU())
    seen = []
    handle = model.layers[1].register_forward_hook(lambda module, args, out: seen.append(tuple(out.shape)))
    try:
        model.predict(np.zeros((2, 10, 10, 3), "float32"), verbose=0)
    finally:
        handle.remove()
    assert seen == [(2, 10, 10, 6)]


def test_functional_blocks_fold_and_match_layer_by_layer():
    inputs = L.Input((12, 12, 4))
    a = L.ReLU(6.0)(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", use_bias=False)(inputs)))
    b = L.BatchNormalization()(L.Conv2D(4, 1)(a))
    out = L.Activation("relu")(L.Add()([b, inputs]))  # a residual block: the add is not folded
    model = cnnlab.Model(inputs, out)
    _randomise_batch_norms(model)
    x = np.random.default_rng(5).normal(size=(3, 12, 12, 4)).astype("float32")
    with torch.enable_grad():
        expected = model(x).detach().numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_a_feature_map_model_ending_at_the_batch_norm_reads_its_output():
    model = _block(L.ReLU())
    probe = cnnlab.Model(model.inputs, model.layers[1].output)
    x = np.random.default_rng(6).normal(size=(2, 10, 10, 3)).astype("float32")
    with torch.enable_grad():
        expected = model.layers[1](model.layers[0](torch.from_numpy(x))).detach().numpy()
    np.testing.assert_allclose(probe.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def _residual_model(shortcut_conv: bool, act):
    inputs = L.Input((8, 8, 4))
    x = L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(inputs))
    shortcut = L.BatchNormalization()(L.Conv2D(4, 1)(inputs)) if shortcut_conv else inputs
    x = L.Add()([x, shortcut])
    model = cnnlab.Model(inputs, act(x) if act is not None else x)
    _randomise_batch_norms(model)
    return model


@pytest.mark.parametrize("shortcut_conv", [False, True])
@pytest.mark.parametrize("act", [L.ReLU, None, lambda: L.Activation("swish")])
def test_a_residual_block_runs_as_one_convolution_with_the_same_numbers(shortcut_conv, act, monkeypatch):
    model = _residual_model(shortcut_conv, act() if act is not None else None)
    x = np.random.default_rng(8).normal(size=(3, 8, 8, 4)).astype("float32")
    with torch.enable_grad():
        expected = model(x).detach().numpy()
    adds = []
    original = L.Add.call
    monkeypatch.setattr(L.Add, "call", lambda self, inputs: adds.append(1) or original(self, inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert adds == []  # the add ran inside the convolution


def test_a_broadcasting_residual_add_runs_as_a_layer():
    inputs = L.Input((8, 8, 4))
    bias = L.Input((1, 1, 4))
    x = L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(inputs))
    model = cnnlab.Model([inputs, bias], L.ReLU()(L.Add()([x, bias])))
    _randomise_batch_norms(model)
    rng = np.random.default_rng(9)
    xs = [rng.normal(size=(2, 8, 8, 4)).astype("float32"), rng.normal(size=(2, 1, 1, 4)).astype("float32")]
    with torch.enable_grad():
        expected = model(xs).detach().numpy()
    np.testing.assert_allclose(model.predict(xs, verbose=0), expected, rtol=1e-5, atol=1e-5)

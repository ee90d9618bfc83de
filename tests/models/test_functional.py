"""Functional models: branches, shared layers, several inputs and outputs, feature-map models."""

import numpy as np
import pytest
import torch
from architectures import MNIST_CNN_SHAPES, mnist_cnn_layers

import cnnlab
from cnnlab import layers
from cnnlab.errors import ConfigError

TOL = dict(rtol=1e-5, atol=1e-6)


def _x(shape=(2, 28, 28, 1), seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _np(t):
    return t.detach().numpy()


def _chain(inputs, chain):
    x = inputs
    for layer in chain:
        x = layer(x)
    return x


def test_functional_chain_has_keras_shapes_and_names():
    inputs = layers.Input(shape=(28, 28, 1))
    model = cnnlab.Model(inputs=inputs, outputs=_chain(inputs, mnist_cnn_layers()))
    assert model.name == "functional"
    assert [layer.output.shape for layer in model.layers[1:]] == MNIST_CNN_SHAPES
    assert model.layers[0].name == "input_layer"
    assert model.inputs == [inputs] and model.input is inputs
    assert model.count_params() == 832 + 51264 + 65600 + 650


def test_branches_merge_with_add_and_concatenate():
    inputs = layers.Input((8, 8, 3))
    a = layers.Conv2D(4, 3, padding="same", name="a")(inputs)
    b = layers.Conv2D(4, 1, name="b")(inputs)
    added = layers.Add(name="added")([a, b])
    joined = layers.Concatenate(name="joined")([added, inputs])
    model = cnnlab.Model(inputs, joined)
    assert model.output.shape == (None, 8, 8, 7)
    x = _x((2, 8, 8, 3))
    layer_a, layer_b = model.get_layer("a"), model.get_layer("b")
    expected = np.concatenate([_np(layer_a(x)) + _np(layer_b(x)), x], axis=-1)
    np.testing.assert_allclose(_np(model(x)), expected, **TOL)


def test_shared_layer_used_twice_has_one_set_of_weights():
    inputs = layers.Input((6,))
    shared = layers.Dense(3, name="shared")
    first = shared(inputs)
    second = shared(layers.ReLU()(inputs))
    model = cnnlab.Model(inputs, layers.Add()([first, second]))
    assert model.count_params() == 6 * 3 + 3
    assert sum(layer is shared for layer in model.layers) == 1
    x = _x((4, 6)) - 0.5
    kernel, bias = shared.get_weights()
    expected = (x @ kernel + bias) + (np.maximum(x, 0) @ kernel + bias)
    np.testing.assert_allclose(_np(model(x)), expected, **TOL)


def test_two_inputs_and_two_outputs():
    image, extra = layers.Input((8, 8, 1), name="image"), layers.Input((5,), name="extra")
    features = layers.Flatten()(layers.Conv2D(2, 3)(image))
    class_out = layers.Dense(3, activation="softmax", name="class_out")(features)
    joined = layers.Concatenate()([features, extra])
    value_out = layers.Dense(1, name="value_out")(joined)
    model = cnnlab.Model(inputs=[image, extra], outputs=[class_out, value_out])
    assert [t.shape for t in model.inputs] == [(None, 8, 8, 1), (None, 5)]
    assert [t.shape for t in model.outputs] == [(None, 3), (None, 1)]
    out_class, out_value = model([_x((4, 8, 8, 1)), _x((4, 5))])
    assert tuple(out_class.shape) == (4, 3) and tuple(out_value.shape) == (4, 1)
    np.testing.assert_allclose(_np(out_class).sum(axis=1), np.ones(4), **TOL)


def test_feature_map_model_of_a_sequential_equals_its_first_layers():
    model = cnnlab.Sequential(mnist_cnn_layers({"input_shape": (28, 28, 1)}))
    x = _x()
    for i in (0, 2, 5, 6):
        features = cnnlab.Model(model.input, model.layers[i].output)
        assert features.output.shape == MNIST_CNN_SHAPES[i]
        np.testing.assert_allclose(_np(features(x)), _np(_chain(torch.from_numpy(x), model.layers[:i + 1])), **TOL)


def test_feature_map_model_of_a_functional_model_equals_its_first_layers():
    inputs = layers.Input((28, 28, 1))
    chain = mnist_cnn_layers()
    model = cnnlab.Model(inputs, _chain(inputs, chain))
    x = _x()
    for i in (1, 3, 7):  # layers[0] is the InputLayer, so layers[i] is chain[i - 1]
        features = cnnlab.Model(model.input, model.layers[i].output)
        assert features.output.shape == MNIST_CNN_SHAPES[i - 1]
        np.testing.assert_allclose(_np(features(x)), _np(_chain(torch.from_numpy(x), chain[:i])), **TOL)


def test_model_of_a_tensor_not_connected_to_the_inputs_is_refused():
    used, other = layers.Input((4,)), layers.Input((4,))
    with pytest.raises(ConfigError, match="not in inputs"):
        cnnlab.Model(used, layers.Add()([used, other]))


def test_nested_functional_model_is_called_like_a_layer():
    inner_in = layers.Input((8, 8, 3))
    inner = cnnlab.Model(inner_in, layers.Conv2D(4, 3, activation="relu")(inner_in), name="inner")
    outer_in = layers.Input((8, 8, 3))
    outer = cnnlab.Model(outer_in, layers.GlobalAveragePooling2D()(inner(outer_in)))
    assert outer.output.shape == (None, 4)
    assert outer.count_params() == inner.count_params() == 3 * 3 * 3 * 4 + 4
    x = _x((2, 8, 8, 3))
    np.testing.assert_allclose(_np(outer(x)), _np(inner(x)).mean(axis=(1, 2)), **TOL)

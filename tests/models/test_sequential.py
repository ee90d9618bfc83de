"""Sequential: the ways to build it, lazily or at once, and pop."""

import numpy as np
import pytest
import torch
from architectures import MNIST_CNN_SHAPES, mnist_cnn_layers

import cnnlab
from cnnlab import layers
from cnnlab.errors import ConfigError, NotBuiltError


def _x(shape=(2, 28, 28, 1), seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _output_shapes(model):
    return [layer.output.shape for layer in model.layers]


def test_list_with_input_shape_on_first_layer_is_built_at_once():
    model = cnnlab.Sequential(mnist_cnn_layers({"input_shape": (28, 28, 1)}))
    assert model.built
    assert _output_shapes(model) == MNIST_CNN_SHAPES
    assert model.input.shape == (None, 28, 28, 1)
    assert model.output.shape == (None, 10)
    assert model.inputs == [model.input] and model.outputs == [model.output]
    assert model.output is model.layers[-1].output


def test_add_one_by_one_equals_the_list_form():
    model = cnnlab.Sequential()
    for layer in mnist_cnn_layers({"input_shape": (28, 28, 1)}):
        model.add(layer)
    assert _output_shapes(model) == MNIST_CNN_SHAPES
    assert model.count_params() == 832 + 51264 + 65600 + 650


def test_input_first_builds_at_once():
    model = cnnlab.Sequential([layers.Input(shape=(28, 28, 1)), *mnist_cnn_layers()])
    assert model.built
    assert len(model.layers) == 10  # the Input is not a layer of the model, as in Keras
    assert _output_shapes(model) == MNIST_CNN_SHAPES


def test_without_input_shape_builds_lazily_on_first_call():
    model = cnnlab.Sequential(mnist_cnn_layers())
    assert not model.built
    with pytest.raises(NotBuiltError, match=r"model\.build\(input_shape\)"):
        model.count_params()
    with pytest.raises(NotBuiltError, match="input_shape"):
        model.input  # noqa: B018
    out = model(_x())
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2, 10)
    assert model.built
    assert model.count_params() == 832 + 51264 + 65600 + 650
    # Keras 3 builds the graph with the batch size of that first call: (2, 28, 28, 1), not (None, 28, 28, 1).
    assert model.input.shape == (2, 28, 28, 1)
    assert _output_shapes(model) == [(2,) + shape[1:] for shape in MNIST_CNN_SHAPES]


def test_build_with_a_shape_builds_the_graph():
    model = cnnlab.Sequential(mnist_cnn_layers())
    model.build((None, 28, 28, 1))
    assert _output_shapes(model) == MNIST_CNN_SHAPES


def test_pop_removes_the_last_layer_and_keeps_the_graph():
    model = cnnlab.Sequential(mnist_cnn_layers({"input_shape": (28, 28, 1)}))
    popped = model.pop()
    assert popped.name == "dense_1"
    assert [layer.name for layer in model.layers][-1] == "re_lu_2"
    assert model.output.shape == (None, 64)
    assert tuple(model(_x()).shape) == (2, 64)
    assert model.count_params() == 832 + 51264 + 65600
    model.add(layers.Dense(3))
    assert model.output.shape == (None, 3)
    features = cnnlab.Model(model.input, model.layers[5].output)  # the graph still reads as one model
    assert tuple(features(_x()).shape) == (2, 4, 4, 64)


def test_pop_on_a_lazy_model_and_on_an_empty_model():
    model = cnnlab.Sequential([layers.Dense(4), layers.Dense(2)])
    model.pop()
    assert tuple(model(_x((3, 5))).shape) == (3, 4)
    model.pop()
    with pytest.raises(ConfigError, match="no layers to pop"):
        model.pop()


def test_two_layers_with_the_same_name_are_refused():
    with pytest.raises(ConfigError, match="'same' is already in the model"):
        cnnlab.Sequential([layers.Dense(2, name="same"), layers.Dense(2, name="same")])


def test_sequential_takes_a_built_model_as_first_layer():
    inner = cnnlab.Sequential([layers.Conv2D(4, 3, input_shape=(8, 8, 3)), layers.ReLU()], name="inner")
    outer = cnnlab.Sequential([inner, layers.Flatten(), layers.Dense(2)])
    assert outer.built
    assert outer.layers[1].output.shape == (None, 144)
    assert outer.count_params() == (3 * 3 * 3 * 4 + 4) + (144 * 2 + 2)
    x = _x((2, 8, 8, 3))
    manual = outer.layers[2](outer.layers[1](inner(x)))
    np.testing.assert_allclose(outer(x).detach().numpy(), manual.detach().numpy(), rtol=1e-6)

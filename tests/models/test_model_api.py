"""What every model offers: layers, get_layer, weights, trainable, names, outputs across the three APIs."""

import numpy as np
import pytest
import torch
from architectures import mnist_cnn_layers

import cnnlab
from cnnlab import layers
from cnnlab.errors import ConfigError

TOL = dict(rtol=1e-5, atol=1e-6)


def _x(shape=(3, 28, 28, 1)):
    return np.random.default_rng(0).random(shape, dtype=np.float32)


def _sequential():
    return cnnlab.Sequential(mnist_cnn_layers({"input_shape": (28, 28, 1)}))


def test_automatic_names_count_per_class():
    model = _sequential()
    assert model.name == "sequential"
    assert [layer.name for layer in model.layers] == [
        "conv2d", "re_lu", "max_pooling2d", "conv2d_1", "re_lu_1", "max_pooling2d_1", "flatten", "dense", "re_lu_2",
        "dense_1",
    ]
    assert _sequential().name == "sequential_1"
    assert layers.Conv2D(1, 1).name == "conv2d_4"
    assert layers.BatchNormalization().name == "batch_normalization"
    assert layers.GlobalAveragePooling2D().name == "global_average_pooling2d"


def test_layer_output_shape_is_keras_style():
    model = _sequential()
    first = model.layers[0]
    assert first.output.shape == (None, 24, 24, 32)
    assert first.input.shape == (None, 28, 28, 1)
    assert first.output_shape == (None, 24, 24, 32)


def test_get_layer_by_name_and_index():
    model = _sequential()
    assert model.get_layer("conv2d_1") is model.layers[3]
    assert model.get_layer(index=-1) is model.layers[-1]
    with pytest.raises(ConfigError, match=r"No layer named 'conv2d_2'.*Did you mean 'conv2d_1'\?.*Layers: conv2d,"):
        model.get_layer("conv2d_2")
    with pytest.raises(ConfigError, match=r"index must be an int in \[-10, 10\).*Received: index=10"):
        model.get_layer(index=10)


def test_weights_split_into_trainable_and_non_trainable_with_batch_norm():
    model = cnnlab.Sequential([
        layers.Conv2D(8, 3, input_shape=(10, 10, 3)), layers.BatchNormalization(), layers.Flatten(), layers.Dense(2),
    ])
    conv, bn = (3 * 3 * 3 * 8 + 8), 4 * 8
    assert model.count_params() == conv + bn + (8 * 8 * 8 * 2 + 2)
    assert len(model.weights) == 2 + 4 + 2
    assert [w.path for w in model.non_trainable_weights] == [
        "batch_normalization/moving_mean", "batch_normalization/moving_variance",
    ]
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 2 * 8
    assert len(model.trainable_weights) == 6


def test_trainable_false_moves_weights_to_non_trainable():
    model = _sequential()
    dense = model.get_layer("dense")
    dense.trainable = False
    assert [w.path for w in model.non_trainable_weights] == ["dense/kernel", "dense/bias"]
    assert not dense.kernel.requires_grad
    assert len(model.trainable_weights) == 6
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 8
    frozen = layers.Dense(3, trainable=False)
    frozen.build((None, 4))
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2


def test_models_return_tensors_for_numpy_and_tensor_input():
    model = _sequential()
    for x in (_x(), torch.from_numpy(_x()), _x().astype(np.float64)):
        out = model(x)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and tuple(out.shape) == (3, 10)


class _MnistNet(cnnlab.Model):
    def __init__(self):
        super().__init__()
        self.stack = mnist_cnn_layers()
        for i, layer in enumerate(self.stack):
            setattr(self, f"layer{i}", layer)

    def call(self, x):
        for layer in self.stack:
            x = layer(x)
        return x


def test_same_weights_give_same_outputs_across_the_three_apis():
    sequential = _sequential()
    inputs = layers.Input((28, 28, 1))
    x = inputs
    for layer in mnist_cnn_layers():
        x = layer(x)
    functional = cnnlab.Model(inputs, x)
    subclassed = _MnistNet()
    subclassed.build((None, 28, 28, 1))
    weights = sequential.get_weights()
    functional.set_weights(weights)
    subclassed.set_weights(weights)
    data = _x()
    expected = sequential(data).detach().numpy()
    np.testing.assert_allclose(functional(data).detach().numpy(), expected, **TOL)
    np.testing.assert_allclose(subclassed(data).detach().numpy(), expected, **TOL)
    assert sequential.count_params() == functional.count_params() == subclassed.count_params()

"""Parameter counts and output shapes of the issue's reference models (hand-worked in comments)."""

from architectures import MNIST_CNN_PARAMS, MNIST_CNN_SHAPES, mnist_cnn_layers

import cnnlab
from cnnlab import layers


def _rows(model):
    return [(layer.output.shape, layer.count_params()) for layer in model.layers]


def test_mnist_cnn_counts_and_shapes():
    # conv 5x5x1x32 + 32 = 832; conv 5x5x32x64 + 64 = 51264; dense 1024*64 + 64 = 65600; dense 64*10 + 10 = 650.
    model = cnnlab.Sequential(mnist_cnn_layers({"input_shape": (28, 28, 1)}))
    assert _rows(model) == list(zip(MNIST_CNN_SHAPES, MNIST_CNN_PARAMS))
    assert model.count_params() == 118346


def test_average_pooling_cnn_has_39478_params():
    # conv 3*3*1*32+32 = 320; avgpool 3 -> 28//3 = 9; conv 3*3*32*32+32 = 9248; avgpool 3 -> 3;
    # flatten 3*3*32 = 288; dense 288*100+100 = 28900; dense 100*10+10 = 1010. Total 39,478.
    model = cnnlab.Sequential([
        layers.Conv2D(32, kernel_size=3, activation="relu", padding="same", input_shape=(28, 28, 1)),
        layers.AveragePooling2D(3),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", padding="same"),
        layers.AveragePooling2D(3),
        layers.Flatten(),
        layers.Dense(100, activation="relu"),
        layers.Dropout(0.4),
        layers.Dense(10, activation="softmax"),
    ])
    assert _rows(model) == [
        ((None, 28, 28, 32), 320), ((None, 9, 9, 32), 0), ((None, 9, 9, 32), 9248), ((None, 3, 3, 32), 0),
        ((None, 288), 0), ((None, 100), 28900), ((None, 100), 0), ((None, 10), 1010),
    ]
    assert model.count_params() == 39478


def test_lenet5_has_61706_params():
    # 5*5*1*6+6 = 156 (28 same -> 28, pool -> 14); 5*5*6*16+16 = 2416 (14 valid -> 10, pool -> 5);
    # 5*5*16 = 400 -> 400*120+120 = 48120; 120*84+84 = 10164; 84*10+10 = 850. Total 61,706.
    model = cnnlab.Sequential([
        layers.Conv2D(6, 5, padding="same", activation="tanh", input_shape=(28, 28, 1)),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="tanh"),
        layers.Dense(84, activation="tanh"),
        layers.Dense(10, activation="softmax"),
    ])
    assert [layer.count_params() for layer in model.layers if layer.weights] == [156, 2416, 48120, 10164, 850]
    assert [layer.output.shape for layer in model.layers[:5]] == [
        (None, 28, 28, 6), (None, 14, 14, 6), (None, 10, 10, 16), (None, 5, 5, 16), (None, 400),
    ]
    assert model.count_params() == 61706
    assert len(model.non_trainable_weights) == 0

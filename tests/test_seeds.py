"""The model-building cells of the study notes in /work/shared/seeds, ported with ``import cnnlab as keras``.

Each test names its note and asserts the numbers the note prints (parameter counts,
shapes, toy convolution outputs). Training cells are left to the trainer's tests;
datasets are replaced by random arrays of the same shape so this file stays fast
and offline.
"""

import numpy as np
import pytest
import torch

import cnnlab as keras
from cnnlab import ops
from cnnlab.errors import ArgumentTypeError, NotBuiltError, ShapeError, UnknownNameError



def _rows(model):
    return [(layer.output.shape, layer.count_params()) for layer in model.layers]


def _fake_mnist(n=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


# ---------------------------------------------------------------- note 000: Sequential vs functional

NOTE_000_ROWS = [
    ((None, 24, 24, 32), 832), ((None, 24, 24, 32), 0), ((None, 12, 12, 32), 0), ((None, 8, 8, 64), 51264),
    ((None, 8, 8, 64), 0), ((None, 4, 4, 64), 0), ((None, 1024), 0), ((None, 64), 65600), ((None, 64), 0),
    ((None, 10), 650),
]


def test_note_000_sequential_model_summary_numbers():
    seq_model = keras.models.Sequential([
        keras.layers.Conv2D(32, (5, 5), input_shape=(28, 28, 1)),
        keras.layers.ReLU(),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, (5, 5)),
        keras.layers.ReLU(),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64),
        keras.layers.ReLU(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    assert seq_model.name == "sequential"
    assert _rows(seq_model) == NOTE_000_ROWS


def test_note_000_functional_model_summary_numbers():
    inputs = keras.layers.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(32, (5, 5))(inputs)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, (5, 5))(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64)(x)
    x = keras.layers.ReLU()(x)
    y = keras.layers.Dense(10, activation="softmax")(x)
    func_model = keras.Model(inputs=inputs, outputs=y)
    assert func_model.layers[0].output.shape == (None, 28, 28, 1)  # the InputLayer row
    assert _rows(func_model)[1:] == NOTE_000_ROWS


def test_note_000_mnist_without_channel_axis_gets_it_added_as_keras_does():
    model = keras.Sequential([keras.layers.Conv2D(32, (5, 5), input_shape=(28, 28, 1)), keras.layers.ReLU()])
    x_train = _fake_mnist().astype("float32") / 255
    without_axis = model(x_train)  # Keras adds the size-1 channel axis a model's Input declares
    x_train = x_train.reshape(x_train.shape + (1,))  # the note's own fix
    assert tuple(model(x_train).shape) == (8, 24, 24, 32)
    np.testing.assert_array_equal(without_axis.numpy(), model(x_train).numpy())


def test_note_000_a_bare_conv_layer_still_needs_the_channel_axis():
    conv = keras.layers.Conv2D(32, (5, 5))
    with pytest.raises(ShapeError, match=r"x\.reshape\(x\.shape \+ \(1,\)\)"):
        conv(_fake_mnist().astype("float32"))


# ---------------------------------------------------------------- note 001: Fashion-MNIST CNN


def _note_001_model(pooling=keras.layers.MaxPooling2D, pool_size=2, second_filters=64):
    """The note's two models differ only in the pooling layer and the second conv's filters."""
    model = keras.Sequential()
    model.add(keras.layers.Conv2D(32, kernel_size=3, activation="relu", padding="same", input_shape=(28, 28, 1)))
    model.add(pooling(pool_size))
    model.add(keras.layers.Conv2D(second_filters, kernel_size=(3, 3), activation="relu", padding="same"))
    model.add(pooling(pool_size))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(100, activation="relu"))
    model.add(keras.layers.Dropout(0.4))
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


def test_note_001_average_pooling_model_has_39478_params():
    model = _note_001_model(keras.layers.AveragePooling2D, 3, 32)
    assert _rows(model) == [
        ((None, 28, 28, 32), 320), ((None, 9, 9, 32), 0), ((None, 9, 9, 32), 9248), ((None, 3, 3, 32), 0),
        ((None, 288), 0), ((None, 100), 28900), ((None, 100), 0), ((None, 10), 1010),
    ]
    assert model.count_params() == 39478


def test_note_001_max_pooling_model_has_333526_params():
    model = _note_001_model()
    assert _rows(model) == [
        ((None, 28, 28, 32), 320), ((None, 14, 14, 32), 0), ((None, 14, 14, 64), 18496), ((None, 7, 7, 64), 0),
        ((None, 3136), 0), ((None, 100), 313700), ((None, 100), 0), ((None, 10), 1010),
    ]
    assert model.count_params() == 333526
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "Dense",
    ]


def test_note_001_conv_weights_have_keras_shapes_and_glorot_spread():
    torch.manual_seed(0)
    no_training_model = keras.Sequential()
    no_training_model.add(keras.layers.Conv2D(32, kernel_size=3, activation="relu", padding="same",
                                              input_shape=(28, 28, 1)))
    conv = no_training_model.layers[0]
    assert (conv.weights[0].shape, conv.weights[1].shape) == ((3, 3, 1, 32), (32,))
    weights = conv.weights[0].numpy()
    # glorot_uniform: limit = sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (9 + 288)) = 0.1421;
    # std of U(-limit, limit) = limit / sqrt(3) = 0.0821 (the note prints 0.0819). Mean 0 (SE 0.005).
    assert abs(weights.std() - 0.0821) < 0.01
    assert abs(weights.mean()) < 0.02
    assert np.abs(weights).max() <= 0.1422


def test_note_001_feature_map_models():
    model = _note_001_model()
    inputs = _fake_mnist(1).reshape(-1, 28, 28, 1) / 255.0
    conv_acti = keras.Model(model.input, model.layers[0].output)
    assert model.input.shape == (None, 28, 28, 1)
    assert tuple(conv_acti(inputs).shape) == (1, 28, 28, 32)
    conv2_acti = keras.Model(model.input, model.layers[2].output)
    assert tuple(conv2_acti(inputs).shape) == (1, 14, 14, 64)


# ---------------------------------------------------------------- note 002: output size, three convs, subclassing


def test_note_002_output_size_formula():
    assert ops.conv_output_size(28, 3, 0, 1) == 26  # cnn_param(28, 3, 0, 1) = 26.0
    assert ops.conv_output_size(28, 3, 1, 1) == 28  # cnn_param(28, 3, 1, 1) = 28.0


def test_note_002_three_conv_model_has_55744_params():
    cnn = keras.models.Sequential()
    cnn.add(keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    cnn.add(keras.layers.MaxPooling2D((2, 2)))
    cnn.add(keras.layers.Conv2D(64, (3, 3), activation="relu"))
    cnn.add(keras.layers.MaxPooling2D((2, 2)))
    cnn.add(keras.layers.Conv2D(64, (3, 3), activation="relu"))
    assert [layer.name for layer in cnn.layers] == [
        "conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2",
    ]
    assert _rows(cnn) == [
        ((None, 26, 26, 32), 320), ((None, 13, 13, 32), 0), ((None, 11, 11, 64), 18496), ((None, 5, 5, 64), 0),
        ((None, 3, 3, 64), 36928),
    ]
    assert cnn.count_params() == 55744


def test_note_002_subclassed_cnn_typos_get_errors_that_name_the_fix():
    with pytest.raises(AttributeError, match="Did you mean 'Conv2D'"):
        keras.layers.Conv2d  # noqa: B018  (the note writes tf.keras.layers.Conv2d)
    with pytest.raises(ArgumentTypeError, match="Did you mean 'filters'"):
        keras.layers.Conv2D(filter=32, kernel_size=3, activation="relu", padding="same", input_shape=(28, 28, 1))
    with pytest.raises(AttributeError, match=r"cnnlab\.layers\.Dense"):
        keras.Dense  # noqa: B018  (the note writes tf.keras.Dense)
    with pytest.raises(UnknownNameError, match=r"pass None \(without quotes\) or 'linear'"):
        keras.layers.Dense(10, activation="None")


class NoteCNN(keras.Model):
    """Note 002's subclassed CNN with its typos fixed."""

    def __init__(self):
        super().__init__()
        self.layer1 = keras.layers.Conv2D(filters=32, kernel_size=3, activation="relu", padding="same",
                                          input_shape=(28, 28, 1))
        self.pool1 = keras.layers.MaxPooling2D((2, 2))
        self.layer2 = keras.layers.Conv2D(filters=64, kernel_size=3, activation="relu", padding="same")
        self.pool2 = keras.layers.MaxPooling2D((2, 2))
        self.flat = keras.layers.Flatten()
        self.fc = keras.layers.Dense(10, activation=None)

    def call(self, x):
        out = self.layer1(x)
        out = self.pool1(out)
        out = self.layer2(out)
        out = self.pool2(out)
        out = self.flat(out)
        return self.fc(out)


def test_note_002_fixed_subclassed_cnn_builds():
    model = NoteCNN()
    with pytest.raises(NotBuiltError, match=r"model\.build\(input_shape\)"):
        model.count_params()
    out = model(_fake_mnist(2).reshape(-1, 28, 28, 1) / 255.0)
    assert tuple(out.shape) == (2, 10)
    # 3*3*1*32+32 = 320; 3*3*32*64+64 = 18496; 28 -> 14 -> 7, 7*7*64 = 3136 -> 3136*10+10 = 31370.
    assert [layer.count_params() for layer in model.layers] == [320, 0, 18496, 0, 0, 31370]
    assert model.count_params() == 50186


# ---------------------------------------------------------------- note 004: tf.nn.conv2d / max_pool by hand

IMAGE = np.array([[[[1], [2], [3]], [[4], [5], [6]], [[7], [8], [9]]]], dtype=np.float32)
ONES_2X2 = np.array([[[[1.0]], [[1.0]]], [[[1.0]], [[1.0]]]], dtype=np.float32)


def test_note_004_valid_convolution_of_the_toy_image():
    assert IMAGE.shape == (1, 3, 3, 1) and ONES_2X2.shape == (2, 2, 1, 1)
    conv2d = ops.conv2d(IMAGE, ONES_2X2, strides=[1, 1, 1, 1], padding="VALID")
    assert tuple(conv2d.shape) == (1, 2, 2, 1)
    # 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28
    np.testing.assert_array_equal(conv2d.numpy().reshape(2, 2), [[12, 16], [24, 28]])


# SAME pads one zero row/column at the bottom/right: the last column sums 3+6, 6+9, 9; the last row 7+8, 8+9, 9.
SAME_SUMS = np.array([[12, 16, 9], [24, 28, 15], [15, 17, 9]], dtype=np.float32)


def test_note_004_same_convolution_of_the_toy_image():
    conv2d = ops.conv2d(IMAGE, ONES_2X2, strides=[1, 1, 1, 1], padding="SAME")
    assert tuple(conv2d.shape) == (1, 3, 3, 1)
    np.testing.assert_array_equal(conv2d.numpy().reshape(3, 3), SAME_SUMS)


def test_note_004_three_filters_give_three_images():
    weight = np.array([[[[1.0, 10.0, -1.0]], [[1.0, 10.0, -1.0]]],
                       [[[1.0, 10.0, -1.0]], [[1.0, 10.0, -1.0]]]], dtype=np.float32)
    assert weight.shape == (2, 2, 1, 3)
    conv2d_img = np.swapaxes(ops.conv2d(IMAGE, weight, strides=[1, 1, 1, 1], padding="SAME").numpy(), 0, 3)
    for one_img, factor in zip(conv2d_img, (1, 10, -1)):
        np.testing.assert_array_equal(one_img.reshape(3, 3), factor * SAME_SUMS)


def test_note_004_max_pool_of_the_toy_image():
    image = np.array([[[[4], [3]], [[2], [1]]]], dtype=np.float32)
    pool = ops.max_pool(image, ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding="VALID")
    assert tuple(pool.shape) == (1, 1, 1, 1) and pool.item() == 4
    same = ops.max_pool(image, ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding="SAME")
    np.testing.assert_array_equal(same.numpy().reshape(2, 2), [[4, 3], [2, 1]])


def test_note_004_mnist_conv_and_pool_shapes():
    torch.manual_seed(0)
    img = (_fake_mnist(1)[0] / 255.0).astype(np.float32).reshape(-1, 28, 28, 1)
    w1 = torch.randn(3, 3, 1, 5) * 0.01  # tf.random_normal([3, 3, 1, 5], stddev=0.01)
    conv2d = ops.conv2d(img, w1, strides=[1, 2, 2, 1], padding="SAME")
    assert tuple(conv2d.shape) == (1, 14, 14, 5)
    pool = ops.max_pool(conv2d, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    assert tuple(pool.shape) == (1, 7, 7, 5)

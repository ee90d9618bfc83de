"""keras.io example "Simple MNIST convnet" (examples/vision/mnist_convnet.py), ported to cnnlab.

MNIST is the digits stand-in (conftest, 1,437 train / 360 test 28x28 images); 2 epochs instead of 15.
"""

import numpy as np

import cnnlab as keras
from cnnlab import layers

from .conftest import assert_summary

num_classes = 10
input_shape = (28, 28, 1)


def _model():
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def test_summary_matches_the_example():
    assert_summary(
        _model(),
        'Model: "sequential"',
        [
            ("conv2d (Conv2D)", "(None, 26, 26, 32)", "320"),
            ("max_pooling2d (MaxPooling2D)", "(None, 13, 13, 32)", "0"),
            ("conv2d_1 (Conv2D)", "(None, 11, 11, 64)", "18,496"),
            ("max_pooling2d_1 (MaxPooling2D)", "(None, 5, 5, 64)", "0"),
            ("flatten (Flatten)", "(None, 1600)", "0"),
            ("dropout (Dropout)", "(None, 1600)", "0"),
            ("dense (Dense)", "(None, 10)", "16,010"),
        ],
        ["Total params: 34,826", "Trainable params: 34,826", "Non-trainable params: 0"],
    )


def test_trains_and_evaluates(mnist_like):
    (x_train, y_train), (x_test, y_test) = mnist_like

    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    assert x_train.shape[1:] == (28, 28, 1)  # "x_train shape: (60000, 28, 28, 1)"

    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = _model()
    batch_size = 128
    epochs = 2

    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][1] < history.history["loss"][0]

    score = model.evaluate(x_test, y_test, verbose=0)
    assert len(score) == 2  # "Test loss:", score[0]; "Test accuracy:", score[1]
    assert score[1] > 0.3  # two short epochs on the easy digits already beat chance (0.1) by far
    assert model.predict(x_test[:4], verbose=0).shape == (4, 10)

"""tensorflow.org tutorial "TensorFlow 2 quickstart for beginners" (site/en/tutorials/quickstart/beginner.ipynb), ported.

``import tensorflow as tf`` becomes ``import cnnlab as tf``; nothing else changes. MNIST comes from the
tutorial's own ``tf.keras.datasets.mnist.load_data()``, reading small generated IDX files
(tf_tutorial_data.py: 1,200 training and 300 test digits); 3 epochs instead of 5.
"""

import numpy as np

import cnnlab as tf

from .conftest import assert_summary
from .tf_tutorial_data import keras_mnist  # noqa: F401  (fixture)


def test_quickstart_beginner_end_to_end(keras_mnist):
    print("TensorFlow version:", tf.__version__)

    mnist = tf.keras.datasets.mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0

    model = tf.keras.models.Sequential([
      tf.keras.layers.Flatten(input_shape=(28, 28)),
      tf.keras.layers.Dense(128, activation='relu'),
      tf.keras.layers.Dropout(0.2),
      tf.keras.layers.Dense(10)
    ])
    assert_summary(model, 'Model: "sequential"', [
        ("flatten (Flatten)", "(None, 784)", "0"),
        ("dense (Dense)", "(None, 128)", "100,480"),
        ("dropout (Dropout)", "(None, 128)", "0"),
        ("dense_1 (Dense)", "(None, 10)", "1,290"),
    ], ["Total params: 101,770", "Trainable params: 101,770", "Non-trainable params: 0"])

    predictions = model(x_train[:1]).numpy()
    assert predictions.shape == (1, 10) and predictions.dtype == np.float32

    probabilities = tf.nn.softmax(predictions).numpy()
    np.testing.assert_allclose(probabilities, np.exp(predictions) / np.exp(predictions).sum(), rtol=1e-5)

    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    # The tutorial: an untrained model gives probabilities close to random, so the loss is near -log(1/10).
    initial_loss = loss_fn(y_train[:1], predictions).numpy()
    np.testing.assert_allclose(initial_loss, -np.log(probabilities[0, y_train[0]]), rtol=1e-5)

    model.compile(optimizer='adam',
                  loss=loss_fn,
                  metrics=['accuracy'])

    history = model.fit(x_train, y_train, epochs=3)
    assert history.history["loss"][-1] < history.history["loss"][0]

    loss, accuracy = model.evaluate(x_test,  y_test, verbose=2)
    assert accuracy > 0.7

    probability_model = tf.keras.Sequential([
      model,
      tf.keras.layers.Softmax()
    ])

    first_five = probability_model(x_test[:5])
    assert tuple(first_five.shape) == (5, 10)
    np.testing.assert_allclose(first_five.numpy().sum(axis=1), 1.0, rtol=1e-5)

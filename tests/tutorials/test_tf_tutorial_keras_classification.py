"""tensorflow.org tutorial "Basic classification: Classify images of clothing" (tutorials/keras/classification).

``import tensorflow as tf`` becomes ``import cnnlab as tf``. Fashion-MNIST comes from
``tf.keras.datasets.fashion_mnist`` when Debian's copy is installed; otherwise (no download in tests) the
digits stand-in of the same shapes and dtypes is used (conftest). 3 epochs instead of 10; plots left out.
"""

import os

import numpy as np
import pytest

import cnnlab as tf

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']


@pytest.fixture
def fashion(mnist_like):
    if os.path.isdir(FASHION_MNIST_DIR):
        fashion_mnist = tf.keras.datasets.fashion_mnist
        (train_images, train_labels), (test_images, test_labels) = fashion_mnist.load_data()
        assert train_images.shape == (60000, 28, 28) and test_images.shape == (10000, 28, 28)
        return (train_images[:2000], train_labels[:2000]), (test_images[:500], test_labels[:500])
    return mnist_like


def test_classify_clothing_end_to_end(fashion):
    (train_images, train_labels), (test_images, test_labels) = fashion
    assert train_images.shape[1:] == (28, 28) and train_images.dtype == np.uint8
    assert len(train_labels) == len(train_images)

    train_images = train_images / 255.0

    test_images = test_images / 255.0

    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dense(10)
    ])
    assert model.count_params() == 784 * 128 + 128 + 128 * 10 + 10

    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])

    history = model.fit(train_images, train_labels, epochs=3, verbose=0)
    assert history.history["loss"][2] < history.history["loss"][0]

    test_loss, test_acc = model.evaluate(test_images,  test_labels, verbose=2)
    assert test_acc > 0.5

    probability_model = tf.keras.Sequential([model,
                                             tf.keras.layers.Softmax()])
    predictions = probability_model.predict(test_images)
    assert predictions.shape == (len(test_images), 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)
    assert 0 <= np.argmax(predictions[0]) < len(class_names)

    img = test_images[1]
    assert img.shape == (28, 28)
    img = (np.expand_dims(img,0))
    assert img.shape == (1, 28, 28)

    predictions_single = probability_model.predict(img)
    assert predictions_single.shape == (1, 10)
    np.testing.assert_allclose(predictions_single[0], predictions[1], rtol=1e-5, atol=1e-6)

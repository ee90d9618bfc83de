"""tensorflow.org tutorial "Convolutional Neural Network (CNN)" (site/en/tutorials/images/cnn.ipynb), ported.

``import tensorflow as tf`` becomes ``import cnnlab as tf`` and ``from tensorflow.keras import ...`` becomes
``from cnnlab import ...``. CIFAR-10 is random 32x32x3 data (conftest); 3 epochs instead of 10. The plots
are left out. The summaries are those the tutorial's page shows (its shape notes: (4, 4, 64) flattened to
1024 features).
"""

import numpy as np

import cnnlab as tf
from cnnlab import datasets, layers, models  # noqa: F401  (datasets: the tutorial's import, not used offline)

from .conftest import assert_summary

CONV_ROWS = [
    ("conv2d (Conv2D)", "(None, 30, 30, 32)", "896"),
    ("max_pooling2d (MaxPooling2D)", "(None, 15, 15, 32)", "0"),
    ("conv2d_1 (Conv2D)", "(None, 13, 13, 64)", "18,496"),
    ("max_pooling2d_1 (MaxPooling2D)", "(None, 6, 6, 64)", "0"),
    ("conv2d_2 (Conv2D)", "(None, 4, 4, 64)", "36,928"),
]


def _convolutional_base():
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    return model


def _full_model():
    model = _convolutional_base()
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10))
    return model


def test_convolutional_base_summary():
    assert_summary(_convolutional_base(), 'Model: "sequential"', CONV_ROWS,
                   ["Total params: 56,320", "Trainable params: 56,320", "Non-trainable params: 0"])


def test_model_with_dense_head_summary():
    assert_summary(
        _full_model(),
        'Model: "sequential"',
        CONV_ROWS + [
            ("flatten (Flatten)", "(None, 1024)", "0"),
            ("dense (Dense)", "(None, 64)", "65,600"),
            ("dense_1 (Dense)", "(None, 10)", "650"),
        ],
        ["Total params: 122,570", "Trainable params: 122,570", "Non-trainable params: 0"],
    )


def test_compile_train_evaluate(cifar_like):
    (train_images, train_labels), (test_images, test_labels) = cifar_like
    train_images, test_images = train_images / 255.0, test_images / 255.0
    model = _full_model()

    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])

    history = model.fit(train_images, train_labels, epochs=3,
                        validation_data=(test_images, test_labels), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][2] < history.history["loss"][0]  # random labels, but the net memorises

    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
    assert np.isfinite(test_loss) and 0.0 <= test_acc <= 1.0

"""tensorflow.org tutorial "Convolutional Neural Network (CNN)" (site/en/tutorials/images/cnn.ipynb), ported.

``import tensorflow as tf`` becomes ``import cnnlab as tf`` and ``from tensorflow.keras import ...`` becomes
``from cnnlab.keras import ...``. CIFAR-10 comes from the tutorial's own ``datasets.cifar10.load_data()``,
reading a small generated binary archive (tf_tutorial_data.py: 200 training and 40 test images); 3 epochs
instead of 10. The plots run on matplotlib's Agg backend. The summaries are those the tutorial's page shows
(its shape notes: (4, 4, 64) flattened to 1024 features).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab.keras import datasets, layers, models  # noqa: E402

from .conftest import assert_summary  # noqa: E402
from .tf_tutorial_data import keras_cifar10  # noqa: E402, F401  (fixture)

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


def test_cifar10_loads_with_the_tutorials_shapes_and_plots(keras_cifar10, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: None)
    (train_images, train_labels), (test_images, test_labels) = datasets.cifar10.load_data()
    assert (train_images.shape, train_images.dtype) == ((200, 32, 32, 3), np.uint8)
    assert (train_labels.shape, test_images.shape, test_labels.shape) == ((200, 1), (40, 32, 32, 3), (40, 1))

    # Normalize pixel values to be between 0 and 1
    train_images, test_images = train_images / 255.0, test_images / 255.0

    class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer',
                   'dog', 'frog', 'horse', 'ship', 'truck']

    plt.figure(figsize=(10,10))
    for i in range(25):
        plt.subplot(5,5,i+1)
        plt.xticks([])
        plt.yticks([])
        plt.grid(False)
        plt.imshow(train_images[i])
        # The CIFAR labels happen to be arrays,
        # which is why you need the extra index
        plt.xlabel(class_names[train_labels[i][0]])
    plt.show()
    plt.close("all")


def test_compile_train_evaluate(keras_cifar10):
    (train_images, train_labels), (test_images, test_labels) = datasets.cifar10.load_data()
    train_images, test_images = train_images / 255.0, test_images / 255.0
    model = _full_model()

    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])

    history = model.fit(train_images, train_labels, epochs=3,
                        validation_data=(test_images, test_labels), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][2] < history.history["loss"][0]

    plt.plot(history.history['accuracy'], label='accuracy')
    plt.plot(history.history['val_accuracy'], label = 'val_accuracy')
    plt.xlabel('Epoch')
    plt.ylabel('Accuracy')
    plt.ylim([0.5, 1])
    plt.legend(loc='lower right')

    test_loss, test_acc = model.evaluate(test_images,  test_labels, verbose=2)
    plt.close("all")
    assert np.isfinite(test_loss) and 0.0 <= test_acc <= 1.0
    print(test_acc)

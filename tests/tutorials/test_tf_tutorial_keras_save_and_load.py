"""tensorflow.org tutorial "Save and load models" (site/en/tutorials/keras/save_and_load.ipynb), ported.

``import tensorflow as tf`` / ``from tensorflow import keras`` become ``import cnnlab as tf`` /
``from cnnlab import keras``. MNIST comes from the tutorial's own ``tf.keras.datasets.mnist.load_data()``,
reading small generated IDX files (tf_tutorial_data.py); the tutorial keeps the first 1,000 samples. Epochs cut:
2 instead of 10, 10 instead of 50 (checkpoints every 5 epochs kept), 2 instead of 5. The SavedModel section
(``tf.saved_model``) is TensorFlow's own format and is left out.
"""

import math
import os

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras

from .conftest import assert_summary, summary_rows, summary_text, summary_totals
from .tf_tutorial_data import keras_mnist  # noqa: F401  (fixture)


@pytest.fixture
def data(keras_mnist, in_tmp_dir):
    (train_images, train_labels), (test_images, test_labels) = tf.keras.datasets.mnist.load_data()

    train_labels = train_labels[:1000]
    test_labels = test_labels[:1000]

    train_images = train_images[:1000].reshape(-1, 28 * 28) / 255.0
    test_images = test_images[:1000].reshape(-1, 28 * 28) / 255.0
    return train_images, train_labels, test_images, test_labels


def create_model():
    model = tf.keras.Sequential([
        keras.layers.Dense(512, activation='relu', input_shape=(784,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10)
    ])

    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])

    return model


MODEL_ROWS = [
    ("dense (Dense)", "(None, 512)", "401,920"),
    ("dropout (Dropout)", "(None, 512)", "0"),
    ("dense_1 (Dense)", "(None, 10)", "5,130"),
]


def test_model_summary():
    assert_summary(create_model(), 'Model: "sequential"', MODEL_ROWS,
                   ["Total params: 407,050", "Trainable params: 407,050", "Non-trainable params: 0"])


def test_checkpoint_callback_saves_weights_that_restore_accuracy(data):
    train_images, train_labels, test_images, test_labels = data
    model = create_model()

    checkpoint_path = "training_1/cp.weights.h5"
    checkpoint_dir = os.path.dirname(checkpoint_path)

    cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                     save_weights_only=True,
                                                     verbose=1)

    model.fit(train_images,
              train_labels,
              epochs=2,
              validation_data=(test_images, test_labels),
              callbacks=[cp_callback],
              verbose=0)
    assert os.listdir(checkpoint_dir) == ["cp.weights.h5"]
    trained = model.evaluate(test_images, test_labels, verbose=0)

    model = create_model()
    loss, acc = model.evaluate(test_images, test_labels, verbose=2)
    untrained_acc = acc

    model.load_weights(checkpoint_path)
    loss, acc = model.evaluate(test_images, test_labels, verbose=2)
    assert acc == pytest.approx(trained[1])
    assert acc > untrained_acc


def test_checkpoints_every_five_epochs_named_by_epoch(data):
    train_images, train_labels, test_images, test_labels = data
    checkpoint_path = "training_2/cp-{epoch:04d}.weights.h5"
    checkpoint_dir = os.path.dirname(checkpoint_path)
    os.mkdir(checkpoint_dir)

    batch_size = 32

    n_batches = len(train_images) / batch_size
    n_batches = math.ceil(n_batches)

    cp_callback = tf.keras.callbacks.ModelCheckpoint(
        filepath=checkpoint_path,
        verbose=1,
        save_weights_only=True,
        save_freq=5*n_batches)

    model = create_model()
    model.save_weights(checkpoint_path.format(epoch=0))
    model.fit(train_images,
              train_labels,
              epochs=10,
              batch_size=batch_size,
              callbacks=[cp_callback],
              validation_data=(test_images, test_labels),
              verbose=0)
    assert sorted(os.listdir(checkpoint_dir)) == ["cp-0000.weights.h5", "cp-0005.weights.h5", "cp-0010.weights.h5"]

    def load_latest_checkpoint(checkpoint_dir):
        latest = max(os.listdir(checkpoint_dir), key=lambda f: int(f.split('-')[1].split('.')[0]))
        return os.path.join(checkpoint_dir, latest)

    latest = load_latest_checkpoint(checkpoint_dir)
    assert latest == os.path.join("training_2", "cp-0010.weights.h5")

    model = create_model()
    model.load_weights(latest)
    loss, acc = model.evaluate(test_images, test_labels, verbose=2)
    assert acc > 0.5

    os.mkdir('./checkpoints')
    model.save_weights('./checkpoints/my_checkpoint.weights.h5')
    model = create_model()
    model.load_weights('./checkpoints/my_checkpoint.weights.h5')
    loss, acc2 = model.evaluate(test_images, test_labels, verbose=2)
    assert acc2 == pytest.approx(acc)


@pytest.mark.parametrize("filename", ["my_model.keras", "my_model.h5"])
def test_whole_model_saved_and_loaded(data, filename):
    train_images, train_labels, test_images, test_labels = data
    model = create_model()
    model.fit(train_images, train_labels, epochs=2, verbose=0)
    model.save(filename)

    new_model = tf.keras.models.load_model(filename)
    # A loaded compiled model may add an "Optimizer params" line (and count it in the total).
    text = summary_text(new_model)
    assert summary_rows(text) == MODEL_ROWS, text
    totals = summary_totals(text)
    assert totals[1:3] == ["Trainable params: 407,050", "Non-trainable params: 0"], text

    loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
    assert [loss, acc] == pytest.approx(model.evaluate(test_images, test_labels, verbose=0))
    assert new_model.predict(test_images).shape == (len(test_images), 10)

"""tensorflow.org tutorial "Basic classification: Classify images of clothing" (tutorials/keras/classification).

``import tensorflow as tf`` becomes ``import cnnlab as tf``; nothing else changes. Fashion-MNIST comes from
the tutorial's own ``tf.keras.datasets.fashion_mnist.load_data()``, reading small generated IDX files
(tf_tutorial_data.py: 1,200 training and 300 test images, digits drawn at 28x28, so the labels name
clothes but the pictures are digits). 3 epochs instead of 10. The plots run on matplotlib's Agg backend.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402

from .conftest import assert_summary  # noqa: E402
from .tf_tutorial_data import keras_fashion_mnist  # noqa: E402, F401  (fixture)

class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']


def plot_image(i, predictions_array, true_label, img):
  true_label, img = true_label[i], img[i]
  plt.grid(False)
  plt.xticks([])
  plt.yticks([])

  plt.imshow(img, cmap=plt.cm.binary)

  predicted_label = np.argmax(predictions_array)
  if predicted_label == true_label:
    color = 'blue'
  else:
    color = 'red'

  plt.xlabel("{} {:2.0f}% ({})".format(class_names[predicted_label],
                                100*np.max(predictions_array),
                                class_names[true_label]),
                                color=color)


def plot_value_array(i, predictions_array, true_label):
  true_label = true_label[i]
  plt.grid(False)
  plt.xticks(range(10))
  plt.yticks([])
  thisplot = plt.bar(range(10), predictions_array, color="#777777")
  plt.ylim([0, 1])
  predicted_label = np.argmax(predictions_array)

  thisplot[predicted_label].set_color('red')
  thisplot[true_label].set_color('blue')


@pytest.fixture
def no_show(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: None)
    yield
    plt.close("all")


def test_classify_clothing_end_to_end(keras_fashion_mnist, no_show):
    print(tf.__version__)

    fashion_mnist = tf.keras.datasets.fashion_mnist

    (train_images, train_labels), (test_images, test_labels) = fashion_mnist.load_data()

    assert train_images.shape == (1200, 28, 28) and train_images.dtype == np.uint8
    assert len(train_labels) == 1200 and train_labels.dtype == np.uint8
    assert test_images.shape == (300, 28, 28) and len(test_labels) == 300

    plt.figure()
    plt.imshow(train_images[0])
    plt.colorbar()
    plt.grid(False)
    plt.show()

    train_images = train_images / 255.0

    test_images = test_images / 255.0

    plt.figure(figsize=(10,10))
    for i in range(25):
        plt.subplot(5,5,i+1)
        plt.xticks([])
        plt.yticks([])
        plt.grid(False)
        plt.imshow(train_images[i], cmap=plt.cm.binary)
        plt.xlabel(class_names[train_labels[i]])
    plt.show()

    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dense(10)
    ])
    assert_summary(model, 'Model: "sequential"', [
        ("flatten (Flatten)", "(None, 784)", "0"),
        ("dense (Dense)", "(None, 128)", "100,480"),
        ("dense_1 (Dense)", "(None, 10)", "1,290"),
    ], ["Total params: 101,770", "Trainable params: 101,770", "Non-trainable params: 0"])

    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])

    history = model.fit(train_images, train_labels, epochs=3)
    assert history.history["loss"][2] < history.history["loss"][0]

    test_loss, test_acc = model.evaluate(test_images,  test_labels, verbose=2)

    print('\nTest accuracy:', test_acc)
    assert test_acc > 0.7

    probability_model = tf.keras.Sequential([model,
                                             tf.keras.layers.Softmax()])

    predictions = probability_model.predict(test_images)

    assert predictions[0].shape == (10,)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)
    assert 0 <= np.argmax(predictions[0]) < len(class_names)
    assert test_labels[0] in range(10)

    i = 0
    plt.figure(figsize=(6,3))
    plt.subplot(1,2,1)
    plot_image(i, predictions[i], test_labels, test_images)
    plt.subplot(1,2,2)
    plot_value_array(i, predictions[i],  test_labels)
    plt.show()

    i = 12
    plt.figure(figsize=(6,3))
    plt.subplot(1,2,1)
    plot_image(i, predictions[i], test_labels, test_images)
    plt.subplot(1,2,2)
    plot_value_array(i, predictions[i],  test_labels)
    plt.show()

    # Plot the first X test images, their predicted labels, and the true labels.
    # Color correct predictions in blue and incorrect predictions in red.
    num_rows = 5
    num_cols = 3
    num_images = num_rows*num_cols
    plt.figure(figsize=(2*2*num_cols, 2*num_rows))
    for i in range(num_images):
      plt.subplot(num_rows, 2*num_cols, 2*i+1)
      plot_image(i, predictions[i], test_labels, test_images)
      plt.subplot(num_rows, 2*num_cols, 2*i+2)
      plot_value_array(i, predictions[i], test_labels)
    plt.tight_layout()
    plt.show()

    # Grab an image from the test dataset.
    img = test_images[1]

    print(img.shape)
    assert img.shape == (28, 28)

    # Add the image to a batch where it's the only member.
    img = (np.expand_dims(img,0))

    print(img.shape)
    assert img.shape == (1, 28, 28)

    predictions_single = probability_model.predict(img)

    print(predictions_single)
    assert predictions_single.shape == (1, 10)
    np.testing.assert_allclose(predictions_single[0], predictions[1], rtol=1e-5, atol=1e-6)

    plot_value_array(1, predictions_single[0], test_labels)
    _ = plt.xticks(range(10), class_names, rotation=45)
    plt.show()

    assert np.argmax(predictions_single[0]) == np.argmax(predictions[1])

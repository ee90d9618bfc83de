"""tensorflow.org tutorial "TensorFlow 2 quickstart for experts" (site/en/tutorials/quickstart/advanced.ipynb), ported.

``import tensorflow as tf`` becomes ``import cnnlab as tf`` and ``from tensorflow.keras...`` becomes
``from cnnlab.keras...``; nothing else changes. MNIST comes from the tutorial's own
``tf.keras.datasets.mnist.load_data()``, reading small generated IDX files (tf_tutorial_data.py); the
``tf.data`` pipeline, the subclassed model, ``tf.function`` steps with ``tf.GradientTape`` and the Keras
metrics are the tutorial's. 2 epochs instead of 5.
"""

import numpy as np

import cnnlab as tf
from cnnlab.keras import Model
from cnnlab.keras.layers import Conv2D, Dense, Flatten

from .tf_tutorial_data import keras_mnist  # noqa: F401  (fixture)


def test_quickstart_for_experts_end_to_end(keras_mnist, capsys):
    mnist = tf.keras.datasets.mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0

    # Add a channels dimension
    x_train = x_train[..., tf.newaxis].astype("float32")
    x_test = x_test[..., tf.newaxis].astype("float32")
    assert x_train.shape == (1200, 28, 28, 1)

    train_ds = tf.data.Dataset.from_tensor_slices(
        (x_train, y_train)).shuffle(10000).batch(32)

    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)

    class MyModel(Model):
      def __init__(self):
        super().__init__()
        self.conv1 = Conv2D(32, 3, activation='relu')
        self.flatten = Flatten()
        self.d1 = Dense(128, activation='relu')
        self.d2 = Dense(10)

      def call(self, x):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)

    # Create an instance of the model
    model = MyModel()

    loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    optimizer = tf.keras.optimizers.Adam()

    train_loss = tf.keras.metrics.Mean(name='train_loss')
    train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name='train_accuracy')

    test_loss = tf.keras.metrics.Mean(name='test_loss')
    test_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name='test_accuracy')

    @tf.function
    def train_step(images, labels):
      with tf.GradientTape() as tape:
        # training=True is only needed if there are layers with different
        # behavior during training versus inference (e.g. Dropout).
        predictions = model(images, training=True)
        loss = loss_object(labels, predictions)
      gradients = tape.gradient(loss, model.trainable_variables)
      optimizer.apply_gradients(zip(gradients, model.trainable_variables))

      train_loss(loss)
      train_accuracy(labels, predictions)

    @tf.function
    def test_step(images, labels):
      # training=False is only needed if there are layers with different
      # behavior during training versus inference (e.g. Dropout).
      predictions = model(images, training=False)
      t_loss = loss_object(labels, predictions)

      test_loss(t_loss)
      test_accuracy(labels, predictions)

    EPOCHS = 2

    epoch_losses = []
    for epoch in range(EPOCHS):
      # Reset the metrics at the start of the next epoch
      train_loss.reset_state()
      train_accuracy.reset_state()
      test_loss.reset_state()
      test_accuracy.reset_state()

      for images, labels in train_ds:
        train_step(images, labels)

      for test_images, test_labels in test_ds:
        test_step(test_images, test_labels)

      print(
        f'Epoch {epoch + 1}, '
        f'Loss: {train_loss.result():0.2f}, '
        f'Accuracy: {train_accuracy.result() * 100:0.2f}, '
        f'Test Loss: {test_loss.result():0.2f}, '
        f'Test Accuracy: {test_accuracy.result() * 100:0.2f}'
      )
      epoch_losses.append(float(train_loss.result()))

    printed = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in printed] == ["Epoch 1", "Epoch 2"]
    assert epoch_losses[1] < epoch_losses[0]
    assert float(test_accuracy.result()) > 0.7
    # 26x26x32 feature maps flattened into the first Dense: the tutorial's model has 2,770,634 weights.
    assert model.count_params() == (3 * 3 * 32 + 32) + (26 * 26 * 32 * 128 + 128) + (128 * 10 + 10)
    assert np.isfinite(float(test_loss.result()))

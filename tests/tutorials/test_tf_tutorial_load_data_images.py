"""tensorflow.org tutorial "Load and preprocess images" (site/en/tutorials/load_data/images.ipynb), ported.

``import tensorflow as tf`` becomes ``import cnnlab as tf``; nothing else changes. The flowers archive is a
generated 30-image ``flower_photos.tgz`` (5 classes) placed in Keras's cache (tf_tutorial_data.py), so the
tutorial's ``tf.keras.utils.get_file(origin=dataset_url, extract=True)`` finds it and does not download.
Epochs: 2 instead of 3. The plots run on matplotlib's Agg backend. The last section ("Using TensorFlow
Datasets", ``tfds.load('tf_flowers')``) downloads through ``tensorflow_datasets`` and is left out.
"""

import os
import pathlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import PIL  # noqa: E402
import PIL.Image  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402

from .tf_tutorial_data import FLOWER_CLASSES, FLOWERS_PER_CLASS, keras_flower_photos  # noqa: E402, F401

batch_size = 32
img_height = 180
img_width = 180


def _download(datasets_dir):
    dataset_url = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
    archive = tf.keras.utils.get_file(origin=dataset_url, extract=True)
    data_dir = pathlib.Path(archive) / 'flower_photos'
    return data_dir


def test_get_file_finds_the_cached_archive_and_extracts_it(keras_flower_photos):
    data_dir = _download(keras_flower_photos)
    assert data_dir == keras_flower_photos / "flower_photos.tgz" / "flower_photos"

    image_count = len(list(data_dir.glob('*/*.jpg')))
    assert image_count == len(FLOWER_CLASSES) * FLOWERS_PER_CLASS

    roses = list(data_dir.glob('roses/*'))
    PIL.Image.open(str(roses[0]))
    PIL.Image.open(str(roses[1]))


def _keras_utility_datasets(data_dir):
    train_ds = tf.keras.utils.image_dataset_from_directory(
      data_dir,
      validation_split=0.2,
      subset="training",
      seed=123,
      image_size=(img_height, img_width),
      batch_size=batch_size)

    val_ds = tf.keras.utils.image_dataset_from_directory(
      data_dir,
      validation_split=0.2,
      subset="validation",
      seed=123,
      image_size=(img_height, img_width),
      batch_size=batch_size)
    return train_ds, val_ds


def _tutorial_model():
    num_classes = 5

    model = tf.keras.Sequential([
      tf.keras.layers.Rescaling(1./255),
      tf.keras.layers.Conv2D(32, 3, activation='relu'),
      tf.keras.layers.MaxPooling2D(),
      tf.keras.layers.Conv2D(32, 3, activation='relu'),
      tf.keras.layers.MaxPooling2D(),
      tf.keras.layers.Conv2D(32, 3, activation='relu'),
      tf.keras.layers.MaxPooling2D(),
      tf.keras.layers.Flatten(),
      tf.keras.layers.Dense(128, activation='relu'),
      tf.keras.layers.Dense(num_classes)
    ])

    model.compile(
      optimizer='adam',
      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=['accuracy'])
    return model


def test_image_dataset_from_directory_finds_the_classes_and_batches(keras_flower_photos, capsys):
    data_dir = _download(keras_flower_photos)
    train_ds, val_ds = _keras_utility_datasets(data_dir)
    printed = capsys.readouterr().out
    assert "Found 30 files belonging to 5 classes.\nUsing 24 files for training." in printed
    assert "Using 6 files for validation." in printed

    class_names = train_ds.class_names
    print(class_names)
    assert class_names == ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']

    plt.figure(figsize=(10, 10))
    for images, labels in train_ds.take(1):
      for i in range(9):
        ax = plt.subplot(3, 3, i + 1)
        plt.imshow(images[i].numpy().astype("uint8"))
        plt.title(class_names[labels[i]])
        plt.axis("off")
    plt.close("all")

    for image_batch, labels_batch in train_ds:
      print(image_batch.shape)
      print(labels_batch.shape)
      break
    assert tuple(image_batch.shape) == (24, 180, 180, 3)
    assert tuple(labels_batch.shape) == (24,)



def test_rescaling_layer_mapped_over_the_dataset(keras_flower_photos):
    train_ds, val_ds = _keras_utility_datasets(_download(keras_flower_photos))

    normalization_layer = tf.keras.layers.Rescaling(1./255)
    normalized_ds = train_ds.map(lambda x, y: (normalization_layer(x), y))
    image_batch, labels_batch = next(iter(normalized_ds))
    first_image = image_batch[0]
    # Notice the pixel values are now in `[0,1]`.
    print(np.min(first_image), np.max(first_image))
    assert 0.0 <= np.min(first_image) < np.max(first_image) <= 1.0


def test_cached_and_prefetched_datasets_train_the_model(keras_flower_photos):
    train_ds, val_ds = _keras_utility_datasets(_download(keras_flower_photos))
    AUTOTUNE = tf.data.AUTOTUNE

    train_ds = train_ds.cache().prefetch(buffer_size=AUTOTUNE)
    val_ds = val_ds.cache().prefetch(buffer_size=AUTOTUNE)

    model = _tutorial_model()
    history = model.fit(
      train_ds,
      validation_data=val_ds,
      epochs=2
    )
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # 24 generated images, one step per epoch: whether the loss falls in 2 steps is chance, so check the run.
    assert all(np.isfinite(v) for values in history.history.values() for v in values)
    assert len(history.history["val_loss"]) == 2


def test_tf_data_pipeline_for_finer_control(keras_flower_photos):
    data_dir = _download(keras_flower_photos)
    image_count = len(list(data_dir.glob('*/*.jpg')))
    AUTOTUNE = tf.data.AUTOTUNE

    list_ds = tf.data.Dataset.list_files(str(data_dir/'*/*'), shuffle=False)
    list_ds = list_ds.shuffle(image_count, reshuffle_each_iteration=False)

    for f in list_ds.take(5):
      print(f.numpy())
    assert all(isinstance(f.numpy(), bytes) for f in list_ds.take(5))

    class_names = np.array(sorted([item.name for item in data_dir.glob('*') if item.name != "LICENSE.txt"]))
    print(class_names)

    val_size = int(image_count * 0.2)
    train_ds = list_ds.skip(val_size)
    val_ds = list_ds.take(val_size)

    print(tf.data.experimental.cardinality(train_ds).numpy())
    print(tf.data.experimental.cardinality(val_ds).numpy())
    assert tf.data.experimental.cardinality(train_ds).numpy() == 24
    assert tf.data.experimental.cardinality(val_ds).numpy() == 6

    def get_label(file_path):
      # Convert the path to a list of path components
      parts = tf.strings.split(file_path, os.path.sep)
      # The second to last is the class-directory
      one_hot = parts[-2] == class_names
      # Integer encode the label
      return tf.argmax(one_hot)

    def decode_img(img):
      # Convert the compressed string to a 3D uint8 tensor
      img = tf.io.decode_jpeg(img, channels=3)
      # Resize the image to the desired size
      return tf.image.resize(img, [img_height, img_width])

    def process_path(file_path):
      label = get_label(file_path)
      # Load the raw data from the file as a string
      img = tf.io.read_file(file_path)
      img = decode_img(img)
      return img, label

    # Set `num_parallel_calls` so multiple images are loaded/processed in parallel.
    train_ds = train_ds.map(process_path, num_parallel_calls=AUTOTUNE)
    val_ds = val_ds.map(process_path, num_parallel_calls=AUTOTUNE)

    for image, label in train_ds.take(1):
      print("Image shape: ", image.numpy().shape)
      print("Label: ", label.numpy())
    assert image.numpy().shape == (180, 180, 3)
    assert 0 <= label.numpy() < 5

    def configure_for_performance(ds):
      ds = ds.cache()
      ds = ds.shuffle(buffer_size=1000)
      ds = ds.batch(batch_size)
      ds = ds.prefetch(buffer_size=AUTOTUNE)
      return ds

    train_ds = configure_for_performance(train_ds)
    val_ds = configure_for_performance(val_ds)

    image_batch, label_batch = next(iter(train_ds))

    plt.figure(figsize=(10, 10))
    for i in range(9):
      ax = plt.subplot(3, 3, i + 1)
      plt.imshow(image_batch[i].numpy().astype("uint8"))
      label = label_batch[i]
      plt.title(class_names[label])
      plt.axis("off")
    plt.close("all")

    model = _tutorial_model()
    history = model.fit(
      train_ds,
      validation_data=val_ds,
      epochs=2
    )
    # 24 generated images, one step per epoch: whether the loss falls in 2 steps is chance, so check the run.
    assert all(np.isfinite(v) for values in history.history.values() for v in values)
    assert len(history.history["val_loss"]) == 2

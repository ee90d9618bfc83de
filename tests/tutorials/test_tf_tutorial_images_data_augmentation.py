"""tensorflow.org tutorial "Data augmentation" (site/en/tutorials/images/data_augmentation.ipynb), ported.

``import tensorflow as tf`` becomes ``import cnnlab as tf`` and ``from tensorflow.keras import layers``
becomes ``from cnnlab.keras import layers``. The tutorial's ``tfds.load('tf_flowers', as_supervised=True)``
(a download through ``tensorflow_datasets``) is replaced by what it returns, built from small generated
arrays: three ``tf.data.Dataset.from_tensor_slices((images, labels))`` splits of uint8 240x320x3 images with
integer labels, and a ``metadata`` object answering the two questions the tutorial asks of it
(``features['label'].num_classes`` and ``.int2str``). 2 epochs instead of 5. Plots on the Agg backend.
Each section of the tutorial is one test, so a missing piece blocks only its own section.
"""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab.keras import layers  # noqa: E402

FLOWER_NAMES = ("dandelion", "daisy", "tulips", "sunflowers", "roses")  # tf_flowers' label order
IMG_SIZE = 180
batch_size = 32


def _tf_flowers_stand_in():
    """``(train_ds, val_ds, test_ds), metadata`` shaped as ``tfds.load('tf_flowers', ...)`` returns them."""
    rng = np.random.default_rng(7)

    def split(n):
        labels = rng.integers(0, 5, n)
        colours = rng.integers(40, 216, (5, 3))
        noise = rng.integers(-40, 41, (n, 240, 320, 3))
        images = np.clip(colours[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
        return tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int64)))

    label = SimpleNamespace(num_classes=len(FLOWER_NAMES), int2str=lambda index: FLOWER_NAMES[int(index)])
    metadata = SimpleNamespace(features={"label": label})
    return (split(8), split(4), split(4)), metadata


@pytest.fixture
def flowers(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: None)
    yield _tf_flowers_stand_in()
    plt.close("all")


def _resize_and_rescale():
    return tf.keras.Sequential([
      layers.Resizing(IMG_SIZE, IMG_SIZE),
      layers.Rescaling(1./255)
    ])


def _data_augmentation():
    return tf.keras.Sequential([
      layers.RandomFlip("horizontal_and_vertical"),
      layers.RandomRotation(0.2),
    ])


def test_dataset_stand_in_yields_single_images_and_labels(flowers):
    (train_ds, val_ds, test_ds), metadata = flowers
    num_classes = metadata.features['label'].num_classes
    print(num_classes)
    assert num_classes == 5

    get_label_name = metadata.features['label'].int2str

    image, label = next(iter(train_ds))
    _ = plt.imshow(image)
    _ = plt.title(get_label_name(label))
    assert tuple(image.shape) == (240, 320, 3)


def test_resizing_and_rescaling_layers(flowers):
    (train_ds, val_ds, test_ds), metadata = flowers
    image, label = next(iter(train_ds))

    resize_and_rescale = _resize_and_rescale()

    result = resize_and_rescale(image)
    _ = plt.imshow(result)

    print("Min and max pixel values:", result.numpy().min(), result.numpy().max())
    assert tuple(result.shape) == (180, 180, 3)
    assert 0.0 <= result.numpy().min() < result.numpy().max() <= 1.0


def test_random_flip_and_rotation_layers(flowers):
    (train_ds, val_ds, test_ds), metadata = flowers
    image, label = next(iter(train_ds))

    data_augmentation = _data_augmentation()

    # Add the image to a batch.
    image = tf.cast(tf.expand_dims(image, 0), tf.float32)

    plt.figure(figsize=(10, 10))
    for i in range(9):
      augmented_image = data_augmentation(image)
      ax = plt.subplot(3, 3, i + 1)
      plt.imshow(augmented_image[0])
      plt.axis("off")
    assert tuple(augmented_image.shape) == (1, 240, 320, 3)


def test_preprocessing_layers_inside_the_model_and_mapped_over_the_dataset(flowers):
    (train_ds, val_ds, test_ds), metadata = flowers
    resize_and_rescale = _resize_and_rescale()
    data_augmentation = _data_augmentation()

    model = tf.keras.Sequential([
      # Add the preprocessing layers you created earlier.
      resize_and_rescale,
      data_augmentation,
      layers.Conv2D(16, 3, padding='same', activation='relu'),
      layers.MaxPooling2D(),
      # Rest of your model.
    ])
    image, label = next(iter(train_ds))
    assert tuple(model(tf.expand_dims(image, 0)).shape) == (1, 90, 90, 16)

    aug_ds = train_ds.map(
      lambda x, y: (resize_and_rescale(x, training=True), y))
    image, label = next(iter(aug_ds))
    assert tuple(image.shape) == (180, 180, 3)


def test_prepared_datasets_train_the_model(flowers):
    (train_ds, val_ds, test_ds), metadata = flowers
    num_classes = metadata.features['label'].num_classes
    resize_and_rescale = _resize_and_rescale()
    data_augmentation = _data_augmentation()

    AUTOTUNE = tf.data.AUTOTUNE

    def prepare(ds, shuffle=False, augment=False):
      # Resize and rescale all datasets.
      ds = ds.map(lambda x, y: (resize_and_rescale(x), y),
                  num_parallel_calls=AUTOTUNE)

      if shuffle:
        ds = ds.shuffle(1000)

      # Batch all datasets.
      ds = ds.batch(batch_size)

      # Use data augmentation only on the training set.
      if augment:
        ds = ds.map(lambda x, y: (data_augmentation(x, training=True), y),
                    num_parallel_calls=AUTOTUNE)

      # Use buffered prefetching on all datasets.
      return ds.prefetch(buffer_size=AUTOTUNE)

    train_ds = prepare(train_ds, shuffle=True, augment=True)
    val_ds = prepare(val_ds)
    test_ds = prepare(test_ds)

    model = tf.keras.Sequential([
      layers.Conv2D(16, 3, padding='same', activation='relu'),
      layers.MaxPooling2D(),
      layers.Conv2D(32, 3, padding='same', activation='relu'),
      layers.MaxPooling2D(),
      layers.Conv2D(64, 3, padding='same', activation='relu'),
      layers.MaxPooling2D(),
      layers.Flatten(),
      layers.Dense(128, activation='relu'),
      layers.Dense(num_classes)
    ])

    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])

    epochs=2
    history = model.fit(
      train_ds,
      validation_data=val_ds,
      epochs=epochs
    )
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert np.isfinite(history.history["loss"]).all()
    # 22x22x64 after three poolings of 180x180: the tutorial's model has 3,989,285 weights.
    assert model.count_params() == 448 + 4640 + 18496 + (22 * 22 * 64 * 128 + 128) + (128 * 5 + 5)

    loss, acc = model.evaluate(test_ds)
    print("Accuracy", acc)
    assert 0.0 <= acc <= 1.0


def test_custom_augmentation_as_lambda_and_as_layer(flowers):
    (train_ds, val_ds, test_ds), metadata = flowers
    image, label = next(iter(train_ds))
    image = tf.cast(tf.expand_dims(image, 0), tf.float32)

    def random_invert_img(x, p=0.5):
      if  tf.random.uniform([]) < p:
        x = (255-x)
      else:
        x
      return x

    def random_invert(factor=0.5):
      return layers.Lambda(lambda x: random_invert_img(x, factor))

    random_invert = random_invert()

    plt.figure(figsize=(10, 10))
    for i in range(9):
      augmented_image = random_invert(image)
      ax = plt.subplot(3, 3, i + 1)
      plt.imshow(augmented_image[0].numpy().astype("uint8"))
      plt.axis("off")
    original = image.numpy()
    assert np.array_equal(augmented_image.numpy(), original) or np.array_equal(augmented_image.numpy(), 255 - original)

    class RandomInvert(layers.Layer):
      def __init__(self, factor=0.5, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

      def call(self, x):
        return random_invert_img(x)

    _ = plt.imshow(RandomInvert()(image)[0])


def test_tf_image_functions(flowers):
    (train_ds, val_ds, test_ds), metadata = flowers
    image, label = next(iter(train_ds))

    def visualize(original, augmented):
      fig = plt.figure()
      plt.subplot(1,2,1)
      plt.title('Original image')
      plt.imshow(original)

      plt.subplot(1,2,2)
      plt.title('Augmented image')
      plt.imshow(augmented)

    flipped = tf.image.flip_left_right(image)
    visualize(image, flipped)
    np.testing.assert_array_equal(np.asarray(flipped), np.asarray(image)[:, ::-1])

    grayscaled = tf.image.rgb_to_grayscale(image)
    visualize(image, tf.squeeze(grayscaled))
    _ = plt.colorbar()
    assert tuple(grayscaled.shape) == (240, 320, 1)

    saturated = tf.image.adjust_saturation(image, 3)
    visualize(image, saturated)

    bright = tf.image.adjust_brightness(image, 0.4)
    visualize(image, bright)

    cropped = tf.image.central_crop(image, central_fraction=0.5)
    visualize(image, cropped)
    assert tuple(cropped.shape) == (120, 160, 3)

    rotated = tf.image.rot90(image)
    visualize(image, rotated)
    np.testing.assert_array_equal(np.asarray(rotated), np.rot90(np.asarray(image)))

    for i in range(3):
      seed = (i, 0)  # tuple of size (2,)
      stateless_random_brightness = tf.image.stateless_random_brightness(
          image, max_delta=0.95, seed=seed)
      visualize(image, stateless_random_brightness)

    for i in range(3):
      seed = (i, 0)  # tuple of size (2,)
      stateless_random_contrast = tf.image.stateless_random_contrast(
          image, lower=0.1, upper=0.9, seed=seed)
      visualize(image, stateless_random_contrast)

    for i in range(3):
      seed = (i, 0)  # tuple of size (2,)
      stateless_random_crop = tf.image.stateless_random_crop(
          image, size=[210, 300, 3], seed=seed)
      visualize(image, stateless_random_crop)
    assert tuple(stateless_random_crop.shape) == (210, 300, 3)


def _augment_functions():
    def resize_and_rescale(image, label):
      image = tf.cast(image, tf.float32)
      image = tf.image.resize(image, [IMG_SIZE, IMG_SIZE])
      image = (image / 255.0)
      return image, label

    def augment(image_label, seed):
      image, label = image_label
      image, label = resize_and_rescale(image, label)
      image = tf.image.resize_with_crop_or_pad(image, IMG_SIZE + 6, IMG_SIZE + 6)
      # Make a new seed.
      new_seed = tf.random.split(seed, num=1)[0, :]
      # Random crop back to the original size.
      image = tf.image.stateless_random_crop(
          image, size=[IMG_SIZE, IMG_SIZE, 3], seed=seed)
      # Random brightness.
      image = tf.image.stateless_random_brightness(
          image, max_delta=0.5, seed=new_seed)
      image = tf.clip_by_value(image, 0, 1)
      return image, label

    return resize_and_rescale, augment


def test_tf_image_augmentation_with_a_counter_for_seeds(flowers):
    (train_datasets, val_ds, test_ds), metadata = flowers
    resize_and_rescale, augment = _augment_functions()
    AUTOTUNE = tf.data.AUTOTUNE

    # Create a `Counter` object and `Dataset.zip` it together with the training set.
    counter = tf.data.experimental.Counter()
    train_ds = tf.data.Dataset.zip((train_datasets, (counter, counter)))

    train_ds = (
        train_ds
        .shuffle(1000)
        .map(augment, num_parallel_calls=AUTOTUNE)
        .batch(batch_size)
        .prefetch(AUTOTUNE)
    )

    val_ds = (
        val_ds
        .map(resize_and_rescale, num_parallel_calls=AUTOTUNE)
        .batch(batch_size)
        .prefetch(AUTOTUNE)
    )
    images, labels = next(iter(train_ds))
    assert tuple(images.shape) == (8, 180, 180, 3)
    assert 0.0 <= float(np.min(np.asarray(images))) and float(np.max(np.asarray(images))) <= 1.0
    assert tuple(next(iter(val_ds))[0].shape) == (4, 180, 180, 3)


def test_tf_image_augmentation_with_a_random_generator(flowers):
    (train_datasets, val_ds, test_ds), metadata = flowers
    resize_and_rescale, augment = _augment_functions()
    AUTOTUNE = tf.data.AUTOTUNE

    # Create a generator.
    rng = tf.random.Generator.from_seed(123, alg='philox')

    # Create a wrapper function for updating seeds.
    def f(x, y):
      seed = rng.make_seeds(1)[:, 0]
      image, label = augment((x, y), seed)
      return image, label

    train_ds = (
        train_datasets
        .shuffle(1000)
        .map(f, num_parallel_calls=AUTOTUNE)
        .batch(batch_size)
        .prefetch(AUTOTUNE)
    )
    images, labels = next(iter(train_ds))
    assert tuple(images.shape) == (8, 180, 180, 3)

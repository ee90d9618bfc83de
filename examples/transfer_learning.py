"""Transfer learning and fine-tuning, step by step as in the Keras guide (keras.io/guides/transfer_learning).

The guide starts from ImageNet weights. This machine has no network, so the
"pre-trained" base here is made honestly and locally instead: MobileNetV2
(alpha 0.35) is trained briefly from random weights on one task (the digits
0-4 of scikit-learn's 8x8 ``digits``, upscaled to 96x96 RGB), its weights are
saved to a local ``.weights.h5`` file, and the transfer task is a *different*
one: the digits 5-9, which the base has never seen. These weights know digit
strokes, not ImageNet's objects: the figures show the workflow, not what
ImageNet weights would give. With a network, ``weights="imagenet"`` is the only
line to change.

The steps, as in the guide:

1. base = MobileNetV2(include_top=False, weights=FILE); ``base.trainable = False``
2. a new model: Input -> Rescaling to [-1, 1] -> ``base(x, training=False)`` ->
   GlobalAveragePooling2D -> Dropout -> Dense; compile, fit (only the head learns)
3. unfreeze the top blocks of the base, re-compile with a low learning rate
   (the change of ``trainable`` takes effect at ``compile``), fit again.

BatchNormalization and fine-tuning. The guide passes ``training=False`` when it
calls the base so that BatchNormalization stays in inference mode once the base
is unfrozen. In Keras 3 (checked with 3.15.1 on TensorFlow, and cnnlab does the
same) that argument does not survive ``fit``: a functional model hands its own
``training=True`` to every layer of its graph, the nested base included, so an
unfrozen BatchNormalization would normalise with batch statistics and move its
moving averages. What does keep it in inference mode, in Keras 3 and here, is
``trainable=False`` on the BatchNormalization layer itself; so, as the Keras
example "fine-tuning EfficientNet" does, the top blocks are unfrozen with their
BatchNormalization layers left frozen.

Run: python examples/transfer_learning.py [--image-size 96] [--workdir runs/transfer]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import cnnlab as keras
from cnnlab import layers

SOURCE_CLASSES = (0, 1, 2, 3, 4)  # the task the base is pre-trained on
TARGET_CLASSES = (5, 6, 7, 8, 9)  # the new task the base is transferred to
ALPHA = 0.35
FINE_TUNE_FROM = "block_13_expand"  # blocks 13-16 and the last 1x1 convolution are fine-tuned
DIGITS_MAX = 16  # scikit-learn's digits are 0..16


def make_digit_folders(root: str, image_size: int = 96, limit: int | None = None) -> tuple[str, str]:
    """Write the 8x8 digits as ``image_size`` RGB PNGs into ``root/source/<digit>`` and ``root/target/<digit>``.

    Args:
        root: folder to write into (created; existing PNGs of the same names are overwritten).
        image_size: side of the square images (bilinear upscaling of the 8x8 originals).
        limit: at most this many images per class (a quick trial), or all (about 180 per class).

    Returns:
        The two folders ``(source, target)``, one sub-folder per class, for ``image_dataset_from_directory``.
    """
    from PIL import Image

    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    images, labels = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    pixels = images.reshape(-1, 8, 8).astype(np.float32)
    # load_data() may scale 0..16 to 0..255 already; stretch whatever range it has to 0..255.
    pixels = (pixels * (255.0 / max(float(pixels.max()), DIGITS_MAX))).clip(0, 255).astype(np.uint8)
    folders = {}
    for part, classes in (("source", SOURCE_CLASSES), ("target", TARGET_CLASSES)):
        folders[part] = os.path.join(root, part)
        for digit in classes:
            class_dir = os.path.join(folders[part], str(digit))
            os.makedirs(class_dir, exist_ok=True)
            for i, index in enumerate(np.flatnonzero(labels == digit)[:limit]):
                big = Image.fromarray(pixels[index]).resize((image_size, image_size), Image.BILINEAR)
                big.convert("RGB").save(os.path.join(class_dir, f"{i:04d}.png"))
    return folders["source"], folders["target"]


def load_split(folder: str, image_size: int, batch_size: int = 32, seed: int = 0):
    """``(train, validation)`` datasets of a class folder: 80/20, RGB, ``image_size`` square, pixels 0..255."""
    return keras.utils.image_dataset_from_directory(
        folder, validation_split=0.2, subset="both", seed=seed, image_size=(image_size, image_size),
        batch_size=batch_size, verbose=False)


def _classifier(base, image_size: int, num_classes: int, dropout: float = 0.2):
    """The guide's model: pixels to [-1, 1], ``base(x, training=False)``, pooling, dropout, a linear head."""
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(scale=1 / 127.5, offset=-1)(inputs)  # MobileNetV2 expects inputs in [-1, 1]
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs)


def _compile(model, learning_rate: float) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


def pretrain_base(source_dir: str, path: str, image_size: int = 96, epochs: int = 3, batch_size: int = 32) -> str:
    """Train MobileNetV2 from random weights on the source task and save the base's weights to ``path``.

    MobileNetV2's BatchNormalization layers use momentum 0.999, tuned for
    ImageNet's hundreds of thousands of steps; a run of a few dozen steps would
    leave their moving statistics near their initial values. This short
    pre-training uses momentum 0.9 (the statistics are what inference mode
    will use after the transfer) and puts 0.999 back before saving.
    """
    train, val = load_split(source_dir, image_size, batch_size)
    base = keras.applications.MobileNetV2(alpha=ALPHA, include_top=False, weights=None,
                                          input_shape=(image_size, image_size, 3))
    norms = [layer for layer in base.layers if isinstance(layer, layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.9
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(scale=1 / 127.5, offset=-1)(inputs)
    x = layers.GlobalAveragePooling2D()(base(x))  # training follows fit: BN learns its statistics here
    model = keras.Model(inputs, layers.Dense(len(train.class_names))(x))
    _compile(model, 1e-3)
    model.fit(train, validation_data=val, epochs=epochs, verbose=0)
    print(f"pre-training on digits {SOURCE_CLASSES}: val accuracy {model.evaluate(val, verbose=0)[1]:.3f}")
    for layer in norms:
        layer.momentum = 0.999
    base.save_weights(path)
    return path


def build_model(weights_path: str | None, image_size: int, num_classes: int):
    """``(model, base)``: the base loaded from ``weights_path`` (None: random) and frozen, with a new head."""
    base = keras.applications.MobileNetV2(alpha=ALPHA, include_top=False, weights=weights_path,
                                          input_shape=(image_size, image_size, 3))
    base.trainable = False
    return _classifier(base, image_size, num_classes), base


def train_head(model, train, val, epochs: int = 3, learning_rate: float = 1e-3):
    """Step 2: compile and fit with the base frozen; returns the History."""
    _compile(model, learning_rate)
    return model.fit(train, validation_data=val, epochs=epochs, verbose=0)


def unfreeze_top(base, from_layer: str = FINE_TUNE_FROM, freeze_batch_norm: bool = True) -> int:
    """Make the base trainable from ``from_layer`` on; returns that layer's index.

    Earlier layers stay frozen, and so do BatchNormalization layers unless
    ``freeze_batch_norm=False`` (see the module docstring: frozen, they stay in inference mode).
    """
    base.trainable = True
    start = [layer.name for layer in base.layers].index(from_layer)
    for index, layer in enumerate(base.layers):
        if index < start or (freeze_batch_norm and isinstance(layer, layers.BatchNormalization)):
            layer.trainable = False
    return start


def fine_tune(model, base, train, val, epochs: int = 3, learning_rate: float = 1e-4, from_layer: str = FINE_TUNE_FROM):
    """Step 3: unfreeze the top blocks, re-compile with a low learning rate, fit again; returns the History."""
    unfreeze_top(base, from_layer)
    _compile(model, learning_rate)  # the new trainable set takes effect here, as in Keras
    return model.fit(train, validation_data=val, epochs=epochs, verbose=0)


def accuracy(model, dataset) -> float:
    return float(model.evaluate(dataset, verbose=0)[1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--workdir", default=os.path.join("runs", "transfer_learning"))
    parser.add_argument("--limit", type=int, help="at most N images per class (a quick trial)")
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--head-epochs", type=int, default=4)
    parser.add_argument("--fine-tune-epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    source, target = make_digit_folders(os.path.join(args.workdir, "images"), args.image_size, args.limit)
    weights = pretrain_base(source, os.path.join(args.workdir, "mobilenet_v2_digits04.weights.h5"),
                            args.image_size, args.pretrain_epochs, args.batch_size)
    train, val = load_split(target, args.image_size, args.batch_size)
    model, base = build_model(weights, args.image_size, len(train.class_names))
    model.summary(show_trainable=True)
    _compile(model, 1e-3)
    before = accuracy(model, val)
    train_head(model, train, val, args.head_epochs)
    head = accuracy(model, val)
    fine_tune(model, base, train, val, args.fine_tune_epochs)
    model.summary()
    tuned = accuracy(model, val)
    results = {"untrained_head": before, "head_only": head, "fine_tuned": tuned,
               "seconds": time.perf_counter() - start}
    print(f"digits {TARGET_CLASSES}, validation accuracy (chance {1 / len(train.class_names):.2f}): "
          f"untrained head {before:.3f}, after training the head {head:.3f}, after fine-tuning {tuned:.3f} "
          f"({results['seconds']:.0f} s)")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

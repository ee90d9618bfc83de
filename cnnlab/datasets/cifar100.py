"""CIFAR-100: 60,000 32×32 colour images in 100 classes grouped in 20 superclasses (A. Krizhevsky, 2009).

Same API as ``keras.datasets.cifar100``, read from the binary version of the
data (``cifar-100-binary.tar.gz``): cnnlab never unpickles.
"""

from __future__ import annotations

import numpy as np

from cnnlab.data.sources import DatasetSpec, RemoteFile
from cnnlab.datasets._cifar import CifarLayout, load_cifar
from cnnlab.errors import ConfigError, did_you_mean

# Label order of fine_label_names.txt and coarse_label_names.txt in the archive (alphabetical).
fine_class_names: tuple[str, ...] = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip
coarse_class_names: tuple[str, ...] = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2",
)  # fmt: skip

LABEL_MODES = ("fine", "coarse")

# SHA-256 and size of cifar-100-binary.tar.gz as pinned by tensorflow_datasets
# (url_checksums/cifar100.txt); its MD5, 03b5dce01913d631647c71ecec9e9cb8, is the one torchvision lists.
LAYOUT = CifarLayout(
    spec=DatasetSpec(
        name="cifar100",
        title="CIFAR-100",
        files=(RemoteFile("cifar-100-binary.tar.gz", "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
                          168513733),),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
    ),
    folder="cifar-100-binary",
    train_files=(("train.bin", 50000),),
    test_files=(("test.bin", 10000),),
    other_files=("coarse_label_names.txt", "fine_label_names.txt"),
    label_names=("coarse", "fine"),  # each record starts with the coarse label byte, then the fine one
    num_classes=(len(coarse_class_names), len(fine_class_names)),
)


def load_data(label_mode: str = "fine") -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-100, finding or downloading the archive as needed.

    Looks in ``$CNNLAB_DATA/cifar100`` (default ``~/.cache/cnnlab/cifar100``),
    then Keras's cache (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``),
    for ``cifar-100-binary.tar.gz`` or its extracted ``cifar-100-binary/``
    folder, then downloads the archive with a SHA-256 check.

    Args:
        label_mode: ``"fine"`` (100 classes, :data:`fine_class_names`) or
            ``"coarse"`` (20 superclasses, :data:`coarse_class_names`).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Shape:
        - x_train: uint8 ``(50000, 32, 32, 3)``, values 0..255.
        - y_train: int64 ``(50000, 1)`` (Keras's dtype here), values 0..99 or 0..19.
        - x_test: uint8 ``(10000, 32, 32, 3)``; y_test: int64 ``(10000, 1)``.

    Example:
        >>> (x_train, y_train), _ = cifar100.load_data(label_mode="coarse")  # doctest: +SKIP
        >>> int(y_train.max())  # doctest: +SKIP
        19
    """
    if label_mode not in LABEL_MODES:
        raise ConfigError(f"cifar100.load_data: label_mode must be 'fine' (100 classes) or 'coarse' (20 superclasses)."
                          f"{did_you_mean(str(label_mode), LABEL_MODES)} Received: label_mode={label_mode!r}")
    return load_cifar(LAYOUT, label=label_mode, label_dtype="int64")

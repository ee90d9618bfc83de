"""Fashion-MNIST: 70,000 28×28 greyscale images of clothing in 10 classes.

Zalando Research, MIT licence (https://github.com/zalandoresearch/fashion-mnist).
Same API as ``keras.datasets.fashion_mnist``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.sources import DatasetSpec, RemoteFile, load_idx_classification

# Label order of the Zalando README, as used in the Keras/TensorFlow tutorials.
class_names: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

# SHA-256 and sizes of the published gz files (their MD5s are the ones in the
# Zalando README; the same SHA-256 values are pinned by tensorflow_datasets).
SPEC = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
        RemoteFile("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
        RemoteFile("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
    ),
    mirrors=(
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    apt_package="dataset-fashion-mnist",
)


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST, finding or downloading the files as needed.

    Looks in ``$CNNLAB_DATA/fashion-mnist`` (default
    ``~/.cache/cnnlab/fashion-mnist``), then ``/usr/share/datasets/fashion-mnist``
    (Debian package ``dataset-fashion-mnist``), then downloads with SHA-256 checks.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Shape:
        - x_train: uint8 ``(60000, 28, 28)``, values 0..255.
        - y_train: uint8 ``(60000,)``, values 0..9 (see :data:`class_names`).
        - x_test: uint8 ``(10000, 28, 28)``; y_test: uint8 ``(10000,)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
        >>> class_names[y_train[0]]  # doctest: +SKIP
        'Ankle boot'
    """
    return load_idx_classification(SPEC, num_classes=len(class_names), image_shape=(28, 28))

"""CIFAR-10: 60,000 32×32 colour images in 10 classes (A. Krizhevsky, 2009).

Same API as ``keras.datasets.cifar10``, read from the binary version of the
data (``cifar-10-binary.tar.gz``): cnnlab never unpickles.
"""

from __future__ import annotations

import numpy as np

from cnnlab.data.sources import DatasetSpec, RemoteFile
from cnnlab.datasets._cifar import CifarLayout, load_cifar

# Label order of batches.meta.txt in the archive (and of the Keras docstring).
class_names: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

# SHA-256 and size of cifar-10-binary.tar.gz as pinned by tensorflow_datasets
# (url_checksums/cifar10.txt); its MD5, c32a1d4ab5d03f1284b67883e8d87530, is the one torchvision lists.
LAYOUT = CifarLayout(
    spec=DatasetSpec(
        name="cifar10",
        title="CIFAR-10",
        files=(RemoteFile("cifar-10-binary.tar.gz", "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                          170052171),),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
    ),
    folder="cifar-10-batches-bin",
    train_files=tuple((f"data_batch_{i}.bin", 10000) for i in range(1, 6)),
    test_files=(("test_batch.bin", 10000),),
    other_files=("batches.meta.txt", "readme.html"),
    label_names=("label",),
    num_classes=(len(class_names),),
)


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-10, finding or downloading the archive as needed.

    Looks in ``$CNNLAB_DATA/cifar10`` (default ``~/.cache/cnnlab/cifar10``),
    then Keras's cache (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``),
    for ``cifar-10-binary.tar.gz`` or its extracted ``cifar-10-batches-bin/``
    folder, then downloads the archive with a SHA-256 check.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Shape:
        - x_train: uint8 ``(50000, 32, 32, 3)``, values 0..255.
        - y_train: uint8 ``(50000, 1)``, values 0..9 (see :data:`class_names`).
        - x_test: uint8 ``(10000, 32, 32, 3)``; y_test: uint8 ``(10000, 1)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
        >>> class_names[y_train[0, 0]]  # doctest: +SKIP
        'frog'
    """
    # Keras returns uint8 labels for CIFAR-10 (it casts them), and int64 for CIFAR-100 (it does not).
    return load_cifar(LAYOUT, label="label", label_dtype="uint8")

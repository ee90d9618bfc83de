"""MNIST: 70,000 28×28 greyscale images of handwritten digits 0-9.

Y. LeCun, C. Cortes and C. J. C. Burges. Same API as ``keras.datasets.mnist``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.sources import DatasetSpec, RemoteFile, load_idx_classification

class_names: tuple[str, ...] = tuple(str(digit) for digit in range(10))

# SHA-256 and sizes of the original gz files, as pinned by torchvision and
# tensorflow_datasets.
SPEC = DatasetSpec(
    name="mnist",
    title="MNIST",
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        RemoteFile("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
        RemoteFile("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    ),
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    system_dirs=(Path("/usr/share/datasets/mnist"),),
)


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST, finding or downloading the files as needed.

    Looks in ``$CNNLAB_DATA/mnist`` (default ``~/.cache/cnnlab/mnist``), then
    ``/usr/share/datasets/mnist``, then downloads with SHA-256 checks.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Shape:
        - x_train: uint8 ``(60000, 28, 28)``, values 0..255.
        - y_train: uint8 ``(60000,)``, values 0..9.
        - x_test: uint8 ``(10000, 28, 28)``; y_test: uint8 ``(10000,)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
        >>> x_train.shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    return load_idx_classification(SPEC, num_classes=len(class_names), image_shape=(28, 28))

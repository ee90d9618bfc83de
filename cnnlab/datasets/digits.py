"""Digits: 1,797 8×8 greyscale images of handwritten digits, bundled with scikit-learn.

The UCI optical recognition of handwritten digits test set, as shipped inside
scikit-learn, so it works with no network. Pixels (0..16 in the source) are
rescaled to 0..255 to look like MNIST.
"""

from __future__ import annotations

import numpy as np

from cnnlab.data.arrays import train_test_split
from cnnlab.errors import ConfigError

class_names: tuple[str, ...] = tuple(str(digit) for digit in range(10))

# scikit-learn's load_digits stores 4×4-block counts of set pixels: 0..16.
SOURCE_MAX_VALUE = 16


def load_data(
    test_size: float = 0.2, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the 8×8 digits with a deterministic stratified train/test split.

    Args:
        test_size: fraction (float in (0, 1)) or count (int) of test images.
        seed: seed of the split; the same seed always gives the same split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Shape:
        - x_train, x_test: uint8 ``(n, 8, 8)``, values 0..255.
        - y_train, y_test: uint8 ``(n,)``, values 0..9; each digit keeps
          its share in both sets.

    Raises:
        ConfigError: scikit-learn is not installed, or test_size is invalid.

    Example:
        >>> from cnnlab.datasets import digits
        >>> (x_train, y_train), (x_test, y_test) = digits.load_data()
        >>> x_train.shape, x_test.shape
        ((1437, 8, 8), (360, 8, 8))
    """
    images, labels = _load_sklearn_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return (x_train, y_train), (x_test, y_test)


def _load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ConfigError(
            "cnnlab.datasets.digits needs scikit-learn, which bundles the digits images. "
            "Install it with: pip install scikit-learn"
        ) from err
    bunch = load_digits()
    # Round to nearest: v * 255 / 16 with halves rounded up, in integers.
    scaled = (bunch.images.astype(np.int64) * 255 + SOURCE_MAX_VALUE // 2) // SOURCE_MAX_VALUE
    return scaled.astype(np.uint8), bunch.target.astype(np.uint8)

import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from cnnlab.datasets import digits
from cnnlab.errors import ConfigError


@pytest.fixture(scope="module")
def reference():
    bunch = load_digits()
    return bunch.images, bunch.target


def test_shapes_dtypes_and_default_split_sizes():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    # 1797 images; test = ceil(0.2 * 1797) = 360, train = 1437.
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}


def test_pixels_are_rescaled_from_0_16_to_0_255_rounded():
    (x_train, _), _ = digits.load_data()
    # 16 -> 255; 8 -> 127.5 rounds up to 128; 1 -> 15.94 -> 16; 0 -> 0.
    assert set(np.unique(x_train).tolist()) <= {round(v * 255 / 16 + 1e-9) for v in range(17)}
    assert x_train.max() == 255 and x_train.min() == 0


def test_split_partitions_exactly_the_sklearn_images(reference):
    images, target = reference
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    expected = np.floor(images * 255 / 16 + 0.5).astype(np.uint8)  # round half up
    got = np.concatenate([x_train, x_test]).reshape(len(target), -1)
    got_labels = np.concatenate([y_train, y_test])
    order_got = np.lexsort(np.column_stack([got, got_labels]).T)
    order_ref = np.lexsort(np.column_stack([expected.reshape(len(target), -1), target]).T)
    np.testing.assert_array_equal(got[order_got], expected.reshape(len(target), -1)[order_ref])
    np.testing.assert_array_equal(got_labels[order_got], target[order_ref])


def test_split_is_stratified(reference):
    _, target = reference
    _, (_, y_test) = digits.load_data(test_size=0.2)
    expected = np.bincount(target) * 0.2
    assert np.abs(np.bincount(y_test) - expected).max() < 1


def test_same_seed_same_split_other_seed_other_split():
    a = digits.load_data(seed=3)[1][1]
    b = digits.load_data(seed=3)[1][1]
    c = digits.load_data(seed=4)[1][1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_integer_test_size():
    _, (x_test, _) = digits.load_data(test_size=100)
    assert len(x_test) == 100


def test_class_names_are_the_digits():
    assert list(digits.class_names) == [str(d) for d in range(10)]


def test_missing_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ConfigError, match="pip install scikit-learn"):
        digits.load_data()

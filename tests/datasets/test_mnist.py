import numpy as np
import pytest

from cnnlab.data.idx import write_idx
from cnnlab.datasets import mnist
from cnnlab.errors import DatasetNotFoundError, FileFormatError


def write_small_mnist(folder, n_train=6, n_test=4, n_train_labels=None):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train_labels or n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return list(arrays.values())


def test_load_data_reads_the_files_in_the_data_folder(isolated_data_home):
    x_train, y_train, x_test, y_test = write_small_mnist(isolated_data_home / "mnist")
    (a, b), (c, d) = mnist.load_data()
    for got, expected in zip((a, b, c, d), (x_train, y_train, x_test, y_test)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, expected)
    assert a.shape == (6, 28, 28) and b.shape == (6,)


def test_image_and_label_counts_must_match(isolated_data_home):
    write_small_mnist(isolated_data_home / "mnist", n_train=6, n_train_labels=5)
    with pytest.raises(FileFormatError, match="has 5 labels but .* has 6 images"):
        mnist.load_data()


def test_offline_without_files_says_where_to_put_them(isolated_data_home):
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert f"Put these files in '{isolated_data_home / 'mnist'}'" in message
    assert "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz" in message
    assert "/usr/share/datasets/mnist" in message


def test_class_names_are_the_digits():
    assert list(mnist.class_names) == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]

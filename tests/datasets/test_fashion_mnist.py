import dataclasses
import gzip
import os
import time

import numpy as np
import pytest

import cnnlab.datasets
from cnnlab.datasets import fashion_mnist
from cnnlab.errors import DatasetNotFoundError

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
needs_debian_files = pytest.mark.skipif(
    not os.path.exists(DEBIAN_DIR), reason="needs Debian's dataset-fashion-mnist package"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    # Module scope runs before the per-test data folder, so isolate here too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNLAB_DATA", str(tmp_path_factory.mktemp("empty-data-home")))
        patch.setenv("CNNLAB_OFFLINE", "1")
        start = time.perf_counter()
        data = fashion_mnist.load_data()
        return data, time.perf_counter() - start


@needs_debian_files
def test_load_data_shapes_and_dtypes_are_keras(loaded):
    (x_train, y_train), (x_test, y_test) = loaded[0]
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}


@needs_debian_files
def test_every_class_has_6000_train_and_1000_test_images(loaded):
    (_, y_train), (_, y_test) = loaded[0]
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


@needs_debian_files
def test_arrays_equal_a_plain_gzip_read_of_the_files(loaded):
    # Reference: the IDX header is 16 bytes for images and 8 for labels.
    (x_train, y_train), (x_test, _) = loaded[0]
    with gzip.open(f"{DEBIAN_DIR}/t10k-images-idx3-ubyte.gz") as f:
        reference = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f"{DEBIAN_DIR}/train-labels-idx1-ubyte.gz") as f:
        np.testing.assert_array_equal(y_train, np.frombuffer(f.read(), np.uint8, offset=8))
    np.testing.assert_array_equal(x_test, reference)


@needs_debian_files
def test_loading_is_fast(loaded):
    assert loaded[1] < 2.0


def test_not_found_message_offers_the_debian_package(monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SPEC", dataclasses.replace(fashion_mnist.SPEC, system_dirs=()))
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data()
    message = str(info.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/train-images-idx3-ubyte.gz" in message


def test_class_names_are_the_zalando_labels_in_order():
    assert list(fashion_mnist.class_names) == [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip


def test_datasets_package_exposes_the_modules():
    assert cnnlab.datasets.fashion_mnist is fashion_mnist
    assert sorted(cnnlab.datasets.__all__) == ["cifar10", "cifar100", "digits", "fashion_mnist", "mnist"]

"""Small offline copies of the files the tensorflow.org tutorials download, put where cnnlab's loaders look.

Unlike conftest.py's in-memory stand-ins, these fixtures write files, so the tutorials' own loading lines
run unchanged (``tf.keras.datasets.mnist.load_data()``, ``datasets.cifar10.load_data()``,
``tf.keras.utils.get_file(origin=dataset_url, extract=True)``):

- ``keras_mnist`` / ``keras_fashion_mnist``: gzipped IDX files under ``$CNNLAB_DATA/mnist`` and
  ``$CNNLAB_DATA/fashion-mnist`` with the names the loaders look for (cnnlab/datasets/mnist.py). Local
  files are not checked against the pinned SHA-256; only downloads are. The images are scikit-learn's
  digits drawn at MNIST's size (conftest), so a few epochs are enough for the loss to fall.
- ``keras_cifar10``: a ``cifar-10-binary.tar.gz`` in the binary layout (each record 1 label byte, then the
  1024 red, 1024 green and 1024 blue bytes), with 5 training batches of 40 images and a test batch of 40.
  ``cifar10.LAYOUT`` is replaced for the test by one with these record counts and the generated archive's
  SHA-256 (the loader's documented hook: ``dataclasses.replace``). Each class has its own mean colour, so
  the data is learnable.
- ``keras_flower_photos``: a ``flower_photos.tgz`` with the archive's layout (``flower_photos/<class>/*.jpg``
  for the 5 classes, and ``LICENSE.txt``) placed in Keras's cache as ``get_file`` saves it
  (``$KERAS_HOME/datasets/flower_photos.tgz_archive``), so ``get_file`` finds it and does not download.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile

import numpy as np
import pytest

from .conftest import _digits_as_mnist

FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
FLOWERS_PER_CLASS = 6
CIFAR_BATCH = 40


def _write_idx_dataset(folder, n_train: int, n_test: int) -> None:
    from cnnlab.data import write_idx
    from cnnlab.datasets import digits

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("train-images-idx3-ubyte.gz", _digits_as_mnist(x_train[:n_train])),
                        ("train-labels-idx1-ubyte.gz", y_train[:n_train].astype(np.uint8)),
                        ("t10k-images-idx3-ubyte.gz", _digits_as_mnist(x_test[:n_test])),
                        ("t10k-labels-idx1-ubyte.gz", y_test[:n_test].astype(np.uint8))):
        write_idx(folder / name, array)


@pytest.fixture
def keras_mnist(isolated_data_home):
    """1,200 training and 300 test images behind ``tf.keras.datasets.mnist.load_data()``."""
    _write_idx_dataset(isolated_data_home / "mnist", 1200, 300)


@pytest.fixture
def keras_fashion_mnist(isolated_data_home):
    """1,200 training and 300 test images behind ``tf.keras.datasets.fashion_mnist.load_data()``."""
    _write_idx_dataset(isolated_data_home / "fashion-mnist", 1200, 300)


def _cifar_records(rng, n: int) -> bytes:
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    palette = rng.integers(30, 225, (10, 3))
    noise = rng.integers(-30, 31, (n, 3, 32, 32))
    planes = np.clip(palette[labels][:, :, None, None] + noise, 0, 255).astype(np.uint8)
    return np.concatenate([labels[:, None], planes.reshape(n, -1)], axis=1).tobytes()


@pytest.fixture
def keras_cifar10(isolated_data_home, monkeypatch):
    """200 training and 40 test CIFAR-10 images in a binary archive behind ``cifar10.load_data()``."""
    from cnnlab.data.sources import RemoteFile
    from cnnlab.datasets import cifar10

    rng = np.random.default_rng(10)
    layout = cifar10.LAYOUT
    members = {name: _cifar_records(rng, CIFAR_BATCH) for name, _ in layout.train_files + layout.test_files}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{layout.folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = buffer.getvalue()
    folder = isolated_data_home / layout.spec.name
    folder.mkdir(parents=True)
    remote = layout.spec.files[0]
    (folder / remote.name).write_bytes(archive)
    small = dataclasses.replace(
        layout,
        spec=dataclasses.replace(layout.spec, files=(RemoteFile(remote.name, hashlib.sha256(archive).hexdigest(),
                                                                len(archive)),)),
        train_files=tuple((name, CIFAR_BATCH) for name, _ in layout.train_files),
        test_files=tuple((name, CIFAR_BATCH) for name, _ in layout.test_files),
    )
    monkeypatch.setattr(cifar10, "LAYOUT", small)


def _flower_jpeg(kind_index: int, index: int, rng) -> bytes:
    from PIL import Image

    # One colour per class with noise, at sizes around the archive's (the loader resizes them).
    colour = np.array([(250, 250, 240), (240, 200, 20), (200, 20, 40), (250, 160, 0), (180, 40, 160)][kind_index])
    height, width = 120 + 7 * index, 160 - 5 * index
    pixels = np.clip(colour + rng.integers(-40, 41, (height, width, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def keras_flower_photos(tmp_path, monkeypatch):
    """A 30-image ``flower_photos.tgz`` in Keras's cache; returns the cache's ``datasets`` folder."""
    rng = np.random.default_rng(5)
    keras_home = tmp_path / "keras-home"
    datasets_dir = keras_home / "datasets"
    datasets_dir.mkdir(parents=True)
    with tarfile.open(datasets_dir / "flower_photos.tgz_archive", mode="w:gz") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"flower_photos/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("LICENSE.txt", b"All images in this archive are generated for the test.\n")
        for kind_index, kind in enumerate(FLOWER_CLASSES):
            for index in range(FLOWERS_PER_CLASS):
                add(f"{kind}/{kind}_{index}.jpg", _flower_jpeg(kind_index, index, rng))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.chdir(tmp_path)
    return datasets_dir

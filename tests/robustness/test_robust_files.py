"""Bad files and paths: model files, IDX files, dataset folders, Keras files and images."""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import struct
import zlib

import numpy as np
import pytest
from robust_record import Bad, cases, check_bad

import cnnlab
from cnnlab import layers
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.data.image_folder import load_image
from cnnlab.datasets import fashion_mnist, mnist
from cnnlab.errors import (ArgumentTypeError, CheckpointError, ConfigError, DataError, DatasetNotFoundError,
                           FileFormatError)
from cnnlab.io.native import FileNotFoundErrorWithHint
from cnnlab.utils import image_dataset_from_directory


def _model():
    return cnnlab.Sequential([layers.Input((4, 4, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")])


def _saved(tmp_path, name="m.cnnlab"):
    path = tmp_path / name
    _model().save(path)
    return path


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _fifo(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    return path


def _under_a_file(tmp_path, name):
    (tmp_path / "plain.txt").write_text("x")
    return tmp_path / "plain.txt" / name


def _truncated(tmp_path):
    data = _saved(tmp_path).read_bytes()
    return _write(tmp_path, "cut.cnnlab", data[: len(data) // 2])


def _unreadable(tmp_path, monkeypatch_open):
    """A file that exists but cannot be opened: root ignores mode bits, so ``open`` itself is made to refuse."""
    path = _saved(tmp_path, "locked.cnnlab")
    monkeypatch_open(path)
    return path


LM, LW, SV = "load_model", "load_weights", "save"

MODEL_FILES = [
    Bad(LM, "missing file", lambda t: cnnlab.load_model(t / "nope.cnnlab"), FileNotFoundErrorWithHint,
        "nope.cnnlab"),
    Bad(LM, "a directory", lambda t: cnnlab.load_model(t), FileFormatError, str("directory")),
    Bad(LM, "a path under a file", lambda t: cnnlab.load_model(_under_a_file(t, "m.cnnlab")),
        FileNotFoundErrorWithHint, "plain.txt"),
    Bad(LM, "a FIFO (would block)", lambda t: cnnlab.load_model(_fifo(t, "pipe.cnnlab")), FileFormatError,
        "pipe.cnnlab"),
    Bad(LM, "an empty file", lambda t: cnnlab.load_model(_write(t, "e.cnnlab", b"")), FileFormatError, "e.cnnlab"),
    Bad(LM, "a text file", lambda t: cnnlab.load_model(_write(t, "t.cnnlab", b"hello")), FileFormatError,
        "t.cnnlab"),
    Bad(LM, "a truncated file", lambda t: cnnlab.load_model(_truncated(t)), FileFormatError, "cut.cnnlab"),
    Bad(LM, "path None", lambda t: cnnlab.load_model(None), ArgumentTypeError, "filepath"),
    Bad(LM, "a .keras file holding text", lambda t: cnnlab.load_model(_write(t, "m.keras", b"text")),
        FileFormatError, "m.keras"),
    Bad(LM, "an .h5 file holding text", lambda t: cnnlab.load_model(_write(t, "m.h5", b"text" * 10)),
        FileFormatError, "m.h5"),
    Bad(LM, "an empty .h5 file", lambda t: cnnlab.load_model(_write(t, "e.h5", b"")), FileFormatError, "e.h5"),
    Bad(LM, "a weights-only .weights.h5", lambda t: cnnlab.load_model(_write(t, "w.weights.h5", b"x")),
        FileFormatError, "w.weights.h5"),
    Bad(LM, "a .keras name on a cnnlab zip", lambda t: cnnlab.load_model(_write(t, "m.keras", _saved(t).read_bytes())),
        FileFormatError, "m.keras"),
    Bad(LW, "missing file", lambda t: _model().load_weights(t / "w.weights.safetensors"), FileNotFoundErrorWithHint,
        "w.weights.safetensors"),
    Bad(LW, "random bytes", lambda t: _model().load_weights(_write(t, "w.weights.safetensors", os.urandom(64))),
        FileFormatError, "w.weights.safetensors"),
    Bad(LW, "a huge safetensors header length",
        lambda t: _model().load_weights(_write(t, "h.weights.safetensors", struct.pack("<Q", 1 << 40) + b"{}")),
        FileFormatError, "h.weights.safetensors"),
    Bad(LW, "into a model that is not built",
        lambda t: cnnlab.Sequential([layers.Dense(3)]).load_weights(_saved(t)), ConfigError, "build"),
    Bad(SV, "a .txt file name", lambda t: _model().save(t / "m.txt"), ConfigError, "m.txt"),
    Bad(SV, "a path under a file", lambda t: _model().save(_under_a_file(t, "m.cnnlab")), CheckpointError,
        "plain.txt"),
    Bad(SV, "over an existing directory", lambda t: _model().save(_mkdir(t, "d.cnnlab")), CheckpointError,
        "d.cnnlab"),
    Bad(SV, "overwrite=False on an existing file", lambda t: _model().save(_saved(t), overwrite=False), ConfigError,
        "overwrite"),
    Bad(SV, "save_weights to a .txt name", lambda t: _model().save_weights(t / "w.txt"), ConfigError, "w.txt"),
]


def _mkdir(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


@cases(*MODEL_FILES)
def test_bad_model_file_or_path_is_explained(case, tmp_path):
    check_bad(case, tmp_path)


@pytest.fixture
def refuse_open(monkeypatch):
    """Make ``open`` of one path fail with PermissionError, as for an unreadable file of another user."""
    import builtins

    blocked: set[str] = set()
    real_open = io.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) in blocked:
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", guarded)
    monkeypatch.setattr(builtins, "open", guarded)
    return lambda path: blocked.add(os.fspath(path))


def test_unreadable_model_file_says_check_permissions(tmp_path, refuse_open):
    case = Bad(LM, "a file without read permission", lambda t: cnnlab.load_model(_unreadable(t, refuse_open)),
               FileFormatError, "locked.cnnlab")
    assert "permission" in check_bad(case, tmp_path).lower()


def test_unreadable_idx_file_says_check_permissions(tmp_path, refuse_open):
    def call(t):
        path = write_idx(t / "x.idx", np.zeros((2, 2), np.uint8))
        refuse_open(path)
        return read_idx(path)

    assert "permission" in check_bad(Bad("IDX file", "no read permission", call, FileFormatError, "x.idx"),
                                     tmp_path).lower()


IDX = "IDX file"
IDX_FILES = [
    Bad(IDX, "missing file", lambda t: read_idx(t / "x.idx"), DatasetNotFoundError, "x.idx"),
    Bad(IDX, "a path under a file", lambda t: read_idx(_under_a_file(t, "x.idx")), DatasetNotFoundError,
        "plain.txt"),
    Bad(IDX, "a FIFO", lambda t: read_idx(_fifo(t, "x.idx")), FileFormatError, "x.idx"),
    Bad(IDX, "an empty file", lambda t: read_idx(_write(t, "e.idx", b"")), FileFormatError, "e.idx"),
    Bad(IDX, "a PNG renamed .idx", lambda t: read_idx(_write(t, "p.idx", _png_header(2, 2))), FileFormatError,
        "p.idx"),
    Bad(IDX, "an empty gzip", lambda t: read_idx(_write(t, "e.idx.gz", gzip.compress(b""))), FileFormatError,
        "e.idx.gz"),
    Bad(IDX, "a gzip of text", lambda t: read_idx(_write(t, "t.idx.gz", gzip.compress(b"hello world"))),
        FileFormatError, "t.idx.gz"),
    Bad(IDX, "path None", lambda t: read_idx(None), ArgumentTypeError, "path"),
]


@cases(*IDX_FILES)
def test_bad_idx_file_is_explained(case, tmp_path):
    check_bad(case, tmp_path)


DATA = "load_data"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz")


def _data_home_is_a_file(tmp_path, monkeypatch):
    path = _write(tmp_path, "data.txt", b"not a folder")
    monkeypatch.setenv("CNNLAB_DATA", str(path))
    return mnist.load_data()


def _mnist_folder(tmp_path, monkeypatch, arrays):
    folder = tmp_path / "home" / "mnist"
    folder.mkdir(parents=True)
    for name, array in zip(MNIST_FILES, arrays):
        if isinstance(array, bytes):
            (folder / name).write_bytes(array)
        else:
            write_idx(folder / name, array)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "home"))
    return mnist.load_data()


def _fashion_without_system_copy(monkeypatch):
    """As on a machine without Debian's dataset-fashion-mnist package."""
    monkeypatch.setattr(fashion_mnist, "SPEC", dataclasses.replace(fashion_mnist.SPEC, system_dirs=()))
    return fashion_mnist.load_data()


def _images(n, side=28):
    return np.zeros((n, side, side), np.uint8)


def _labels(n, value=0):
    return np.full(n, value, np.uint8)


LOAD_DATA = [
    ("CNNLAB_DATA points at a file", lambda t, m: _data_home_is_a_file(t, m), DatasetNotFoundError,
     "data.txt' is a file"),
    ("CNNLAB_DATA folder is empty", lambda t, m: _mnist_folder(t, m, []), DatasetNotFoundError,
     "train-images-idx3-ubyte.gz"),
    ("files hold random bytes", lambda t, m: _mnist_folder(t, m, [os.urandom(100)] * 4), FileFormatError,
     "train-images"),
    ("images of the wrong size", lambda t, m: _mnist_folder(t, m, [_images(3, 8), _labels(3), _images(2), _labels(2)]),
     FileFormatError, "train-images"),
    ("fewer labels than images", lambda t, m: _mnist_folder(t, m, [_images(3), _labels(2), _images(2), _labels(2)]),
     FileFormatError, "train-labels"),
    ("label 10 in a 10-class set", lambda t, m: _mnist_folder(t, m, [_images(2), _labels(2, 10), _images(2),
                                                                     _labels(2)]),
     FileFormatError, "train-labels"),
    ("labels and images swapped", lambda t, m: _mnist_folder(t, m, [_labels(2), _images(2), _images(2), _labels(2)]),
     FileFormatError, "train-images"),
    ("fashion_mnist with no files, offline", lambda t, m: _fashion_without_system_copy(m), DatasetNotFoundError,
     "fashion"),
]


@pytest.mark.parametrize("mistake, call, error, where", LOAD_DATA, ids=[row[0] for row in LOAD_DATA])
def test_bad_dataset_folder_is_explained(mistake, call, error, where, tmp_path, monkeypatch):
    check_bad(Bad(DATA, mistake, lambda t: call(t, monkeypatch), error, where), tmp_path)


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk declaring ``width`` x ``height`` (8-bit gray), and an empty image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + chunk + end


def _class_folder(tmp_path, files: dict[str, bytes]):
    root = tmp_path / "images"
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _first_batch(dataset):
    return next(iter(dataset))


IM = "image files"
IMAGES = [
    Bad(IM, "folder does not exist", lambda t: image_dataset_from_directory(t / "nope"), DatasetNotFoundError,
        "nope"),
    Bad(IM, "a file instead of a folder", lambda t: image_dataset_from_directory(_write(t, "a.png", b"x")),
        DataError, "a.png"),
    Bad(IM, "an empty folder", lambda t: image_dataset_from_directory(_mkdir(t, "empty")), DataError, "empty"),
    Bad(IM, "class folders without images",
        lambda t: image_dataset_from_directory(_class_folder(t, {"cat/notes.txt": b"x"})), DataError, "images"),
    Bad(IM, "image_size with a zero", lambda t: image_dataset_from_directory(t, image_size=(0, 28)), ConfigError,
        "image_size"),
    Bad(IM, "batch_size zero", lambda t: image_dataset_from_directory(t, batch_size=0), ConfigError, "batch_size"),
    Bad(IM, "color_mode 'cmyk'", lambda t: image_dataset_from_directory(t, color_mode="cmyk"), ConfigError,
        "color_mode"),
    Bad(IM, "validation_split without subset", lambda t: image_dataset_from_directory(t, validation_split=0.2),
        ConfigError, "subset"),
    Bad(IM, "a corrupt PNG in the folder",
        lambda t: _first_batch(image_dataset_from_directory(_class_folder(t, {"cat/a.png": b"\x89PNG broken"}))),
        FileFormatError, "a.png"),
    Bad(IM, "a PNG declaring 100000x100000 pixels",
        lambda t: _first_batch(image_dataset_from_directory(_class_folder(t, {"cat/b.png": _png_header(10**5,
                                                                                                      10**5)}))),
        FileFormatError, "b.png"),
    Bad(IM, "load_image of a FIFO", lambda t: load_image(_fifo(t, "p.png")), DataError, "p.png"),
    Bad(IM, "load_image of a missing file", lambda t: load_image(t / "gone.png"), DataError, "gone.png"),
]


@cases(*IMAGES)
def test_bad_image_input_is_explained(case, tmp_path):
    check_bad(case, tmp_path)

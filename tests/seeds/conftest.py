"""Fixtures for running the study notes: small offline MNIST / Fashion-MNIST files and one session per note.

The notes load their data with ``keras.datasets.mnist.load_data()`` and ``fashion_mnist.load_data()``. The
runner points ``CNNLAB_DATA`` at a temporary folder holding small IDX files (512 train and 128 test images,
gzipped, under the names cnnlab's loaders look for: ``mnist/train-images-idx3-ubyte.gz`` ...) and sets
``CNNLAB_OFFLINE=1``, as tests/conftest.py's ``isolated_data_home`` does. Local files are not checked
against the pinned SHA-256 (only downloads are), so generated files are accepted.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.data import write_idx

N_TRAIN, N_TEST = 512, 128
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# Folder names under the data home: cnnlab/datasets/mnist.py and fashion_mnist.py (DatasetSpec.name).
DATASET_FOLDERS = ("mnist", "fashion-mnist")

# Filled by the sessions as cells run; read by the terminal summary.
SESSIONS: dict = {}


def _write_small_idx_dataset(folder, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = (
        rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, N_TEST, dtype=np.uint8),
    )
    for name, array in zip(IDX_FILES, arrays):
        write_idx(folder / name, array)


@pytest.fixture(scope="module")
def seed_environment(tmp_path_factory):
    """Offline data home with small MNIST-shaped files, an empty working folder, Agg figures, no plt.show."""
    import matplotlib.pyplot as plt

    data_home = tmp_path_factory.mktemp("seed-data")
    for seed, folder in enumerate(DATASET_FOLDERS):
        _write_small_idx_dataset(data_home / folder, seed)
    workdir = tmp_path_factory.mktemp("seed-workdir")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNLAB_DATA", str(data_home))
        patch.setenv("CNNLAB_OFFLINE", "1")
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home")))
        patch.setattr(plt, "show", lambda *args, **kwargs: None)
        patch.chdir(workdir)  # the notes write best-cnn-model.h5 and ./logs to the working folder
        yield workdir


@pytest.fixture(autouse=True)
def isolated_data_home(seed_environment):
    """Overrides the suite's per-test empty data home: every cell of a note sees the same small files."""
    import os

    return os.environ["CNNLAB_DATA"]


@pytest.fixture(autouse=True)
def fresh_layer_names():
    """Overrides the suite's per-test name reset: a note is one kernel, so automatic names count on from cell
    to cell (a session resets them when its note starts)."""
    yield


def pytest_terminal_summary(terminalreporter):
    if not SESSIONS:
        return
    lines, total_ran, total_runnable = [], 0, 0
    for note, (session, runnable) in sorted(SESSIONS.items()):
        tried = [i for i in runnable if i in session.outcomes]
        ran = sum(session.outcomes[i].ran for i in tried)
        total_ran += ran
        total_runnable += len(tried)
        lines.append(f"note {note}: {ran} of {len(tried)} runnable cells run ({len(session.cells)} cells)")
    terminalreporter.write_sep("-", "seed notes")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"overall: {total_ran} of {total_runnable} runnable cells run")

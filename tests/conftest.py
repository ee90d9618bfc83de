"""Shared fixtures for the whole suite."""

import os

import pytest

os.environ.setdefault("CNNLAB_OFFLINE", "1")  # tests never reach the network
os.environ.setdefault("COLUMNS", "200")  # summaries render at Keras's full width
os.environ.setdefault("OMP_NUM_THREADS", "1")  # subprocess tests run side by side on small CI machines


@pytest.fixture(autouse=True)
def fresh_layer_names():
    """Every test starts with Keras's fresh automatic names (conv2d, dense, ...)."""
    from cnnlab.layers.base import reset_names

    reset_names()
    yield


@pytest.fixture(autouse=True)
def isolated_data_home(tmp_path, monkeypatch):
    """Point the data folder at an empty temporary folder and forbid downloads."""
    home = tmp_path / "cnnlab-data"
    monkeypatch.setenv("CNNLAB_DATA", str(home))
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    return home


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tiny test models run fastest on one thread, and subprocess tests then do not oversubscribe the cores."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

"""Shared fixtures for the whole suite."""

import os

import pytest

os.environ.setdefault("CNNLAB_OFFLINE", "1")  # tests never reach the network
os.environ.setdefault("COLUMNS", "200")  # summaries render at Keras's full width


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

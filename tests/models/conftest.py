import pytest

from cnnlab.layers.base import reset_names


@pytest.fixture(autouse=True)
def fresh_layer_names():
    """Automatic names restart at ``conv2d``, ``dense``, ... in every test."""
    reset_names()
    yield
    reset_names()

"""Add, Concatenate and Rescaling against NumPy."""

import numpy as np
import pytest

from cnnlab import layers
from cnnlab.errors import ShapeError

TOL = dict(rtol=1e-6, atol=1e-6)


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_add_sums_all_inputs():
    a, b, c = (_random((2, 4, 4, 3), s) for s in range(3))
    np.testing.assert_allclose(layers.Add()([a, b, c]).numpy(), a + b + c, **TOL)


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_numpy(axis):
    a, b = _random((2, 3, 4, 5), 0), _random((2, 3, 4, 5), 1)
    np.testing.assert_array_equal(layers.Concatenate(axis=axis)([a, b]).numpy(), np.concatenate([a, b], axis=axis))


def test_add_of_different_shapes_names_both_shapes():
    a, b = layers.Input((4, 4, 3)), layers.Input((4, 4, 5))
    with pytest.raises(ShapeError, match=r"Add 'add'.*\(None, 4, 4, 3\) and \(None, 4, 4, 5\)"):
        layers.Add()([a, b])


def test_merge_of_a_single_tensor_asks_for_a_list():
    with pytest.raises(ShapeError, match=r"Concatenate\(\)\(\[a, b\]\)"):
        layers.Concatenate()(layers.Input((4, 4, 3)))


def test_rescaling_multiplies_then_adds_offset():
    x = np.arange(0, 256, dtype=np.uint8).reshape(1, 16, 16, 1)
    got = layers.Rescaling(1 / 127.5, offset=-1)(x).numpy()
    np.testing.assert_allclose(got, x.astype(np.float64) / 127.5 - 1, rtol=1e-6, atol=1e-6)
    assert got.min() == -1 and got.max() == 1

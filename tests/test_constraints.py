"""Constraints against NumPy versions of the Keras formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab import constraints
from cnnlab.errors import ArgumentTypeError, ConfigError, UnknownNameError

EPS = 1e-7  # Keras backend epsilon
RNG = np.random.default_rng(4)
DENSE = RNG.normal(size=(5, 3)) * 2
CONV = RNG.normal(size=(3, 3, 2, 4))


def apply(c, w):
    return c(torch.tensor(w, dtype=torch.float64)).numpy()


def norms(w, axis):
    return np.sqrt((w**2).sum(axis=tuple(np.atleast_1d(axis)), keepdims=True))


def test_max_norm_per_unit_of_a_dense_kernel():
    n = norms(DENSE, 0)
    want = DENSE * np.clip(n, 0, 2) / (EPS + n)
    np.testing.assert_allclose(apply(constraints.MaxNorm(), DENSE), want, rtol=1e-12)
    assert (norms(apply(constraints.MaxNorm(), DENSE), 0) <= 2 + 1e-6).all()


def test_max_norm_per_filter_of_a_conv_kernel():
    n = norms(CONV, [0, 1, 2])
    want = CONV * np.clip(n, 0, 1.5) / (EPS + n)
    np.testing.assert_allclose(apply(constraints.MaxNorm(1.5, axis=[0, 1, 2]), CONV), want, rtol=1e-12)


def test_non_neg_and_unit_norm():
    np.testing.assert_array_equal(apply(constraints.NonNeg(), DENSE), np.maximum(DENSE, 0))
    np.testing.assert_allclose(apply(constraints.UnitNorm(axis=1), DENSE), DENSE / (EPS + norms(DENSE, 1)), rtol=1e-12)


@pytest.mark.parametrize("rate", [1.0, 0.3])
def test_min_max_norm(rate):
    n = norms(DENSE, 0)
    desired = rate * np.clip(n, 0.5, 1.0) + (1 - rate) * n
    got = apply(constraints.MinMaxNorm(0.5, 1.0, rate=rate), DENSE)
    np.testing.assert_allclose(got, DENSE * desired / (EPS + n), rtol=1e-12)


def test_get_names_and_round_trip():
    assert constraints.get("max_norm") == constraints.MaxNorm()
    assert constraints.get("NonNeg") == constraints.NonNeg()
    assert constraints.get(None) is None
    for c in [constraints.MaxNorm(3, axis=[0, 1, 2]), constraints.NonNeg(), constraints.UnitNorm(axis=1),
              constraints.MinMaxNorm(0.1, 2.0, 0.5, axis=0)]:
        assert constraints.deserialize(constraints.serialize(c)) == c
        assert type(c).from_config(c.get_config()) == c


def test_errors():
    with pytest.raises(UnknownNameError, match="Did you mean 'max_norm'"):
        constraints.get("maxnorm_")
    with pytest.raises(ConfigError, match="min_value"):
        constraints.MinMaxNorm(2.0, 1.0)
    with pytest.raises(ArgumentTypeError, match="axis"):
        constraints.MaxNorm(axis="rows")
    with pytest.raises(UnknownNameError):
        constraints.deserialize({"class_name": "shutil.rmtree", "config": {}})

"""Regularizers against the Keras formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab import regularizers
from cnnlab.errors import ArgumentTypeError, ConfigError, UnknownNameError

W = np.random.default_rng(3).normal(size=(3, 3, 2, 4))


def penalty(reg):
    return float(reg(torch.tensor(W, dtype=torch.float64)))


def test_l1_l2_and_l1l2_formulas():
    assert penalty(regularizers.L1(0.02)) == pytest.approx(0.02 * np.abs(W).sum())
    assert penalty(regularizers.L2(0.03)) == pytest.approx(0.03 * (W**2).sum())  # no 1/2, as Keras
    assert penalty(regularizers.L1L2(l1=0.01, l2=0.02)) == pytest.approx(0.01 * np.abs(W).sum() + 0.02 * (W**2).sum())
    assert penalty(regularizers.L1L2()) == 0.0


def test_keras_defaults_and_shortcuts():
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2().get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}


def test_penalty_has_a_gradient():
    w = torch.ones(2, 2, requires_grad=True)
    regularizers.L2(0.5)(w).backward()
    # d/dw 0.5 * sum(w^2) = w
    assert torch.equal(w.grad, torch.ones(2, 2))


def test_get_accepts_names_instances_dicts_and_callables():
    assert regularizers.get("L2") == regularizers.L2()
    reg = regularizers.L1(0.1)
    assert regularizers.get(reg) is reg
    assert regularizers.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.0}}) == regularizers.L1L2(0.1)
    fn = lambda w: w.sum()  # noqa: E731
    assert regularizers.get(fn) is fn and regularizers.get(None) is None


def test_errors():
    with pytest.raises(UnknownNameError, match="Did you mean 'l2'"):
        regularizers.get("l_2")
    with pytest.raises(ConfigError, match="l2"):
        regularizers.L2(-1.0)
    with pytest.raises(ArgumentTypeError):
        regularizers.L1("big")
    with pytest.raises(ConfigError, match="plain function"):
        regularizers.serialize(lambda w: w.sum())
    with pytest.raises(UnknownNameError):
        regularizers.deserialize({"class_name": "os.remove", "config": {}})


def test_config_round_trip():
    for reg in [regularizers.L1(0.3), regularizers.L2(1e-4), regularizers.L1L2(1e-5, 1e-4)]:
        assert regularizers.deserialize(regularizers.serialize(reg)) == reg
        assert type(reg).from_config(reg.get_config()) == reg

"""Subclassed models: built on first call or by build(), and their limits."""

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers
from cnnlab.errors import NotBuiltError


class SmallNet(cnnlab.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(8, 3, activation="relu")
        self.pool = layers.MaxPooling2D(2)
        self.flatten = layers.Flatten()
        self.out = layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.out(self.flatten(self.pool(self.conv(x))))


# 28 -> conv 3 valid -> 26 -> pool 2 -> 13; 13*13*8 = 1352 features.
SMALL_NET_PARAMS = (3 * 3 * 1 * 8 + 8) + (1352 * 10 + 10)


def _x(shape=(2, 28, 28, 1)):
    return np.random.default_rng(0).random(shape, dtype=np.float32)


def test_count_params_before_build_says_how_to_build():
    model = SmallNet()
    assert not model.built
    with pytest.raises(NotBuiltError, match=r"model\(x\).*model\.build\(input_shape\)"):
        model.count_params()


def test_built_on_first_call():
    model = SmallNet()
    out = model(_x())
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2, 10)
    assert model.built
    assert model.count_params() == SMALL_NET_PARAMS
    assert [layer.name for layer in model.layers] == ["conv2d", "max_pooling2d", "flatten", "dense"]


def test_build_with_an_input_shape():
    model = SmallNet()
    model.build((None, 28, 28, 1))
    assert model.count_params() == SMALL_NET_PARAMS
    assert [w.shape for w in model.weights] == [(3, 3, 1, 8), (8,), (1352, 10), (10,)]


def test_subclassed_model_has_no_symbolic_input_but_says_what_to_use():
    model = SmallNet()
    model(_x())
    with pytest.raises(NotBuiltError, match="subclassed model"):
        model.input  # noqa: B018


def test_subclassed_model_is_a_torch_module_with_keras_weights():
    model = SmallNet()
    model(_x())
    assert isinstance(model, torch.nn.Module)
    assert sum(p.numel() for p in model.parameters()) == SMALL_NET_PARAMS


def test_subclassed_model_can_nest_a_sequential():
    class Wrapper(cnnlab.Model):
        def __init__(self):
            super().__init__()
            self.body = cnnlab.Sequential([layers.Conv2D(4, 3), layers.Flatten()])
            self.head = layers.Dense(2)

        def call(self, x):
            return self.head(self.body(x))

    model = Wrapper()
    assert tuple(model(_x((3, 6, 6, 1))).shape) == (3, 2)
    assert model.count_params() == (9 * 4 + 4) + (4 * 4 * 4 * 2 + 2)
    assert len(model.weights) == 4

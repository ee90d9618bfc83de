"""compile(jit_compile=True): the compiled forward times itself against eager steps once and warns if it loses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers
from cnnlab.training import jit
from cnnlab.training.jit import CompiledForward


class FakeClock:
    """Advances by the cost of the forward that last ran, so step times are what the test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _forward_pair(clock, compiled_cost: float, eager_cost: float):
    calls = []

    class Model(torch.nn.Module):
        name = "tiny"

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x, training=False):
            calls.append("eager")
            clock.now += eager_cost
            return x * self.w

    model = Model()

    def compiler(module):
        def run(x, training=False):
            calls.append("compiled")
            clock.now += compiled_cost
            return x * module.w
        return run

    return CompiledForward(model, compiler=compiler, clock=clock), calls


def _steps(forward, n: int) -> None:
    for _ in range(n):
        forward(torch.ones(2), training=True)


def test_a_slower_compiled_step_warns_once_with_both_figures():
    clock = FakeClock()
    forward, calls = _forward_pair(clock, compiled_cost=0.004, eager_cost=0.002)
    with pytest.warns(UserWarning, match=r"compiled training step took 4\.00 ms against 2\.00 ms eager \(2\.0x\)"):
        _steps(forward, jit.WARM_STEPS + 2 * jit.TIMED_STEPS + 1)
    assert forward.checked and forward.ratio == pytest.approx(2.0)
    assert calls.count("eager") == jit.TIMED_STEPS  # eager only while measuring
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _steps(forward, 20)  # no second warning, and compiled from then on
    assert calls[-20:] == ["compiled"] * 20


def test_a_faster_compiled_step_does_not_warn():
    clock = FakeClock()
    forward, _ = _forward_pair(clock, compiled_cost=0.001, eager_cost=0.002)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _steps(forward, jit.WARM_STEPS + 2 * jit.TIMED_STEPS + 5)
    assert forward.ratio == pytest.approx(0.5)


def test_inference_calls_are_compiled_and_not_timed():
    clock = FakeClock()
    forward, calls = _forward_pair(clock, compiled_cost=0.004, eager_cost=0.002)
    for _ in range(30):
        forward(torch.ones(2), training=False)
    assert set(calls) == {"compiled"} and not forward.checked


def test_fit_with_jit_compile_uses_the_guard(monkeypatch):
    seen = []

    def fake_compile(module, mode=None):
        seen.append(module)
        return module  # eager stands in for compiled: equal times, no warning

    monkeypatch.setattr(jit.torch, "compile", fake_compile)
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", jit_compile=True)
    x, y = np.random.default_rng(0).random((64, 4), dtype=np.float32), np.arange(64) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # real clocks: equal steps may time apart; the warning has its own tests
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert seen == [model] and isinstance(model._compiled_forward, CompiledForward)
    assert model._compiled_forward.checked and "_compiled_forward" not in model._modules


@pytest.mark.parametrize("device, mode", [("cuda", "reduce-overhead"), ("cpu", None), ("mps", None)])
def test_cuda_steps_compile_into_cuda_graphs(device, mode):
    assert jit.compile_mode(device) == mode


def test_the_default_compiler_is_torch_compile_in_the_mode_of_the_device(monkeypatch):
    asked = []
    monkeypatch.setattr(jit.torch, "compile", lambda module, mode=None: asked.append(mode) or module)
    model = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3)])
    CompiledForward(model)
    assert asked == [None]  # a CPU model: inductor's default mode

"""``compile(jit_compile=True)``: the forward pass through ``torch.compile``, checked against eager once.

``torch.compile`` (inductor) is a speed option, and speed options must never make training slower without
saying so. On the 2-core CPUs this project is benchmarked on, the compiled step of small CNNs measured
slower than cnnlab's eager kernels, after 30-60 s of compiling (bench/compile_probe.py). So a compiled
forward times whole training steps: after a few warm steps, a few compiled steps and then a few eager ones
(the same computation), and warns once, with both figures, when compiling loses. It keeps compiling, as
asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from cnnlab import _warnings

WARM_STEPS = 3  # compiled steps before timing: the first call compiles, the next ones may recompile
TIMED_STEPS = 5  # steps timed each way
SLOWER_THAN = 1.25  # compiled/eager step-time ratio from which it warns (equal steps measured up to 1.2x apart)


class CompiledForward:
    """Calls ``module`` through ``torch.compile``; the first steps also time it against eager calls.

    Args:
        module: the model (an ``nn.Module`` called as ``module(x, training=...)``).
        compiler: what compiles it (default ``torch.compile``; tests pass a stand-in).
        clock: seconds, monotonic.
    """

    def __init__(self, module: torch.nn.Module, compiler: Callable | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._module = module
        self._compiled = compiler(module) if compiler else torch.compile(module, mode=compile_mode(_device_of(module)))
        self._clock = clock
        self._calls = 0
        self._times: dict[str, list[float]] = {"compiled": [], "eager": []}
        self._last: tuple[str, float] | None = None  # (kind, start) of the step being timed
        self.checked = False
        self.ratio: float | None = None  # compiled / eager step time, once measured

    def __call__(self, x, training: bool):
        if self.checked or not training:
            return self._compiled(x, training=training)
        # A step is timed from its forward call to the next one, so the backward pass (compiled too) and the
        # optimizer count; the rest of the loop is the same both ways, and the fastest step of each kind is
        # compared, so an epoch boundary or a callback in between does not decide it.
        self._calls += 1
        kind = self._kind(self._calls)
        if self._calls > WARM_STEPS:
            _sync(x)
            now = self._clock()
            if self._last is not None:
                self._times[self._last[0]].append(now - self._last[1])
            if kind is None:
                self._judge()
                return self._compiled(x, training=training)
            self._last = (kind, now)
        forward = self._module if kind == "eager" else self._compiled
        return forward(x, training=training)

    @staticmethod
    def _kind(call: int) -> str | None:
        """Which forward the ``call``-th training step uses while measuring; None once measured."""
        if call <= WARM_STEPS + TIMED_STEPS:
            return "compiled"
        return "eager" if call <= WARM_STEPS + 2 * TIMED_STEPS else None

    def _judge(self) -> None:
        self.checked = True
        if not (self._times["compiled"] and self._times["eager"]):
            return
        compiled, eager = min(self._times["compiled"]), min(self._times["eager"])
        if eager <= 0:
            return
        self.ratio = compiled / eager
        if self.ratio >= SLOWER_THAN:
            device = _device_of(self._module)
            _warnings.warn(
                f"compile(jit_compile=True) makes model '{getattr(self._module, 'name', type(self._module).__name__)}' "
                f"slower here, not faster: a compiled training step took {compiled * 1e3:.2f} ms against "
                f"{eager * 1e3:.2f} ms eager ({self.ratio:.1f}x) on this {device.upper()} "
                f"({_capability(device)}), after the time spent compiling. cnnlab keeps compiling as asked; "
                "compile with jit_compile=False (or 'auto', which compiles nothing on a CPU) to train faster.")


def compile_mode(device: str) -> str | None:
    """``torch.compile``'s mode for a model on ``device``: on CUDA, ``"reduce-overhead"`` replays each step as
    a CUDA graph (one launch instead of one per kernel, which is what small models wait on); elsewhere the
    default mode (CUDA graphs do not exist on a CPU)."""
    return "reduce-overhead" if device == "cuda" else None


def _device_of(module: torch.nn.Module) -> str:
    param = next(module.parameters(), None)
    return "cpu" if param is None else param.device.type


def _capability(device: str) -> str:
    if device == "cpu":
        return torch.backends.cpu.get_cpu_capability()
    return torch.cuda.get_device_name() if device == "cuda" and torch.cuda.is_available() else device


def _sync(value) -> None:
    """Wait for queued CUDA work, so a step's time is its own (CPU work is synchronous)."""
    tensor = value if isinstance(value, torch.Tensor) else None
    if tensor is not None and tensor.is_cuda:
        torch.cuda.synchronize(tensor.device)

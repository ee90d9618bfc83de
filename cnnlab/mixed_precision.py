"""Mixed precision with Keras's names: ``set_global_policy("mixed_bfloat16")`` or ``"mixed_float16"``.

Under a mixed policy the weights stay float32 and the training step's forward
pass runs under ``torch.autocast`` in bfloat16 or float16: convolutions and
matrix products run in half the memory traffic, on CPUs with AVX512-BF16/AMX
and on recent GPUs. ``evaluate`` and ``predict`` keep computing in float32, so
a model gives the same outputs for the same weights whatever the policy.
``mixed_float16`` also needs loss scaling (float16's range is narrow): under it
``compile`` wraps the optimizer in a :class:`LossScaleOptimizer`, as Keras does.

Example:
    >>> from cnnlab import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")
    >>> mixed_precision.global_policy().compute_dtype
    'bfloat16'
    >>> mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from cnnlab import _warnings
from cnnlab.errors import ConfigError, did_you_mean
from cnnlab.optimizers.loss_scale_optimizer import LossScaleOptimizer

_POLICIES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


class Policy:
    """A dtype policy: ``"float32"`` (default), ``"mixed_bfloat16"`` or ``"mixed_float16"``.

    Args:
        name: the policy name, as in Keras.
    """

    def __init__(self, name: str):
        if name not in _POLICIES:
            raise ConfigError(f"Unknown dtype policy {name!r}.{did_you_mean(str(name), _POLICIES)} Valid policies: "
                              f"{', '.join(_POLICIES)}. Received: name={name!r}")
        self.name = name

    @property
    def compute_dtype(self) -> str:
        return _POLICIES[self.name]

    @property
    def variable_dtype(self) -> str:
        return "float32"

    def autocast_dtype(self) -> torch.dtype | None:
        """The dtype training autocasts to, or None for full float32."""
        return None if self.name == "float32" else getattr(torch, self.compute_dtype)

    def __repr__(self) -> str:
        return f'<Policy "{self.name}">'


_GLOBAL = Policy("float32")


def set_global_policy(policy: str | Policy) -> None:
    """Set the policy that models compiled from now on train with."""
    global _GLOBAL
    _GLOBAL = policy if isinstance(policy, Policy) else Policy(policy)


def global_policy() -> Policy:
    """The current global policy (``float32`` unless set)."""
    return _GLOBAL


# --------------------------------------------------------------------------------- no speed trap on this machine
SLOWER_THAN = 1.15  # a mixed policy measured this much slower than float32 (a conv step) gets a warning
_MEASURED: dict[tuple[str, str], float] = {}  # (device type, dtype) -> slowdown vs float32, measured once
_WARNED: set[str] = set()  # policies already warned about in this process


def native_cpu_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 / AMX), as oneDNN reports it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


# Why each half type is slow on a CPU, and where it pays off. oneDNN's float16 report is not trusted: on a Xeon
# where _is_mkldnn_fp16_supported() is True (AVX512-FP16, AMX), a float16 conv step measured 110-140x slower than
# float32 (torch 2.13), so float16 is always measured.
_WHY_SLOW = {torch.bfloat16: ("no native bfloat16: oneDNN reports no AVX512-BF16/AMX",
                              "on CPUs with AVX512-BF16 or AMX and on recent GPUs"),
             torch.float16: ("torch's CPU float16 convolutions are slow", "on recent GPUs")}


def _conv_step_seconds(dtype: torch.dtype | None, device: torch.device, repeats: int = 3) -> float:
    """Best time of a small convolution forward + backward (the main job's kind of work), autocast to ``dtype``."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 16, 28, 28, generator=gen).to(device)
    w = torch.randn(32, 16, 3, 3, generator=gen).to(device).requires_grad_(True)
    best = float("inf")
    for _ in range(repeats + 1):  # the first round warms oneDNN's kernel cache up
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            out = F.conv2d(x, w, padding=1)
        out.float().sum().backward()
        best = min(best, time.perf_counter() - start)
        w.grad = None
    return best


def measured_slowdown(dtype: torch.dtype, device: torch.device) -> float:
    """How many times slower a conv step runs autocast to ``dtype`` than in float32 here (measured once, ~50 ms)."""
    key = (device.type, str(dtype))
    if key not in _MEASURED:
        _MEASURED[key] = _conv_step_seconds(dtype, device) / max(_conv_step_seconds(None, device), 1e-9)
    return _MEASURED[key]


def warn_if_slower(policy: Policy, device: torch.device) -> None:
    """Warn once when the policy would make training slower on this machine: e.g. ``mixed_bfloat16`` on a CPU
    without native bfloat16 (most laptops: AVX2 only) runs several times slower than float32, and
    ``mixed_float16`` on a CPU is far slower still (always measured)."""
    dtype = policy.autocast_dtype()
    if dtype is None or device.type != "cpu" or policy.name in _WARNED or (
            dtype == torch.bfloat16 and native_cpu_bfloat16()):
        return
    slowdown = measured_slowdown(dtype, device)
    if slowdown < SLOWER_THAN:
        return
    capability = torch.backends.cpu.get_cpu_capability()
    why, where = _WHY_SLOW[dtype]
    _WARNED.add(policy.name)
    _warnings.warn(
        f"The '{policy.name}' policy makes training slower on this CPU, not faster: a convolution step measured "
        f"{slowdown:.1f}x slower than in float32 here ({capability}, {why}). Keep the default policy: "
        f"mixed_precision.set_global_policy('float32'). Mixed precision pays off {where}.")

"""Mixed precision with Keras's names: ``set_global_policy("mixed_bfloat16")``.

Under a mixed policy the weights stay float32 and the training step's forward
pass runs under ``torch.autocast`` in bfloat16: convolutions and matrix
products run in half the memory traffic, on CPUs with AVX512-BF16/AMX and on
recent GPUs. ``evaluate`` and ``predict`` keep computing in float32, so a
model gives the same outputs for the same weights whatever the policy.

Example:
    >>> from cnnlab import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")
    >>> mixed_precision.global_policy().compute_dtype
    'bfloat16'
    >>> mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

import torch

from cnnlab.errors import ConfigError, did_you_mean

_POLICIES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


class Policy:
    """A dtype policy: ``"float32"`` (default) or ``"mixed_bfloat16"``.

    Args:
        name: the policy name, as in Keras.
    """

    def __init__(self, name: str):
        if name not in _POLICIES:
            raise ConfigError(f"Unknown dtype policy {name!r}.{did_you_mean(str(name), _POLICIES)} Valid policies: "
                              f"{', '.join(_POLICIES)}. Received: name={name!r}")
        if name == "mixed_float16":
            raise ConfigError(
                "The 'mixed_float16' policy needs loss scaling, which cnnlab does not provide; use "
                "'mixed_bfloat16' (same speed-up on recent GPUs and CPUs, no loss scaling needed). "
                "Received: name='mixed_float16'"
            )
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

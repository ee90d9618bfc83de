"""Learning-rate schedules with Keras 3 names, arguments and formulas.

A schedule maps the optimizer's step count (``optimizer.iterations``, read
before the step is counted, so the first update uses ``schedule(0)``) to a
learning rate. Pass one as ``learning_rate`` to any optimizer.

Schedules compute on the host in Python floats: the step count lives on the
host, so reading the rate never waits for the device.

Example:
    >>> from cnnlab.optimizers import SGD, schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    >>> round(float(lr(1000)), 6)
    0.096
    >>> opt = SGD(learning_rate=lr)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cnnlab._registry import ConfigObject, Registry
from cnnlab.errors import ArgumentTypeError, ConfigError


class LearningRateSchedule(ConfigObject):
    """Base class of learning-rate schedules.

    Subclass it and override ``__call__(step)`` and ``get_config()``.

    Example:
        >>> class InverseStep(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / (step + 1)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-serialisable."""
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` to be saved."
        )


def _positive_steps(value: Any, arg: str, who: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{who}: `{arg}` must be a number > 0. Received: {arg}={value!r}")
    return value


def _number(value: Any, arg: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{who}: `{arg}` must be a number. Received: {arg}={value!r}")
    return value


def _rate(value: Any, arg: str, who: str) -> float:
    """A learning rate the schedule starts from or reaches: NaN, infinite or negative would wreck the weights."""
    value = _number(value, arg, who)
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{who}: `{arg}` must be a finite number >= 0 (e.g. 0.001). Received: {arg}={value!r}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps over which the rate is multiplied by ``decay_rate``; > 0.
        decay_rate: the multiplier per ``decay_steps``.
        staircase: if True, ``step / decay_steps`` is floored, so the rate
            drops in steps.
        name: kept for Keras compatibility.

    Example:
        >>> ExponentialDecay(0.1, 10, 0.5, staircase=True)(19)
        0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate", "ExponentialDecay")
        self.decay_steps = _positive_steps(decay_steps, "decay_steps", "ExponentialDecay")
        self.decay_rate = _number(decay_rate, "decay_rate", "ExponentialDecay")
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step: int) -> float:
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` while ``step <= boundaries[1]``, ...

    Args:
        boundaries: strictly increasing step numbers.
        values: one more value than there are boundaries.
        name: kept for Keras compatibility.

    Example:
        >>> lr = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
        >>> lr(100), lr(101), lr(201)
        (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float], name: str = "PiecewiseConstant") -> None:
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ConfigError(
                "PiecewiseConstantDecay: `values` must have exactly one more element than `boundaries`. "
                f"Received: boundaries={boundaries} (length {len(boundaries)}), values={values} (length {len(values)})"
            )
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ConfigError(f"PiecewiseConstantDecay: `boundaries` must increase strictly. Received: boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = [_rate(value, "values", "PiecewiseConstantDecay") for value in values]
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warm-up, then a cosine decay to ``alpha`` times the peak rate.

    Without warm-up (``warmup_target=None``) the rate at step ``s`` is
    ``initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, decay_steps) / decay_steps)) + alpha)``.
    With warm-up it rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps``, then decays from ``warmup_target``
    over ``decay_steps``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps of the cosine decay; > 0.
        alpha: the final rate as a fraction of the peak rate.
        name: kept for Keras compatibility.
        warmup_target: the peak rate reached after warm-up, or None for no warm-up.
        warmup_steps: steps of the warm-up.

    Example:
        >>> CosineDecay(1.0, decay_steps=10)(5)
        0.5
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str = "CosineDecay",
                 warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate", "CosineDecay")
        self.decay_steps = _positive_steps(decay_steps, "decay_steps", "CosineDecay")
        self.alpha = _number(alpha, "alpha", "CosineDecay")
        self.name = name
        self.warmup_target = None if warmup_target is None else _rate(warmup_target, "warmup_target", "CosineDecay")
        self.warmup_steps = warmup_steps

    def _decayed(self, step: float, peak: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return peak * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        step = float(step)
        if self.warmup_target is None:
            return self._decayed(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * fraction + self.initial_learning_rate
        return self._decayed(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_REGISTRY = Registry(
    "schedule", LearningRateSchedule, classes=(ExponentialDecay, PiecewiseConstantDecay, CosineDecay),
    module="optimizers.schedules",
)


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` for a schedule.

    A user-defined subclass serialises too; loading it needs the class in
    ``custom_objects``.
    """
    return _REGISTRY.serialize(schedule)


def deserialize(config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from :func:`serialize` output.

    Only the built-in table and ``custom_objects`` are searched; nothing is
    imported by name. Keras's extra keys (``module``, ``registered_name``)
    are ignored.

    Raises:
        UnknownNameError: the class name is neither built in nor in ``custom_objects``.
    """
    return _REGISTRY.deserialize(config, custom_objects)

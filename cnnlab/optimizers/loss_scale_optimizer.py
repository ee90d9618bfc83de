"""Dynamic loss scaling for ``mixed_float16`` training (Keras 3's ``LossScaleOptimizer``).

float16 keeps about 6e-8 as its smallest value, so small gradients computed in
float16 underflow to zero. The loss is multiplied by a large scale before the
backward pass, which lifts the gradients into float16's range; the wrapped
optimizer then sees them divided by the same scale. The scale adapts, with
Keras's rules:

- a step whose gradients hold any inf or NaN is skipped (weights, slots and the
  step count are left alone), the scale is halved and the good-step counter
  reset;
- after ``dynamic_growth_steps`` good steps in a row the scale doubles.

Checking the gradients costs one host synchronisation per step (as
``torch.amp.GradScaler`` does), since skipping is decided on the host.
``model.compile`` wraps the optimizer in one automatically under the
``mixed_float16`` policy, as Keras does.

Example:
    >>> from cnnlab import optimizers
    >>> opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1))
    >>> float(opt.dynamic_scale)
    32768.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, ConfigError
from cnnlab.optimizers import registry
from cnnlab.optimizers.optimizer import Optimizer, _saved_scalar

Tensor = torch.Tensor

KERAS_INITIAL_SCALE = 2.0 ** 15  # keras/src/optimizers/loss_scale_optimizer.py defaults
KERAS_GROWTH_STEPS = 2000
# Arguments Keras accepted on older LossScaleOptimizer configs, and still loads when they hold these defaults.
_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                  "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}
_OWN_STATE = ("step_counter", "dynamic_scale")


def _float32(value: float) -> float:
    """``value`` rounded as Keras's float32 ``dynamic_scale`` variable holds it."""
    return float(np.float32(value))


@registry.register_wrapper
class LossScaleOptimizer(Optimizer):
    """Wrap an optimizer with dynamic loss scaling (for the ``mixed_float16`` policy).

    Args:
        inner_optimizer: the optimizer that updates the weights (an ``Optimizer`` instance).
        initial_scale: the first loss scale (Keras: ``2**15``); a high start is cheap, since a scale that is
            too high falls by half at every overflowing step.
        dynamic_growth_steps: the scale doubles after this many steps in a row with finite gradients.
        name: the optimizer's name (default ``"loss_scale_optimizer"``).

    Shape:
        ``scale_loss(loss)``: any shape; the loss times the current scale.

    Example:
        >>> opt = LossScaleOptimizer(SGD(learning_rate=0.1), initial_scale=1024.0)
        >>> model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = KERAS_INITIAL_SCALE,
                 dynamic_growth_steps: int = KERAS_GROWTH_STEPS, name: str | None = None, **kwargs: Any) -> None:
        who = type(self).__name__
        if not kwargs.pop("dynamic", True):
            raise ConfigError(f"{who} only scales dynamically; for a fixed scale set `loss_scale_factor` on the "
                              "inner optimizer instead, e.g. SGD(loss_scale_factor=128.0). Received: dynamic=False")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ConfigError(f"{who} does not take `{arg}`; set it on the inner optimizer instead, e.g. "
                                  f"{who}(Adam({arg}=...)). Received: {arg} set on {who}")
        if kwargs:
            raise ArgumentTypeError(f"{who} got unexpected arguments {sorted(kwargs)}: it takes inner_optimizer, "
                                    f"initial_scale, dynamic_growth_steps and name. Received: {kwargs!r}")
        if not isinstance(inner_optimizer, Optimizer) or isinstance(inner_optimizer, LossScaleOptimizer):
            raise ArgumentTypeError(
                f"{who}: `inner_optimizer` must be an optimizer instance such as optimizers.Adam() (not a name and "
                f"not another {who}). Received: inner_optimizer={inner_optimizer!r}")
        if isinstance(initial_scale, bool) or not isinstance(initial_scale, (int, float)) \
                or not (math.isfinite(initial_scale) and initial_scale > 0):
            raise ConfigError(f"{who}: `initial_scale` must be a finite number > 0 (Keras's default is 2**15). "
                              f"Received: initial_scale={initial_scale!r}")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, (int, np.integer)) \
                or dynamic_growth_steps < 1:
            raise ConfigError(f"{who}: `dynamic_growth_steps` must be an int >= 1 (Keras's default is 2000). "
                              f"Received: dynamic_growth_steps={dynamic_growth_steps!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        # The wrapper unscales the gradients; the inner optimizer must not do it a second time.
        self.inner_optimizer.loss_scale_factor = None
        self._scale = _float32(self.initial_scale)
        self._good_steps = 0

    # ------------------------------------------------------------------ the scale
    @property
    def dynamic_scale(self) -> Tensor:
        """The current loss scale, a float32 scalar (Keras's ``dynamic_scale`` variable)."""
        return torch.tensor(self._scale, dtype=torch.float32)

    @property
    def step_counter(self) -> Tensor:
        """Good steps since the scale last changed, an int32 scalar (Keras's ``step_counter`` variable)."""
        return torch.tensor(self._good_steps, dtype=torch.int32)

    def scale_loss(self, loss: Tensor) -> Tensor:
        """The loss times the current scale: call ``backward()`` on this, then ``apply`` unscales."""
        return loss * (self._scale if self.built else _float32(self.initial_scale))

    @staticmethod
    def check_finite(grads: Sequence[Tensor | None]) -> bool:
        """Whether every gradient is finite (one fused max-abs per gradient, then one host read)."""
        present = [g for g in grads if g is not None]
        if not present:
            return True
        largest = torch.stack(torch._foreach_norm(present, math.inf)).max()  # inf and NaN both survive the max
        return bool(torch.isfinite(largest))

    # -------------------------------------------------------------- the inner one
    @property
    def iterations(self) -> int:
        """The inner optimizer's step count: skipped steps are not counted, as in Keras."""
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.inner_optimizer.iterations = value

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self.inner_optimizer.learning_rate = value

    def build(self, variables: Sequence[Tensor]) -> None:
        if self.built:
            return
        super().build(variables)
        self.inner_optimizer._ensure_built(self._params)

    def _apply(self, grads: list[Tensor], params: list[Tensor]) -> None:
        if not self.check_finite(grads):
            self._good_steps = 0
            self._scale = _float32(self._scale * 0.5)
            return
        self.inner_optimizer._apply(torch._foreach_div(grads, self._scale), params)
        if self._good_steps == self.dynamic_growth_steps - 1:
            self._good_steps = 0
            self._scale = _float32(self._scale * 2.0)
        else:
            self._good_steps += 1

    def finalize_variable_values(self, var_list: Sequence[Tensor]) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # --------------------------------------------------------------------- state
    def _state_prefix(self) -> str:
        return "loss_scale_optimizer"

    def state_dict(self) -> dict[str, Tensor]:
        """The inner optimizer's state (its keys, ``iterations`` included) plus
        ``loss_scale_optimizer/step_counter`` and ``loss_scale_optimizer/dynamic_scale``."""
        prefix = self._state_prefix()
        return {**self.inner_optimizer.state_dict(), f"{prefix}/step_counter": self.step_counter,
                f"{prefix}/dynamic_scale": self.dynamic_scale}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (the scale and counter, then the inner optimizer's state)."""
        state = dict(state)
        prefix, who = self._state_prefix(), f"optimizer '{self.name}' ({type(self).__name__})"
        own = {name: state.pop(f"{prefix}/{name}", None) for name in _OWN_STATE}
        if own["dynamic_scale"] is not None:
            scale = float(_saved_scalar({"dynamic_scale": own["dynamic_scale"]}, "dynamic_scale", who))
            if not (math.isfinite(scale) and scale > 0):
                raise ConfigError(f"{who}: saved state `dynamic_scale` must be a finite number > 0; pass a state "
                                  f"from state_dict(). Received: dynamic_scale={scale!r}")
            self._scale = _float32(scale)
        if own["step_counter"] is not None:
            count = float(_saved_scalar({"step_counter": own["step_counter"]}, "step_counter", who))
            if not (count.is_integer() and 0 <= count < self.dynamic_growth_steps):
                raise ConfigError(f"{who}: saved state `step_counter` must be an integer in [0, "
                                  f"{self.dynamic_growth_steps}); pass a state from state_dict(). "
                                  f"Received: step_counter={count!r}")
            self._good_steps = int(count)
        self.inner_optimizer.load_state_dict(state)

    # -------------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """Keras's layout: name, the inner optimizer serialised, initial_scale, dynamic_growth_steps."""
        inner = type(self.inner_optimizer)
        builtin = inner.__module__.split(".")[0] == "cnnlab"
        return {"name": self.name,
                "inner_optimizer": {"module": "keras.optimizers" if builtin else inner.__module__,
                                    "class_name": inner.__name__, "config": self.inner_optimizer.get_config(),
                                    "registered_name": None if builtin else inner.__name__},
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: Mapping[str, Any],
                    custom_objects: Mapping[str, Any] | None = None) -> LossScaleOptimizer:
        config = dict(config)
        if "inner_optimizer" not in config:
            raise ConfigError("LossScaleOptimizer config has no 'inner_optimizer'; pass a config from get_config(). "
                              f"Received: keys={sorted(config)}")
        inner = registry.deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)

    def __repr__(self) -> str:
        return (f"<LossScaleOptimizer name={self.name!r} inner={self.inner_optimizer!r} "
                f"dynamic_scale={self._scale!r}>")

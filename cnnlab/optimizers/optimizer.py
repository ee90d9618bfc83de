"""The optimizer base class: Keras 3 arguments and bookkeeping, PyTorch updates.

Each step does, in Keras's order: drop parameters without a gradient, clip the
gradients (``clipnorm``, ``global_clipnorm`` or ``clipvalue``), decay the
weights (``weight_decay``: ``w -= w * weight_decay * lr``), apply the
algorithm's update, apply each parameter's ``constraint`` (if it has one), then
count the step. The learning rate is read once per step at the step count
*before* it is incremented.

Built-in optimizers update every parameter at once with ``torch._foreach_*``
kernels; the learning rate and step count are host numbers, so a step never
waits for the device.

Example:
    >>> import torch
    >>> from cnnlab.optimizers import SGD
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> opt = SGD(learning_rate=0.1)
    >>> opt.apply_gradients([(torch.ones(3), w)])
    >>> w.data
    tensor([0.9000, 0.9000, 0.9000])
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, did_you_mean
from cnnlab.optimizers import schedules

Tensor = torch.Tensor

# Keras arguments cnnlab accepts only at their Keras default values.
_UNSUPPORTED_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                         "gradient_accumulation_steps": None}
_COMMON_ARGS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "name",
                "loss_scale_factor", *_UNSUPPORTED_DEFAULTS)

_name_counts: dict[str, int] = {}


def _auto_name(cls_name: str) -> str:
    """snake_case class name with a per-process counter, as Keras names objects."""
    base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", cls_name).lower()
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def _check_nonneg(value: Any, arg: str, who: str, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{who}: `{arg}` must be a float. Received: {arg}={value!r}")
    if not value >= 0:  # also rejects NaN
        raise ConfigError(f"{who}: `{arg}` must be >= 0. Received: {arg}={value!r}")
    return float(value)


def _check_fraction(value: Any, arg: str, who: str) -> float:
    value = _check_nonneg(value, arg, who, allow_none=False)
    if value > 1:
        raise ConfigError(f"{who}: `{arg}` must be a float in [0, 1]. Received: {arg}={value!r}")
    return value


def _check_learning_rate(value: Any, who: str) -> Any:
    """Return a float, a schedule or a callable; reject anything else."""
    if isinstance(value, schedules.LearningRateSchedule) or callable(value):
        return value
    if isinstance(value, Tensor) and value.numel() == 1:
        value = float(value)
    # numbers.Real also admits NumPy scalars, which schedule functions often return.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{who}: `learning_rate` must be a float, a LearningRateSchedule or a callable returning a float. "
            f"Received: learning_rate={value!r}"
        )
    # A NaN, infinite or negative rate (e.g. -1e30 in an edited config) would silently wreck the weights.
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{who}: `learning_rate` must be a finite number >= 0 (e.g. 0.001). "
                          f"Received: learning_rate={value!r}")
    return float(value)


def _saved_scalar(state: Mapping[str, Any], key: str, who: str) -> Tensor:
    """``state[key]`` as a one-value tensor, or ConfigError naming the key (a saved state is not trusted)."""
    value = torch.as_tensor(state[key])
    if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
        raise ConfigError(f"{who}: saved state `{key}` must be one number; pass a state from state_dict(). "
                          f"Received: {key} of shape {tuple(value.shape)} and dtype {value.dtype}")
    return value.reshape(())


def _saved_iterations(state: Mapping[str, Any], who: str) -> int:
    value = _saved_scalar(state, "iterations", who)
    if value.is_floating_point() and not float(value).is_integer() or float(value) < 0:
        raise ConfigError(f"{who}: saved state `iterations` must be an integer >= 0; pass a state from "
                          f"state_dict(). Received: iterations={float(value)!r}")
    return int(value)


def _tensor_of(variable: Any) -> Tensor:
    """The tensor of a cnnlab Variable (``model.trainable_weights`` lists them), or the tensor itself."""
    return variable if isinstance(variable, Tensor) else variable.value


class Optimizer:
    """Base class of cnnlab optimizers (Keras 3 ``keras.optimizers.Optimizer``).

    A custom optimizer overrides ``build(variables)`` (create state with
    :meth:`add_variable_from_reference`) and ``update_step(gradient, variable,
    learning_rate)``, as in Keras. Built-in optimizers instead override
    ``_update(grads, params, slots, lr)``, which updates all parameters at once.

    Args:
        learning_rate: a float, a :class:`~cnnlab.optimizers.schedules.LearningRateSchedule`
            (called with the step count) or a callable with no arguments.
        weight_decay: if set, each step first does ``w -= w * weight_decay * lr``.
        clipnorm: if set, each gradient is scaled so its L2 norm is at most this.
        clipvalue: if set, each gradient is clipped to ``[-clipvalue, clipvalue]``.
        global_clipnorm: if set, all gradients are scaled together so their
            joint L2 norm is at most this. At most one clipping argument may be set.
        name: the optimizer's name; defaults to the snake_case class name.
        loss_scale_factor: if set, gradients are divided by it before anything else.
        use_ema, ema_momentum, ema_overwrite_frequency, gradient_accumulation_steps:
            accepted at their Keras defaults only (so Keras configs load); other
            values raise :class:`ConfigError`.
    """

    def __init__(self, learning_rate: Any, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        who = type(self).__name__
        self._check_kwargs(kwargs, who)
        self.name = name if name is not None else _auto_name(who)
        self.weight_decay = _check_nonneg(weight_decay, "weight_decay", who)
        self.clipnorm = _check_nonneg(clipnorm, "clipnorm", who)
        self.clipvalue = _check_nonneg(clipvalue, "clipvalue", who)
        self.global_clipnorm = _check_nonneg(global_clipnorm, "global_clipnorm", who)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ConfigError(
                f"{who}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if loss_scale_factor is not None and not _check_nonneg(loss_scale_factor, "loss_scale_factor", who):
            raise ConfigError(f"{who}: `loss_scale_factor` must be > 0. Received: loss_scale_factor={loss_scale_factor}")
        self.loss_scale_factor = loss_scale_factor
        self._learning_rate = _check_learning_rate(learning_rate, who)
        self._iterations = 0
        self.built = False
        self._params: list[Tensor] = []
        self._index: dict[int, int] = {}
        self._slots: dict[str, list[Tensor]] = {}
        self._scalars: dict[str, float] = {}
        self._constrained: list[tuple[Tensor, Callable[[Tensor], Tensor]]] = []
        self._decay_excluded_ids: set[int] = set()
        self._decay_excluded_pattern: re.Pattern[str] | None = None
        self._decayed_params: list[Tensor] | None = None
        self._pending_state: dict[str, Tensor] | None = None

    @staticmethod
    def _check_kwargs(kwargs: dict[str, Any], who: str) -> None:
        for key, value in kwargs.items():
            if key in _UNSUPPORTED_DEFAULTS:
                if value != _UNSUPPORTED_DEFAULTS[key]:
                    raise ConfigError(
                        f"{who}: `{key}` is not supported by cnnlab yet; leave it at its default "
                        f"({_UNSUPPORTED_DEFAULTS[key]!r}). Received: {key}={value!r}"
                    )
            elif key == "decay":
                warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
            else:
                # Keras 2.3 renamed `lr`; tutorials still pass it, and it is too short for did_you_mean.
                hint = " Use `learning_rate` instead." if key == "lr" else did_you_mean(key, _COMMON_ARGS)
                raise ArgumentTypeError(
                    f"{who} got an unexpected keyword argument {key!r}.{hint} "
                    f"Received: {key}={value!r}"
                )

    # ------------------------------------------------------------ learning rate

    @property
    def iterations(self) -> int:
        """Number of steps applied so far (0 before the first step)."""
        return self._iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        if isinstance(value, bool) or int(value) != value or value < 0:
            raise ConfigError(f"{self.name}: `iterations` must be an int >= 0. Received: iterations={value!r}")
        self._iterations = int(value)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step, as a float (also under a schedule)."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise ArgumentTypeError(
                f"optimizer '{self.name}' was created with a LearningRateSchedule as its learning rate, so "
                "a number cannot be set (a callback such as ReduceLROnPlateau or LearningRateScheduler "
                "needs a float learning rate). Create the optimizer with a float learning_rate, or assign "
                f"a new schedule. Received: learning_rate={value!r}"
            )
        self._learning_rate = _check_learning_rate(value, self.name)

    def _current_learning_rate(self) -> float:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = lr(self._iterations)
        elif callable(lr):
            lr = lr()
        return float(lr)

    # ------------------------------------------------------------------- state

    def build(self, variables: Sequence[Tensor]) -> None:
        """Create the optimizer's state for ``variables`` on their devices.

        Subclasses call ``super().build(variables)`` first, then create their
        per-variable state. Building twice does nothing.
        """
        if self.built:
            return
        self._params = [_tensor_of(v) for v in variables]
        self._index = {id(p): i for i, p in enumerate(self._params)}
        self._constrained = [(p, p.constraint) for p in self._params if getattr(p, "constraint", None) is not None]
        self.built = True

    def _ensure_built(self, params: Sequence[Tensor]) -> None:
        if not self.built:
            self.build([_tensor_of(p) for p in params])
        if self._pending_state is not None:
            pending, self._pending_state = self._pending_state, None
            self.load_state_dict(pending)

    def add_variable_from_reference(self, reference_variable: Tensor, name: str = "var",
                                    initializer: str | float = "zeros") -> Tensor:
        """Create one state tensor shaped like ``reference_variable`` and track it under ``name``.

        Args:
            reference_variable: the parameter the state belongs to.
            name: the state's kind, e.g. ``"momentum"``; used in :meth:`state_dict` keys.
            initializer: ``"zeros"``, ``"ones"`` or a constant float.
        """
        fill = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer) if isinstance(initializer, str) else initializer
        if isinstance(fill, str) or isinstance(fill, bool) or not isinstance(fill, (int, float)):
            raise ConfigError(
                f"{self.name}: optimizer state initializer must be 'zeros', 'ones' or a float. "
                f"Received: initializer={initializer!r}"
            )
        with torch.no_grad():
            value = torch.full_like(reference_variable, float(fill), memory_format=torch.preserve_format)
        self._slots.setdefault(name, []).append(value)
        return value

    def add_optimizer_variables(self, variables: Sequence[Tensor], name: str,
                                initializer: str | float = "zeros") -> list[Tensor]:
        """One state tensor per variable (see :meth:`add_variable_from_reference`)."""
        return [self.add_variable_from_reference(v, name, initializer) for v in variables]

    def _get_variable_index(self, variable: Tensor) -> int:
        return self._index[id(variable)]

    @property
    def variables(self) -> list[Tensor]:
        """The optimizer's state tensors (as in :meth:`state_dict`, without the step count)."""
        return [t for k, t in self.state_dict().items() if k != "iterations"]

    def _state_prefix(self) -> str:
        return type(self).__name__.lower()

    def state_dict(self) -> dict[str, Tensor]:
        """Return the optimizer's state as a flat dict of tensors (safetensors-ready).

        Keys: ``"iterations"``, ``"learning_rate"`` (when it is a float), and
        ``"<class>/<state>/<i>"`` for the state of the i-th built variable,
        e.g. ``"adam/momentum/0"``. Tensors are detached clones.
        """
        if self.built and self._pending_state is not None:
            self._ensure_built(self._params)
        state = {"iterations": torch.tensor(self._iterations, dtype=torch.int64)}
        if isinstance(self._learning_rate, float):
            state["learning_rate"] = torch.tensor(self._learning_rate, dtype=torch.float64)
        prefix = self._state_prefix()
        for name, value in self._scalars.items():
            state[f"{prefix}/{name}"] = torch.tensor(value, dtype=torch.float64)
        for name, tensors in self._slots.items():
            for i, t in enumerate(tensors):
                state[f"{prefix}/{name}/{i}"] = t.detach().clone()
        return state

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        """Restore state saved by :meth:`state_dict`.

        On an optimizer that is not built yet, the state is kept and applied
        when :meth:`build` runs (the first step), so a model can be loaded
        before training resumes.

        Raises:
            ConfigError: the state is for another optimizer or other variables.
        """
        state = dict(state)
        who = f"optimizer '{self.name}' ({type(self).__name__})"
        iterations = _saved_iterations(state, who) if "iterations" in state else None
        learning_rate = None
        if "learning_rate" in state and not isinstance(self._learning_rate, schedules.LearningRateSchedule):
            learning_rate = _check_learning_rate(float(_saved_scalar(state, "learning_rate", who)), who)
        if not self.built:
            self._pending_state = state
            if iterations is not None:
                self._iterations = iterations
            if learning_rate is not None:
                self._learning_rate = learning_rate
            return
        expected = self.state_dict()
        if set(state) <= {"iterations", "learning_rate"}:
            # Saved before the first step (compiled, never trained): the fresh state is the saved one.
            state = {**expected, **state}
        if set(state) - {"learning_rate"} != set(expected) - {"learning_rate"}:
            missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
            raise ConfigError(
                f"optimizer '{self.name}' ({type(self).__name__}) cannot load this state: it was saved by "
                f"another optimizer or for other variables. Missing keys: {missing[:5]}; unexpected keys: "
                f"{extra[:5]}. Compile the model with the optimizer it was saved with. Received: {len(state)} keys"
            )
        prefix = self._state_prefix()
        for name, tensors in self._slots.items():
            for i, t in enumerate(tensors):
                saved = state[f"{prefix}/{name}/{i}"]
                if tuple(saved.shape) != tuple(t.shape):
                    raise ConfigError(
                        f"optimizer '{self.name}': saved state '{prefix}/{name}/{i}' has shape {tuple(saved.shape)}, "
                        f"but the variable has shape {tuple(t.shape)}. The state belongs to another model. "
                        f"Received: shape={tuple(saved.shape)}"
                    )
                with torch.no_grad():
                    t.copy_(saved)
        for name in self._scalars:
            self._scalars[name] = float(state[f"{prefix}/{name}"])
        self._iterations = _saved_iterations(state, who)
        if learning_rate is not None:
            self._learning_rate = learning_rate

    # ------------------------------------------------------------ weight decay

    def exclude_from_weight_decay(self, var_list: Iterable[Tensor] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Exclude variables from weight decay (before the optimizer is built).

        Args:
            var_list: parameters to exclude.
            var_names: substrings; a parameter whose ``name`` or ``path``
                attribute contains one of them is excluded (e.g. ``["bias"]``).
        """
        if self.built:
            raise ConfigError(
                f"optimizer '{self.name}': exclude_from_weight_decay() must be called before the optimizer is "
                "built (before the first training step). Received: built=True"
            )
        self._decay_excluded_ids = {id(v) for v in var_list or ()}
        names = [re.escape(n) for n in var_names or ()]
        self._decay_excluded_pattern = re.compile("|".join(names)) if names else None

    def _uses_weight_decay(self, param: Tensor) -> bool:
        if id(param) in self._decay_excluded_ids:
            return False
        if self._decay_excluded_pattern is None:
            return True
        label = str(getattr(param, "path", None) or getattr(param, "name", None) or "")
        return self._decay_excluded_pattern.search(label) is None

    def _apply_weight_decay(self, params: list[Tensor], lr: float) -> None:
        if not self.weight_decay:
            return
        if self._decay_excluded_ids or self._decay_excluded_pattern is not None:
            params = [p for p in params if self._uses_weight_decay(p)]
        if params:
            torch._foreach_mul_(params, 1.0 - self.weight_decay * lr)

    # ----------------------------------------------------------------- clipping

    def _clip_gradients(self, grads: list[Tensor]) -> list[Tensor]:
        if self.clipnorm:
            # Keras: g * clipnorm / max(||g||, clipnorm), per gradient.
            norms = torch._foreach_norm(grads)
            torch._foreach_clamp_min_(norms, self.clipnorm)
            scales = torch._foreach_reciprocal(norms)
            torch._foreach_mul_(scales, self.clipnorm)
            return torch._foreach_mul(grads, scales)
        if self.global_clipnorm:
            # Keras: scale = c * min(1/norm, 1/c) + (norm - norm), so an inf/NaN norm gives NaN.
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            scale = torch.clamp(1.0 / norm, max=1.0 / self.global_clipnorm) * self.global_clipnorm + (norm - norm)
            return torch._foreach_mul(grads, scale)
        if self.clipvalue:
            clipped = torch._foreach_clamp_min(grads, -self.clipvalue)
            torch._foreach_clamp_max_(clipped, self.clipvalue)
            return clipped
        return grads

    # ------------------------------------------------------------------ update

    def update_step(self, gradient: Tensor, variable: Tensor, learning_rate: float) -> None:
        """Update one variable in place (the hook a Keras-style custom optimizer overrides)."""
        raise NotImplementedError(
            f"optimizer '{type(self).__name__}' must override `update_step(gradient, variable, learning_rate)`."
        )

    def _update(self, grads: list[Tensor], params: list[Tensor], slots: dict[str, list[Tensor]], lr: float) -> None:
        """Update ``params`` in place; ``slots`` holds their state, aligned with them."""
        for g, p in zip(grads, params):
            self.update_step(g, p, lr)

    def scale_loss(self, loss: Tensor) -> Tensor:
        """The loss times ``loss_scale_factor`` (unchanged without one); each step divides the gradients back."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def _before_update(self) -> None:
        """Per-step bookkeeping that runs once before the variables are updated."""

    @torch.no_grad()
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor | None, Tensor]]) -> None:
        """Apply ``(gradient, variable)`` pairs, as Keras does.

        The first call builds the optimizer on the given variables. Pairs with
        a ``None`` gradient are skipped with a warning.

        Raises:
            ConfigError: no gradient at all, or a variable the optimizer was not built with.
        """
        pairs = [(g, _tensor_of(v)) for g, v in grads_and_vars]
        self._ensure_built([v for _, v in pairs])
        grads = [g for g, _ in pairs]
        missing = [i for i, g in enumerate(grads) if g is None]
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables at positions {missing} when minimizing the loss. "
                "If using `model.compile()`, did you forget to provide a `loss` argument?",
                stacklevel=2,
            )
        kept = [(g, p) for g, p in pairs if g is not None]
        self._apply([g for g, _ in kept], [p for _, p in kept])

    def apply(self, grads: Sequence[Tensor | None], trainable_variables: Sequence[Tensor] | None = None) -> None:
        """Keras's ``apply(grads, trainable_variables=None)``: like :meth:`apply_gradients` with two lists."""
        if trainable_variables is None:
            if not self.built:
                raise ConfigError(
                    f"optimizer '{self.name}': when passing grads without variables, build the optimizer first "
                    "with optimizer.build(variables). Received: trainable_variables=None"
                )
            trainable_variables = self._params
        if len(grads) != len(trainable_variables):
            raise ConfigError(
                f"optimizer '{self.name}': got {len(grads)} gradients for {len(trainable_variables)} variables; "
                f"pass one gradient per variable. Received: len(grads)={len(grads)}"
            )
        self.apply_gradients(zip(grads, trainable_variables))

    @torch.no_grad()
    def step(self, params: Sequence[Tensor]) -> None:
        """Update ``params`` from their ``.grad`` (the trainer's fast path).

        Parameters whose ``grad`` is None are skipped. The first call builds
        the optimizer on ``params``.
        """
        self._ensure_built(params)
        kept = [p for p in params if p.grad is not None]
        self._apply([p.grad for p in kept], kept)

    def _apply(self, grads: list[Tensor], params: list[Tensor]) -> None:
        if not grads:
            raise ConfigError(
                f"optimizer '{self.name}': no gradients were provided for any variable, so nothing can be "
                "updated. Check that the loss depends on the model's trainable weights. Received: 0 gradients"
            )
        slots = self._aligned_slots(params)
        grads = [g if g.dtype == p.dtype else g.to(p.dtype) for g, p in zip(grads, params)]
        if self.loss_scale_factor:
            grads = torch._foreach_div(grads, self.loss_scale_factor)
        lr = self._current_learning_rate()
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(params, lr)
        self._before_update()
        self._update(grads, params, slots, lr)
        if self._constrained:
            updated = {id(p) for p in params}
            for p, constraint in self._constrained:
                if id(p) in updated:
                    p.copy_(constraint(p))
        self._iterations += 1

    def _aligned_slots(self, params: list[Tensor]) -> dict[str, list[Tensor]]:
        """The state lists restricted to ``params``, in their order."""
        if len(params) == len(self._params) and all(p is q for p, q in zip(params, self._params)):
            return self._slots
        try:
            indices = [self._index[id(p)] for p in params]
        except KeyError:
            raise ConfigError(
                f"optimizer '{self.name}' got a variable it was not built with. An optimizer can only update "
                "the variables of its first step; create a new optimizer for new variables. "
                f"Received: {len(params)} variables"
            ) from None
        return {name: [tensors[i] for i in indices] for name, tensors in self._slots.items()}

    def finalize_variable_values(self, var_list: Sequence[Tensor]) -> None:
        """Keras hook called after training; nothing to do without EMA."""

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        """Return the arguments, JSON-serialisable, in Keras's layout."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            warnings.warn(
                f"optimizer '{self.name}': a callable learning rate cannot be saved; its current value "
                f"{self._current_learning_rate()} is saved instead.",
                stacklevel=2,
            )
            lr = self._current_learning_rate()
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                **_UNSUPPORTED_DEFAULTS, "loss_scale_factor": self.loss_scale_factor}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Optimizer:
        """Rebuild an optimizer (without state) from :meth:`get_config` output."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), Mapping):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._learning_rate!r}>"

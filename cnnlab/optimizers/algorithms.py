"""The built-in optimizers, with Keras 3 arguments, defaults and update rules.

Every update runs over all parameters at once with ``torch._foreach_*``
kernels. In the formulas below ``g`` is the (clipped) gradient, ``w`` the
weight, ``lr`` the learning rate of this step and ``t = iterations + 1``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from cnnlab.errors import ConfigError
from cnnlab.optimizers.optimizer import Optimizer, _check_fraction, _check_nonneg

# Keras Nadam's momentum-schedule base: u_t = beta_1 * (1 - 0.5 * 0.96 ** t) (keras/src/optimizers/nadam.py).
NADAM_MOMENTUM_DECAY = 0.96

def _common(weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor) -> dict[str, Any]:
    return {"weight_decay": weight_decay, "clipnorm": clipnorm, "clipvalue": clipvalue,
            "global_clipnorm": global_clipnorm, "name": name, "loss_scale_factor": loss_scale_factor}


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    Without momentum: ``w -= lr * g``. With momentum:
    ``v = momentum * v - lr * g``; then ``w += v``, or with ``nesterov=True``
    ``w += momentum * v - lr * g``.

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.01.
        momentum: float in [0, 1]. Defaults to 0.0 (plain gradient descent).
        nesterov: whether to use Nesterov momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor:
            see :class:`~cnnlab.optimizers.Optimizer`.

    Example:
        >>> opt = SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None,
                 loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, **_common(weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                                                  loss_scale_factor), **kwargs)
        self.momentum = _check_fraction(momentum, "momentum", "SGD")
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        if self.momentum != 0:
            self.add_optimizer_variables(variables, "momentum")

    def _update(self, grads, params, slots, lr):
        if self.momentum == 0:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        velocities = slots["momentum"]
        torch._foreach_mul_(velocities, self.momentum)
        torch._foreach_add_(velocities, grads, alpha=-lr)
        if self.nesterov:
            torch._foreach_add_(params, velocities, alpha=self.momentum)
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            torch._foreach_add_(params, velocities)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad: per-weight rates that shrink with the sum of squared gradients.

    ``a += g**2``; ``w -= lr * g / sqrt(a + epsilon)``, with ``a`` starting at
    ``initial_accumulator_value``.

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.001.
        initial_accumulator_value: starting value of ``a``; >= 0. Defaults to 0.1.
        epsilon: small constant for numerical stability. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor:
            see :class:`~cnnlab.optimizers.Optimizer`.

    Example:
        >>> opt = Adagrad(learning_rate=0.01)
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None,
                 loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, **_common(weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                                                  loss_scale_factor), **kwargs)
        self.initial_accumulator_value = _check_nonneg(initial_accumulator_value, "initial_accumulator_value",
                                                       "Adagrad", allow_none=False)
        self.epsilon = _check_nonneg(epsilon, "epsilon", "Adagrad", allow_none=False)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_optimizer_variables(variables, "accumulator", self.initial_accumulator_value)

    def _update(self, grads, params, slots, lr):
        accumulators = slots["accumulator"]
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominators = torch._foreach_add(accumulators, self.epsilon)
        torch._foreach_sqrt_(denominators)
        torch._foreach_addcdiv_(params, grads, denominators, value=-lr)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta: steps scaled by running averages of squared gradients and squared steps.

    ``G = rho * G + (1 - rho) * g**2``;
    ``d = -sqrt(D + epsilon) * g / sqrt(G + epsilon)``;
    ``D = rho * D + (1 - rho) * d**2``; ``w += lr * d``.

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.001 (use 1.0
            for the original paper's form).
        rho: decay rate of the running averages. Defaults to 0.95.
        epsilon: small constant for numerical stability. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor:
            see :class:`~cnnlab.optimizers.Optimizer`.

    Example:
        >>> opt = Adadelta(learning_rate=1.0)
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None,
                 loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, **_common(weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                                                  loss_scale_factor), **kwargs)
        self.rho = _check_fraction(rho, "rho", "Adadelta")
        self.epsilon = _check_nonneg(epsilon, "epsilon", "Adadelta", allow_none=False)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_optimizer_variables(variables, "accumulated_grad")
        self.add_optimizer_variables(variables, "accumulated_delta_var")

    def _update(self, grads, params, slots, lr):
        grad_avg, delta_avg = slots["accumulated_grad"], slots["accumulated_delta_var"]
        rho = self.rho
        torch._foreach_mul_(grad_avg, rho)
        torch._foreach_addcmul_(grad_avg, grads, grads, value=1 - rho)
        deltas = torch._foreach_add(delta_avg, self.epsilon)
        torch._foreach_sqrt_(deltas)
        torch._foreach_mul_(deltas, grads)
        grad_rms = torch._foreach_add(grad_avg, self.epsilon)
        torch._foreach_sqrt_(grad_rms)
        torch._foreach_div_(deltas, grad_rms)  # deltas now holds -d
        torch._foreach_mul_(delta_avg, rho)
        torch._foreach_addcmul_(delta_avg, deltas, deltas, value=1 - rho)
        torch._foreach_add_(params, deltas, alpha=-lr)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    ``v = rho * v + (1 - rho) * g**2``; with ``centered=True`` also
    ``a = rho * a + (1 - rho) * g`` and the denominator is
    ``sqrt(v - a**2 + epsilon)``, else ``sqrt(v + epsilon)``;
    ``step = lr * g / denominator``; with momentum ``m = momentum * m + step``
    and ``w -= m``, else ``w -= step``.

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.001.
        rho: discount factor of the running average. Defaults to 0.9.
        momentum: float in [0, 1]. Defaults to 0.0.
        epsilon: small constant for numerical stability. Defaults to 1e-7.
        centered: normalise by the estimated variance instead of the second moment.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor:
            see :class:`~cnnlab.optimizers.Optimizer`.

    Example:
        >>> opt = RMSprop(learning_rate=0.001, rho=0.9)
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, **_common(weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                                                  loss_scale_factor), **kwargs)
        self.rho = _check_fraction(rho, "rho", "RMSprop")
        self.momentum = _check_fraction(momentum, "momentum", "RMSprop")
        self.epsilon = _check_nonneg(epsilon, "epsilon", "RMSprop", allow_none=False)
        self.centered = bool(centered)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_optimizer_variables(variables, "velocity")
        if self.momentum > 0:
            self.add_optimizer_variables(variables, "momentum")
        if self.centered:
            self.add_optimizer_variables(variables, "average_gradient")

    def _update(self, grads, params, slots, lr):
        velocities = slots["velocity"]
        rho = self.rho
        torch._foreach_mul_(velocities, rho)
        torch._foreach_addcmul_(velocities, grads, grads, value=1 - rho)
        if self.centered:
            averages = slots["average_gradient"]
            torch._foreach_mul_(averages, rho)
            torch._foreach_add_(averages, grads, alpha=1 - rho)
            denominators = torch._foreach_addcmul(velocities, averages, averages, value=-1.0)
            torch._foreach_add_(denominators, self.epsilon)
        else:
            denominators = torch._foreach_add(velocities, self.epsilon)
        torch._foreach_sqrt_(denominators)
        if self.momentum > 0:
            momenta = slots["momentum"]
            torch._foreach_mul_(momenta, self.momentum)
            torch._foreach_addcdiv_(momenta, grads, denominators, value=lr)
            torch._foreach_sub_(params, momenta)
        else:
            torch._foreach_addcdiv_(params, grads, denominators, value=-lr)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


_FUSED_DEVICES = ("cpu", "cuda")


def _fusable(params, grads) -> bool:
    """Whether torch's fused Adam kernel can update ``params``: dense float32 tensors on one CPU or CUDA device."""
    if not hasattr(torch, "_fused_adam_") or not params:
        return False
    device = params[0].device
    if device.type not in _FUSED_DEVICES:
        return False
    return all(p.dtype == torch.float32 and g.dtype == torch.float32 and p.device == device and g.device == device
               and not g.is_sparse for p, g in zip(params, grads))


class Adam(Optimizer):
    """Adam: steps from bias-corrected running averages of the gradient and its square.

    ``m += (g - m) * (1 - beta_1)``; ``v += (g**2 - v) * (1 - beta_2)``;
    ``lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``;
    ``w -= lr_t * m / (sqrt(v) + epsilon)`` (with ``amsgrad=True``, ``v`` is
    replaced by its running maximum). Keras adds ``epsilon`` outside the bias
    correction, which differs slightly from ``torch.optim.Adam``.

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.001.
        beta_1: decay rate of the first-moment average. Defaults to 0.9.
        beta_2: decay rate of the second-moment average. Defaults to 0.999.
        epsilon: small constant for numerical stability. Defaults to 1e-7.
        amsgrad: use the AMSGrad variant.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor:
            see :class:`~cnnlab.optimizers.Optimizer`.

    Example:
        >>> opt = Adam(learning_rate=3e-4)
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, **_common(weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                                                  loss_scale_factor), **kwargs)
        who = type(self).__name__
        self.beta_1 = _check_fraction(beta_1, "beta_1", who)
        self.beta_2 = _check_fraction(beta_2, "beta_2", who)
        self.epsilon = _check_nonneg(epsilon, "epsilon", who, allow_none=False)
        self.amsgrad = bool(amsgrad)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_optimizer_variables(variables, "momentum")
        self.add_optimizer_variables(variables, "velocity")
        if self.amsgrad:
            self.add_optimizer_variables(variables, "velocity_hat")

    def _update(self, grads, params, slots, lr):
        t = self.iterations + 1
        if _fusable(params, grads):
            self._fused_update(grads, params, slots, lr, t)
            return
        alpha = lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        momenta, velocities = slots["momentum"], slots["velocity"]
        torch._foreach_lerp_(momenta, grads, 1 - self.beta_1)
        # v += (g**2 - v) * (1 - beta_2), written without a temporary list of g**2.
        torch._foreach_mul_(velocities, self.beta_2)
        torch._foreach_addcmul_(velocities, grads, grads, value=1 - self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(slots["velocity_hat"], velocities)
            velocities = slots["velocity_hat"]
        denominators = torch._foreach_sqrt(velocities)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(params, momenta, denominators, value=-alpha)

    def _fused_update(self, grads, params, slots, lr, t):
        """The same rule in torch's one-kernel Adam (``torch._fused_adam_``), about 3x faster than the foreach ops.

        torch adds epsilon after the bias correction (``sqrt(v) / sqrt(1 - beta_2**t) + eps``) where Keras adds it
        before (``sqrt(v) + epsilon``); passing ``eps = epsilon / sqrt(1 - beta_2**t)`` makes the two rules equal.
        """
        steps, device = getattr(self, "_fused_steps", None), params[0].device
        if steps is None or len(steps) != len(params) or self._fused_t != t - 1 or steps[0].device != device:
            steps = self._fused_steps = [torch.full((), float(t - 1), device=device) for _ in params]
        torch._foreach_add_(steps, 1.0)
        self._fused_t = t
        bias_2 = 1 - self.beta_2**t
        torch._fused_adam_(params, grads, slots["momentum"], slots["velocity"],
                           slots["velocity_hat"] if self.amsgrad else [], steps, lr=lr, beta1=self.beta_1,
                           beta2=self.beta_2, weight_decay=0.0, eps=self.epsilon / math.sqrt(bias_2),
                           amsgrad=self.amsgrad, maximize=False)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``w -= w * weight_decay * lr`` before each step).

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.001.
        weight_decay: decay rate; required. Defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: as in :class:`Adam`.
        clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor:
            see :class:`~cnnlab.optimizers.Optimizer`.

    Example:
        >>> opt = AdamW(learning_rate=1e-3, weight_decay=0.01)
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        if weight_decay is None:
            raise ConfigError("AdamW: `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         **_common(weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor),
                         **kwargs)


class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum (Dozat's momentum schedule, as in Keras).

    With ``u_s = beta_1 * (1 - 0.5 * 0.96**s)`` and ``P_t = u_1 * ... * u_t``:
    ``m += (g - m) * (1 - beta_1)``; ``v += (g**2 - v) * (1 - beta_2)``;
    ``m_hat = u_{t+1} * m / (1 - P_t * u_{t+1}) + (1 - u_t) * g / (1 - P_t)``;
    ``v_hat = v / (1 - beta_2**t)``; ``w -= lr * m_hat / (sqrt(v_hat) + epsilon)``.

    Args:
        learning_rate: float, schedule or callable. Defaults to 0.001.
        beta_1, beta_2, epsilon: as in :class:`Adam`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name, loss_scale_factor:
            see :class:`~cnnlab.optimizers.Optimizer`.

    Example:
        >>> opt = Nadam(learning_rate=0.002)
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 loss_scale_factor: float | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, **_common(weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                                                  loss_scale_factor), **kwargs)
        self.beta_1 = _check_fraction(beta_1, "beta_1", "Nadam")
        self.beta_2 = _check_fraction(beta_2, "beta_2", "Nadam")
        self.epsilon = _check_nonneg(epsilon, "epsilon", "Nadam", allow_none=False)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_optimizer_variables(variables, "momentum")
        self.add_optimizer_variables(variables, "velocity")
        # The running product P_t depends only on the step count, so it lives on the host.
        self._scalars["u_product"] = 1.0

    def _u(self, step: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * NADAM_MOMENTUM_DECAY**step)

    def _before_update(self):
        self._scalars["u_product"] *= self._u(self.iterations + 1)

    def _update(self, grads, params, slots, lr):
        t = self.iterations + 1
        u_t, u_next = self._u(t), self._u(t + 1)
        u_product = self._scalars["u_product"]
        momenta, velocities = slots["momentum"], slots["velocity"]
        torch._foreach_lerp_(momenta, grads, 1 - self.beta_1)
        # v += (g**2 - v) * (1 - beta_2), written without a temporary list of g**2.
        torch._foreach_mul_(velocities, self.beta_2)
        torch._foreach_addcmul_(velocities, grads, grads, value=1 - self.beta_2)
        m_hat = torch._foreach_mul(momenta, u_next / (1 - u_product * u_next))
        torch._foreach_add_(m_hat, grads, alpha=(1 - u_t) / (1 - u_product))
        denominators = torch._foreach_mul(velocities, 1.0 / (1 - self.beta_2**t))
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(params, m_hat, denominators, value=-lr)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


"""Activation functions with Keras 3 names, defaults and formulas.

Each function takes a ``torch.Tensor`` and returns one of the same shape, using
PyTorch's fused kernels where one exists. A function's ``__name__`` is its Keras
name, so a layer's ``get_config`` stores ``'relu'`` and ``get('relu')`` finds it
again.

Example:
    >>> import torch
    >>> from cnnlab import activations
    >>> activations.get("ReLU")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from cnnlab._object_registration import find_object, registered_name_or_none
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError, unknown_name

Activation = Callable[[torch.Tensor], torch.Tensor]

# SELU constants from Klambauer et al. (2017), as used by Keras and PyTorch.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def relu(
    x: torch.Tensor,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> torch.Tensor:
    """Rectified linear unit, with Keras's optional slope, cap and threshold.

    ``f(x) = max_value`` if ``x >= max_value``; ``x`` if ``threshold <= x < max_value``
    (strictly ``x > threshold``); ``negative_slope * (x - threshold)`` otherwise.

    Args:
        x: input tensor.
        negative_slope: slope below the threshold.
        max_value: upper cap, or None for no cap.
        threshold: values at or below it are damped (or zeroed).

    Returns:
        A tensor of the same shape.
    """
    if negative_slope == 0.0 and threshold == 0.0:
        if max_value is None:
            return F.relu(x)
        if max_value == 6:
            return F.relu6(x)
        return torch.clamp(x, min=0.0, max=max_value)
    if threshold == 0.0 and max_value is None:
        return F.leaky_relu(x, negative_slope)
    positive = torch.where(x > threshold, x, torch.zeros_like(x))
    if max_value is not None:
        positive = torch.clamp(positive, max=max_value)
    if negative_slope == 0.0:
        return positive
    # Keras subtracts slope * relu(threshold - x); this is slope * (x - threshold) below it.
    return positive - negative_slope * F.relu(threshold - x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """Leaky ReLU: ``x`` if ``x >= 0`` else ``negative_slope * x`` (Keras 3 default 0.2)."""
    return F.leaky_relu(x, negative_slope)


def relu6(x: torch.Tensor) -> torch.Tensor:
    """ReLU capped at 6: ``min(max(x, 0), 6)``."""
    return F.relu6(x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return torch.sigmoid(x)


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Softmax ``exp(x) / sum(exp(x))`` along ``axis``."""
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Log of the softmax along ``axis``, computed stably."""
    return torch.log_softmax(x, dim=axis)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent."""
    return torch.tanh(x)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return F.elu(x, alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    """Scaled ELU: ``SELU_SCALE * elu(x, SELU_ALPHA)``."""
    return F.selu(x)


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    """Gaussian error linear unit ``x * Phi(x)``; the tanh form when ``approximate``.

    Keras 3's ``activations.gelu`` defaults to the exact (erf) form.
    """
    return F.gelu(x, approximate="tanh" if approximate else "none")


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU / swish: ``x * sigmoid(x)``."""
    return F.silu(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3 hard sigmoid: ``clip(x / 6 + 0.5, 0, 1)`` (Keras 2 used ``0.2 * x + 0.5``)."""
    return F.hardsigmoid(x)


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    """Hard SiLU / hard swish: ``x * hard_sigmoid(x)``."""
    return F.hardswish(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """Softplus ``log(exp(x) + 1)``."""
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    """Softsign ``x / (abs(x) + 1)``."""
    return F.softsign(x)


def exponential(x: torch.Tensor) -> torch.Tensor:
    """Exponential ``exp(x)``."""
    return torch.exp(x)


def mish(x: torch.Tensor) -> torch.Tensor:
    """Mish ``x * tanh(softplus(x))``."""
    return F.mish(x)


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Log of the sigmoid, computed stably: ``-softplus(-x)``."""
    return F.logsigmoid(x)


def linear(x: torch.Tensor) -> torch.Tensor:
    """Identity: returns ``x`` unchanged (Keras's 'linear' activation)."""
    return x


def celu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Continuously differentiable ELU: ``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)``."""
    return F.celu(x, alpha)


def glu(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: split ``x`` in two halves ``a, b`` along ``axis``; return ``a * sigmoid(b)``.

    Raises:
        ShapeError: the size of ``axis`` is odd.
    """
    if x.shape[axis] % 2:
        raise ShapeError(
            f"glu splits axis {axis} into two halves, so its size must be even; got shape {tuple(x.shape)}. "
            f"Give that axis an even size (e.g. a Dense layer with twice the units). Received: axis={axis}"
        )
    return F.glu(x, dim=axis)


def hard_tanh(x: torch.Tensor) -> torch.Tensor:
    """Hard tanh: ``clip(x, -1, 1)``."""
    return F.hardtanh(x)


def hard_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Hard shrink: ``x`` where ``|x| > threshold``, else 0."""
    return F.hardshrink(x, threshold)


def soft_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Soft shrink: ``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    return F.softshrink(x, threshold)


def tanh_shrink(x: torch.Tensor) -> torch.Tensor:
    """Tanh shrink: ``x - tanh(x)``."""
    return F.tanhshrink(x)


def threshold(x: torch.Tensor, threshold: float, default_value: float) -> torch.Tensor:
    """``x`` where ``x > threshold``, else ``default_value`` (both required, as in Keras)."""
    return F.threshold(x, threshold, default_value)


def sparse_plus(x: torch.Tensor) -> torch.Tensor:
    """SparsePlus: 0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``."""
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def sparse_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Sparse sigmoid: ``clip((x + 1) / 2, 0, 1)`` (0 at or below -1, 1 at or above 1)."""
    return torch.clamp(0.5 * (x + 1), 0.0, 1.0)


def squareplus(x: torch.Tensor, b: float = 4) -> torch.Tensor:
    """Squareplus: ``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU with no exponentials."""
    return (x + torch.sqrt(x * x + b)) / 2


def sparsemax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x`` onto the simplex along ``axis``.

    ``max(x - tau, 0)``, with ``tau`` chosen so the outputs sum to 1; unlike softmax, small entries become
    exactly 0. Keras 3.15 computes ``tau`` wrongly when more than one entry is kept (keras-team/keras#23425,
    fixed by #23469); this follows the paper, which is what the fixed Keras returns.
    """
    z_sorted = torch.sort(x, dim=axis, descending=True).values
    cumsum = torch.cumsum(z_sorted, dim=axis)
    ranks_shape = [1] * x.dim()
    ranks_shape[axis] = -1
    ranks = torch.arange(1, x.shape[axis] + 1, dtype=x.dtype, device=x.device).view(ranks_shape)
    support = z_sorted - (cumsum - 1) / ranks > 0
    k = support.sum(dim=axis, keepdim=True)
    tau = (torch.gather(cumsum, axis, k - 1) - 1) / k.to(x.dtype)
    return torch.clamp(x - tau, min=0.0)


# The names of keras/src/activations/__init__.py (ALL_OBJECTS), each under its function's __name__.
_BUILTINS: tuple[Activation, ...] = (
    relu, leaky_relu, relu6, sigmoid, softmax, log_softmax, tanh, elu, selu, gelu,
    silu, hard_sigmoid, hard_silu, softplus, softsign, exponential, mish, log_sigmoid, linear,
    celu, glu, hard_tanh, hard_shrink, soft_shrink, tanh_shrink, threshold, sparse_plus, sparse_sigmoid,
    squareplus, sparsemax,
)
# Keras 3 registers 'swish' and 'hard_swish' as aliases of 'silu' and 'hard_silu'.
swish = silu
hard_swish = hard_silu
_REGISTRY: dict[str, Activation] = {fn.__name__: fn for fn in _BUILTINS}
_REGISTRY.update({"swish": silu, "hard_swish": hard_silu})


def names() -> list[str]:
    """Return every registered activation name, sorted."""
    return sorted(_REGISTRY)


def _lookup(name: str, custom_objects: Mapping[str, Any] | None, where: str) -> Activation:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    fn = find_object(name, name) or _REGISTRY.get(name.strip().lower())
    if fn is None:
        raise unknown_name("activation", name, list(_REGISTRY) + list(custom_objects or ()), where)
    return fn


def _saved_name(config: Mapping[str, Any]) -> str:
    """The name inside Keras's object form of a function, ``{"class_name": "function", "config": "relu", ...}``."""
    name = config.get("config")
    if config.get("class_name") != "function" or not isinstance(name, str):
        raise ConfigError(
            "a saved activation must be a name such as 'relu' or Keras's function form "
            "{'class_name': 'function', 'config': 'relu'}; activation objects are not built from files. "
            f"Received: activation={dict(config)!r}"
        )
    return name


def get(identifier: str | Mapping[str, Any] | Activation | None, where: str = "") -> Activation:
    """Return the activation function for a name, a callable or None.

    Args:
        identifier: None (meaning 'linear'), a registered name
            (case-insensitive, e.g. ``'ReLU'``) or any callable.
        where: context for the error message, e.g. ``"Dense 'dense' argument activation"``.

    Returns:
        A callable mapping a tensor to a tensor.

    Raises:
        UnknownNameError: an unknown name, with the closest valid one.
        ArgumentTypeError: something that is neither a string nor callable.

    Example:
        >>> get(None) is linear, get("relu") is relu
        (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return _lookup(identifier, None, where)
    if isinstance(identifier, Mapping):
        return _lookup(_saved_name(identifier), None, where)
    if callable(identifier):
        return identifier
    prefix = f"{where}: " if where else ""
    raise ArgumentTypeError(
        f"{prefix}an activation must be a name such as 'relu', a callable, or None; "
        f"got {type(identifier).__name__}. Received: activation={identifier!r}"
    )


def serialize(fn: Activation) -> str:
    """Return the registered name of a built-in activation (for ``get_config``).

    Raises:
        ConfigError: ``fn`` is not a built-in; such functions are saved by name
            and must be passed via ``custom_objects`` when loading.
    """
    name = getattr(fn, "__name__", None)
    if name is not None and _REGISTRY.get(name) is fn:
        return name
    registered = registered_name_or_none(fn)
    if registered is not None:  # registered with @register_keras_serializable: saved as "package>name"
        return registered
    raise ConfigError(
        f"activation {fn!r} is not a built-in activation, so it cannot be saved by name alone. "
        f"Keep it in your code and pass it when loading: custom_objects={{'{name or 'my_activation'}': fn}}. "
        f"Received: activation={fn!r}"
    )


def deserialize(name: str | Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Activation:
    """Return the activation saved under ``name``.

    Only the built-in table and ``custom_objects`` are searched; nothing is
    imported or evaluated from the name.

    Args:
        name: a name written by :func:`serialize` (or a custom one), or Keras's
            ``{"class_name": "function", "config": name, ...}`` form of it.
        custom_objects: user functions by name, searched first.
    """
    if isinstance(name, Mapping):
        name = _saved_name(name)
    if not isinstance(name, str):
        raise ArgumentTypeError(
            f"a saved activation must be a name string; got {type(name).__name__}. Received: activation={name!r}"
        )
    return _lookup(name, custom_objects, "")

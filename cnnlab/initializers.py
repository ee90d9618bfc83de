"""Weight initializers with Keras 3 names, defaults and formulas.

Shapes are in Keras layout: a Dense kernel is ``(in, out)``, a Conv2D kernel
``(kh, kw, in, out)``; fans are computed from that layout (see
:func:`compute_fans`).

Randomness: with ``seed=None`` values come from PyTorch's global generator, so
``torch.manual_seed`` (or ``cnnlab.utils.set_random_seed``) makes a whole model
repeat and two calls give different values, as in tf.keras 2. With an integer
``seed`` each call builds a fresh ``torch.Generator`` from it, so every call
returns the same values, as Keras 3 documents for integer seeds. (Keras 3 also
repeats values for an unseeded instance; cnnlab does not, so that two layers
sharing one initializer instance still start from different weights.)

Example:
    >>> from cnnlab import initializers
    >>> w = initializers.get("glorot_uniform")((3, 3, 1, 32))
    >>> tuple(w.shape)
    (3, 3, 1, 32)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from cnnlab._registry import Registry
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

# Standard deviation of a unit normal truncated to [-2, 2]; Keras/TF divide by it
# so a truncated_normal VarianceScaling keeps the intended stddev after truncation.
TRUNCATED_NORMAL_STDDEV_CORRECTION = 0.87962566103423978
# Keras/TF truncated_normal redraws values beyond this many standard deviations.
TRUNCATION_STDDEVS = 2.0

Shape = Sequence[int]


def compute_fans(shape: Shape) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a weight shape in Keras layout.

    Scalars count as (1, 1); a 1-D shape ``(n,)`` as (n, n); a 2-D kernel
    ``(in, out)`` as (in, out); a conv kernel ``(*spatial, in, out)`` as
    ``(prod(spatial) * in, prod(spatial) * out)``.

    Example:
        >>> compute_fans((3, 3, 32, 64))
        (288, 576)
    """
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


def _check_shape(shape: Any, who: str) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(int(d) for d in shape)
        valid = all(int(d) == d and d >= 0 for d in shape)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ShapeError(
            f"{who}: shape must be a tuple of non-negative ints, e.g. (3, 3, 1, 32). Received: shape={shape!r}"
        )
    return dims


def _resolve_dtype(dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    resolved = getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype):
        raise ConfigError(f"unknown dtype; use e.g. 'float32' or torch.float32. Received: dtype={dtype!r}")
    return resolved


def _check_seed(seed: Any, who: str) -> int | None:
    if seed is None or (isinstance(seed, int) and not isinstance(seed, bool)):
        return seed
    raise ArgumentTypeError(f"{who}: seed must be an int or None. Received: seed={seed!r}")


class Initializer:
    """Base class: ``init(shape, dtype)`` returns a new CPU tensor of that shape.

    Subclasses implement :meth:`_generate` (drawing from ``generator``, which
    may be None for the global generator) and list their constructor
    arguments in :meth:`get_config`.
    """

    def __call__(
        self, shape: Shape, dtype: torch.dtype | str | None = torch.float32, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Return a tensor of ``shape`` and ``dtype`` with this initializer's values.

        Args:
            shape: the weight shape in Keras layout.
            dtype: a floating torch dtype (or its name); None means float32.
            generator: a CPU generator to draw from; ignored when the
                initializer was given its own ``seed``.
        """
        dims = _check_shape(shape, type(self).__name__)
        dtype = _resolve_dtype(dtype)
        seed = getattr(self, "seed", None)
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
        # Draw in float32 (float64 if asked) so half dtypes get the same values, then cast.
        work = torch.float64 if dtype == torch.float64 else torch.float32
        return self._generate(dims, work, generator).to(dtype)

    def _generate(self, shape: tuple[int, ...], dtype: torch.dtype, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, JSON-serialisable."""
        return {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Initializer:
        """Rebuild an initializer from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def _generate(self, shape, dtype, generator):
        return torch.zeros(shape, dtype=dtype)


class Ones(Initializer):
    """All ones."""

    def _generate(self, shape, dtype, generator):
        return torch.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Every value equal to ``value`` (a Python scalar)."""

    def __init__(self, value: float = 0.0) -> None:
        if not isinstance(value, (int, float, np.number)) or isinstance(value, bool):
            raise ArgumentTypeError(f"Constant: value must be a number. Received: value={value!r}")
        self.value = float(value)

    def _generate(self, shape, dtype, generator):
        return torch.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """``gain`` times the identity matrix; 2-D shapes only (non-square allowed)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def _generate(self, shape, dtype, generator):
        if len(shape) != 2:
            raise ShapeError(
                f"Identity initializer works only for 2-D shapes such as a Dense kernel (in, out). "
                f"Received: shape={shape}"
            )
        return self.gain * torch.eye(shape[0], shape[1], dtype=dtype)

    def get_config(self):
        return {"gain": self.gain}


class RandomNormal(Initializer):
    """Normal distribution with ``mean`` and ``stddev``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev = float(mean), float(stddev)
        self.seed = _check_seed(seed, "RandomNormal")

    def _generate(self, shape, dtype, generator):
        out = torch.empty(shape, dtype=dtype)
        return out.normal_(self.mean, self.stddev, generator=generator)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform distribution on ``[minval, maxval)``."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        self.minval, self.maxval = float(minval), float(maxval)
        self.seed = _check_seed(seed, "RandomUniform")

    def _generate(self, shape, dtype, generator):
        return torch.empty(shape, dtype=dtype).uniform_(self.minval, self.maxval, generator=generator)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(shape, dtype, mean: float, stddev: float, generator) -> torch.Tensor:
    """Normal values, redrawn beyond ``TRUNCATION_STDDEVS`` standard deviations (TF semantics)."""
    out = torch.empty(shape, dtype=dtype)
    bound = TRUNCATION_STDDEVS * stddev
    return torch.nn.init.trunc_normal_(out, mean, stddev, mean - bound, mean + bound, generator=generator)


class TruncatedNormal(Initializer):
    """Normal distribution truncated to ``mean ± 2 * stddev`` (``stddev`` is before truncation)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev = float(mean), float(stddev)
        self.seed = _check_seed(seed, "TruncatedNormal")

    def _generate(self, shape, dtype, generator):
        return _truncated_normal(shape, dtype, self.mean, self.stddev, generator)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Zero-mean values whose variance is ``scale / n``, with ``n`` set by ``mode``.

    ``n`` is fan_in, fan_out or their mean (``mode='fan_avg'``), from
    :func:`compute_fans`. ``distribution='truncated_normal'`` (alias
    ``'normal'``) draws a normal truncated at 2 stddev, widened by
    ``TRUNCATED_NORMAL_STDDEV_CORRECTION`` so the variance after truncation is
    ``scale / n``; ``'untruncated_normal'`` a plain normal; ``'uniform'``
    values in ``±sqrt(3 * scale / n)``.

    Args:
        scale: positive scaling factor.
        mode: 'fan_in', 'fan_out' or 'fan_avg'.
        distribution: 'truncated_normal', 'untruncated_normal' or 'uniform'.
        seed: int for values that repeat on every call, or None.
    """

    MODES: ClassVar[tuple[str, ...]] = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS: ClassVar[tuple[str, ...]] = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed: int | None = None
    ) -> None:
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
            raise ConfigError(f"VarianceScaling: scale must be a positive number. Received: scale={scale!r}")
        mode = str(mode).lower()
        if mode not in self.MODES:
            raise ConfigError(f"VarianceScaling: mode must be one of {', '.join(self.MODES)}. Received: mode={mode!r}")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise ConfigError(
                f"VarianceScaling: distribution must be one of {', '.join(self.DISTRIBUTIONS)}. "
                f"Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.seed = _check_seed(seed, type(self).__name__)

    def _variance(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def _generate(self, shape, dtype, generator):
        variance = self._variance(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return torch.empty(shape, dtype=dtype).uniform_(-limit, limit, generator=generator)
        if self.distribution == "untruncated_normal":
            return torch.empty(shape, dtype=dtype).normal_(0.0, math.sqrt(variance), generator=generator)
        stddev = math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV_CORRECTION
        return _truncated_normal(shape, dtype, 0.0, stddev, generator)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling preset whose only argument is ``seed``."""

    PRESET: ClassVar[tuple[float, str, str]]

    def __init__(self, seed: int | None = None) -> None:
        scale, mode, distribution = self.PRESET
        super().__init__(scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform in ``±sqrt(6 / (fan_in + fan_out))`` (Xavier uniform; the Keras kernel default)."""

    PRESET = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))`` after truncation."""

    PRESET = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """Uniform in ``±sqrt(6 / fan_in)``."""

    PRESET = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with stddev ``sqrt(2 / fan_in)`` after truncation."""

    PRESET = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """Uniform in ``±sqrt(3 / fan_in)``."""

    PRESET = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with stddev ``sqrt(1 / fan_in)`` after truncation."""

    PRESET = (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``, from the QR of a normal matrix.

    Shapes with more than two axes are treated as ``(prod(shape[:-1]), shape[-1])``
    and reshaped back, as in Keras.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain = float(gain)
        self.seed = _check_seed(seed, "Orthogonal")

    def _generate(self, shape, dtype, generator):
        if len(shape) < 2:
            raise ShapeError(f"Orthogonal initializer needs a shape with at least 2 axes. Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        tall = torch.empty(max(rows, cols), min(rows, cols), dtype=dtype).normal_(generator=generator)
        q, r = torch.linalg.qr(tall)
        # Sign fix makes the result uniformly distributed over orthogonal matrices.
        q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_CLASSES: tuple[type[Initializer], ...] = (
    Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal,
)
_SNAKE_NAMES: dict[str, type[Initializer]] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "identity": Identity,
    "random_normal": RandomNormal, "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
}
# Extra spellings Keras accepts ('lecun' is kept for older tutorials).
_ALIASES: dict[str, type[Initializer]] = {
    "zero": Zeros, "one": Ones, "normal": RandomNormal, "uniform": RandomUniform, "lecun": LecunNormal,
    "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
}
_BY_NAME: dict[str, type[Initializer]] = {
    name.lower(): cls for name, cls in {**{c.__name__: c for c in _CLASSES}, **_SNAKE_NAMES, **_ALIASES}.items()
}
_REGISTRY = Registry(
    "initializer", Initializer, classes=_CLASSES, module="initializers", by_name=_BY_NAME, names=_SNAKE_NAMES,
    load_aliases=_BY_NAME, wrap=lambda fn: fn,
    expected="an initializer must be a name such as 'glorot_uniform', an Initializer, a config dict "
             "or a callable f(shape, dtype)",
)


def names() -> list[str]:
    """Return the snake_case names of the built-in initializers, sorted."""
    return list(_REGISTRY.names)


def _from_tensor(value: Any) -> Callable[..., torch.Tensor]:
    """An initializer returning a copy of ``value``, which must match the requested shape."""
    fixed = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)

    def initialize(shape: Shape, dtype: Any = torch.float32, generator: Any = None) -> torch.Tensor:
        if tuple(shape) != tuple(fixed.shape):
            raise ShapeError(
                f"an array given as initializer has shape {tuple(fixed.shape)}, but the weight needs "
                f"{tuple(shape)}. Pass an array of the weight's shape. Received: shape={tuple(shape)}"
            )
        return fixed.detach().clone().to(_resolve_dtype(dtype))

    return initialize


def get(identifier: Any, where: str = "") -> Initializer | Callable[..., torch.Tensor] | None:
    """Return an initializer from a name, instance, class, config dict, array or callable.

    Args:
        identifier: a name (case-insensitive: ``'glorot_uniform'``,
            ``'GlorotUniform'``, ``'he_normal'``, ...), an :class:`Initializer`
            instance, an Initializer class (instantiated with defaults), a
            dict ``{'class_name': ..., 'config': {...}}``, a NumPy array or
            tensor (used as the value), a callable ``f(shape, dtype)``, or
            None (returned as None, as in Keras).
        where: context for error messages, e.g. ``"Dense 'dense' argument kernel_initializer"``.

    Raises:
        UnknownNameError: an unknown name, with the closest valid one.
        ArgumentTypeError: anything else.

    Example:
        >>> get("HE_NORMAL")
        HeNormal(seed=None)
    """
    # A NumPy string scalar is a name, not an array value.
    if isinstance(identifier, (np.ndarray, np.generic, torch.Tensor)) and not isinstance(identifier, str):
        return _from_tensor(identifier)
    if inspect.isclass(identifier):
        return identifier()
    return _REGISTRY.get(identifier, where)


def initialize(
    init: Initializer | Callable[..., Any], shape: Shape, dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Call any initializer ``get`` returns and give back a tensor of ``shape`` and ``dtype``.

    Built-in initializers receive ``generator``; a plain user function is
    called as ``f(shape, dtype=dtype)`` and its result (array or tensor)
    is converted and shape-checked.
    """
    shape = _check_shape(shape, "initialize")
    if isinstance(init, Initializer):
        return init(shape, dtype=dtype, generator=generator)
    produced = init(shape, dtype=dtype)
    value = produced if isinstance(produced, torch.Tensor) else torch.as_tensor(np.asarray(produced))
    if tuple(value.shape) != shape:
        raise ShapeError(
            f"initializer {getattr(init, '__name__', init)!r} returned shape {tuple(value.shape)} for a weight "
            f"of shape {shape}. Make it return an array of the requested shape. Received: shape={shape}"
        )
    return value.to(dtype)


def serialize(initializer: Initializer) -> dict[str, Any]:
    """Return ``{'class_name': ..., 'config': ...}`` for a built-in initializer.

    Raises:
        ConfigError: a user-defined initializer; save-and-load needs it passed
            via ``custom_objects`` when loading.
    """
    cls = type(initializer)
    if _REGISTRY.classes.get(cls.__name__) is cls:
        return _REGISTRY.serialize(initializer)
    name = getattr(initializer, "__name__", cls.__name__)
    raise ConfigError(
        f"initializer {initializer!r} is not a built-in initializer, so it cannot be saved by name alone. "
        f"Keep it in your code and pass it when loading: custom_objects={{'{name}': ...}}. "
        f"Received: initializer={initializer!r}"
    )


def deserialize(config: Mapping[str, Any] | str, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild an initializer from :func:`serialize` output (or a bare name).

    Only the built-in table and ``custom_objects`` are searched; nothing is
    imported or evaluated from the config. Keras's extra keys (``module``,
    ``registered_name``) are ignored.
    """
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    return _REGISTRY.deserialize(config, custom_objects)

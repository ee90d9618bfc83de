"""``cnnlab.random``: Keras 3's random ops on torch (``normal``, ``uniform``, ``dropout``, ``SeedGenerator``, ...).

Seeds work as in Keras:

- ``seed=None`` draws from torch's global generator, so
  ``cnnlab.utils.set_random_seed(n)`` (which calls ``torch.manual_seed``)
  makes every later call repeat from run to run and across processes.
- ``seed=<int>`` is stateless: the same call gives the same numbers every time.
- ``seed=SeedGenerator(...)`` is a stream: each call advances it, and a
  generator built with the same seed replays the same stream.

Example:
    >>> from cnnlab import random
    >>> bool((random.normal((2,), seed=1) == random.normal((2,), seed=1)).all())
    True
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from cnnlab.backend import set_random_seed
from cnnlab.errors import ArgumentTypeError, ConfigError, did_you_mean
from cnnlab.ops._convert import convert_to_tensor, to_float, torch_dtype

_SEED_RANGE = 2**31 - 1
_GENERATOR_NAMES = itertools.count()


class SeedGenerator:
    """A stream of seeds for the random ops; pass it as ``seed=`` to get fresh numbers on each call.

    Args:
        seed: an int for a reproducible stream; None takes a starting point from
            torch's global generator (reproducible after ``set_random_seed``).
        name: an optional name, as in Keras.

    Example:
        >>> gen = SeedGenerator(42)
        >>> a, b = normal((2,), seed=gen), normal((2,), seed=gen)   # different numbers
        >>> bool((normal((2,), seed=SeedGenerator(42)) == a).all())  # the same stream replays
        True
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        if seed is None:
            seed = int(torch.randint(0, _SEED_RANGE, (), dtype=torch.int64))
        elif not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ArgumentTypeError(f"SeedGenerator: seed must be an int or None. Received: seed={seed!r}")
        self._initial_seed = int(seed)
        self.name = name or f"seed_generator_{next(_GENERATOR_NAMES)}"
        self.state = torch.tensor([self._initial_seed, 0], dtype=torch.int64)

    def next(self, ordered: bool = True) -> torch.Tensor:
        """The current ``[seed, counter]`` pair; advances the counter."""
        current = self.state.clone()
        self.state = self.state + torch.tensor([0, 1], dtype=torch.int64)
        return current

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name} seed={self._initial_seed}>"


def _generator(seed: Any, op: str) -> torch.Generator | None:
    """The torch generator for a Keras ``seed`` argument; None means the global one."""
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        first, counter = (int(v) for v in seed.next())
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        first, counter = int(seed), 0
    else:
        raise ArgumentTypeError(
            f"{op}: seed must be None, an int or a cnnlab.random.SeedGenerator. Received: seed={seed!r}"
        )
    # Mix the pair into one 63-bit seed so the counter steps give unrelated streams.
    mixed = (first * 0x9E3779B97F4A7C15 + counter * 0xBF58476D1CE4E5B9) % (2**63 - 1)
    return torch.Generator().manual_seed(mixed)


def _shape(shape: Any, op: str) -> tuple[int, ...]:
    try:
        dims = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{op}: shape must be a tuple of ints, e.g. (2, 3). Received: shape={shape!r}") from None
    if any(d < 0 for d in dims):
        raise ConfigError(f"{op}: shape sizes must be >= 0. Received: shape={shape!r}")
    return dims


def _float_dtype(dtype: Any, op: str) -> torch.dtype:
    result = torch_dtype(dtype, op)
    if not result.is_floating_point:
        raise ConfigError(f"{op}: dtype must be a float type such as 'float32'. Received: dtype={dtype!r}")
    return result


def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None,
           name: str | None = None) -> torch.Tensor:
    """Samples from a normal distribution with ``mean`` and ``stddev`` (``name``: accepted, as tf.random.normal)."""
    out = torch.randn(_shape(shape, "normal"), generator=_generator(seed, "normal"), dtype=torch.float32)
    return (out * stddev + mean).to(_float_dtype(dtype, "normal"))


def uniform(shape: Any, minval: float = 0.0, maxval: float | None = 1.0, dtype: Any = None, seed: Any = None,
            name: str | None = None) -> torch.Tensor:
    """Samples from the uniform distribution on ``[minval, maxval)``.

    Also ``tf.random.uniform``'s form: ``maxval=None`` means 1 for floats, and an integer ``dtype`` (which
    needs ``maxval``) draws integers.
    """
    if dtype is not None and not torch_dtype(dtype, "uniform").is_floating_point:
        if maxval is None or isinstance(maxval, float):  # the float default 1.0 counts as not given, as TF's None
            raise ConfigError(f"uniform: an integer dtype needs an int maxval (the exclusive upper bound), e.g. "
                              f"uniform(shape, 0, 10, dtype='int32'). Received: dtype={dtype!r}, maxval={maxval!r}")
        return randint(shape, minval, maxval, dtype=dtype, seed=seed)
    maxval = 1.0 if maxval is None else maxval
    out = torch.rand(_shape(shape, "uniform"), generator=_generator(seed, "uniform"), dtype=torch.float32)
    return (out * (maxval - minval) + minval).to(_float_dtype(dtype, "uniform"))


def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """Integers drawn uniformly from ``[minval, maxval)``."""
    if int(maxval) <= int(minval):
        raise ConfigError(f"randint: maxval must be greater than minval. Received: minval={minval}, maxval={maxval}")
    out = torch.randint(int(minval), int(maxval), _shape(shape, "randint"), generator=_generator(seed, "randint"))
    return out.to(torch_dtype(dtype, "randint"))


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None, name: str | None = None) -> torch.Tensor:
    """Normal samples redrawn until within two standard deviations of the mean."""
    dims = _shape(shape, "truncated_normal")
    generator = _generator(seed, "truncated_normal")
    out = torch.randn(dims, generator=generator)
    bad = out.abs() > 2
    while bool(bad.any()):
        out[bad] = torch.randn(int(bad.sum()), generator=generator)
        bad = out.abs() > 2
    return (out * stddev + mean).to(_float_dtype(dtype, "truncated_normal"))


def dropout(inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None) -> torch.Tensor:
    """Zero each value with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    ``noise_shape`` (broadcastable to the input, None entries taking the input's size) shares one decision
    across the axes where it is 1.
    """
    if not 0 <= float(rate) < 1:
        raise ConfigError(f"dropout: rate must be in [0, 1). Received: rate={rate!r}")
    x = to_float(inputs)
    shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape))
    keep = torch.rand(shape, generator=_generator(seed, "dropout")).to(x.device) >= rate
    return torch.where(keep, x / (1.0 - rate), torch.zeros_like(x))


def shuffle(x: Any, axis: int = 0, seed: Any = None, name: str | None = None) -> torch.Tensor:
    """``x`` with its slices along ``axis`` in a random order."""
    t = convert_to_tensor(x)
    order = torch.randperm(t.shape[axis], generator=_generator(seed, "shuffle")).to(t.device)
    return t.index_select(axis, order)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """``num_samples`` class indices per row of ``(batch, classes)`` unnormalised log-probabilities."""
    values = to_float(logits)
    if values.dim() != 2:
        raise ConfigError(f"categorical: logits must be 2-D (batch, classes). Received: logits.shape={tuple(values.shape)}")
    probs = torch.softmax(values.float().cpu(), dim=-1)
    out = torch.multinomial(probs, int(num_samples), replacement=True, generator=_generator(seed, "categorical"))
    return out.to(device=values.device, dtype=torch_dtype(dtype, "categorical"))


def gamma(shape: Any, alpha: float, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a Gamma distribution with concentration ``alpha`` (scale 1)."""
    return _gamma(_shape(shape, "gamma"), alpha, _generator(seed, "gamma")).to(_float_dtype(dtype, "gamma"))


def _gamma(shape: tuple[int, ...], alpha: Any, generator: torch.Generator | None) -> torch.Tensor:
    """Marsaglia-Tsang sampling driven by ``generator``, so seeds reproduce (torch's own gamma takes none)."""
    a = torch.as_tensor(alpha, dtype=torch.float64).expand(shape).clone()
    boost = a < 1
    d = torch.where(boost, a + 1, a) - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty(shape, dtype=torch.float64)
    todo = torch.ones(shape, dtype=torch.bool)
    while bool(todo.any()):
        z = torch.randn(shape, generator=generator, dtype=torch.float64)
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        v = (1 + c * z) ** 3
        accept = todo & (v > 0) & (torch.log(u.clamp_min(1e-300)) < 0.5 * z * z + d - d * v + d * torch.log(v.clamp_min(1e-300)))
        out = torch.where(accept, d * v, out)
        todo = todo & ~accept
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    return torch.where(boost, out * u ** (1.0 / a), out)


def beta(shape: Any, alpha: float, beta: float, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a Beta distribution, as ``X / (X + Y)`` of two Gamma samples."""
    dims, generator = _shape(shape, "beta"), _generator(seed, "beta")
    x, y = _gamma(dims, alpha, generator), _gamma(dims, beta, generator)
    return (x / (x + y)).to(_float_dtype(dtype, "beta"))


def binomial(shape: Any, counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Number of successes in ``counts`` trials with success probability ``probabilities``."""
    dims, generator = _shape(shape, "binomial"), _generator(seed, "binomial")
    n = torch.as_tensor(counts).expand(dims)
    p = torch.as_tensor(probabilities, dtype=torch.float64).expand(dims)
    trials = int(n.max()) if n.numel() else 0
    draws = torch.rand(dims + (trials,), generator=generator, dtype=torch.float64) < p.unsqueeze(-1)
    within = torch.arange(trials) < n.unsqueeze(-1)
    return (draws & within).sum(-1).to(_float_dtype(dtype, "binomial"))


def set_seed(seed: int) -> None:
    """``tf.random.set_seed``: seed Python, NumPy and torch at once (as :func:`cnnlab.utils.set_random_seed`)."""
    set_random_seed(seed)


# tf.random is this module; TensorFlow's own names (stateless ops, split, Generator) live with the tf facade,
# which does not import this module back. Imported last, once this module is complete, because loading the facade
# package loads tf.image and tf.nn, which use this module's functions.
from cnnlab.tf_names.random_ops import (  # noqa: E402
    Algorithm, Generator, get_global_generator, set_global_generator, split, stateless_normal, stateless_uniform,
)

__all__ = ["Algorithm", "Generator", "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma",
           "get_global_generator", "normal", "randint", "set_global_generator", "set_seed", "shuffle", "split",
           "stateless_normal", "stateless_uniform", "truncated_normal", "uniform"]


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'cnnlab.random' has no attribute '{name}'.{did_you_mean(name, __all__)}")

"""``tf.random``'s TensorFlow-only names: stateless ops keyed by a ``[2]`` seed, ``split`` and ``Generator``.

``tf.random`` is :mod:`cnnlab.random` (Keras 3's random ops, whose names TF2 shares); that module re-exports
these, so ``tf.random.stateless_uniform`` and ``tf.random.normal`` live in one namespace.

Seeds: a stateless seed is two ints (a shape-[2] tensor or a tuple). The same seed gives the same numbers on
every call and in every process; different seeds give unrelated numbers. The numbers are not TensorFlow's: TF
runs Philox with its own counter layout, cnnlab draws from a ``torch.Generator`` derived from the two ints.

Example:
    >>> import cnnlab as tf
    >>> a = tf.random.stateless_uniform([3], seed=(1, 2))
    >>> bool((a == tf.random.stateless_uniform([3], seed=(1, 2))).all())
    True
"""

from __future__ import annotations

import enum
import secrets
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError
from cnnlab.tf_names._args import _short, check_arguments, int_list, to_tensor
from cnnlab.tf_names.dtypes import as_dtype, dtype_max, dtype_min

tf_api = check_arguments("tf.random")
generator_api = check_arguments("tf.random.Generator")


class Algorithm(enum.Enum):
    """``tf.random.Algorithm``: accepted as ``alg=`` for TF's API; every choice draws from the same torch stream."""

    PHILOX = 1
    THREEFRY = 2
    AUTO_SELECT = 3


# --------------------------------------------------------------------------- seeds

_WORD = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    """Steele, Lea and Flood's SplitMix64 finaliser: nearby inputs give unrelated 64-bit outputs."""
    x = (x + 0x9E3779B97F4A7C15) & _WORD
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _WORD
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _WORD
    return x ^ (x >> 31)


def mix_seed_pair(first: int, second: int) -> int:
    """One 64-bit seed from two ints (either may be negative): a stateless seed or a Generator's key and counter."""
    return _splitmix64(_splitmix64(first & _WORD) ^ (second & _WORD))


def generator_from_pair(first: int, second: int) -> torch.Generator:
    """The CPU torch generator two ints stand for."""
    return torch.Generator().manual_seed(mix_seed_pair(first, second))


def seed_pair(seed: Any, where: str) -> tuple[int, int]:
    """A stateless ``seed`` (shape-[2] int tensor, array, tuple or list) as two Python ints.

    Raises:
        ArgumentTypeError: for a float or bool seed. ShapeError: for any shape but ``[2]``.
    """
    try:
        t = to_tensor(seed, where, "seed")
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(f"{where}: seed must be two ints, e.g. seed=(1, 2). Received: seed={_short(seed)}") \
            from err
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ArgumentTypeError(f"{where}: seed must hold integers (int32 or int64), e.g. seed=(1, 2); got dtype "
                                f"{t.dtype}. Received: seed={_short(seed)}")
    if tuple(t.shape) != (2,):
        raise ShapeError(f"{where}: seed must have shape [2] (two ints, e.g. seed=(1, 2)); got shape "
                         f"{list(t.shape)}. Make a fresh pair with tf.random.split(seed) or Generator.make_seeds(). "
                         f"Received: seed={_short(seed)}")
    first, second = t.tolist()
    return int(first), int(second)


def stateless_generator(seed: Any, where: str) -> torch.Generator:
    """The torch generator a stateless ``seed`` stands for (same seed, same generator state)."""
    return generator_from_pair(*seed_pair(seed, where))


# --------------------------------------------------------------------------- draws shared by stateless ops and Generator


def _shape(shape: Any, where: str) -> tuple[int, ...]:
    dims = tuple(int_list(shape, where, "shape"))
    if any(d < 0 for d in dims):
        raise ConfigError(f"{where}: shape sizes must be >= 0. Received: shape={_short(shape)}")
    return dims


def _full_range_ints(dims: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Integers covering all of ``dtype``'s values (TF's ``minval=None, maxval=None``)."""
    words = torch.randint(0, 2**32, dims + (2,), generator=generator, dtype=torch.int64)
    bits = (words[..., 0] << 32) | words[..., 1]  # 64 random bits; the shift wraps, as intended
    if dtype in (torch.int64, torch.uint64):
        return bits.view(dtype)  # the same 64 bits, read as the requested type
    span = int(dtype_max(dtype)) - int(dtype_min(dtype)) + 1
    return (bits.remainder(span) + int(dtype_min(dtype))).to(dtype)


def uniform_draw(shape: Any, generator: torch.Generator, minval: Any, maxval: Any, dtype: Any,
                 where: str) -> torch.Tensor:
    """``tf.random.uniform``'s rules on ``generator``: floats in ``[minval, maxval)`` (maxval None means 1);
    integers need both bounds, or neither for the dtype's full range."""
    dims, target = _shape(shape, where), as_dtype(dtype, where)
    if target.is_floating_point:
        low = 0.0 if minval is None else minval
        high = 1.0 if maxval is None else maxval
        draw = torch.rand(dims, generator=generator, dtype=torch.float32)
        return (draw * (to_tensor(high, where) - to_tensor(low, where)) + to_tensor(low, where)).to(target)
    if target.is_complex or target == torch.bool:
        raise ConfigError(f"{where}: dtype must be a float or integer type. Received: dtype={dtype!r}")
    if minval is None and maxval is None:
        return _full_range_ints(dims, generator, target)
    if minval is None or maxval is None:
        raise ConfigError(f"{where}: an integer dtype needs both minval and maxval (maxval is exclusive), or "
                          f"neither for the full range of {target}. Received: minval={minval!r}, maxval={maxval!r}")
    low, high = int(minval), int(maxval)
    if high <= low:
        raise ConfigError(f"{where}: need minval < maxval for integer draws. Received: minval={minval!r}, "
                          f"maxval={maxval!r}")
    return torch.randint(low, high, dims, generator=generator, dtype=torch.int64).to(target)


def normal_draw(shape: Any, generator: torch.Generator, mean: Any, stddev: Any, dtype: Any,
                where: str) -> torch.Tensor:
    """Normal samples with ``mean`` and ``stddev`` drawn from ``generator``."""
    dims, target = _shape(shape, where), as_dtype(dtype, where)
    if not target.is_floating_point:
        raise ConfigError(f"{where}: dtype must be a float type such as tf.float32. Received: dtype={dtype!r}")
    draw = torch.randn(dims, generator=generator, dtype=torch.float32)
    return (draw * to_tensor(stddev, where) + to_tensor(mean, where)).to(target)


# --------------------------------------------------------------------------- stateless ops


@tf_api
def stateless_uniform(shape: Any, seed: Any, minval: Any = 0, maxval: Any = None, dtype: Any = torch.float32,
                      name: str | None = None, alg: Any = "auto_select") -> torch.Tensor:
    """Uniform samples fixed by ``seed``: the same seed gives the same values (not TF's values: see module doc).

    Args:
        shape: the output shape.
        seed: two ints, e.g. ``(1, 2)`` or a shape-[2] int tensor.
        minval, maxval: the range ``[minval, maxval)``; floats default to ``[0, 1)``. An integer ``dtype``
            needs both, or ``minval=None, maxval=None`` for the dtype's full range.
        dtype: the output dtype.
        alg: accepted for TF's API; the stream is cnnlab's whatever its value.

    Shape:
        Output ``shape``, of ``dtype``.

    Example:
        >>> tuple(stateless_uniform([2, 3], seed=(1, 2)).shape)
        (2, 3)
    """
    where = "tf.random.stateless_uniform"
    return uniform_draw(shape, stateless_generator(seed, where), minval, maxval, dtype, where)


@tf_api
def stateless_normal(shape: Any, seed: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = torch.float32,
                     name: str | None = None, alg: Any = "auto_select") -> torch.Tensor:
    """Normal samples fixed by ``seed`` (same seed, same values; not TF's values).

    Args:
        shape: the output shape.
        seed: two ints, e.g. ``(1, 2)``.
        mean, stddev: of the distribution.
        dtype: a float dtype.

    Shape:
        Output ``shape``, of ``dtype``.

    Example:
        >>> float(stateless_normal([], seed=(3, 4))) == float(stateless_normal([], seed=(3, 4)))
        True
    """
    where = "tf.random.stateless_normal"
    return normal_draw(shape, stateless_generator(seed, where), mean, stddev, dtype, where)


@tf_api
def split(seed: Any, num: int = 2, alg: Any = "auto_select") -> torch.Tensor:
    """``num`` new stateless seeds made from ``seed``, as a ``[num, 2]`` tensor of the seed's dtype.

    Example:
        >>> tuple(split((1, 2), num=3).shape)
        (3, 2)
    """
    where = "tf.random.split"
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 0:
        raise ConfigError(f"{where}: num must be an int >= 0. Received: num={num!r}")
    dtype = to_tensor(seed, where, "seed").dtype
    return _full_range_ints((int(num), 2), stateless_generator(seed, where), dtype)


# --------------------------------------------------------------------------- Generator

_ALGORITHM_NAMES = {"philox": Algorithm.PHILOX, "threefry": Algorithm.THREEFRY, "auto_select": Algorithm.AUTO_SELECT}


def _algorithm(alg: Any) -> Algorithm:
    if alg is None:
        return Algorithm.PHILOX  # TF's default
    if isinstance(alg, Algorithm):
        return alg
    if isinstance(alg, str) and alg.lower() in _ALGORITHM_NAMES:
        return _ALGORITHM_NAMES[alg.lower()]
    if isinstance(alg, (int, np.integer)) and int(alg) in (a.value for a in Algorithm):
        return Algorithm(int(alg))
    raise ConfigError(f"tf.random.Generator: alg must be one of 'philox', 'threefry', 'auto_select' or a "
                      f"tf.random.Algorithm. Received: alg={alg!r}")


def _key_from_seed(seed: Any) -> int:
    """One int64 key from an int seed or a list of ints (each folded in)."""
    values = to_tensor(seed, "tf.random.Generator.from_seed", "seed").reshape(-1).tolist()
    if not values or any(isinstance(v, (float, bool)) for v in values):
        raise ArgumentTypeError(f"tf.random.Generator.from_seed: seed must be an int or a list of ints. "
                                f"Received: seed={_short(seed)}")
    key = int(values[0])
    for value in values[1:]:
        key = mix_seed_pair(key, int(value))
    return key - (1 << 64) if key >= 1 << 63 else key  # as a signed int64, so the state fits an int64 tensor


class Generator:
    """``tf.random.Generator``: a stream of random numbers with a state (a key and a counter).

    Every draw uses the torch generator derived from ``(key, counter)`` and then advances the counter, so a
    generator built from the same seed replays the same stream. The numbers are not TF's (TF's Philox counter
    layout is its own); shapes, dtypes and ranges are.

    Args:
        copy_from: a Generator whose state to copy.
        state: ``[counter, 0, key]`` as :attr:`state` returns it.
        alg: ``'philox'``, ``'threefry'``, ``'auto_select'`` or a :class:`Algorithm` (recorded only).

    Example:
        >>> rng = Generator.from_seed(123, alg="philox")
        >>> tuple(rng.make_seeds(2).shape), tuple(rng.normal(shape=[2, 3]).shape)
        ((2, 2), (2, 3))
    """

    def __init__(self, copy_from: Generator | None = None, state: Any = None, alg: Any = None) -> None:
        if copy_from is not None:
            if not isinstance(copy_from, Generator):
                raise ArgumentTypeError(f"tf.random.Generator: copy_from must be a Generator. "
                                        f"Received: copy_from={copy_from!r}")
            self._key, self._counter, self._alg = copy_from._key, copy_from._counter, copy_from._alg
            return
        if state is None:
            raise ConfigError("tf.random.Generator: give copy_from= or state= (with alg=), or build one with "
                              "tf.random.Generator.from_seed(seed) / from_non_deterministic_state(). "
                              "Received: copy_from=None, state=None")
        self._alg = _algorithm(alg)
        self.reset(state)

    @classmethod
    def from_seed(cls, seed: Any, alg: Any = None) -> Generator:
        """A generator whose stream is fixed by ``seed`` (an int or a list of ints)."""
        generator = cls(state=[0, 0, 0], alg=alg)
        generator.reset_from_seed(seed)
        return generator

    @classmethod
    def from_non_deterministic_state(cls, alg: Any = None) -> Generator:
        """A generator seeded from the operating system's entropy (a different stream on every call)."""
        return cls(state=[0, 0, secrets.randbits(63)], alg=alg)

    @classmethod
    def from_key_counter(cls, key: Any, counter: Any, alg: Any) -> Generator:
        """A generator from an int key and a counter (TF's form; only the first counter word is used)."""
        where = "tf.random.Generator.from_key_counter"
        words = to_tensor(counter, where, "counter").reshape(-1).tolist() or [0]
        return cls(state=[int(words[0]), 0, int(to_tensor(key, where, "key").reshape(-1)[0])], alg=alg)

    # -- state -------------------------------------------------------------------------------------------------
    @property
    def state(self) -> torch.Tensor:
        """``[counter, 0, key]`` as int64 (three words, as TF's Philox state; the meaning is cnnlab's)."""
        return torch.tensor([self._counter, 0, self._key], dtype=torch.int64)

    @property
    def key(self) -> torch.Tensor:
        return torch.tensor(self._key, dtype=torch.int64)

    @property
    def algorithm(self) -> int:
        """The algorithm as TF reports it: 1 for Philox, 2 for ThreeFry, 3 for auto-select."""
        return self._alg.value

    def reset(self, state: Any) -> None:
        """Set the state to ``[counter, 0, key]``."""
        values = to_tensor(state, "tf.random.Generator.reset", "state").reshape(-1).tolist()
        if len(values) != 3:
            raise ShapeError(f"tf.random.Generator: state must hold 3 ints [counter, 0, key]. "
                             f"Received: state={_short(state)}")
        self._counter, self._key = int(values[0]), int(values[2])

    def reset_from_seed(self, seed: Any) -> None:
        """Restart the stream ``from_seed(seed)`` would give."""
        self._key, self._counter = _key_from_seed(seed), 0

    def skip(self, delta: int) -> None:
        """Advance the stream by ``delta`` draws."""
        self._counter += int(delta)

    def _next(self) -> torch.Generator:
        generator = generator_from_pair(self._key, self._counter)
        self._counter += 1
        return generator

    # -- draws -------------------------------------------------------------------------------------------------
    @generator_api
    def normal(self, shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = torch.float32,
               name: str | None = None) -> torch.Tensor:
        """Normal samples of ``shape``; advances the stream."""
        return normal_draw(shape, self._next(), mean, stddev, dtype, "tf.random.Generator.normal")

    @generator_api
    def uniform(self, shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = torch.float32,
                name: str | None = None) -> torch.Tensor:
        """Uniform samples of ``shape`` in ``[minval, maxval)`` (see :func:`stateless_uniform`); advances."""
        return uniform_draw(shape, self._next(), minval, maxval, dtype, "tf.random.Generator.uniform")

    @generator_api
    def uniform_full_int(self, shape: Any, dtype: Any = torch.uint64, name: str | None = None) -> torch.Tensor:
        """Integers over the full range of ``dtype``; advances the stream."""
        where = "tf.random.Generator.uniform_full_int"
        return _full_range_ints(_shape(shape, where), self._next(), as_dtype(dtype, where))

    @generator_api
    def make_seeds(self, count: int = 1) -> torch.Tensor:
        """``count`` stateless seeds as the columns of a ``[2, count]`` int64 tensor (second row zeros, as TF).

        Example: ``seed = rng.make_seeds(1)[:, 0]`` then ``tf.image.stateless_random_crop(..., seed=seed)``.
        """
        keys = _full_range_ints((int(count),), self._next(), torch.int64)
        return torch.stack([keys, torch.zeros_like(keys)])

    @generator_api
    def split(self, count: int = 1) -> list[Generator]:
        """``count`` new generators with unrelated streams; advances this one."""
        keys = _full_range_ints((int(count),), self._next(), torch.int64).tolist()
        return [Generator(state=[0, 0, key], alg=self._alg) for key in keys]

    def __repr__(self) -> str:
        return f"<tf.random.Generator alg={self._alg.name.lower()} key={self._key} counter={self._counter}>"


_global_generator: Generator | None = None


@tf_api
def get_global_generator() -> Generator:
    """The generator ``tf.random`` users share; made ``from_non_deterministic_state`` on first use, as TF does."""
    global _global_generator
    if _global_generator is None:
        _global_generator = Generator.from_non_deterministic_state()
    return _global_generator


@tf_api
def set_global_generator(generator: Generator) -> None:
    """Make ``generator`` the one :func:`get_global_generator` returns."""
    global _global_generator
    if not isinstance(generator, Generator):
        raise ArgumentTypeError(f"tf.random.set_global_generator: generator must be a tf.random.Generator. "
                                f"Received: generator={generator!r:.80}")
    _global_generator = generator


__all__ = ["Algorithm", "Generator", "get_global_generator", "set_global_generator", "split", "stateless_normal",
           "stateless_uniform"]

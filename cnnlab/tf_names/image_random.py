"""``tf.image``'s random augmentations: ``random_*`` (Keras-style ``seed``) and ``stateless_random_*`` (a [2] seed).

Each ``random_X`` and ``stateless_random_X`` pair shares one body and differs only in where its numbers come
from: ``random_X(..., seed=None | int)`` draws as :mod:`cnnlab.random` does (an int seed repeats the same
numbers), ``stateless_random_X(..., seed=(a, b))`` from the torch generator the two ints fix, so the same seed
gives the same result on every call. The values drawn are not TensorFlow's: TF runs Philox with its own
counter layout. The arguments, checks, shapes and ranges are TF's.

Example:
    >>> import numpy as np, cnnlab as tf
    >>> image = np.random.rand(8, 8, 3).astype("float32")
    >>> a = tf.image.stateless_random_brightness(image, max_delta=0.5, seed=(1, 2))
    >>> bool((a == tf.image.stateless_random_brightness(image, max_delta=0.5, seed=(1, 2))).all())
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cnnlab import random
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.tf_names._args import check_arguments, int_list, to_tensor
from cnnlab.tf_names.image import (
    _batched, _unbatched, adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation,
)
from cnnlab.tf_names.random_ops import stateless_generator, uniform_draw

tf_api = check_arguments("tf.image")

# Draws ``shape`` floats uniform in [low, high): the one thing a random op and its stateless twin do differently.
Draw = Callable[[tuple, float, float], torch.Tensor]


def _keras_seed(seed: Any) -> Draw:
    return lambda shape, low, high: random.uniform(shape, low, high, seed=seed)


def _stateless_seed(seed: Any, where: str) -> Draw:
    generator = stateless_generator(seed, where)  # checks the seed before any work
    return lambda shape, low, high: uniform_draw(shape, generator, low, high, torch.float32, where)


# --------------------------------------------------------------------------- argument checks (TF's rules)


def _check_max_delta(where: str, max_delta: float, limit: float | None = None) -> None:
    if max_delta < 0:
        raise ConfigError(f"{where}: max_delta must be >= 0. Received: max_delta={max_delta!r}")
    if limit is not None and max_delta > limit:
        raise ConfigError(f"{where}: max_delta must be <= {limit} (hue is a fraction of the colour circle). "
                          f"Received: max_delta={max_delta!r}")


def _check_range(where: str, lower: float, upper: float) -> None:
    if not 0 <= lower < upper:
        raise ConfigError(f"{where}: need 0 <= lower < upper (the factor is drawn from [lower, upper)). "
                          f"Received: lower={lower!r}, upper={upper!r}")


# --------------------------------------------------------------------------- shared bodies


def _flip(image: Any, draw: Draw, axis: int, where: str) -> torch.Tensor:
    x, single = _batched(image, where)
    # Each image of a batch decides on its own, as in TF.
    flip = (draw((x.shape[0],), 0.0, 1.0) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return _unbatched(torch.where(flip, x.flip(axis), x), single)


def _brightness(image: Any, max_delta: float, draw: Draw, where: str) -> torch.Tensor:
    _check_max_delta(where, max_delta)
    return adjust_brightness(image, float(draw((), -max_delta, max_delta)))


def _contrast(image: Any, lower: float, upper: float, draw: Draw, where: str) -> torch.Tensor:
    _check_range(where, lower, upper)
    return adjust_contrast(image, float(draw((), lower, upper)))


def _saturation(image: Any, lower: float, upper: float, draw: Draw, where: str) -> torch.Tensor:
    _check_range(where, lower, upper)
    return adjust_saturation(image, float(draw((), lower, upper)))


def _hue(image: Any, max_delta: float, draw: Draw, where: str) -> torch.Tensor:
    _check_max_delta(where, max_delta, 0.5)
    return adjust_hue(image, float(draw((), -max_delta, max_delta)))


def _crop(value: Any, size: Any, draw: Draw, where: str) -> torch.Tensor:
    t = to_tensor(value, where, "value")
    dims = int_list(size, where, "size")
    if len(dims) != t.dim() or any(d > s or d < 0 for d, s in zip(dims, t.shape)):
        raise ShapeError(f"{where}: size must have one entry per axis of value, each no larger than value's shape "
                         f"{tuple(t.shape)} (e.g. [h, w, channels] for one image). Received: size={size!r}")
    spans = torch.tensor([s - d + 1 for d, s in zip(dims, t.shape)], dtype=torch.float32)
    starts = (draw((len(dims),), 0.0, 1.0) * spans).long().minimum(spans.long() - 1)
    return t[tuple(slice(int(o), int(o) + d) for o, d in zip(starts, dims))]


# --------------------------------------------------------------------------- random_* (Keras-style seed)


@tf_api
def random_flip_left_right(image: Any, seed: Any = None) -> torch.Tensor:
    """Mirror the width axis with probability 1/2 (each image of a batch on its own)."""
    return _flip(image, _keras_seed(seed), 2, "tf.image.random_flip_left_right")


@tf_api
def random_flip_up_down(image: Any, seed: Any = None) -> torch.Tensor:
    """Mirror the height axis with probability 1/2 (each image of a batch on its own)."""
    return _flip(image, _keras_seed(seed), 1, "tf.image.random_flip_up_down")


@tf_api
def random_brightness(image: Any, max_delta: float, seed: Any = None) -> torch.Tensor:
    """:func:`adjust_brightness` by a delta drawn from ``[-max_delta, max_delta)``."""
    return _brightness(image, max_delta, _keras_seed(seed), "tf.image.random_brightness")


@tf_api
def random_contrast(image: Any, lower: float, upper: float, seed: Any = None) -> torch.Tensor:
    """:func:`adjust_contrast` by a factor drawn from ``[lower, upper)``."""
    return _contrast(image, lower, upper, _keras_seed(seed), "tf.image.random_contrast")


@tf_api
def random_saturation(image: Any, lower: float, upper: float, seed: Any = None) -> torch.Tensor:
    """:func:`adjust_saturation` by a factor drawn from ``[lower, upper)``."""
    return _saturation(image, lower, upper, _keras_seed(seed), "tf.image.random_saturation")


@tf_api
def random_hue(image: Any, max_delta: float, seed: Any = None) -> torch.Tensor:
    """:func:`adjust_hue` by a delta drawn from ``[-max_delta, max_delta)``; ``max_delta`` in ``[0, 0.5]``."""
    return _hue(image, max_delta, _keras_seed(seed), "tf.image.random_hue")


@tf_api
def random_crop(value: Any, size: Any, seed: Any = None, name: str | None = None) -> torch.Tensor:
    """A window of shape ``size`` at a random position of ``value`` (any rank)."""
    return _crop(value, size, _keras_seed(seed), "tf.image.random_crop")


# --------------------------------------------------------------------------- stateless_random_* (seed of 2 ints)


@tf_api
def stateless_random_flip_left_right(image: Any, seed: Any) -> torch.Tensor:
    """Mirror the width axis with probability 1/2, fixed by ``seed`` (two ints; not TF's draws).

    Shape:
        ``(h, w, c)`` or ``(batch, h, w, c)``; each image of a batch decides on its own.
    """
    where = "tf.image.stateless_random_flip_left_right"
    return _flip(image, _stateless_seed(seed, where), 2, where)


@tf_api
def stateless_random_flip_up_down(image: Any, seed: Any) -> torch.Tensor:
    """Mirror the height axis with probability 1/2, fixed by ``seed`` (two ints; not TF's draws)."""
    where = "tf.image.stateless_random_flip_up_down"
    return _flip(image, _stateless_seed(seed, where), 1, where)


@tf_api
def stateless_random_brightness(image: Any, max_delta: float, seed: Any) -> torch.Tensor:
    """:func:`adjust_brightness` by a delta in ``[-max_delta, max_delta)`` fixed by ``seed`` (not TF's draw).

    Args:
        image: ``(..., h, w, c)``; integer images are adjusted in the ``[0, 1]`` float scale.
        max_delta: >= 0.
        seed: two ints, e.g. ``(i, 0)`` or a shape-[2] int tensor.

    Example:
        >>> tf.image.stateless_random_brightness(image, max_delta=0.95, seed=(1, 0))  # doctest: +SKIP
    """
    where = "tf.image.stateless_random_brightness"
    return _brightness(image, max_delta, _stateless_seed(seed, where), where)


@tf_api
def stateless_random_contrast(image: Any, lower: float, upper: float, seed: Any) -> torch.Tensor:
    """:func:`adjust_contrast` by a factor in ``[lower, upper)`` fixed by ``seed`` (not TF's draw)."""
    where = "tf.image.stateless_random_contrast"
    return _contrast(image, lower, upper, _stateless_seed(seed, where), where)


@tf_api
def stateless_random_saturation(image: Any, lower: float, upper: float, seed: Any) -> torch.Tensor:
    """:func:`adjust_saturation` by a factor in ``[lower, upper)`` fixed by ``seed`` (not TF's draw)."""
    where = "tf.image.stateless_random_saturation"
    return _saturation(image, lower, upper, _stateless_seed(seed, where), where)


@tf_api
def stateless_random_hue(image: Any, max_delta: float, seed: Any) -> torch.Tensor:
    """:func:`adjust_hue` by a delta in ``[-max_delta, max_delta)`` fixed by ``seed``; ``max_delta`` <= 0.5."""
    where = "tf.image.stateless_random_hue"
    return _hue(image, max_delta, _stateless_seed(seed, where), where)


@tf_api
def stateless_random_crop(value: Any, size: Any, seed: Any, name: str | None = None) -> torch.Tensor:
    """A window of shape ``size`` at a position of ``value`` fixed by ``seed`` (not TF's position).

    Args:
        value: a tensor of any rank, e.g. one image ``(h, w, c)``.
        size: the window's shape, one entry per axis, each no larger than ``value``'s.
        seed: two ints.

    Shape:
        Output ``size``.

    Example:
        >>> tf.image.stateless_random_crop(image, size=[210, 300, 3], seed=(1, 0)).shape  # doctest: +SKIP
        (210, 300, 3)
    """
    where = "tf.image.stateless_random_crop"
    return _crop(value, size, _stateless_seed(seed, where), where)


@tf_api
def stateless_random_jpeg_quality(image: Any, min_jpeg_quality: int, max_jpeg_quality: int, seed: Any) -> None:
    """Not provided: cnnlab has no JPEG codec on tensors."""
    raise ConfigError("tf.image.stateless_random_jpeg_quality is not provided by cnnlab (it has no JPEG encoder "
                      "for tensors). Drop the step, or re-encode with PIL (Image.save(buffer, 'JPEG', quality=q)) "
                      f"outside the pipeline. Received: min_jpeg_quality={min_jpeg_quality!r}, "
                      f"max_jpeg_quality={max_jpeg_quality!r}")


__all__ = ["random_brightness", "random_contrast", "random_crop", "random_flip_left_right", "random_flip_up_down",
           "random_hue", "random_saturation", "stateless_random_brightness", "stateless_random_contrast",
           "stateless_random_crop", "stateless_random_flip_left_right", "stateless_random_flip_up_down",
           "stateless_random_hue", "stateless_random_jpeg_quality", "stateless_random_saturation"]

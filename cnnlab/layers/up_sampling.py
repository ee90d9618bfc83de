"""Up-sampling layers: repeat each cell (nearest) or interpolate (bilinear, bicubic, Lanczos) by whole factors."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, did_you_mean
from cnnlab.layers import _args, _spatial
from cnnlab.layers.base import InputSpec, Layer

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")
# TensorFlow's resize_bicubic with half-pixel centers: Keys's cubic kernel with a = -0.5, sampled from a table
# of 1024 steps per pixel (tensorflow/core/kernels/image/resize_bicubic_op.cc).
_KEYS_CUBIC_A = -0.5
_TF_CUBIC_TABLE_STEPS = 1024
# TensorFlow's Lanczos kernel returns 1 this close to 0 (scale_and_translate_op sampling kernels).
_TF_LANCZOS_NEAR_ZERO = 1e-3


def repeat_spatial(x: torch.Tensor, axes: tuple[int, ...], factors: tuple[int, ...]) -> torch.Tensor:
    """Repeat every cell ``factor`` times along each of ``axes`` (Keras's nearest up-sampling), in one copy."""
    view, expanded, out = [], [], []
    for axis, n in enumerate(x.shape):
        factor = factors[axes.index(axis)] if axis in axes else 1
        view += [n, 1]
        expanded += [n, factor]
        out.append(n * factor)
    return x.reshape(view).expand(expanded).reshape(out)


def _keys_cubic(t: float) -> float:
    t = abs(t)
    a = _KEYS_CUBIC_A
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    if t < 2:
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return 0.0


@functools.lru_cache(maxsize=64)
def tf_bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """``(out_size, in_size)`` weights of TF's half-pixel bicubic resize along one axis.

    As TensorFlow does: source positions in float32, the fractional offset rounded to the table's 1/1024 steps,
    taps outside the input dropped and the remaining weights renormalised to sum to 1.
    """
    scale = np.float32(in_size) / np.float32(out_size)
    weights = np.zeros((out_size, in_size))
    for o in range(out_size):
        position = (np.float32(o) + np.float32(0.5)) * scale - np.float32(0.5)
        base = math.floor(position)
        step = int(np.rint(np.float32(position - np.float32(base)) * np.float32(_TF_CUBIC_TABLE_STEPS)))
        delta = step / _TF_CUBIC_TABLE_STEPS
        _put_normalised(weights[o], [(base + k, _keys_cubic(delta - k)) for k in (-1, 0, 1, 2)])
    return weights


def _lanczos(t: float, radius: int) -> float:
    t = abs(t)
    if t > radius:
        return 0.0
    if t <= _TF_LANCZOS_NEAR_ZERO:
        return 1.0
    return radius * math.sin(math.pi * t) * math.sin(math.pi * t / radius) / (math.pi * t) ** 2


@functools.lru_cache(maxsize=64)
def tf_lanczos_matrix(in_size: int, out_size: int, radius: int) -> np.ndarray:
    """``(out_size, in_size)`` weights of TF's Lanczos resize along one axis (tf.image.scale_and_translate).

    Up-sampling needs no anti-aliasing, so the kernel keeps its width; taps are clipped to the input and the
    weights renormalised.
    """
    scale = np.float32(in_size) / np.float32(out_size)
    weights = np.zeros((out_size, in_size))
    for o in range(out_size):
        centre = float((np.float32(o) + np.float32(0.5)) * scale)
        first = min(max(math.ceil(centre - radius - 0.5), 0), in_size - 1)
        last = min(max(math.floor(centre + radius - 0.5), 0), in_size - 1)
        _put_normalised(weights[o], [(i, _lanczos(i + 0.5 - centre, radius)) for i in range(first, last + 1)])
    return weights


def _put_normalised(row: np.ndarray, taps) -> None:
    """Write the taps that fall inside the input into ``row``, scaled to sum to 1."""
    inside = [(i, w) for i, w in taps if 0 <= i < len(row)]
    total = sum(w for _, w in inside)
    for i, w in inside:
        row[i] += w / total


class _UpSampling(Layer):
    """Scales the ``_rank`` spatial axes by whole factors ``size``."""

    _rank = 2
    _has_data_format = True

    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.size = _args.int_tuple(size, self._rank, "size", owner)
        self.data_format = _args.data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=self._rank + 2, layout=_spatial.layout(self._rank, self.data_format))

    def call(self, inputs):
        return repeat_spatial(inputs, _spatial.spatial_axes(self._rank, self.data_format), self.size)

    def compute_output_shape(self, input_shape):
        sizes = [None if n is None else n * f
                 for n, f in zip(_spatial.spatial_sizes(input_shape, self._rank, self.data_format), self.size)]
        return _spatial.with_spatial(input_shape, sizes, self.data_format)

    def get_config(self):
        config = {**super().get_config(), "size": tuple(self.size)}
        if self._has_data_format:
            config["data_format"] = self.data_format
        return config


class UpSampling1D(_UpSampling):
    """Repeat each step ``size`` times (Keras's ``UpSampling1D``; channels-last only, as in Keras).

    Args:
        size: positive int; default 2.

    Shape:
        Input ``(N, L, C)``; output ``(N, L * size, C)``.

    Example:
        >>> UpSampling1D(3)(np.zeros((1, 4, 2))).shape
        torch.Size([1, 12, 2])
    """

    _rank = 1
    _has_data_format = False

    def __init__(self, size=2, **kwargs):
        super().__init__(size, None, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size[0]}  # Keras writes a bare int here


class UpSampling2D(_UpSampling):
    """Scale images up by whole factors (Keras's ``UpSampling2D``).

    Args:
        size: int or ``(fh, fw)``; default 2.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        interpolation: ``"nearest"`` (each pixel repeated, the default), ``"bilinear"``, ``"bicubic"``,
            ``"lanczos3"``, ``"lanczos5"`` or ``"area"``, computed as TensorFlow's ``tf.image.resize`` does (half-pixel
            centres), so the results match Keras on TensorFlow.

    Shape:
        Input ``(N, H, W, C)``; output ``(N, H * fh, W * fw, C)``.

    Example:
        >>> UpSampling2D(2, interpolation="bilinear")(np.zeros((1, 7, 7, 8))).shape
        torch.Size([1, 14, 14, 8])
    """

    _rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, **kwargs)
        mode = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if mode not in INTERPOLATIONS:
            raise ConfigError(
                f"UpSampling2D '{self.name}': interpolation must be one of {', '.join(map(repr, INTERPOLATIONS))}."
                f"{did_you_mean(str(interpolation), INTERPOLATIONS)} Received: interpolation={interpolation!r}"
            )
        self.interpolation = mode

    def call(self, inputs):
        # Area averaging over whole-factor enlargements reads a single source cell: the same as nearest.
        if self.interpolation in ("nearest", "area"):
            return super().call(inputs)
        x = _spatial.to_channels_first(inputs, self.data_format)
        height, width = x.shape[2] * self.size[0], x.shape[3] * self.size[1]
        if self.interpolation == "bilinear":
            # align_corners=False is TF's half-pixel rule; both clamp source positions at the edges.
            y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        else:
            rows, cols = (torch.as_tensor(self._matrix(n_in, n_out), dtype=x.dtype, device=x.device)
                          for n_in, n_out in ((x.shape[2], height), (x.shape[3], width)))
            y = rows @ x @ cols.T
        return _spatial.from_channels_first(y, self.data_format)

    def _matrix(self, in_size: int, out_size: int) -> np.ndarray:
        if self.interpolation == "bicubic":
            return tf_bicubic_matrix(in_size, out_size)
        return tf_lanczos_matrix(in_size, out_size, int(self.interpolation[-1]))

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeat each cell of a volume ``(fd, fh, fw)`` times (Keras's ``UpSampling3D``).

    Args:
        size: int or ``(fd, fh, fw)``; default 2.
        data_format: ``"channels_last"`` ``(N, D, H, W, C)`` (default) or ``"channels_first"``.

    Example:
        >>> UpSampling3D(2)(np.zeros((1, 2, 3, 4, 1))).shape
        torch.Size([1, 4, 6, 8, 1])
    """

    _rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

"""Pooling layers over 1-D, 2-D and 3-D windows: max and average (global pooling is in global_pooling.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.errors import ShapeError
from cnnlab.layers import _args, _spatial
from cnnlab.layers.base import InputSpec, Layer
from cnnlab.ops import conv_output_size, same_padding

# (max, average) kernels by tensor rank; 1-D average pooling runs as 2-D (avg_pool1d has no divisor_override).
_KERNELS = {3: (F.max_pool1d, None), 4: (F.max_pool2d, F.avg_pool2d), 5: (F.max_pool3d, F.avg_pool3d)}
_INPUT_NOUN = {1: "sequence", 2: "image", 3: "volume"}


def pool_channels_first(x: torch.Tensor, kind: str, pool_size, strides, padding: str) -> torch.Tensor:
    """Max or average pooling on an ``(N, C, *spatial)`` tensor with TensorFlow's padding rules.

    ``same`` pads unevenly like TF (the odd extra cell after: bottom/right/back); max pooling never picks a
    padded cell and average pooling does not count them.
    """
    if kind == "avg" and x.dim() == 3:
        return pool_channels_first(x.unsqueeze(2), kind, (1, *pool_size), (1, *strides), padding).squeeze(2)
    pads = ()
    if padding == "same":  # F.pad lists the last axis first
        for size, k, s in zip(reversed(x.shape[2:]), reversed(pool_size), reversed(strides)):
            pads += same_padding(size, k, s)
    max_pool, avg_pool = _KERNELS[x.dim()]
    if kind == "max":
        if any(pads):
            x = F.pad(x, pads, value=float("-inf"))
        return max_pool(x, pool_size, strides)
    if not any(pads):
        return avg_pool(x, pool_size, strides)
    summed = avg_pool(F.pad(x, pads), pool_size, strides, divisor_override=1)
    ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    counts = avg_pool(F.pad(ones, pads), pool_size, strides, divisor_override=1)
    return summed / counts


class _Pooling(Layer):
    """Local pooling over ``_rank`` spatial axes; subclasses set ``_rank``, ``_kind`` and Keras's defaults."""

    _rank = 2
    _kind = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.pool_size = _args.int_tuple(pool_size, self._rank, "pool_size", owner)
        # Keras: strides default to pool_size.
        self.strides = self.pool_size if strides is None else _args.int_tuple(strides, self._rank, "strides", owner)
        self.padding = _args.padding_mode(padding, owner)
        self.data_format = _args.data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=self._rank + 2, layout=_spatial.layout(self._rank, self.data_format))

    def _spatial_sizes(self, shape):
        return _spatial.spatial_sizes(shape, self._rank, self.data_format)

    def _check_input_shape(self, shape) -> None:
        super()._check_input_shape(shape)
        if self.padding == "valid":
            for axis, size, k in zip(_spatial.AXIS_NAMES[self._rank], self._spatial_sizes(shape), self.pool_size):
                if size is not None and size < k:
                    raise ShapeError(
                        f"{type(self).__name__} '{self.name}': the pool window ({k}) is larger than the input "
                        f"{axis} ({size}) with padding='valid'. The {_INPUT_NOUN[self._rank]} has shrunk too much "
                        f"before this layer: use padding='same' here or in the layers before, or fewer pooling layers. "
                        f"Received: input_shape={tuple(shape)}"
                    )

    def call(self, inputs):
        x = _spatial.to_channels_first(inputs, self.data_format)
        y = pool_channels_first(x, self._kind, self.pool_size, self.strides, self.padding)
        return _spatial.from_channels_first(y, self.data_format)

    def compute_output_shape(self, input_shape):
        sizes = []
        for size, k, s in zip(self._spatial_sizes(input_shape), self.pool_size, self.strides):
            if size is None:
                sizes.append(None)
            elif self.padding == "same":
                sizes.append(-(-size // s))
            else:
                sizes.append(conv_output_size(size, k, 0, s))
        return _spatial.with_spatial(input_shape, sizes, self.data_format)

    def get_config(self):
        return {**super().get_config(), "pool_size": tuple(self.pool_size), "strides": tuple(self.strides),
                "padding": self.padding, "data_format": self.data_format}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}"


class MaxPooling1D(_Pooling):
    """Max pooling over windows of steps (Keras's ``MaxPooling1D``).

    Args:
        pool_size: int; default 2.
        strides: int; default ``pool_size`` (as in Keras).
        padding: ``"valid"`` or ``"same"`` (TF's rule: the odd padded step goes at the end, never picked).
        data_format: ``"channels_last"`` ``(N, steps, features)`` (default) or ``"channels_first"``.

    Shape:
        Input ``(N, L, C)``; output ``(N, (L - p) // s + 1, C)`` for ``valid``, ``(N, ceil(L / s), C)`` for ``same``.

    Example:
        >>> MaxPooling1D(2)(np.zeros((1, 10, 4))).shape
        torch.Size([1, 5, 4])
    """

    _rank, _kind = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Average pooling over windows of steps (Keras's ``AveragePooling1D``); arguments as :class:`MaxPooling1D`.

    ``pool_size`` has no default (as in Keras). With ``padding="same"`` padded steps are left out of the average.

    Example:
        >>> AveragePooling1D(3, strides=2, padding="same")(np.zeros((1, 10, 4))).shape
        torch.Size([1, 5, 4])
    """

    _rank, _kind = 1, "avg"


class _Pooling2D(_Pooling):
    _rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling2D):
    """Max pooling over 2-D windows (Keras's ``MaxPooling2D``).

    Args:
        pool_size: int or ``(ph, pw)``; default 2.
        strides: int or pair; default ``pool_size`` (as in Keras).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input ``(N, H, W, C)``; output ``(N, (H - p) // s + 1, (W - p) // s + 1, C)`` for ``valid``.

    Example:
        >>> MaxPooling2D(2)(np.zeros((1, 28, 28, 32))).shape
        torch.Size([1, 14, 14, 32])
    """

    _kind = "max"

    def call(self, inputs):
        inference = not (torch.is_grad_enabled() and inputs.requires_grad)
        if inference and self.pool_size == (2, 2) and self.strides == (2, 2):
            height, width = (1, 2) if self.data_format == "channels_last" else (2, 3)
            sizes = inputs.shape[height], inputs.shape[width]
            if self.padding == "valid" or not (sizes[0] % 2 or sizes[1] % 2):
                return max_pool_2x2(inputs, height, width)
        return super().call(inputs)


def max_pool_2x2(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """2x2 max pooling with stride 2 (odd edges dropped) as two elementwise maxima over strided views.

    Inference only (no argmax is kept for a backward pass): the same values as ``F.max_pool2d``, NaN included,
    about 3x faster on channels-last tensors, where ``F.max_pool2d`` also computes the argmax indices.
    """
    rows = [slice(None)] * x.dim()
    rows[height] = slice(0, x.shape[height] // 2 * 2, 2)
    below = list(rows)
    below[height] = slice(1, x.shape[height] // 2 * 2, 2)
    pairs = torch.maximum(x[tuple(rows)], x[tuple(below)])
    left = [slice(None)] * x.dim()
    left[width] = slice(0, x.shape[width] // 2 * 2, 2)
    right = list(left)
    right[width] = slice(1, x.shape[width] // 2 * 2, 2)
    return torch.maximum(pairs[tuple(left)], pairs[tuple(right)])


class AveragePooling2D(_Pooling2D):
    """Average pooling over 2-D windows (Keras's ``AveragePooling2D``); arguments as :class:`MaxPooling2D`.

    With ``padding="same"``, padded cells are left out of the average (TensorFlow's rule).
    """

    _kind = "avg"


class MaxPooling3D(_Pooling):
    """Max pooling over 3-D windows of volumes (Keras's ``MaxPooling3D``).

    Args:
        pool_size: int or ``(pd, ph, pw)``; default 2.
        strides: int or triple; default ``pool_size`` (as in Keras).
        padding: ``"valid"`` or ``"same"`` (TF's rule: the odd extra cell at the back/bottom/right, never picked).
        data_format: ``"channels_last"`` ``(N, D, H, W, C)`` (default) or ``"channels_first"``.

    Shape:
        Input ``(N, D, H, W, C)``; each spatial size ``n`` becomes ``(n - p) // s + 1`` (``valid``) or
        ``ceil(n / s)`` (``same``).

    Example:
        >>> MaxPooling3D()(np.zeros((1, 8, 8, 8, 2))).shape
        torch.Size([1, 4, 4, 4, 2])
    """

    _rank, _kind = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Average pooling over 3-D windows (Keras's ``AveragePooling3D``); arguments as :class:`MaxPooling3D`.

    ``pool_size`` has no default (as in Keras). With ``padding="same"`` padded cells are left out of the average.

    Example:
        >>> AveragePooling3D(2)(np.zeros((1, 8, 8, 8, 2))).shape
        torch.Size([1, 4, 4, 4, 2])
    """

    _rank, _kind = 3, "avg"


MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D

# Global pooling lived here before it got its own module; keep the old import path working.
from cnnlab.layers.global_pooling import (  # noqa: E402,F401
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)

"""Convolution layers: Conv1D, Conv2D and Conv3D (Keras's ``Conv*``), on torch's ``F.conv1d/2d/3d``.

The rest of the family lives beside it (conv_transpose.py, separable.py, depthwise.py, with the shared
machinery in _conv_base.py); it is re-exported here so the family is one import, as Keras's
``layers.convolutional`` package is.
"""

from __future__ import annotations

from cnnlab.errors import ConfigError
from cnnlab.layers import _args
from cnnlab.layers._conv_base import CONV_FNS, BaseConv
from cnnlab.layers.conv_transpose import (  # noqa: F401  (re-exported)
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
    Convolution1DTranspose,
    Convolution2DTranspose,
    Convolution3DTranspose,
)
from cnnlab.layers.depthwise import DepthwiseConv1D, DepthwiseConv2D  # noqa: F401  (re-exported)
from cnnlab.layers.separable import (  # noqa: F401  (re-exported)
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution1D,
    SeparableConvolution2D,
)


class _Conv(BaseConv):
    """The arguments, weights and computation shared by Conv1D, Conv2D and Conv3D."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         activity_regularizer, **kwargs)
        owner = self._owner()
        self.filters = _args.positive_int(filters, "filters", owner)
        self.groups = _args.positive_int(groups, "groups", owner)
        if self.filters % self.groups:
            raise ConfigError(f"{owner}: filters ({self.filters}) must be divisible by groups. Received: groups={groups}")
        self._weight_args("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self._weight_args("bias", bias_initializer, bias_regularizer, bias_constraint)

    def _create_weights(self, channels: int) -> None:
        if channels % self.groups:
            raise ConfigError(f"{self._owner()}: input channels ({channels}) must be divisible by groups "
                              f"({self.groups}).")
        self.add_weight(name="kernel", shape=(*self.kernel_size, channels // self.groups, self.filters),
                        initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                        constraint=self.kernel_constraint)
        self._add_bias(self.filters)

    def _convolve(self, x):
        x, padding = self._padded(x)
        return CONV_FNS[self.rank](x, self.kernel.permute(*self._kernel_order), self.bias, self.strides, padding,
                                   self.dilation_rate, self.groups)

    def _torch_weight(self):
        return (self.kernel.permute(*self._kernel_order), self.groups) if self.rank == 2 else None

    def _config(self) -> dict:
        return {"filters": self.filters}

    def _config_after_dilation(self) -> dict:
        return {"groups": self.groups}


class Conv1D(_Conv):
    """1-D convolution over sequences (temporal convolution), Keras's ``Conv1D``.

    Args:
        filters: number of output channels.
        kernel_size: int or ``(k,)``.
        strides: int or ``(s,)``; default 1.
        padding: ``"valid"``, ``"same"`` (TensorFlow's rule: the odd extra step goes at the end) or
            ``"causal"`` (``dilation_rate * (kernel_size - 1)`` zeros at the start only, so output step t
            depends on input steps up to t; for autoregressive models).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or ``(d,)``.
        groups: number of channel groups (``filters`` and input channels must be divisible by it).
        activation: name or callable applied to the output; None for linear.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: names or initializer objects.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties.
        kernel_constraint, bias_constraint: projections applied after each step.

    Shape:
        Input: ``(N, L, C)`` (channels_last). Output: ``(N, L', filters)`` with
        ``L' = (L - d*(k-1) - 1) // s + 1`` for 'valid' and ``ceil(L / s)`` for 'same' and 'causal'.
        Kernel: ``(k, C / groups, filters)``.

    Example:
        >>> conv = Conv1D(8, 3, padding="causal")
        >>> conv(np.zeros((2, 10, 4))).shape
        torch.Size([2, 10, 8])
    """

    rank = 1
    _allow_causal = True


class Conv2D(_Conv):
    """2-D convolution over images, Keras's ``Conv2D``.

    Args:
        filters: number of output channels.
        kernel_size: int or ``(kh, kw)``.
        strides: int or ``(sh, sw)``; default 1.
        padding: ``"valid"`` (no padding) or ``"same"`` (TensorFlow's rule: the
            odd extra row/column goes to the bottom/right).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or pair.
        groups: number of channel groups (``filters`` and input channels must
            be divisible by it).
        activation: name or callable applied to the output; None for linear.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: names or initializer objects.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties.
        kernel_constraint, bias_constraint: projections applied after each step.

    Shape:
        Input: ``(N, H, W, C)`` (channels_last). Output: ``(N, H', W', filters)``
        with ``H' = (H + 2p - d*(k-1) - 1) // s + 1``. Kernel: ``(kh, kw, C / groups, filters)``.

    Example:
        >>> conv = Conv2D(32, 3, padding="same", activation="relu")
        >>> conv(np.zeros((1, 28, 28, 1))).shape
        torch.Size([1, 28, 28, 32])
    """

    rank = 2


class Conv3D(_Conv):
    """3-D convolution over volumes (or video), Keras's ``Conv3D``.

    Args:
        filters: number of output channels.
        kernel_size: int or ``(kd, kh, kw)``.
        strides: int or triple; default 1.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule: the odd extra plane/row/column goes after).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or triple.
        groups: number of channel groups.
        activation: name or callable applied to the output; None for linear.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: names or initializer objects.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties.
        kernel_constraint, bias_constraint: projections applied after each step.

    Shape:
        Input: ``(N, D, H, W, C)`` (channels_last). Output: ``(N, D', H', W', filters)``, each axis as in
        Conv2D. Kernel: ``(kd, kh, kw, C / groups, filters)``.

    Example:
        >>> conv = Conv3D(4, 3, padding="same")
        >>> conv(np.zeros((1, 8, 8, 8, 2))).shape
        torch.Size([1, 8, 8, 8, 4])
    """

    rank = 3


Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D

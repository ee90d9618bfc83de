"""Separable convolutions (Keras's ``SeparableConv1D``, ``SeparableConv2D``): a depthwise convolution, then a
pointwise (1x1) convolution mixing the channels, with one bias at the end."""

from __future__ import annotations

from cnnlab.layers import _args
from cnnlab.layers._conv_base import CONV_FNS, BaseConv
from cnnlab.layers.depthwise import _DepthwiseMixin


class _SeparableConv(_DepthwiseMixin, BaseConv):
    _weight_prefixes = ("depthwise", "pointwise", "bias")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         activity_regularizer, **kwargs)
        self._depthwise_args(depth_multiplier)
        self.filters = _args.positive_int(filters, "filters", self._owner())
        self._weight_args("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)
        self._weight_args("pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)
        self._weight_args("bias", bias_initializer, bias_regularizer, bias_constraint)

    def _create_weights(self, channels: int) -> None:
        self._add_depthwise_kernel("depthwise_kernel", channels)
        self.add_weight(name="pointwise_kernel",
                        shape=(*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
                        initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
                        constraint=self.pointwise_constraint)
        self._add_bias(self.filters)

    def _convolve(self, x):
        y = self._depthwise(x, self.depthwise_kernel, None)
        return CONV_FNS[self.rank](y, self.pointwise_kernel.permute(*self._kernel_order), self.bias)

    def _config(self) -> dict:
        return {"depth_multiplier": self.depth_multiplier, "filters": self.filters}


_SHARED_ARGS = """
    Args:
        filters: number of output channels (of the pointwise step).
        kernel_size: int or one int per spatial axis (of the depthwise step).
        strides: int or one int per axis; default 1.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule: the odd extra goes after).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or one int per axis.
        depth_multiplier: depthwise filters per input channel.
        activation: name or callable applied to the output; None for linear.
        use_bias: whether to add a bias.
        depthwise_initializer, pointwise_initializer, bias_initializer: names or initializer objects.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer: penalties.
        depthwise_constraint, pointwise_constraint, bias_constraint: projections applied after each step.
"""


class SeparableConv1D(_SeparableConv):
    __doc__ = f"""Depthwise-separable 1-D convolution, Keras's ``SeparableConv1D``.
{_SHARED_ARGS}
    Shape:
        Input: ``(N, L, C)`` (channels_last). Output: ``(N, L', filters)``, ``L'`` as in Conv1D. Weights:
        ``depthwise_kernel (k, C, m)``, ``pointwise_kernel (1, C * m, filters)``, ``bias (filters,)``.

    Example:
        >>> conv = SeparableConv1D(8, 3, padding="same")
        >>> conv(np.zeros((2, 10, 4))).shape
        torch.Size([2, 10, 8])
    """

    rank = 1


class SeparableConv2D(_SeparableConv):
    __doc__ = f"""Depthwise-separable 2-D convolution (Xception's building block), Keras's ``SeparableConv2D``.
{_SHARED_ARGS}
    Shape:
        Input: ``(N, H, W, C)`` (channels_last). Output: ``(N, H', W', filters)``, sizes as in Conv2D.
        Weights: ``depthwise_kernel (kh, kw, C, m)``, ``pointwise_kernel (1, 1, C * m, filters)``,
        ``bias (filters,)``.

    Example:
        >>> conv = SeparableConv2D(32, 3, padding="same", activation="relu")
        >>> conv(np.zeros((1, 8, 8, 16))).shape
        torch.Size([1, 8, 8, 32])
    """

    rank = 2


SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

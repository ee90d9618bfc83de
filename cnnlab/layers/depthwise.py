"""Depthwise convolutions (Keras's ``DepthwiseConv1D``, ``DepthwiseConv2D``): each input channel convolved with
its own ``depth_multiplier`` filters, as torch's grouped convolution with one group per channel."""

from __future__ import annotations

from cnnlab.layers import _args
from cnnlab.layers._conv_base import CONV_FNS, BaseConv


class _DepthwiseMixin:
    """The depthwise step, shared with the separable convolutions."""

    def _depthwise_args(self, depth_multiplier) -> None:
        self.depth_multiplier = _args.positive_int(depth_multiplier, "depth_multiplier", self._owner())

    def _add_depthwise_kernel(self, name: str, channels: int) -> None:
        # Keras (k..., in, multiplier); output channel c * multiplier + m, which is torch's group order too.
        self.add_weight(name=name, shape=(*self.kernel_size, channels, self.depth_multiplier),
                        initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                        constraint=self.depthwise_constraint)

    def _depthwise(self, x, kernel, bias):
        x, padding = self._padded(x)
        channels = kernel.shape[-2]
        weight = kernel.reshape(*self.kernel_size, 1, -1).permute(*self._kernel_order)
        return CONV_FNS[self.rank](x, weight, bias, self.strides, padding, self.dilation_rate, channels)


class _DepthwiseConv(_DepthwiseMixin, BaseConv):
    _weight_prefixes = ("depthwise", "bias")

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         activity_regularizer, **kwargs)
        self._depthwise_args(depth_multiplier)
        self._weight_args("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)
        self._weight_args("bias", bias_initializer, bias_regularizer, bias_constraint)

    def _create_weights(self, channels: int) -> None:
        self._add_depthwise_kernel("kernel", channels)  # Keras 3 names it "kernel", not "depthwise_kernel"
        self._add_bias(channels * self.depth_multiplier)

    def _convolve(self, x):
        return self._depthwise(x, self.kernel, self.bias)

    def _torch_weight(self):
        if self.rank != 2:
            return None
        return self.kernel.reshape(*self.kernel_size, 1, -1).permute(*self._kernel_order), self.kernel.shape[-2]

    def _output_channels(self, channels):
        return None if channels is None else channels * self.depth_multiplier

    def _config(self) -> dict:
        return {"depth_multiplier": self.depth_multiplier}


_SHARED_ARGS = """
    Args:
        kernel_size: int or one int per spatial axis.
        strides: int or one int per axis; default 1.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule: the odd extra goes after).
        depth_multiplier: filters per input channel; the output has ``channels * depth_multiplier`` channels.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or one int per axis.
        activation: name or callable applied to the output; None for linear.
        use_bias: whether to add a bias.
        depthwise_initializer, bias_initializer: names or initializer objects.
        depthwise_regularizer, bias_regularizer, activity_regularizer: penalties.
        depthwise_constraint, bias_constraint: projections applied after each step.
"""


class DepthwiseConv1D(_DepthwiseConv):
    __doc__ = f"""Depthwise 1-D convolution, Keras's ``DepthwiseConv1D``.
{_SHARED_ARGS}
    Shape:
        Input: ``(N, L, C)`` (channels_last). Output: ``(N, L', C * depth_multiplier)``, ``L'`` as in Conv1D.
        Weights: ``kernel (k, C, depth_multiplier)``, ``bias (C * depth_multiplier,)``.

    Example:
        >>> conv = DepthwiseConv1D(3, depth_multiplier=2)
        >>> conv(np.zeros((2, 10, 4))).shape
        torch.Size([2, 8, 8])
    """

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    __doc__ = f"""Depthwise 2-D convolution (the first half of MobileNet's blocks), Keras's ``DepthwiseConv2D``.
{_SHARED_ARGS}
    Shape:
        Input: ``(N, H, W, C)`` (channels_last). Output: ``(N, H', W', C * depth_multiplier)``, sizes as in
        Conv2D. Weights: ``kernel (kh, kw, C, depth_multiplier)``, ``bias (C * depth_multiplier,)``.

    Example:
        >>> conv = DepthwiseConv2D(3, padding="same")
        >>> conv(np.zeros((1, 8, 8, 16))).shape
        torch.Size([1, 8, 8, 16])
    """

    rank = 2

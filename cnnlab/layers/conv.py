"""Convolution layers."""

from __future__ import annotations

import torch.nn.functional as F

from cnnlab import activations, constraints, initializers, regularizers
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers import _args
from cnnlab.layers.base import InputSpec, Layer
from cnnlab.ops import conv_output_size, same_padding


class Conv2D(Layer):
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
        with ``H' = (H + 2p - d*(k-1) - 1) // s + 1``.

    Example:
        >>> conv = Conv2D(32, 3, padding="same", activation="relu")
        >>> conv(np.zeros((1, 28, 28, 1))).shape
        torch.Size([1, 28, 28, 32])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = f"Conv2D '{self.name}'"
        self.filters = _args.positive_int(filters, "filters", owner)
        self.kernel_size = _args.int_tuple(kernel_size, 2, "kernel_size", owner)
        self.strides = _args.int_tuple(strides, 2, "strides", owner)
        self.padding = _args.padding_mode(padding, owner)
        self.data_format = _args.data_format(data_format, owner)
        self.dilation_rate = _args.int_tuple(dilation_rate, 2, "dilation_rate", owner)
        self.groups = _args.positive_int(groups, "groups", owner)
        if self.filters % self.groups:
            raise ConfigError(f"{owner}: filters ({self.filters}) must be divisible by groups. Received: groups={groups}")
        if self.padding == "same" and max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
                              f"Received: strides={strides}, dilation_rate={dilation_rate}")
        self.activation = _args.activation(activation, owner)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, where=f"{owner} argument kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, where=f"{owner} argument bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=4, layout=self._layout())
        self._channel_axis = -1 if self.data_format == "channels_last" else 1
        self._emit_logits = False
        self._defer_activation = False  # set while a model applies the activation after the next layer
        self._pad_cache: dict = {}

    def _layout(self) -> str:
        return "(batch, height, width, channels)" if self.data_format == "channels_last" else \
            "(batch, channels, height, width)"

    def build(self, input_shape) -> None:
        channels = input_shape[self._channel_axis]
        owner = f"Conv2D '{self.name}'"
        if channels is None:
            raise ShapeError(f"{owner}: the channel axis of the input must be known. Received: input_shape={input_shape}")
        if channels % self.groups:
            raise ConfigError(f"{owner}: input channels ({channels}) must be divisible by groups ({self.groups}).")
        self._check_fits(input_shape)
        kh, kw = self.kernel_size
        self.add_weight("kernel", (kh, kw, channels // self.groups, self.filters), self.kernel_initializer,
                        self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                            constraint=self.bias_constraint)
        else:
            self.bias = None
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: channels}, layout=self._layout())

    def _spatial(self, shape) -> tuple:
        return tuple(shape[1:3]) if self.data_format == "channels_last" else tuple(shape[2:4])

    def _check_fits(self, input_shape) -> None:
        if self.padding != "valid":
            return
        for axis, size, k, d in zip(("height", "width"), self._spatial(input_shape), self.kernel_size,
                                    self.dilation_rate):
            span = d * (k - 1) + 1
            if size is not None and size < span:
                raise ShapeError(
                    f"Conv2D '{self.name}': the kernel {axis} ({span}) is larger than the input {axis} ({size}) "
                    f"with padding='valid', so the output {axis} would be ({size} - {span})/s + 1 < 1. "
                    f"Use padding='same', a smaller kernel_size, or remove a pooling layer before it. "
                    f"Received: input_shape={tuple(input_shape)}"
                )

    def _check_input_shape(self, shape) -> None:
        super()._check_input_shape(shape)
        if self.built:
            self._check_fits(shape)

    def _paddings(self, height: int, width: int):
        """Symmetric padding for F.conv2d, or an explicit F.pad tuple when TF pads unevenly."""
        key = (height, width)
        if key not in self._pad_cache:
            if self.padding == "valid":
                self._pad_cache[key] = (0, None)
            else:
                (top, bottom), (left, right) = (
                    same_padding(size, k, s, d)
                    for size, k, s, d in zip(key, self.kernel_size, self.strides, self.dilation_rate))
                if top == bottom and left == right:
                    self._pad_cache[key] = ((top, left), None)
                else:
                    self._pad_cache[key] = (0, (left, right, top, bottom))
        return self._pad_cache[key]

    def call(self, inputs):
        x = inputs.permute(0, 3, 1, 2) if self.data_format == "channels_last" else inputs
        symmetric, explicit = self._paddings(x.shape[2], x.shape[3])
        if explicit is not None:
            x = F.pad(x, explicit)
        y = F.conv2d(x, self.kernel.permute(3, 2, 0, 1), self.bias, self.strides, symmetric, self.dilation_rate,
                     self.groups)
        if not (self._emit_logits or self._defer_activation):
            y = self.activation(y)
        return y.permute(0, 2, 3, 1) if self.data_format == "channels_last" else y

    def compute_output_shape(self, input_shape):
        sizes = []
        for size, k, s, d in zip(self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate):
            if size is None:
                sizes.append(None)
            elif self.padding == "same":
                sizes.append(-(-size // s))
            else:
                sizes.append(conv_output_size(size, k, 0, s, d))
        if self.data_format == "channels_last":
            return (input_shape[0], *sizes, self.filters)
        return (input_shape[0], self.filters, *sizes)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
            "groups": self.groups, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            **_args.weight_config(self),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, activation={self.activation.__name__}")


Convolution2D = Conv2D

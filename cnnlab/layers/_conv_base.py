"""What every convolution layer shares, for any rank (private; the public classes live in conv.py,
conv_transpose.py, separable.py and depthwise.py).

A convolution layer moves the channel axis first when the data is channels-last, runs one of torch's native
kernels (``F.conv1d/2d/3d`` or ``F.conv_transpose1d/2d/3d``) with the kernel permuted from the Keras layout,
applies the activation and moves the channel axis back. Subclasses supply ``_create_weights`` (the Keras
weights, names, shapes and order), ``_convolve`` (the torch call on channels-first data) and ``_config``.
"""

from __future__ import annotations

import torch.nn.functional as F

from cnnlab import activations, constraints, initializers, regularizers
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers import _args
from cnnlab.layers._kernels import conv_pointwise, fused_activation, inference_conv_ok
from cnnlab.layers.base import InputSpec, Layer
from cnnlab.ops import conv_output_size, same_padding

CONV_FNS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_TRANSPOSE_FNS = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_SPATIAL_AXES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}
CAUSAL_PADDINGS = ("valid", "same", "causal")


class BaseConv(Layer):
    """Rank-generic convolution machinery; ``rank`` is set by each public class."""

    rank = 2
    _allow_causal = False  # Keras accepts padding="causal" only on Conv1D
    _weight_prefixes: tuple[str, ...] = ("kernel", "bias")

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                 activity_regularizer, **kwargs):
        super().__init__(**kwargs)
        owner = self._owner()
        rank = self.rank
        self.kernel_size = _args.int_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = _args.int_tuple(strides, rank, "strides", owner)
        self.padding = self._padding_mode(padding, owner)
        self.data_format = _args.data_format(data_format, owner)
        self.dilation_rate = _args.int_tuple(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1 and self._rejects_strides_with_dilation():
            raise ConfigError(f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
                              f"Received: strides={strides}, dilation_rate={dilation_rate}")
        self.activation = _args.activation(activation, owner)
        self.use_bias = bool(use_bias)
        self.activity_regularizer = regularizers.get(activity_regularizer,
                                                     where=f"{owner} argument activity_regularizer")
        self.input_spec = InputSpec(ndim=rank + 2, layout=self._layout())
        self._channel_axis = -1 if self.data_format == "channels_last" else 1
        self._channels_last = self.data_format == "channels_last"
        self._to_channels_first = (0, rank + 1, *range(1, rank + 1))
        self._to_channels_last = (0, *range(2, rank + 2), 1)
        # Keras (k..., a, b) -> torch (b, a, k...): the same permutation serves conv and transposed conv.
        self._kernel_order = (rank + 1, rank, *range(rank))
        self._emit_logits = False
        self._defer_activation = False  # set while a model applies the activation after the next layer
        self._pad_cache: dict = {}

    # ------------------------------------------------------------------ arguments
    def _owner(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _padding_mode(self, value, owner: str) -> str:
        if not self._allow_causal:
            return _args.padding_mode(value, owner)
        mode = value.lower() if isinstance(value, str) else value
        if mode not in CAUSAL_PADDINGS:
            raise ConfigError(
                f"{owner}: padding must be one of 'valid' (no padding), 'same' (zero padding, the length is kept "
                f"at stride 1) or 'causal' (zero padding on the left only, so step t never sees later steps). "
                f"Received: padding={value!r}"
            )
        return mode

    def _rejects_strides_with_dilation(self) -> bool:
        return self.padding == "same"

    def _weight_args(self, prefix: str, initializer, regularizer, constraint) -> None:
        """Store ``<prefix>_initializer``, ``_regularizer`` and ``_constraint`` (Keras's attribute names)."""
        where = f"{self._owner()} argument {prefix}"
        setattr(self, f"{prefix}_initializer", initializers.get(initializer, where=f"{where}_initializer"))
        setattr(self, f"{prefix}_regularizer", regularizers.get(regularizer, where=f"{where}_regularizer"))
        setattr(self, f"{prefix}_constraint", constraints.get(constraint, where=f"{where}_constraint"))

    def _layout(self) -> str:
        axes = ", ".join(_SPATIAL_AXES[self.rank])
        return f"(batch, {axes}, channels)" if self.data_format == "channels_last" else f"(batch, channels, {axes})"

    # ------------------------------------------------------------------- building
    def build(self, input_shape) -> None:
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ShapeError(f"{self._owner()}: the channel axis of the input must be known. "
                             f"Received: input_shape={input_shape}")
        self._check_fits(input_shape)
        self._create_weights(channels)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels}, layout=self._layout())

    def _create_weights(self, channels: int) -> None:
        raise NotImplementedError

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            self.add_weight(name="bias", shape=(size,), initializer=self.bias_initializer,
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None

    def _spatial(self, shape) -> tuple:
        return tuple(shape[1:-1]) if self.data_format == "channels_last" else tuple(shape[2:])

    def _check_fits(self, input_shape) -> None:
        if self.padding != "valid":
            return
        for axis, size, k, d in zip(_SPATIAL_AXES[self.rank], self._spatial(input_shape), self.kernel_size,
                                    self.dilation_rate):
            span = d * (k - 1) + 1
            if size is not None and size < span:
                raise ShapeError(
                    f"{self._owner()}: the kernel {axis} ({span}) is larger than the input {axis} ({size}) "
                    f"with padding='valid', so the output {axis} would be ({size} - {span})/s + 1 < 1. "
                    f"Use padding='same', a smaller kernel_size, or remove a pooling layer before it. "
                    f"Received: input_shape={tuple(input_shape)}"
                )

    def _check_input_shape(self, shape) -> None:
        super()._check_input_shape(shape)
        if self.built:
            self._check_fits(shape)

    # -------------------------------------------------------------------- calling
    def _paddings(self, spatial):
        """``(padding for torch, F.pad tuple or None)`` for inputs of this spatial size, cached.

        torch pads both sides alike; TF's 'same' may pad one more after, and 'causal' pads before only, so
        those inputs are padded explicitly first.
        """
        if spatial not in self._pad_cache:
            if self.padding == "valid":
                self._pad_cache[spatial] = (0, None)
            elif self.padding == "causal":
                self._pad_cache[spatial] = (0, (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0))
            else:
                pads = [same_padding(size, k, s, d)
                        for size, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
                if all(before == after for before, after in pads):
                    self._pad_cache[spatial] = (tuple(before for before, _ in pads), None)
                else:  # F.pad lists the last axis first
                    self._pad_cache[spatial] = (0, tuple(p for pair in reversed(pads) for p in pair))
        return self._pad_cache[spatial]

    def _padded(self, x):
        """``x`` padded where torch cannot, and the padding left for torch's kernel."""
        padding, explicit = self._paddings(x.shape[2:])
        return (x if explicit is None else F.pad(x, explicit)), padding

    def _convolve(self, x):
        raise NotImplementedError

    def call(self, inputs):
        x = inputs.permute(*self._to_channels_first) if self._channels_last else inputs
        torch_weight = self._torch_weight() if inference_conv_ok(x) else None
        if torch_weight is not None:
            y = self.inference_call(x, torch_weight=torch_weight)
        else:
            y = self._convolve(x)
            if not (self._emit_logits or self._defer_activation):
                y = self.activation(y)
        return y.permute(*self._to_channels_last) if self._channels_last else y

    def _torch_weight(self):
        """``(weight in torch's layout, groups)`` for the inference kernel, or None where it does not apply."""
        return None

    def inference_call(self, x, batch_norm=None, post=None, residual=None, torch_weight=None):
        """The layer's convolution (and activation) on channels-first ``x`` as one oneDNN primitive, for
        inference only (see ``cnnlab.layers._kernels``).

        ``batch_norm``: a BatchNormalization layer in inference mode that reads this output, folded into the
        weights (``w * gamma / sqrt(var + eps)``; ``(b - mean) * gamma / sqrt(var + eps) + beta``), with
        ``post`` (oneDNN's name and arguments) the activation after it; ``residual``: a tensor of the output's
        shape added before that activation (a residual block's shortcut).
        """
        weight, groups = torch_weight or self._torch_weight()
        deferred = self._emit_logits or self._defer_activation
        if batch_norm is None:
            post = ("none", []) if deferred else fused_activation(self.activation)
        # Made at each call: the optimizer updates weights in place without a version bump, so a cache could
        # not tell; the cost is one pass over the weights, which oneDNN's own reorder makes anyway.
        w, b = self._inference_weights(weight, batch_norm)
        x, padding = self._padded(x)
        y = conv_pointwise(x, w, b, padding, self.strides, self.dilation_rate, groups, post or ("none", []),
                           residual)
        return y if post is not None or deferred else self.activation(y)

    def _inference_weights(self, weight, batch_norm):
        if batch_norm is None:
            return weight.contiguous(), self.bias
        scale = (batch_norm.moving_variance + batch_norm.epsilon).rsqrt()
        if batch_norm.gamma is not None:
            scale = scale * batch_norm.gamma
        bias = -batch_norm.moving_mean if self.bias is None else self.bias - batch_norm.moving_mean
        bias = bias * scale + (batch_norm.beta if batch_norm.beta is not None else 0.0)
        return (weight * scale.reshape(-1, *[1] * (weight.dim() - 1))).contiguous(), bias

    # ---------------------------------------------------------- shape and config
    def _output_channels(self, channels):
        return self.filters

    def _output_size(self, size: int, k: int, s: int, d: int, axis: int) -> int:
        if self.padding == "valid":
            return conv_output_size(size, k, 0, s, d)
        return -(-size // s)

    def compute_output_shape(self, input_shape):
        sizes = [None if size is None else self._output_size(size, k, s, d, axis)
                 for axis, (size, k, s, d) in enumerate(zip(self._spatial(input_shape), self.kernel_size,
                                                             self.strides, self.dilation_rate))]
        channels = self._output_channels(input_shape[self._channel_axis])
        if self.data_format == "channels_last":
            return (input_shape[0], *sizes, channels)
        return (input_shape[0], channels, *sizes)

    def _config(self) -> dict:
        """The family's own leading entries (``filters``, ``depth_multiplier``, ...)."""
        return {}

    def get_config(self):
        config = {**super().get_config(), **self._config(), "kernel_size": tuple(self.kernel_size),
                  "strides": tuple(self.strides), "padding": self.padding}
        config.update(self._config_after_padding())
        config.update({"data_format": self.data_format, "dilation_rate": tuple(self.dilation_rate)})
        config.update(self._config_after_dilation())
        config.update({"activation": activations.serialize(self.activation), "use_bias": self.use_bias})
        config.update(self._weights_config())
        return config

    def _config_after_padding(self) -> dict:
        return {}

    def _config_after_dilation(self) -> dict:
        return {}

    def _weights_config(self) -> dict:
        """Initializers, regularizers and constraints in Keras's key order."""
        prefixes = self._weight_prefixes
        config = {f"{p}_initializer": initializers.serialize(getattr(self, f"{p}_initializer")) for p in prefixes}
        optional = [(f"{p}_regularizer", regularizers.serialize) for p in prefixes]
        optional.append(("activity_regularizer", regularizers.serialize))
        optional += [(f"{p}_constraint", constraints.serialize) for p in prefixes]
        for arg, serialize in optional:
            value = getattr(self, arg)
            config[arg] = None if value is None else serialize(value)
        return config

    def extra_repr(self) -> str:
        size = ", ".join(f"{k}={v}" for k, v in self._config().items())
        return (f"name={self.name!r}, {size}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}, activation={self.activation.__name__}")

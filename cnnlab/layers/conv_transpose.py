"""Transposed convolution layers (Keras's ``Conv1DTranspose``, ``Conv2DTranspose``, ``Conv3DTranspose``).

The output size follows Keras on TensorFlow: with ``output_padding=None``, ``'same'`` gives ``input * stride``
and ``'valid'`` gives ``(input - 1) * stride + max(kernel, stride)`` (dilated kernel). The values are TF's
``conv_transpose``: the full transposed convolution cropped by the padding TF's forward 'same' convolution
would use, the odd extra row taken off the end.
"""

from __future__ import annotations

from cnnlab.errors import ConfigError
from cnnlab.layers import _args
from cnnlab.layers._conv_base import CONV_TRANSPOSE_FNS, BaseConv


class _ConvTranspose(BaseConv):
    """Arguments, weights and computation shared by the transposed convolutions."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         activity_regularizer, **kwargs)
        owner = self._owner()
        self.filters = _args.positive_int(filters, "filters", owner)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = _args.int_tuple(output_padding, self.rank, "output_padding", owner,
                                                  allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ConfigError(
                    f"{owner}: each output_padding must be smaller than the stride on its axis (strides="
                    f"{self.strides}); it only picks among the output sizes a stride leaves open. Use smaller "
                    f"values or None. Received: output_padding={output_padding!r}"
                )
        self._weight_args("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self._weight_args("bias", bias_initializer, bias_regularizer, bias_constraint)

    def _rejects_strides_with_dilation(self) -> bool:
        return True  # Keras refuses the pair for every padding of a transposed convolution

    def _create_weights(self, channels: int) -> None:
        # Keras's transposed kernel is (k..., out, in): the kernel of the convolution it is the transpose of.
        self.add_weight(name="kernel", shape=(*self.kernel_size, self.filters, channels),
                        initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                        constraint=self.kernel_constraint)
        self._add_bias(self.filters)

    def _check_fits(self, input_shape) -> None:
        return  # a transposed convolution only grows its input

    def _output_size(self, size: int, k: int, s: int, d: int, axis: int) -> int:
        span = d * (k - 1) + 1
        extra = None if self.output_padding is None else self.output_padding[axis]
        if self.padding == "valid":
            return (size - 1) * s + span + (max(span, s) - span if extra is None else extra)
        return size * s if extra is None else (size - 1) * s + span % 2 + extra

    def _paddings(self, spatial):
        """``(padding, output_padding, crop index or None)`` for torch's conv_transpose, cached.

        torch crops ``padding`` from both ends of the full result and adds ``output_padding`` at the end;
        TF crops ``total // 2`` before and the rest after, so an odd total leaves one row to slice off.
        """
        if spatial not in self._pad_cache:
            paddings, output_paddings, sizes, crop = [], [], [], False
            for axis, (size, k, s, d) in enumerate(zip(spatial, self.kernel_size, self.strides,
                                                       self.dilation_rate)):
                out = self._output_size(size, k, s, d, axis)
                full = (size - 1) * s + d * (k - 1) + 1
                before = 0 if self.padding == "valid" else max(full - out, 0) // 2
                extra = out - (full - 2 * before)
                paddings.append(before)
                output_paddings.append(max(extra, 0))
                sizes.append(out)
                crop = crop or extra < 0
            index = (slice(None), slice(None), *(slice(0, n) for n in sizes)) if crop else None
            self._pad_cache[spatial] = (tuple(paddings), tuple(output_paddings), index)
        return self._pad_cache[spatial]

    def _convolve(self, x):
        padding, output_padding, crop = self._paddings(x.shape[2:])
        y = CONV_TRANSPOSE_FNS[self.rank](x, self.kernel.permute(*self._kernel_order), self.bias, self.strides,
                                          padding, output_padding, 1, self.dilation_rate)
        return y if crop is None else y[crop]

    def _config(self) -> dict:
        return {"filters": self.filters}

    def _config_after_padding(self) -> dict:
        return {"output_padding": None if self.output_padding is None else tuple(self.output_padding)}


_SHARED_ARGS = """
    Args:
        filters: number of output channels.
        kernel_size: int or one int per spatial axis.
        strides: int or one int per axis; the output is about ``stride`` times larger.
        padding: ``"valid"`` or ``"same"`` (output ``input * stride`` when ``output_padding`` is None).
        output_padding: None, or an int (or one per axis) smaller than the stride: the extra size added at
            the end, to pick among the output sizes that a strided convolution maps back to the input size.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or one int per axis (not together with strides > 1).
        activation: name or callable applied to the output; None for linear.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: names or initializer objects.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties.
        kernel_constraint, bias_constraint: projections applied after each step.
"""


class Conv1DTranspose(_ConvTranspose):
    __doc__ = f"""Transposed 1-D convolution (learned up-sampling of sequences), Keras's ``Conv1DTranspose``.
{_SHARED_ARGS}
    Shape:
        Input: ``(N, L, C)`` (channels_last). Output: ``(N, L', filters)`` with ``L' = L * s`` ('same') or
        ``(L - 1) * s + max(d*(k-1)+1, s)`` ('valid'), plus ``output_padding`` rules as in Keras.
        Kernel: ``(k, filters, C)``.

    Example:
        >>> up = Conv1DTranspose(4, 3, strides=2, padding="same")
        >>> up(np.zeros((2, 5, 3))).shape
        torch.Size([2, 10, 4])
    """

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    __doc__ = f"""Transposed 2-D convolution (learned up-sampling of images), Keras's ``Conv2DTranspose``.
{_SHARED_ARGS}
    Shape:
        Input: ``(N, H, W, C)`` (channels_last). Output: ``(N, H', W', filters)``, each axis as in
        Conv1DTranspose. Kernel: ``(kh, kw, filters, C)``.

    Example:
        >>> up = Conv2DTranspose(8, 3, strides=2, padding="same")
        >>> up(np.zeros((1, 7, 7, 16))).shape
        torch.Size([1, 14, 14, 8])
    """

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    __doc__ = f"""Transposed 3-D convolution (learned up-sampling of volumes), Keras's ``Conv3DTranspose``.
{_SHARED_ARGS}
    Shape:
        Input: ``(N, D, H, W, C)`` (channels_last). Output: ``(N, D', H', W', filters)``, each axis as in
        Conv1DTranspose. Kernel: ``(kd, kh, kw, filters, C)``.

    Example:
        >>> up = Conv3DTranspose(2, 2, strides=2)
        >>> up(np.zeros((1, 4, 4, 4, 3))).shape
        torch.Size([1, 8, 8, 8, 2])
    """

    rank = 3

    # Keras's Conv3DTranspose alone takes data_format before output_padding; positional calls must agree.
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, output_padding=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose

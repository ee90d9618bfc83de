"""Reshaping layers: zero padding, cropping, permuting, repeating and the identity (up-sampling is in up_sampling.py).

Zero padding and cropping share one base: both add (padding) or remove (cropping) a margin
``(before, after)`` on each spatial axis.
"""

from __future__ import annotations

import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers import _args, _spatial
from cnnlab.layers.base import InputSpec, Layer

# How each rank spells its margins in Keras's docs, for error messages.
_MARGIN_FORMS = {
    1: "an int or a pair of ints (before, after)",
    2: "an int, a pair of ints (symmetric height, symmetric width) or ((top, bottom), (left, right))",
    3: "an int, 3 ints (symmetric depth, height, width) or ((front, back), (top, bottom), (left, right))",
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def margin_pairs(value, rank: int, arg: str, owner: str) -> tuple[tuple[int, int], ...]:
    """Keras's margin forms as one ``(before, after)`` pair of non-negative ints per spatial axis.

    An int applies to every side; for 2-D and 3-D, one int per axis applies to both of its sides; a 1-D
    margin is an int or a single ``(before, after)`` pair.
    """
    def bad():
        return ConfigError(f"{owner}: {arg} must be {_MARGIN_FORMS[rank]}, of non-negative ints. "
                           f"Received: {arg}={value!r}")

    if _is_int(value):
        entries = [value] * rank
    elif rank == 1:
        entries = [value]
    else:
        try:
            entries = list(value)
        except TypeError:
            raise bad() from None
        if len(entries) != rank:
            raise bad()
    pairs = []
    for entry in entries:
        if _is_int(entry):
            entry = (entry, entry)
        try:
            pair = tuple(entry)
        except TypeError:
            raise bad() from None
        if len(pair) != 2 or not all(_is_int(v) and v >= 0 for v in pair):
            raise bad()
        pairs.append(pair)
    return tuple(pairs)


class _Margins(Layer):
    """Adds (``_sign = 1``) or removes (``_sign = -1``) a margin on each spatial axis."""

    _rank = 2
    _arg = "padding"
    _sign = 1
    _has_data_format = True

    def __init__(self, margins, data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.data_format = _args.data_format(data_format, owner)
        setattr(self, self._arg, margin_pairs(margins, self._rank, self._arg, owner))
        self.input_spec = InputSpec(ndim=self._rank + 2, layout=_spatial.layout(self._rank, self.data_format))

    @property
    def _pairs(self) -> tuple[tuple[int, int], ...]:
        return getattr(self, self._arg)

    def compute_output_shape(self, input_shape):
        self._check_fits(input_shape)
        sizes = [None if size is None else size + self._sign * (before + after)
                 for size, (before, after) in zip(_spatial.spatial_sizes(input_shape, self._rank, self.data_format),
                                                  self._pairs)]
        return _spatial.with_spatial(input_shape, sizes, self.data_format)

    def _check_fits(self, shape) -> None:
        """Padding always fits; cropping checks it leaves something."""

    def _check_input_shape(self, shape) -> None:
        super()._check_input_shape(shape)
        self._check_fits(shape)

    def get_config(self):
        pairs = tuple(tuple(pair) for pair in self._pairs)
        config = {**super().get_config(), self._arg: pairs[0] if self._rank == 1 else pairs}
        if self._has_data_format:
            config["data_format"] = self.data_format
        return config


class _ZeroPadding(_Margins):
    _arg, _sign = "padding", 1

    def call(self, inputs):
        pads = [amount for pair in reversed(self._pairs) for amount in pair]  # F.pad lists the last axis first
        if self.data_format == "channels_last":
            pads = [0, 0] + pads
        return F.pad(inputs, pads)


class _Cropping(_Margins):
    _arg, _sign = "cropping", -1

    def _check_fits(self, shape) -> None:
        sizes = _spatial.spatial_sizes(shape, self._rank, self.data_format)
        for axis, size, (before, after) in zip(_spatial.AXIS_NAMES[self._rank], sizes, self._pairs):
            if size is not None and before + after >= size:
                raise ShapeError(
                    f"{type(self).__name__} '{self.name}': cropping ({before}, {after}) removes all of the input "
                    f"{axis} ({size}); it must leave at least one. Crop less, or crop before the input shrinks. "
                    f"Received: cropping={self.cropping}, input_shape={tuple(shape)}"
                )

    def call(self, inputs):
        index = [slice(None)] * inputs.dim()
        axes = _spatial.spatial_axes(self._rank, self.data_format)
        for axis, (before, after) in zip(axes, self._pairs):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]


class ZeroPadding1D(_ZeroPadding):
    """Pad sequences with zeros at the start and end of the steps axis (Keras's ``ZeroPadding1D``).

    Args:
        padding: int (both ends) or ``(before, after)``; default 1.
        data_format: ``"channels_last"`` ``(N, steps, features)`` (default) or ``"channels_first"``.

    Shape:
        Input ``(N, L, C)``; output ``(N, L + before + after, C)``.

    Example:
        >>> ZeroPadding1D((1, 2))(np.zeros((1, 5, 3))).shape
        torch.Size([1, 8, 3])
    """

    _rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Pad images with zeros on each side (Keras's ``ZeroPadding2D``).

    Args:
        padding: int (all sides), ``(symmetric_h, symmetric_w)`` or ``((top, bottom), (left, right))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input ``(N, H, W, C)``; output ``(N, H + top + bottom, W + left + right, C)``.

    Example:
        >>> ZeroPadding2D(((1, 2), (0, 3)))(np.zeros((1, 4, 4, 3))).shape
        torch.Size([1, 7, 7, 3])
    """

    _rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pad volumes with zeros on each side of depth, height and width (Keras's ``ZeroPadding3D``).

    Args:
        padding: int (all sides), 3 ints (symmetric per axis) or ``((front, back), (top, bottom), (left, right))``;
            default 1 on every side.
        data_format: ``"channels_last"`` ``(N, D, H, W, C)`` (default) or ``"channels_first"``.

    Example:
        >>> ZeroPadding3D(1)(np.zeros((1, 4, 4, 4, 2))).shape
        torch.Size([1, 6, 6, 6, 2])
    """

    _rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping1D(_Cropping):
    """Cut steps off the start and end of sequences (Keras's ``Cropping1D``; channels-last only, as in Keras).

    Args:
        cropping: int (both ends) or ``(before, after)``; default ``(1, 1)``.

    Shape:
        Input ``(N, L, C)``; output ``(N, L - before - after, C)``.

    Example:
        >>> Cropping1D((1, 2))(np.zeros((1, 8, 3))).shape
        torch.Size([1, 5, 3])
    """

    _rank = 1
    _has_data_format = False

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)


class Cropping2D(_Cropping):
    """Cut rows and columns off the edges of images (Keras's ``Cropping2D``).

    Args:
        cropping: int (all sides), ``(symmetric_h, symmetric_w)`` or ``((top, bottom), (left, right))``;
            default no cropping.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input ``(N, H, W, C)``; output ``(N, H - top - bottom, W - left - right, C)``.

    Example:
        >>> Cropping2D(((2, 2), (4, 4)))(np.zeros((1, 28, 28, 3))).shape
        torch.Size([1, 24, 20, 3])
    """

    _rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Cut cells off the edges of volumes along depth, height and width (Keras's ``Cropping3D``).

    Args:
        cropping: int (all sides), 3 ints (symmetric per axis) or ``((front, back), (top, bottom), (left, right))``;
            default 1 on every side.
        data_format: ``"channels_last"`` ``(N, D, H, W, C)`` (default) or ``"channels_first"``.

    Example:
        >>> Cropping3D(1)(np.zeros((1, 6, 6, 6, 2))).shape
        torch.Size([1, 4, 4, 4, 2])
    """

    _rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Permute(Layer):
    """Reorder the axes of each sample; ``dims`` counts from 1 (the batch axis stays first), as in Keras.

    Args:
        dims: a permutation of ``1..rank``, e.g. ``(2, 1)`` swaps the two axes of ``(N, steps, features)``.

    Shape:
        Input ``(N, d1, ..., dk)``; output ``(N, d_dims[0], ..., d_dims[k-1])``.

    Example:
        >>> Permute((2, 1))(np.zeros((1, 10, 64))).shape
        torch.Size([1, 64, 10])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            perm = tuple(dims)
        except TypeError:
            perm = ()
        if not perm or not all(_is_int(d) for d in perm) or sorted(perm) != list(range(1, len(perm) + 1)):
            hint = ""
            if perm and all(_is_int(d) for d in perm) and sorted(perm) == list(range(len(perm))):
                hint = f" These look 0-based: did you mean dims={tuple(d + 1 for d in perm)}?"
            raise ConfigError(
                f"Permute '{self.name}': dims must be a permutation of 1..rank (the axes of one sample, counted "
                f"from 1; the batch axis 0 always stays first), e.g. dims=(2, 1).{hint} Received: dims={dims!r}"
            )
        self.dims = perm
        self.input_spec = InputSpec(ndim=len(perm) + 1)

    def call(self, inputs):
        return inputs.permute(0, *self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self):
        return {**super().get_config(), "dims": tuple(self.dims)}


class RepeatVector(Layer):
    """Repeat each feature vector ``n`` times: ``(N, F)`` -> ``(N, n, F)`` (Keras's ``RepeatVector``).

    Args:
        n: how many copies, a positive int.

    Example:
        >>> RepeatVector(3)(np.zeros((2, 32))).shape
        torch.Size([2, 3, 32])
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _args.positive_int(n, "n", f"RepeatVector '{self.name}'")
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return inputs.unsqueeze(1).expand(-1, self.n, -1)  # a view: the copies share memory until written

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Identity(Layer):
    """Return the input unchanged (Keras's ``Identity``): a named placeholder, e.g. where a block may be skipped.

    Example:
        >>> Identity()(np.ones((2, 3))).shape
        torch.Size([2, 3])
    """

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

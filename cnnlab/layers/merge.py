"""Layers that merge a list of inputs: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

Each has Keras 3's functional form (``add([a, b])`` is ``Add()([a, b])``), which works on symbolic and eager
inputs alike.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers.base import Layer

# Keras's backend.epsilon(): the floor of the norm in Dot(normalize=True) (keras/src/ops/nn.py normalize).
KERAS_EPSILON = 1e-7


class _Merge(Layer):
    """Shared checks of the merge layers: a list of inputs, of the count the layer takes."""

    _takes_several_inputs = True
    _exact_inputs: int | None = None  # Subtract and Dot take exactly 2; the others 1 or more
    _example_args = ""

    def _owner(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _check_list(self, shapes) -> list:
        count = self._exact_inputs
        is_list = isinstance(shapes, (list, tuple)) and bool(shapes) and all(
            isinstance(s, (list, tuple)) for s in shapes)
        if not is_list or (count is not None and len(shapes) != count):
            wanted = f"exactly {count} inputs" if count else "a list of inputs"
            example = ", ".join("abcd"[:count or 2])
            raise ShapeError(
                f"{self._owner()} takes {wanted}, e.g. {type(self).__name__}({self._example_args})([{example}]). "
                f"Received: input_shape={shapes!r}"
            )
        return [tuple(s) for s in shapes]

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)  # validates the shapes where the layer is first called

    def _as_list(self, inputs) -> list:
        """The inputs of a call; a built layer is not checked again, so a lone tensor is caught here."""
        if not isinstance(inputs, (list, tuple)):
            self._check_list(tuple(inputs.shape))
        return list(inputs)

    def _check_input_shape(self, shape) -> None:
        self._check_list(shape)

    def _batch_size(self, shapes: list) -> int | None:
        sizes = {s[0] for s in shapes if s} - {None}
        if len(sizes) > 1:
            raise ShapeError(
                f"{self._owner()} cannot merge tensors with different batch sizes; got shapes "
                f"{', '.join(map(str, shapes))}. Feed the branches the same batch. Received: input_shape={shapes}"
            )
        return sizes.pop() if sizes else None


class _ElementwiseMerge(_Merge):
    """Merge same-shaped inputs element by element; shapes broadcast like NumPy (aligned from the last axis)."""

    _hint = "Match the branches (same filters, strides and padding), or project one with a 1x1 Conv2D."

    def _combine(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def call(self, inputs):
        inputs = self._as_list(inputs)
        rank = max(x.dim() for x in inputs)
        # Keras aligns a lower-rank input on its trailing axes by inserting size-1 axes after the batch axis.
        inputs = [x.reshape(x.shape[:1] + (1,) * (rank - x.dim()) + x.shape[1:]) if x.dim() < rank else x
                  for x in inputs]
        try:
            return self._finish(functools.reduce(self._combine, inputs), len(inputs))
        except RuntimeError as err:  # torch's broadcasting message; say it in the layer's words
            try:
                self.compute_output_shape([tuple(x.shape) for x in inputs])
            except ShapeError as explained:
                raise explained from err
            raise

    def _finish(self, merged: torch.Tensor, count: int) -> torch.Tensor:
        return merged

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        batch = self._batch_size(shapes)
        out = shapes[0][1:]
        for other in shapes[1:]:
            out = self._broadcast(out, other[1:], shapes)
        return (batch,) + out

    def _broadcast(self, first: tuple, second: tuple, shapes: list) -> tuple:
        long, short = (first, second) if len(first) >= len(second) else (second, first)
        lead = long[:len(long) - len(short)]
        dims = []
        for a, b in zip(long[len(lead):], short):
            if a is None or b is None:
                dims.append(None)
            elif a == 1 or b == 1 or a == b:
                dims.append(b if a == 1 else a)
            else:
                raise ShapeError(
                    f"{self._owner()}: inputs must have the same shape, or shapes that broadcast (sizes equal or 1, "
                    f"aligned from the last axis); got {' and '.join(str((None,) + s) for s in (first, second))}. "
                    f"{self._hint} Received: input_shape={shapes}"
                )
        return tuple(lead) + tuple(dims)


class Add(_ElementwiseMerge):
    """Element-wise sum of a list of inputs (residual connections).

    Shape:
        Input: a list of tensors of the same shape (or shapes that broadcast). Output: that shape.

    Example:
        >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).shape
        torch.Size([2, 3])
    """

    def _combine(self, a, b):
        return torch.add(a, b)


class Subtract(_ElementwiseMerge):
    """Element-wise difference ``inputs[0] - inputs[1]`` of exactly two inputs.

    Shape:
        Input: a list of 2 tensors of the same shape. Output: that shape.

    Example:
        >>> Subtract()([np.ones((2, 3)), np.ones((2, 3))]).shape
        torch.Size([2, 3])
    """

    _exact_inputs = 2

    def _combine(self, a, b):
        return torch.sub(a, b)


class Multiply(_ElementwiseMerge):
    """Element-wise product of a list of inputs (e.g. attention or gating masks).

    Shape:
        Input: a list of tensors of the same shape (or shapes that broadcast). Output: that shape.

    Example:
        >>> Multiply()([np.ones((2, 3)), np.ones((2, 3))]).shape
        torch.Size([2, 3])
    """

    def _combine(self, a, b):
        return torch.mul(a, b)


class Average(_ElementwiseMerge):
    """Element-wise mean of a list of inputs (ensembles of branches).

    Shape:
        Input: a list of tensors of the same shape (or shapes that broadcast). Output: that shape.

    Example:
        >>> Average()([np.ones((2, 3)), np.zeros((2, 3))])[0, 0].item()
        0.5
    """

    def _combine(self, a, b):
        return torch.add(a, b)

    def _finish(self, merged, count):
        return merged / count


class Maximum(_ElementwiseMerge):
    """Element-wise maximum of a list of inputs.

    Shape:
        Input: a list of tensors of the same shape (or shapes that broadcast). Output: that shape.

    Example:
        >>> Maximum()([np.ones((2, 3)), np.zeros((2, 3))]).shape
        torch.Size([2, 3])
    """

    def _combine(self, a, b):
        return torch.maximum(a, b)


class Minimum(_ElementwiseMerge):
    """Element-wise minimum of a list of inputs.

    Shape:
        Input: a list of tensors of the same shape (or shapes that broadcast). Output: that shape.

    Example:
        >>> Minimum()([np.ones((2, 3)), np.zeros((2, 3))]).shape
        torch.Size([2, 3])
    """

    def _combine(self, a, b):
        return torch.minimum(a, b)


class Concatenate(_Merge):
    """Join a list of inputs along ``axis`` (default the last, the channel axis).

    Args:
        axis: axis to join along; every other axis must match.

    Shape:
        Input: a list of tensors of one rank, equal except on ``axis``. Output: the sizes on ``axis`` added up.

    Example:
        >>> Concatenate()([np.ones((2, 4, 4, 3)), np.ones((2, 4, 4, 5))]).shape
        torch.Size([2, 4, 4, 8])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ConfigError(f"Concatenate '{self.name}': axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def call(self, inputs):
        return torch.cat(self._as_list(inputs), dim=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        ndim = len(shapes[0])
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"Concatenate '{self.name}': axis {self.axis} is out of range for inputs of rank {ndim}. "
                             f"Received: axis={self.axis}, input_shape={shapes}")
        axis = self.axis % ndim
        self._batch_size(shapes)
        for other in shapes[1:]:
            if len(other) != ndim or any(a != b and None not in (a, b)
                                         for i, (a, b) in enumerate(zip(shapes[0], other)) if i != axis):
                raise ShapeError(
                    f"Concatenate '{self.name}' joins along axis {self.axis}, so every other axis must match; "
                    f"got {shapes[0]} and {other}. Check the branches' pooling/strides so their heights and widths "
                    f"agree. Received: input_shape={shapes}"
                )
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two inputs over one axis of each, sample by sample (Keras's batch dot).

    Args:
        axes: an int (the same axis of both inputs) or a pair ``(axis_of_first, axis_of_second)``;
            negative values count from the end; the batch axis 0 cannot be used.
        normalize: L2-normalize both inputs along their axes first, so the output is the cosine similarity.

    Shape:
        Input: ``[(N, *a), (N, *b)]`` with equal sizes on the two axes. Output: ``(N, *a', *b')``, the axes
        dropped from both (``(N, 1)`` when nothing else is left).

    Example:
        >>> Dot(axes=(1, 2))([np.ones((2, 3, 5)), np.ones((2, 10, 3))]).shape
        torch.Size([2, 5, 10])
    """

    _exact_inputs = 2
    _example_args = "axes=1"

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = axes if isinstance(axes, (list, tuple)) else (axes,)
        if len(pair) not in (1, 2) or (isinstance(axes, (list, tuple)) and len(pair) != 2) or not all(
                isinstance(a, int) and not isinstance(a, bool) for a in pair):
            raise ConfigError(
                f"Dot '{self.name}': axes must be an int or a pair of ints (one axis of each input), e.g. axes=1 or "
                f"axes=(1, 2). Received: axes={axes!r}"
            )
        if 0 in pair:
            raise ConfigError(
                f"Dot '{self.name}': axis 0 is the batch axis, which a Dot cannot sum over. Pick the feature axes "
                f"(1 or more, or negative from the end). Received: axes={axes!r}"
            )
        self.axes = axes
        self.normalize = bool(normalize)

    def _axes_for(self, shapes: list) -> tuple[int, int]:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        resolved = []
        for axis, shape in zip(pair, shapes):
            rank = len(shape)
            if rank < 2 or not -rank < axis < rank:
                raise ShapeError(
                    f"Dot '{self.name}': axis {axis} is not a feature axis of an input of shape {shape} (rank {rank}; "
                    f"Dot needs rank >= 2 and cannot use the batch axis). Received: axes={self.axes!r}, "
                    f"input_shape={shapes}"
                )
            resolved.append(axis % rank)
        return resolved[0], resolved[1]

    def call(self, inputs):
        x, y = self._as_list(inputs)
        ax, ay = self._axes_for([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x = F.normalize(x, p=2.0, dim=ax, eps=KERAS_EPSILON)
            y = F.normalize(y, p=2.0, dim=ay, eps=KERAS_EPSILON)
        x = x.movedim(ax, -1)
        y = y.movedim(ay, 1)
        rest_x, rest_y = x.shape[1:-1], y.shape[2:]
        batch = x.shape[0]
        out = torch.bmm(x.reshape(batch, -1, x.shape[-1]), y.reshape(batch, y.shape[1], -1))
        return out.reshape((batch,) + (tuple(rest_x) + tuple(rest_y) or (1,)))

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        ax, ay = self._axes_for(shapes)
        x, y = shapes
        if x[ax] is not None and y[ay] is not None and x[ax] != y[ay]:
            raise ShapeError(
                f"Dot '{self.name}': the summed axes must have the same size; got {x[ax]} (axis {ax} of {x}) and "
                f"{y[ay]} (axis {ay} of {y}). Choose matching axes or project one input with a Dense layer. "
                f"Received: axes={self.axes!r}, input_shape={shapes}"
            )
        batch = self._batch_size(shapes)
        rest = x[1:ax] + x[ax + 1:] + y[1:ay] + y[ay + 1:]
        return (batch,) + (rest or (1,))

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}  # as given, as Keras


def _functional(layer_cls: type, doc_example: str):
    def merge(inputs, **kwargs):
        return layer_cls(**kwargs)(inputs)

    merge.__name__ = merge.__qualname__ = layer_cls.__name__.lower()
    merge.__doc__ = (
        f"Functional form of :class:`{layer_cls.__name__}`: ``{merge.__name__}(inputs, **kwargs)`` is "
        f"``{layer_cls.__name__}(**kwargs)(inputs)``.\n\n"
        f"    Args:\n        inputs: a list of tensors (symbolic or eager).\n"
        f"        **kwargs: the layer's arguments (``name``, ...).\n\n"
        f"    Example:\n        >>> {doc_example}\n"
    )
    return merge


add = _functional(Add, "y = add([x1, x2])")
subtract = _functional(Subtract, "y = subtract([x1, x2])")
multiply = _functional(Multiply, "y = multiply([x, gate])")
average = _functional(Average, "y = average([p1, p2, p3])")
maximum = _functional(Maximum, "y = maximum([x1, x2])")
minimum = _functional(Minimum, "y = minimum([x1, x2])")


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of :class:`Concatenate`: join ``inputs`` along ``axis``.

    Args:
        inputs: a list of tensors (symbolic or eager).
        axis: axis to join along.
        **kwargs: the layer's other arguments (``name``, ...).

    Example:
        >>> y = concatenate([branch1, branch2], axis=-1)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of :class:`Dot`: the sample-wise dot product of two inputs.

    Args:
        inputs: a list of 2 tensors (symbolic or eager).
        axes: an int or a pair of ints, the axis of each input to sum over (Keras's default: -1).
        normalize: L2-normalize first (cosine similarity).
        **kwargs: the layer's other arguments (``name``, ...).

    Example:
        >>> similarity = dot([a, b], axes=1, normalize=True)
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)

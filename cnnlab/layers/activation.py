"""Activation layers: ReLU, LeakyReLU, ELU, PReLU, Softmax (Keras 3 arguments and defaults)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab import activations, constraints, initializers, regularizers
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers.base import InputSpec, Layer


def _non_negative(value, arg: str, owner: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        none = " or None" if allow_none else ""
        raise ConfigError(f"{owner}: {arg} must be a non-negative number{none}. Received: {arg}={value!r}")
    return value


class _ElementwiseActivation(Layer):
    """An activation layer without weights: the output has the input's shape."""

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_ElementwiseActivation):
    """Rectified linear unit: ``max(x, 0)``, with Keras's optional cap, slope and threshold.

    Args:
        max_value: cap on the output (None for no cap).
        negative_slope: slope below the threshold (default 0).
        threshold: values at or below it are set to ``negative_slope * (x - threshold)``.

    Shape:
        Any input; the output has the same shape.

    Example:
        >>> ReLU(max_value=6.0)(np.array([[-1.0, 3.0, 9.0]]))
        tensor([[0., 3., 6.]])
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        owner = f"ReLU '{self.name}'"
        self.max_value = _non_negative(max_value, "max_value", owner, allow_none=True)
        self.negative_slope = float(_non_negative(negative_slope, "negative_slope", owner))
        self.threshold = float(_non_negative(threshold, "threshold", owner))

    def call(self, inputs):
        if self.max_value is None and self.negative_slope == 0 and self.threshold == 0:
            return F.relu(inputs)
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_ElementwiseActivation):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise (Keras 3 default slope 0.3).

    ``alpha=`` (the tf.keras 2 name) is accepted too.

    Example:
        >>> LeakyReLU()(np.array([[-1.0, 2.0]]))
        tensor([[-0.3000,  2.0000]])
    """

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        slope = negative_slope if alpha is None else alpha
        self.negative_slope = float(_non_negative(slope, "negative_slope", f"LeakyReLU '{self.name}'"))

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_ElementwiseActivation):
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Args:
        alpha: scale of the negative part (default 1.0).

    Example:
        >>> ELU(alpha=0.5)(np.array([[-1.0, 2.0]]))
        tensor([[-0.3161,  2.0000]])
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise ConfigError(f"ELU '{self.name}': alpha must be a number (default 1.0). Received: alpha={alpha!r}")
        self.alpha = float(alpha)

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(_ElementwiseActivation):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` otherwise, with ``alpha`` learned per entry.

    Args:
        alpha_initializer: initializer of ``alpha`` (default zeros, so it starts as a ReLU).
        alpha_regularizer, alpha_constraint: as in Keras.
        shared_axes: axes (1 = first after the batch) along which one ``alpha`` is shared, e.g. ``[1, 2]``
            for one slope per channel of an image.

    Shape:
        Any input of known size; the output has the same shape. The weight ``alpha`` has shape
        ``input_shape[1:]`` with the shared axes set to 1.

    Example:
        >>> layer = PReLU(shared_axes=[1, 2])
        >>> layer.build((None, 8, 8, 3))
        >>> layer.alpha.shape
        torch.Size([1, 1, 3])
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = f"PReLU '{self.name}'"
        self.alpha_initializer = initializers.get(alpha_initializer, where=f"{owner} argument alpha_initializer")
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        axes = [shared_axes] if isinstance(shared_axes, int) else shared_axes
        if axes is not None:
            axes = list(axes)
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ConfigError(
                    f"{owner}: shared_axes must be an int or a list of ints >= 1 (axis 0 is the batch), e.g. [1, 2] "
                    f"to share one slope over height and width. Received: shared_axes={shared_axes!r}"
                )
        self.shared_axes = axes

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        shared = set(self.shared_axes or ())
        if any(a >= ndim for a in shared):
            raise ShapeError(f"PReLU '{self.name}': shared_axes {self.shared_axes} name an axis beyond an input of "
                             f"shape {tuple(input_shape)}. Received: shared_axes={self.shared_axes}")
        shape = [1 if i in shared else input_shape[i] for i in range(1, ndim)]
        if None in shape:
            raise ShapeError(
                f"PReLU '{self.name}' needs a known size on every axis it learns a slope for; got input shape "
                f"{tuple(input_shape)}. Share the unknown axes: shared_axes={[i for i in range(1, ndim) if shape[i - 1] is None]}."
            )
        self.add_weight(name="alpha", shape=tuple(shape), initializer=self.alpha_initializer,
                        regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=ndim, axes={i: input_shape[i] for i in range(1, ndim) if i not in shared})

    def call(self, inputs):
        return torch.where(inputs >= 0, inputs, inputs * self.alpha)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": None if self.alpha_regularizer is None
            else regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": None if self.alpha_constraint is None else constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class Softmax(_ElementwiseActivation):
    """Softmax over ``axis`` (default the last one), or jointly over several axes given as a list.

    Example:
        >>> Softmax()(np.zeros((1, 4)))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ConfigError(f"Softmax '{self.name}': axis must be an int or a list of ints. Received: axis={axis!r}")
        self.axis = axes if isinstance(axis, (list, tuple)) else axis
        self._emit_logits = False

    @property
    def activation(self):
        # Keras hands the pre-softmax logits to the loss only when one axis is normalised (activations.softmax).
        single = not isinstance(self.axis, list) or len(self.axis) == 1
        return activations.softmax if single else None

    def call(self, inputs):
        if self._emit_logits:
            return inputs
        if isinstance(self.axis, list):
            if len(self.axis) == 1:
                return torch.softmax(inputs, dim=self.axis[0])
            return torch.exp(inputs - torch.logsumexp(inputs, dim=self.axis, keepdim=True))
        return torch.softmax(inputs, dim=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

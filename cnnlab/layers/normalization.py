"""Normalisation layers with Keras 3's semantics: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from cnnlab import constraints, initializers, regularizers
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers.base import InputSpec, Layer

KERAS_BN_MOMENTUM = 0.99  # keras.layers.BatchNormalization default
KERAS_BN_EPSILON = 1e-3  # keras.layers.BatchNormalization default
KERAS_LN_EPSILON = 1e-3  # keras.layers.LayerNormalization and GroupNormalization default
KERAS_GN_GROUPS = 32  # keras.layers.GroupNormalization default
KERAS_UNIT_NORM_EPSILON = 1e-12  # keras.layers.UnitNormalization: ops.normalize(..., epsilon=1e-12)


def _axis_list(axis, owner: str) -> int | list[int]:
    """Keras's ``axis``: an int, or a list of ints (a tuple becomes a list)."""
    values = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not values or not all(isinstance(a, int) and not isinstance(a, bool) for a in values):
        raise ConfigError(f"{owner}: axis must be an int or a list of ints. Received: axis={axis!r}")
    return values if isinstance(axis, (list, tuple)) else axis


def _check_axes_in(axes: list[int], input_shape, owner: str) -> list[int]:
    """The axes as positions in ``input_shape``, sorted; a ShapeError for one outside it."""
    ndim = len(input_shape)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"{owner}: axis {a} is out of bounds for an input of shape {tuple(input_shape)} "
                             f"({ndim} axes, -{ndim} to {ndim - 1}). Received: axis={axes}")
    return sorted(a % ndim for a in axes)


def _optional(serialize, value):
    return None if value is None else serialize(value)


class _AxisNormalization(Layer):
    """A normalisation over ``self.axis`` (an int or a list): the output has the input's shape."""

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        _check_axes_in(axes, input_shape, f"{type(self).__name__} '{self.name}'")
        return input_shape


class _AffineNormalization(_AxisNormalization):
    """The learned ``gamma`` (scale) and ``beta`` (offset) that the normalisations share, with their config."""

    def _set_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                    beta_constraint, gamma_constraint) -> None:
        owner = f"{type(self).__name__} '{self.name}'"
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer, where=f"{owner} argument beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, where=f"{owner} argument gamma_initializer")
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _add_gamma_beta(self, shape, gamma: bool, beta: bool) -> None:
        """Create ``gamma`` then ``beta`` (Keras's order); an absent one is None."""
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if gamma else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if beta else None

    def _affine_config(self) -> dict:
        return {
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": _optional(regularizers.serialize, self.beta_regularizer),
            "gamma_regularizer": _optional(regularizers.serialize, self.gamma_regularizer),
            "beta_constraint": _optional(constraints.serialize, self.beta_constraint),
            "gamma_constraint": _optional(constraints.serialize, self.gamma_constraint),
        }


class BatchNormalization(_AffineNormalization):
    """Normalise each channel with batch statistics in training and moving averages in inference.

    Keras semantics: ``moving = moving * momentum + batch_stat * (1 - momentum)``
    with the *biased* batch variance; ``trainable=False`` makes the layer run in
    inference mode (Keras 3 fine-tuning rule).

    Args:
        axis: the channel axis (default -1).
        momentum: moving-average momentum (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center, scale: whether to learn ``beta`` / ``gamma``.

    Shape:
        Any input with the channel axis at ``axis``; output has the same shape.
        Weights: ``[gamma, beta, moving_mean, moving_variance]``, 4C values, 2C non-trainable.

    Example:
        >>> BatchNormalization()(np.zeros((2, 8, 8, 16))).shape
        torch.Size([2, 8, 8, 16])
    """

    def __init__(self, axis=-1, momentum=KERAS_BN_MOMENTUM, epsilon=KERAS_BN_EPSILON, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        owner = f"BatchNormalization '{self.name}'"
        if not isinstance(axis, int):
            raise ConfigError(f"{owner}: axis must be an int (the channel axis). Received: axis={axis!r}")
        if not 0 <= momentum <= 1:
            raise ConfigError(f"{owner}: momentum must be in [0, 1] (Keras's default is 0.99). Received: momentum={momentum!r}")
        if epsilon <= 0:
            raise ConfigError(f"{owner}: epsilon must be positive. Received: epsilon={epsilon!r}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self._set_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = bool(synchronized)

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        axis = self.axis % ndim if -ndim <= self.axis < ndim else None
        if axis is None or axis == 0:
            raise ShapeError(f"BatchNormalization '{self.name}': axis={self.axis} is not a feature axis of an input "
                             f"of shape {tuple(input_shape)}.")
        channels = input_shape[axis]
        self._axis = axis
        self._add_gamma_beta((channels,), gamma=self.scale, beta=self.center)
        self.add_weight(name="moving_mean", shape=(channels,), initializer=self.moving_mean_initializer,
                        trainable=False)
        self.add_weight(name="moving_variance", shape=(channels,), initializer=self.moving_variance_initializer,
                        trainable=False)
        self.input_spec = InputSpec(ndim=ndim, axes={axis: channels})

    def call(self, inputs, training=False):
        x = inputs.movedim(self._axis, 1) if self._axis != 1 else inputs
        if training and self.trainable:
            y = self._train_forward(x)
        else:
            y = F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, False, 0.0,
                             self.epsilon)
        return y.movedim(1, self._axis) if self._axis != 1 else y

    def _train_forward(self, x):
        # F.batch_norm updates the running variance with the *unbiased* batch variance; Keras uses the
        # biased one. Both are linear in the batch variance, so correct the C-sized result afterwards:
        # keras = torch - (torch - momentum*old) / n  (with torch's momentum = 1 - Keras's).
        # F.batch_norm saves the running stats for backward, so they are updated on copies here and
        # written back after: changing the saved tensors in place would break loss.backward().
        n = x.numel() // x.shape[1]
        mean, var = self.moving_mean.clone(), self.moving_variance.clone()
        y = F.batch_norm(x, mean, var, self.gamma, self.beta, True, 1.0 - self.momentum, self.epsilon)
        with torch.no_grad():
            self.moving_mean.copy_(mean)
            self.moving_variance.copy_(var - (var - self.momentum * self.moving_variance) / n if n > 1 else var)
        return y

    def get_config(self):
        return {
            **super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            **self._affine_config(),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "synchronized": self.synchronized,
        }


class LayerNormalization(_AffineNormalization):
    """Normalise each sample over ``axis`` (mean 0, variance 1), then scale by ``gamma`` and shift by ``beta``.

    Statistics come from the sample itself, so training and inference compute the same thing.

    Args:
        axis: the axis or list of axes to normalise over (default -1, the features/channels).
        epsilon: added to the variance (default 1e-3, Keras's; PyTorch's is 1e-5).
        center, scale: whether to learn ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as in Keras.
        rms_scaling: deprecated in Keras 3 (it divides by the standard deviation without centring and
            learns no ``beta``); kept for old configs, with Keras's warning.

    Shape:
        Any input; the output has the same shape. ``gamma`` and ``beta`` have the sizes of the normalised
        axes (Keras sorts ``axis`` and, after build, stores it as a list in the config).

    Example:
        >>> LayerNormalization()(np.random.rand(2, 10, 16)).shape
        torch.Size([2, 10, 16])
    """

    def __init__(self, axis=-1, epsilon=KERAS_LN_EPSILON, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        owner = f"LayerNormalization '{self.name}'"
        self.axis = _axis_list(axis, owner)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ConfigError(f"{owner}: epsilon must be a positive number (Keras's default is 1e-3). "
                              f"Received: epsilon={epsilon!r}")
        if rms_scaling:
            warnings.warn("LayerNormalization(rms_scaling=True) is deprecated in Keras 3: it scales by the variance "
                          "without centring. Keras recommends keras.layers.RMSNormalization.", stacklevel=2)
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        self._set_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint)

    def build(self, input_shape) -> None:
        owner = f"LayerNormalization '{self.name}'"
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        _check_axes_in(axes, input_shape, owner)
        if any(input_shape[a] is None for a in axes):
            raise ShapeError(f"{owner}: the normalised axes {axes} must have known sizes; got input shape "
                             f"{tuple(input_shape)}. Give the model an Input with those sizes fixed.")
        self.axis = axes  # as Keras: sorted, and a list from now on (also in get_config)
        # Keras orders the weight's dimensions as the sorted axis values (so [-1, 1] gives (C, H)) but lays its
        # values out in the input's axis order; call() reshapes the same way.
        shape = tuple(input_shape[a] for a in axes)
        self._add_gamma_beta(shape, gamma=self.scale or self.rms_scaling, beta=self.center and not self.rms_scaling)
        self.input_spec = InputSpec(min_ndim=max(max(axes) + 1, -min(axes)), axes={a: input_shape[a] for a in axes})

    def call(self, inputs):
        ndim = inputs.dim()
        positions = sorted(a % ndim for a in self.axis)
        sizes = tuple(inputs.shape[p] for p in positions)
        gamma = None if self.gamma is None else self.gamma.reshape(sizes)
        beta = None if self.beta is None else self.beta.reshape(sizes)
        if self.rms_scaling:
            variance = inputs.var(dim=positions, unbiased=False, keepdim=True)
            outputs = inputs * torch.rsqrt(variance + self.epsilon)
            broadcast = [inputs.shape[i] if i in positions else 1 for i in range(ndim)]
            return outputs if gamma is None else outputs * gamma.reshape(broadcast)
        trailing = list(range(ndim - len(positions), ndim))
        if positions == trailing:
            return F.layer_norm(inputs, sizes, gamma, beta, self.epsilon)
        moved = inputs.movedim(positions, trailing)  # F.layer_norm normalises the last axes
        return F.layer_norm(moved, sizes, gamma, beta, self.epsilon).movedim(trailing, positions)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "rms_scaling": self.rms_scaling,
                **self._affine_config()}


class GroupNormalization(_AffineNormalization):
    """Split the channels into ``groups`` and normalise each group of each sample (Wu & He, 2018).

    ``groups=1`` normalises all channels together (like LayerNormalization over the image); ``groups=-1``
    gives one group per channel (instance normalisation). Statistics come from the sample, so training and
    inference compute the same thing.

    Args:
        groups: number of groups; must divide the channel count (default 32).
        axis: the channel axis (default -1).
        epsilon: added to the variance (default 1e-3).
        center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as in Keras.

    Shape:
        Any input with the channel axis at ``axis``; the output has the same shape.
        Weights: ``[gamma, beta]``, each of shape ``(channels,)``.

    Example:
        >>> GroupNormalization(groups=4)(np.random.rand(2, 8, 8, 16)).shape
        torch.Size([2, 8, 8, 16])
    """

    def __init__(self, groups=KERAS_GN_GROUPS, axis=-1, epsilon=KERAS_LN_EPSILON, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"GroupNormalization '{self.name}'"
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ConfigError(f"{owner}: groups must be a positive int (or -1 for one group per channel, instance "
                              f"normalisation). Received: groups={groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ConfigError(f"{owner}: axis must be an int (the channel axis). Received: axis={axis!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ConfigError(f"{owner}: epsilon must be a positive number. Received: epsilon={epsilon!r}")
        self.groups, self.axis, self.epsilon = groups, axis, float(epsilon)
        self._set_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint)

    def build(self, input_shape) -> None:
        owner = f"GroupNormalization '{self.name}'"
        ndim = len(input_shape)
        (axis,) = _check_axes_in([self.axis], input_shape, owner)
        channels = input_shape[axis]
        if axis == 0 or channels is None:
            raise ShapeError(f"{owner}: axis {self.axis} must be a channel axis of known size; got input shape "
                             f"{tuple(input_shape)}. Received: axis={self.axis}")
        if self.groups == -1:
            self.groups = channels  # as Keras: the config then holds the channel count
        if channels % self.groups:
            raise ShapeError(
                f"{owner}: groups must divide the {channels} channels (each group gets channels/groups of them); "
                f"{self.groups} does not. Use a divisor of {channels}, e.g. "
                f"groups={max(d for d in range(1, min(self.groups, channels) + 1) if channels % d == 0)}. "
                f"Received: groups={self.groups}"
            )
        self._axis = axis
        self._add_gamma_beta((channels,), gamma=self.scale, beta=self.center)
        self.input_spec = InputSpec(ndim=ndim, axes={axis: channels})

    def call(self, inputs):
        if self._axis == 1:
            return F.group_norm(inputs, self.groups, self.gamma, self.beta, self.epsilon)
        y = F.group_norm(inputs.movedim(self._axis, 1), self.groups, self.gamma, self.beta, self.epsilon)
        return y.movedim(1, self._axis)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                **self._affine_config()}


class UnitNormalization(_AxisNormalization):
    """Scale each sample to unit L2 norm over ``axis``: ``x / max(||x||, 1e-12)``.

    Args:
        axis: the axis or list of axes whose norm becomes 1 (default -1).

    Shape:
        Any input; the output has the same shape. No weights.

    Example:
        >>> UnitNormalization()(np.array([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_list(axis, f"UnitNormalization '{self.name}'")

    def call(self, inputs):
        norm = torch.linalg.vector_norm(inputs, ord=2, dim=self.axis, keepdim=True)
        return inputs / norm.clamp_min(KERAS_UNIT_NORM_EPSILON)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

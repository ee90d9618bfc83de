"""Batch normalisation with Keras's semantics."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab import constraints, initializers, regularizers
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers.base import InputSpec, Layer

KERAS_BN_MOMENTUM = 0.99  # keras.layers.BatchNormalization default
KERAS_BN_EPSILON = 1e-3  # keras.layers.BatchNormalization default


class BatchNormalization(Layer):
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
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = bool(synchronized)

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        axis = self.axis % ndim if -ndim <= self.axis < ndim else None
        if axis is None or axis == 0:
            raise ShapeError(f"BatchNormalization '{self.name}': axis={self.axis} is not a feature axis of an input "
                             f"of shape {tuple(input_shape)}.")
        channels = input_shape[axis]
        self._axis = axis
        self.gamma = self.add_weight("gamma", (channels,), self.gamma_initializer, self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", (channels,), self.beta_initializer, self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.add_weight("moving_mean", (channels,), self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", (channels,), self.moving_variance_initializer, trainable=False)
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

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": None if self.beta_regularizer is None else regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": None if self.gamma_regularizer is None else regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": None if self.beta_constraint is None else constraints.serialize(self.beta_constraint),
            "gamma_constraint": None if self.gamma_constraint is None else constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
        }

"""Optimizers with Keras 3 names, defaults and update rules (``cnnlab.optimizers``)."""

from cnnlab.optimizers import schedules
from cnnlab.optimizers.algorithms import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop
from cnnlab.optimizers.loss_scale_optimizer import LossScaleOptimizer
from cnnlab.optimizers.optimizer import Optimizer
from cnnlab.optimizers.registry import deserialize, get, names, serialize

__all__ = [
    "Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Nadam", "LossScaleOptimizer",
    "schedules", "get", "serialize", "deserialize", "names",
]

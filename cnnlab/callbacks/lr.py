"""Learning-rate callbacks: `LearningRateScheduler` and `ReduceLROnPlateau`.

Both write the optimizer's current rate into the epoch logs as
``learning_rate``, as Keras 3 does, so it appears in ``History`` and CSV logs.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from cnnlab.callbacks.base import Callback, Logs, MonitorCallback, print_msg
from cnnlab.errors import ArgumentTypeError, ConfigError


def _log_learning_rate(model: Any, logs: Logs | None) -> None:
    if logs is not None:
        logs["learning_rate"] = float(model.optimizer.learning_rate)


def _takes_two_arguments(function: Callable) -> bool:
    """True for ``schedule(epoch, lr)``, False for the older ``schedule(epoch)``."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

    Args:
        schedule: a function of the epoch index (from 0) and the current
            learning rate, returning the new rate. A one-argument
            ``schedule(epoch)`` is also accepted, as in Keras.
        verbose: 1 prints the rate set at each epoch.

    Example:
        >>> def halve_after_ten(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.5
        >>> scheduler = LearningRateScheduler(halve_after_ten)
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise ArgumentTypeError(
                "LearningRateScheduler schedule must be a function schedule(epoch, lr) -> lr. "
                f"Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._two_arguments = _takes_two_arguments(schedule)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = self.model.optimizer
        if self._two_arguments:
            new_lr = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            new_lr = self.schedule(epoch)
        if isinstance(new_lr, bool) or not isinstance(new_lr, (numbers.Real, np.ndarray)) or np.ndim(new_lr) != 0:
            raise ConfigError(
                "The output of the LearningRateScheduler schedule function must be a float learning rate. "
                f"Check what it returns at epoch {epoch}. Received: {new_lr!r}"
            )
        optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new_lr)}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        _log_learning_rate(self.model, logs)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    After ``patience`` epochs without an improvement larger than
    ``min_delta``, the rate becomes ``max(lr * factor, min_lr)``; then
    ``cooldown`` epochs pass before waiting starts again.

    Args:
        monitor: the logged quantity to watch.
        factor: the multiplier, ``0 < factor < 1``.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a message at each reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.

    Example:
        >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        if factor >= 1.0:
            raise ConfigError(
                "ReduceLROnPlateau does not support a factor >= 1.0: the learning rate would not go down. "
                f"Use a factor between 0 and 1, e.g. 0.1 or 0.5. Received: factor={factor}"
            )
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self) -> None:
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        _log_learning_rate(self.model, logs)
        current = logs.get(self.monitor)
        if current is None:
            self._warn_missing_monitor(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available.", logs
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, epoch: int) -> bool:
        """Lower the rate unless it is already at ``min_lr``; True if it changed."""
        optimizer = self.model.optimizer
        old_lr = float(optimizer.learning_rate)
        # Keras compares in float32, so a rate stored as float32 equal to
        # min_lr is not reduced again.
        if old_lr <= np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True

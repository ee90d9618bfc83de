"""`EarlyStopping`: stop training when a monitored quantity stops improving."""

from __future__ import annotations

from typing import Any

from cnnlab.callbacks.base import Logs, MonitorCallback, print_msg
from cnnlab.errors import ConfigError


class EarlyStopping(MonitorCallback):
    """Stop training once ``monitor`` has not improved for ``patience`` epochs.

    Follows Keras 3 exactly: the wait counter grows at every monitored epoch
    and resets only when the value beats both the best so far and
    ``baseline``; training stops when ``wait >= patience`` (never at epoch 0).
    With ``restore_best_weights`` the best epoch's weights are put back at
    the end of training, whether or not it stopped early.

    Args:
        monitor: the logged quantity to watch.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints ``Epoch N: early stopping`` and the restore message.
        mode: ``"auto"`` (max for accuracy/AUC/precision/recall, else min),
            ``"min"`` or ``"max"``.
        baseline: a value the monitored quantity must beat; until it does,
            training stops after ``patience`` epochs.
        restore_best_weights: restore the weights of the best epoch at the end.
        start_from_epoch: epochs to ignore at the start (warm-up).

    Attributes:
        stopped_epoch: the epoch (from 0) at which training was stopped, or 0.
        best_epoch: the epoch (from 0) with the best value.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> # model.fit(x, y, validation_split=0.1, epochs=100, callbacks=[stop])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        for name, value in (("patience", patience), ("start_from_epoch", start_from_epoch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"EarlyStopping {name} must be an integer >= 0. Received: {name}={value!r}")
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights: list[Any] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()  # the same instance may be reused across fits

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            self._warn_missing_monitor(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available.", logs
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until something improves, the first monitored epoch is the best.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

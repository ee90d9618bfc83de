"""The callback protocol: `Callback`, `History`, `LambdaCallback` (and `CallbackList` in callback_list.py).

A callback observes training through a fixed set of hooks and the ``logs``
dicts the trainer passes to them; the trainer never special-cases one.

Logs contract:
    * batch-end logs (``on_*_batch_end``) map names to 0-d ``torch.Tensor``
      values, possibly on a GPU. Reading one as a Python float forces a device
      synchronisation, so a callback should only do so when it must.
    * epoch-end logs (``on_epoch_end``, ``on_test_end``, ``on_train_end``) map
      names to plain floats: ``loss``, metrics, ``val_loss``, ``val_<metric>``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from cnnlab.errors import ArgumentTypeError, ConfigError, did_you_mean

Logs = Mapping[str, Any]

# Hook names a Callback answers to; LambdaCallback accepts exactly these.
HOOK_NAMES = (
    "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
    "on_predict_begin", "on_predict_end", "on_epoch_begin", "on_epoch_end",
    "on_batch_begin", "on_batch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
    "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
)  # fmt: skip


def is_chief() -> bool:
    """False on the non-zero ranks of a multi-process run: only rank 0 writes files and prints."""
    from cnnlab.distribute import current

    return current().is_chief


def print_msg(message: str) -> None:
    """Print a verbose callback message to stdout (rank 0 only), like Keras's ``io_utils.print_msg``."""
    if not is_chief():
        return
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


class Callback:
    """Base class of every callback: override the hooks you need.

    Attributes:
        model: the model being trained, set by :meth:`set_model`.
        params: ``{"epochs": int, "steps": int | None, "verbose": int}``.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs["loss"])
    """

    # A callback that writes the model state (ModelCheckpoint, BackupAndRestore) says so, and describes its last
    # successful write in `last_saved`: when another callback cannot write, CallbackList tells the user what was kept.
    saves_state = False
    last_saved: str | None = None

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)

    # Whole-run hooks. `logs` of the *_end hooks are plain floats.
    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once at the end of ``fit`` with the last epoch's logs."""

    def on_test_begin(self, logs: Logs | None = None) -> None:
        """Called at the start of ``evaluate`` and of each validation pass."""

    def on_test_end(self, logs: Logs | None = None) -> None:
        """Called at the end of ``evaluate`` and of each validation pass."""

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs: Logs | None = None) -> None:
        """Called at the end of ``predict``."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called at the start of each epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called at the end of each epoch with float ``loss``, metrics and ``val_*``."""

    # Batch hooks. `logs` of the *_end hooks hold 0-d tensors (see module doc).
    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Legacy alias: called by the default :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Legacy alias: called by the default :meth:`on_train_batch_end`."""

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before each training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after each training batch with the running loss and metrics."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before each evaluation or validation batch."""

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after each evaluation or validation batch."""

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after each prediction batch."""


class History(Callback):
    """Records the epoch-end logs; ``fit`` returns it.

    Attributes:
        history: name → list of floats, one per epoch, e.g. ``history["val_loss"]``.
        epoch: the epoch indices recorded (from 0).

    Example:
        >>> h = History()
        >>> h.on_train_begin()
        >>> h.on_epoch_end(0, {"loss": 0.5})
        >>> h.history
        {'loss': [0.5]}
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        # Like Keras: `epoch` restarts with each fit, `history` keeps growing
        # if the same History object is passed to several fits.
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self


class LambdaCallback(Callback):
    """A callback built from plain functions, one per hook.

    ``on_epoch_begin``/``on_epoch_end`` receive ``(epoch, logs)``;
    ``on_train_begin``/``on_train_end`` receive ``(logs)``; batch hooks receive
    ``(batch, logs)``. Any other hook of `Callback` may be given by name.

    Example:
        >>> losses = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    """

    def __init__(
        self,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
        **kwargs: Callable,
    ) -> None:
        super().__init__()
        for name in kwargs:
            if name not in HOOK_NAMES:
                raise ArgumentTypeError(
                    f"LambdaCallback got an unknown hook {name!r}.{did_you_mean(name, HOOK_NAMES)} "
                    f"Valid hooks: {', '.join(HOOK_NAMES)}. Received: {name}={kwargs[name]!r}"
                )
        hooks = dict(
            kwargs,
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
        )
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise ArgumentTypeError(f"LambdaCallback {name} must be a function. Received: {name}={function!r}")
            setattr(self, name, function)


# Monitored names that should go up, as in tf.keras's ModelCheckpoint/EarlyStopping
# "auto" mode ('acc' in the name → max); everything else (losses, errors) goes down.
_MAXIMISED_NAME_PARTS = ("acc", "auc", "precision", "recall")
_MODES = ("auto", "min", "max")


def monitor_direction(monitor: str, mode: str) -> str:
    """Return ``"min"`` or ``"max"`` for a monitored name under ``mode``."""
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_").lower()
    return "max" if any(part in name for part in _MAXIMISED_NAME_PARTS) else "min"


class MonitorCallback(Callback):
    """Shared logic of callbacks that watch one logged quantity.

    Args:
        monitor: the logs key to watch, e.g. ``"val_loss"``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: smallest change that counts as an improvement.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", min_delta: float = 0.0) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(monitor, str):
            raise ArgumentTypeError(
                f"{name} monitor must be the name of a logged quantity, e.g. 'val_loss'. Received: monitor={monitor!r}"
            )
        if mode not in _MODES:
            raise ConfigError(
                f"{name} mode must be one of 'auto', 'min', 'max'.{did_you_mean(str(mode), _MODES)} "
                f"Received: mode={mode!r}"
            )
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.best: float | None = None
        self._warned_missing = False

    @property
    def direction(self) -> str:
        """``"min"`` or ``"max"``: which way the monitored quantity should move."""
        return monitor_direction(self.monitor, self.mode)

    def _is_improvement(self, current: float, reference: float | None) -> bool:
        """True if ``current`` beats ``reference`` by more than ``min_delta``."""
        if reference is None:
            return True
        if self.direction == "min":
            return current + self.min_delta < reference
        return current - self.min_delta > reference

    def _warn_missing_monitor(self, message: str, logs: Logs) -> None:
        """Warn once per callback that ``monitor`` is absent from the logs."""
        if self._warned_missing:
            return
        self._warned_missing = True
        available = ",".join(logs)
        warnings.warn(
            f"{message} Available metrics are: {available}.{did_you_mean(self.monitor, list(logs))}",
            stacklevel=2,
        )

"""`CallbackList`: one callback that calls a list of them, plus the `History` and progress bar Keras adds.

Kept apart from the `Callback` protocol (as Keras does) because it builds on
callbacks that themselves build on the protocol, such as `ProgbarLogger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cnnlab import _warnings
from cnnlab.callbacks.base import Callback, History, Logs
from cnnlab.callbacks.logging import ProgbarLogger
from cnnlab.errors import ArgumentTypeError, CheckpointError


def _flatten_callbacks(callbacks: Any) -> list[Callback]:
    """Accept None, one callback or (nested) lists of them; reject anything else."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise ArgumentTypeError(
            "callbacks must be a list of Callback instances, e.g. callbacks=[EarlyStopping(patience=2)]. "
            f"Received: callbacks={callbacks!r}"
        )
    flat: list[Callback] = []
    for i, item in enumerate(callbacks):
        if isinstance(item, (list, tuple)):
            flat.extend(_flatten_callbacks(item))
        elif isinstance(item, type) and issubclass(item, Callback):
            raise ArgumentTypeError(
                f"callbacks[{i}] is the class {item.__name__}, not an instance. "
                f"Create one: callbacks=[{item.__name__}(...)]. Received: callbacks[{i}]={item!r}"
            )
        elif not isinstance(item, Callback):
            raise ArgumentTypeError(
                f"callbacks[{i}] is a {type(item).__name__}, not a Callback. Pass instances of "
                f"cnnlab.callbacks classes or of your own Callback subclass. Received: callbacks[{i}]={item!r}"
            )
        else:
            flat.append(item)
    return flat


class CallbackList(Callback):
    """Calls every hook on a list of callbacks, in list order.

    A `History` is appended after the user's callbacks and a `ProgbarLogger`
    last, as Keras does, so both see what earlier callbacks add to the logs
    (e.g. ``learning_rate`` from `ReduceLROnPlateau`).

    Args:
        callbacks: a list of `Callback` instances (or None).
        add_history: append a `History` if the list has none.
        add_progbar: append a `ProgbarLogger` if the list has none.
        model: the model, passed to every callback's ``set_model``.
        **params: ``epochs``, ``steps``, ``verbose``, passed to ``set_params``.

    Example:
        >>> cbs = CallbackList([], add_history=True, epochs=2, steps=10, verbose=0)
        >>> cbs.history.params["epochs"]
        2
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | Callback | None = None,
        add_history: bool = True,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ) -> None:
        super().__init__()
        self.callbacks = _flatten_callbacks(callbacks)
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    @property
    def history(self) -> History | None:
        """The `History` in the list, or None."""
        return self._history

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params: Mapping[str, Any]) -> None:
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(self.params)

    def _dispatch(self, hook: str, *args: Any, logs: Logs | None = None) -> None:
        # One shallow copy per event: callbacks share it (so `learning_rate`
        # added by one reaches History), the trainer's own dict stays unchanged.
        logs = dict(logs) if logs else {}
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def _dispatch_then_fail(self, hook: str, *args: Any, logs: Logs | None = None) -> None:
        """Like `_dispatch`, but a callback that cannot write (a full log disk) does not stop the later ones.

        Every callback still gets the event, so a checkpoint or backup later in the list saves the model state;
        then the first write failure is raised, saying what was saved, and training stops. An hour of training
        is never lost to a full log disk.
        """
        logs = dict(logs) if logs else {}
        failures: list[CheckpointError] = []
        for callback in self.callbacks:
            try:
                getattr(callback, hook)(*args, logs)
            except CheckpointError as err:
                failures.append(err)
        if failures:
            message, _, received = str(failures[0]).rpartition(" Received: ")
            raise CheckpointError(f"{message} {self._saved_state_note(failures[1:])} Received: {received}") \
                from failures[0]

    def _saved_state_note(self, other_failures: list[CheckpointError]) -> str:
        savers = [cb for cb in self.callbacks if cb.saves_state]
        saved = [cb.last_saved for cb in savers if cb.last_saved]
        also = "".join(f" Also: {_warnings.shorten(err, 200)}" for err in other_failures)
        if saved:
            return f"Training stopped; the latest model state kept: {'; '.join(saved)}.{also}"
        if savers:
            return f"Training stopped, and no model state could be saved.{also}"
        return ("Training stopped, and no model state could be saved: no BackupAndRestore or ModelCheckpoint is among "
                "the callbacks. Add BackupAndRestore('backup') to keep the training state through such failures."
                f"{also}")

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._dispatch("on_train_begin", logs=logs)

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._dispatch("on_train_end", logs=logs)

    def on_test_begin(self, logs: Logs | None = None) -> None:
        self._dispatch("on_test_begin", logs=logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        self._dispatch("on_test_end", logs=logs)

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._dispatch("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._dispatch("on_predict_end", logs=logs)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._dispatch_then_fail("on_epoch_end", epoch, logs=logs)

    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_batch_end", batch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch_then_fail("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._dispatch("on_predict_batch_end", batch, logs=logs)

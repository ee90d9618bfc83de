"""Callbacks that report: `CSVLogger`, `TerminateOnNaN`, `ProgbarLogger`."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from cnnlab.callbacks.base import Callback, Logs, is_chief, print_msg
from cnnlab.errors import ArgumentTypeError, ConfigError
from cnnlab.io.atomic import checkpoint_error
from cnnlab.training.progress import Progbar


def _csv_cell(value: Any) -> Any:
    """Numbers and strings as they are; other iterables (arrays) as ``[a, b]``."""
    if isinstance(value, (str, int, float)):
        return value
    try:
        return f"[{', '.join(map(str, value))}]"
    except TypeError:
        return value


_ROWS_KEPT = "The rows of the epochs before epoch {epoch} stay in the file."


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then the logged names, sorted.

    Each row is flushed to disk when the epoch ends, so a crash loses nothing
    already written. As in Keras, ``epoch`` counts from 0, and when no
    validation values are logged the ``val_*`` columns are still written (as
    ``NA``) so that files from runs with and without validation line up.

    Args:
        filename: the CSV file, e.g. ``"runs/a/history.csv"``.
        separator: the column separator.
        append: add to an existing file (no second header) instead of
            overwriting it; useful when resuming training.

    Example:
        >>> logger = CSVLogger("history.csv")
        >>> # model.fit(x, y, epochs=5, callbacks=[logger])
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ConfigError(
                f"CSVLogger separator must be a single character, e.g. ',' or ';'. Received: separator={separator!r}"
            )
        if not isinstance(filename, (str, os.PathLike)):
            raise ArgumentTypeError(f"CSVLogger filename must be a file name such as 'history.csv'. "
                                    f"Received: filename={filename!r}")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self._file: TextIO | None = None
        self._writer: csv.DictWriter | None = None
        self._write_header = True

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._close()
        if not is_chief():
            return
        self._write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                self._write_header = not f.readline()
        try:
            self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        except OSError as err:
            raise checkpoint_error(self.filename, err) from err
        self._writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if not is_chief():
            return
        if self._file is None:  # used without on_train_begin, e.g. by hand
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        row = {"epoch": epoch, **{key: _csv_cell(logs.get(key, "NA")) for key in self.keys}}
        complete_rows = os.fstat(self._file.fileno()).st_size  # every earlier row was flushed
        try:
            if self._writer is None:
                self._writer = csv.DictWriter(
                    self._file, fieldnames=["epoch", *self.keys], delimiter=self.sep, lineterminator="\n"
                )
                if self._write_header:
                    self._writer.writeheader()
            self._writer.writerow(row)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as err:  # a full disk or a file-size limit
            self._close(quietly=True)
            with contextlib.suppress(OSError):  # drop the partial row, so the file still parses
                os.truncate(self.filename, complete_rows)
            raise checkpoint_error(self.filename, err, kept=_ROWS_KEPT.format(epoch=epoch)) from err

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close()

    def _close(self, quietly: bool = False) -> None:
        if self._file is not None and not self._file.closed:
            try:
                self._file.close()
            except OSError:
                if not quietly:
                    raise
        self._file = None
        self._writer = None


class TerminateOnNaN(Callback):
    """Stop training as soon as the batch loss is NaN or infinite.

    Reading the loss forces a device synchronisation at every batch, which
    slows training on a GPU a little; that is the price of stopping at once.

    Args:
        raise_error: raise ``RuntimeError`` instead of stopping gracefully, so
            that ``on_train_end`` hooks (e.g. `BackupAndRestore` deleting its
            backup) do not run.

    Example:
        >>> stop_on_nan = TerminateOnNaN()
        >>> # model.fit(x, y, callbacks=[stop_on_nan])
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = float(loss)
        if math.isfinite(value):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {value}. Terminating training immediately."
            )
        print_msg(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


class ProgbarLogger(Callback):
    """Print a Keras-style progress bar for ``fit``, ``evaluate`` and ``predict``.

    ``verbose`` comes from the trainer's params: 1 draws a live bar per epoch
    (final line only when the output is not a terminal), 2 prints one line per
    epoch, 0 prints nothing. Validation inside ``fit`` is silent; its
    ``val_*`` values appear on the epoch's line.

    Args:
        stream: where to write; standard output if None.
        clock: a function returning seconds, for tests; ``time.monotonic`` if None.

    Example:
        >>> # model.fit(x, y, epochs=10)  # adds a ProgbarLogger when verbose != 0
    """

    def __init__(self, *, stream: TextIO | None = None, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.clock = clock
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.seen = 0
        self.progbar: Any = None
        self._in_fit = False

    def set_params(self, params: Logs) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ConfigError(f"verbose must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
        self.verbose = verbose if is_chief() else 0
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._start_bar()
        if self.verbose and self.epochs > 1:
            self._write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._finish(logs)

    def on_test_begin(self, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._start_bar()

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._start_bar()

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._update(batch, None)  # predictions are not metrics

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._finish(None)

    def _start_bar(self) -> None:
        self.seen = 0
        self.progbar = None
        if self.verbose:
            self.progbar = Progbar(self.target, verbose=self.verbose, stream=self.stream, clock=self.clock)

    def _update(self, batch: int, logs: Logs | None) -> None:
        self.seen = batch + 1
        if self.verbose == 1:
            if self.progbar is None:
                self._start_bar()
            self.progbar.update(self.seen, logs, finalize=False)

    def _finish(self, logs: Logs | None) -> None:
        if not self.verbose:
            return
        if self.progbar is None:
            self._start_bar()
        if self.target is None:
            # Steps were unknown (a generator): now they are known for later epochs.
            self.target = self.seen
            self.progbar.target = self.seen
        # A run stopped mid-epoch shows how far it got, not a full bar.
        current = self.seen if 0 < self.seen < self.target else self.target
        self.progbar.update(current, logs, finalize=True)

    def _write(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(text)
        stream.flush()

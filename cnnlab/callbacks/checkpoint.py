"""Callbacks that write training state: `ModelCheckpoint` and `BackupAndRestore`."""

from __future__ import annotations

import glob
import json
import math
import os
import secrets
import sys
from typing import Any

import torch

from cnnlab import _warnings
from cnnlab.callbacks._backup_state import (
    FORMAT as BACKUP_FORMAT, PREVIOUS_JSON, STATE_JSON, TENSORS_GLOB, TENSORS_NAME, VERSION as BACKUP_VERSION,
    BadBackup, capture_rngs, check_fields, check_tensors, open_regular, read_tensors, set_rngs, tensors_path,
    weight_specs, weight_tensors, write_tensors,
)
from cnnlab.callbacks.base import Callback, Logs, MonitorCallback, is_chief, print_msg
from cnnlab.distribute import current as current_strategy
from cnnlab.errors import ArgumentTypeError, CheckpointError, ConfigError, FileFormatError, did_you_mean
from cnnlab.io.atomic import atomic_write, checkpoint_error
from cnnlab.io.limits import MAX_BACKUP_STATE_BYTES
from cnnlab.io.safe_json import load_json
from cnnlab.training.progress import logs_to_floats


def _check_save_freq(owner: str, save_freq: Any) -> None:
    if save_freq == "epoch" or (isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0):
        return
    raise ConfigError(
        f"{owner} save_freq must be 'epoch' or a positive number of batches, e.g. save_freq=500. "
        f"Received: save_freq={save_freq!r}"
    )


class _BatchCounter:
    """Counts training batches across epochs and says when ``every`` have passed."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.since_last = 0
        self.last_batch: int | None = None

    def step(self, batch: int) -> bool:
        # A batch index that does not grow means a new epoch started.
        if self.last_batch is None or batch <= self.last_batch:
            self.since_last += batch + 1
        else:
            self.since_last += batch - self.last_batch
        self.last_batch = batch
        if self.since_last >= self.every:
            self.since_last = 0
            return True
        return False


def _make_parent_dir(path: str) -> None:
    directory = os.path.dirname(path)
    if not directory:
        return
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise checkpoint_error(path, err) from err


class ModelCheckpoint(MonitorCallback):
    """Save the model (or its weights) every epoch, every N batches, or when it improves.

    Args:
        filepath: where to save; may hold ``{epoch:02d}`` (counted from 1) and
            any logged name, e.g. ``"ckpt/{epoch:02d}-{val_loss:.2f}.cnnlab"``.
        monitor: the logged quantity that decides "best".
        verbose: 1 prints a message at each save decision.
        save_best_only: save only when ``monitor`` improves; with a fixed
            ``filepath`` the file then always holds the best model so far.
        save_weights_only: call ``model.save_weights`` instead of ``model.save``.
        mode: ``"auto"`` (max for accuracy/AUC/precision/recall, else min),
            ``"min"`` or ``"max"``.
        save_freq: ``"epoch"``, or an integer number of training batches.
        initial_value_threshold: a value the monitor must beat before the
            first save when ``save_best_only``.

    Example:
        >>> checkpoint = ModelCheckpoint("best.cnnlab", monitor="val_accuracy", save_best_only=True)
        >>> # model.fit(x, y, validation_split=0.1, callbacks=[checkpoint])
    """

    saves_state = True

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__(monitor, mode)
        _check_save_freq("ModelCheckpoint", save_freq)
        if not isinstance(filepath, (str, os.PathLike)):
            raise ArgumentTypeError(f"ModelCheckpoint filepath must be a file name such as 'best.cnnlab'. "
                                    f"Received: filepath={filepath!r}")
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        # Not reset between fits: a later fit only overwrites a better model.
        self.best = initial_value_threshold
        self._counter = _BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._counter is not None and self._counter.step(batch):
            # Batch logs are device tensors; read them only when saving.
            self._save(self._current_epoch, batch, logs_to_floats(logs or {}))

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, dict(logs or {}))

    def _file_path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        fields = dict(logs, epoch=epoch + 1)
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as err:
            name = err.args[0]
            raise ConfigError(
                f"ModelCheckpoint filepath {self.filepath!r} uses {{{name}}}, which is not in the logs."
                f"{did_you_mean(str(name), fields)} Available names: {', '.join(fields)}. "
                f"Received: filepath={self.filepath!r}"
            ) from err
        except (ValueError, IndexError) as err:
            raise ConfigError(
                f"ModelCheckpoint could not format filepath {self.filepath!r}: {err}. Use named fields such as "
                f"'{{epoch:02d}}' or '{{val_loss:.2f}}'. Received: filepath={self.filepath!r}"
            ) from err

    def _should_save(self, epoch: int, logs: dict[str, Any], path: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {path}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            # Like Keras: warn and save anyway rather than silently never save.
            self._warn_missing_monitor(f"Can save best model only with {self.monitor} available.", logs)
            return True
        best_text = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to {current:.5f}, "
                    f"saving model to {path}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False

    def _save(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> None:
        if not is_chief():  # replicas hold the same weights; rank 0 writes them
            return
        path = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, path):
            return
        if os.path.isdir(path):
            raise CheckpointError(
                f"ModelCheckpoint filepath {path!r} is an existing directory. Give a file name, "
                f"e.g. {os.path.join(path, 'model.cnnlab')!r}. Received: filepath={self.filepath!r}"
            )
        _make_parent_dir(path)
        # model.save / save_weights write atomically; a .keras/.h5 error goes to the user.
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        at = f"epoch {epoch + 1}" if batch is None else f"epoch {epoch + 1}, batch {batch + 1}"
        self.last_saved = f"ModelCheckpoint saved {at} to '{path}'"
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {path}")


class BackupAndRestore(Callback):
    """Back up the whole training state each epoch; resume from it after a crash.

    At each epoch end the callback writes, atomically, into ``backup_dir``:
    the model weights, the optimizer state, the torch / NumPy / Python random
    number generator states and the epoch number (safetensors + JSON; nothing
    is pickled). When ``fit`` starts and a backup exists, all of it is
    restored and training continues from the next epoch, so a resumed run
    draws the same shuffles and dropout masks as one that never stopped.
    With ``save_freq`` as a number of batches the interrupted epoch is run
    again from its start (as in Keras), with the weights of the last backup.

    Two generations are kept: when the newest backup is damaged or missing,
    the one before it is used (with a warning). The backup is deleted only
    after a ``fit`` that really finished: a Ctrl-C or an error anywhere in
    the epoch, a callback included, keeps it. A backup folder is read as
    untrusted: only its own plain files, with sizes bounded by the model.

    Args:
        backup_dir: a directory used only by this callback.
        save_freq: ``"epoch"`` or a positive number of training batches.
        delete_checkpoint: delete the backup when ``fit`` finishes normally.

    Example:
        >>> backup = BackupAndRestore("runs/a/backup")
        >>> # model.fit(x, y, epochs=50, callbacks=[backup])  # rerun the same line after a crash
    """

    saves_state = True

    def __init__(
        self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch", delete_checkpoint: bool = True
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ConfigError(
                f"BackupAndRestore needs a directory, e.g. 'runs/a/backup'. Received: backup_dir={backup_dir!r}"
            )
        _check_save_freq("BackupAndRestore", save_freq)
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._counter = _BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0
        self._inside_epoch = False
        # The last generation known to be complete and valid, as (JSON text, tensor file name): the one to keep
        # as the fallback when the next backup is written.
        self._good: tuple[str, str] | None = None

    def _path(self, name: str) -> str:
        return os.path.join(self.backup_dir, name)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._inside_epoch = False
        self._good = None
        self.last_saved = None
        current_strategy().barrier()  # rank 0 has finished writing (or deleting) the backup
        if any(os.path.lexists(self._path(name)) for name in (STATE_JSON, PREVIOUS_JSON)):
            self._restore()

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch
        self._inside_epoch = True

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._counter is not None and self._counter.step(batch):
            self._backup(last_completed_epoch=self._current_epoch - 1, batch=batch)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self._backup(last_completed_epoch=epoch)
        self._inside_epoch = False

    def on_train_end(self, logs: Logs | None = None) -> None:
        # fit still calls on_train_end after a Ctrl-C, from its except clause: an exception being handled, or an
        # epoch left unfinished, means the training did not complete, so the backup stays to resume from.
        interrupted = self._inside_epoch or sys.exc_info()[1] is not None
        if not self.delete_checkpoint or interrupted or not is_chief():
            return
        # The JSON files go first: without them, leftover tensor files are ignored. Temp files left by a run
        # killed mid-write go too, so the folder can be removed.
        stale = glob.glob(os.path.join(glob.escape(self.backup_dir), ".*.tmp"))
        for path in [self._path(STATE_JSON), self._path(PREVIOUS_JSON), *self._tensor_files(), *stale]:
            if os.path.lexists(path):
                os.remove(path)
        if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)

    def _tensor_files(self) -> list[str]:
        return glob.glob(os.path.join(glob.escape(self.backup_dir), TENSORS_GLOB))

    # ------------------------------------------------------------------------------------------------ writing
    def _backup(self, last_completed_epoch: int, batch: int | None = None) -> None:
        if not is_chief():
            return
        try:
            os.makedirs(self.backup_dir, exist_ok=True)
        except OSError as err:
            raise checkpoint_error(self._path(STATE_JSON), err) from err
        tensors, fields = capture_rngs()
        weights = weight_tensors(self.model)  # the variables themselves: the writer streams them, no copies
        for i, weight in enumerate(weights):
            tensors[f"weights/{i:05d}"] = weight
        fields["weights"] = len(weights)
        optimizer = getattr(self.model, "optimizer", None)
        fields["optimizer"] = None
        if optimizer is not None:
            fields["optimizer"] = {"learning_rate": float(optimizer.learning_rate), "scalars": {}}
            for key, value in optimizer.state_dict().items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optimizer/{key}"] = value.detach()
                else:
                    fields["optimizer"]["scalars"][key] = value
        tensor_name = TENSORS_NAME.format(epoch=last_completed_epoch, token=secrets.token_hex(4))
        fields.update(format=BACKUP_FORMAT, version=BACKUP_VERSION, epoch=last_completed_epoch, tensors=tensor_name)
        text = json.dumps(fields)
        with atomic_write(self._path(tensor_name)) as f:
            write_tensors(f, tensors)
        # The generation in use becomes the previous one before the new one replaces it: a crash between the two
        # writes leaves both files naming the old, complete backup.
        if self._good is not None:
            with atomic_write(self._path(PREVIOUS_JSON), "w") as f:
                f.write(self._good[0])
        with atomic_write(self._path(STATE_JSON), "w") as f:
            f.write(text)
        keep = {tensor_name} if self._good is None else {tensor_name, self._good[1]}
        if self._good is None and os.path.lexists(self._path(PREVIOUS_JSON)):
            os.remove(self._path(PREVIOUS_JSON))  # from an older run; it may name files removed below
        for path in self._tensor_files():
            if os.path.basename(path) not in keep:
                os.remove(path)
        self._good = (text, tensor_name)
        where = f"epoch {last_completed_epoch + 1}" if batch is None else \
            f"epoch {last_completed_epoch + 2}, batch {batch + 1}"
        self.last_saved = f"BackupAndRestore backed up {where} in '{self.backup_dir}' (run the same fit to resume)"

    # ------------------------------------------------------------------------------------------------ reading
    def _restore(self) -> None:
        problems = []
        for name in (STATE_JSON, PREVIOUS_JSON):
            if not os.path.lexists(self._path(name)):
                problems.append(f"'{self._path(name)}' is missing")
                continue
            try:
                epoch = self._restore_generation(self._path(name))
            except BadBackup as err:
                problems.append(f"{err}")
                continue
            if problems:
                _warnings.warn(f"BackupAndRestore: the newest backup is unusable ({problems[0]}); resuming from "
                               f"the previous one, '{self._path(name)}' (epoch {epoch + 1}). Check the disk the "
                               f"backup in '{self.backup_dir}' is on.")
            self._check_not_finished(epoch)
            self.model._resume_epoch = epoch + 1
            return
        raise FileFormatError(
            f"BackupAndRestore could not restore the backup in '{self.backup_dir}': {'; '.join(problems)}. The backup "
            "is corrupt, incomplete, was written for a different model, or was tampered with. Delete that directory "
            f"(e.g. shutil.rmtree({self.backup_dir!r})) to start training from scratch, or pass another backup_dir. "
            f"Received: backup_dir={self.backup_dir!r}"
        )

    def _restore_generation(self, json_path: str) -> int:
        """Check one generation completely, then restore it; returns its epoch. Raises BadBackup naming the file."""
        expected = weight_specs(self.model)
        try:
            with open_regular(json_path, MAX_BACKUP_STATE_BYTES, "r") as f:
                fields = load_json(f.read(), source=None, member=os.path.basename(json_path), expect=dict,
                                   error=BadBackup, max_bytes=MAX_BACKUP_STATE_BYTES,
                                   fix="BackupAndRestore never writes this.")
            epoch = check_fields(fields, len(expected))
            tensors_file = tensors_path(self.backup_dir, fields)
            model_bytes = sum(math.prod(shape) * dtype.itemsize for shape, dtype in expected)
            tensors = read_tensors(tensors_file, model_bytes, len(expected))
            check_tensors(tensors, expected)
            self._restore_model(tensors, fields)
            set_rngs(tensors, fields)
        except BadBackup as err:
            raise BadBackup(f"'{json_path}': {err}") from err
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, RecursionError) as err:
            raise BadBackup(f"'{json_path}': {type(err).__name__}: {_warnings.shorten(err, 200)}") from err
        self._good = (json.dumps(fields), fields["tensors"])
        return epoch

    def _check_not_finished(self, epoch: int) -> None:
        epochs = self.params.get("epochs")
        if isinstance(epochs, int) and epoch + 1 >= epochs:
            _warnings.warn(f"BackupAndRestore: the backup in '{self.backup_dir}' holds epoch {epoch + 1} and fit "
                           f"was given epochs={epochs}: that training had finished, so fit trains no further epoch "
                           "(as Keras does). Pass a larger epochs to continue it, or delete the backup folder to "
                           "train from scratch.")

    def _restore_model(self, tensors: dict[str, torch.Tensor], fields: dict[str, Any]) -> None:
        keys = [f"weights/{i:05d}" for i in range(fields["weights"])]
        self.model.set_weights([tensors[key].numpy() for key in keys])
        for key in keys:  # freed before the optimizer copies its state in: peak memory stays at what was read
            del tensors[key]
        optimizer = getattr(self.model, "optimizer", None)
        saved = fields.get("optimizer")
        if optimizer is None or saved is None:
            return
        state = {key[len("optimizer/"):]: value for key, value in tensors.items() if key.startswith("optimizer/")}
        state.update(saved["scalars"])
        optimizer.load_state_dict(state)
        optimizer.learning_rate = saved["learning_rate"]

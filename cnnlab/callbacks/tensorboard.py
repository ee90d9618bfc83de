"""`TensorBoard`: write training logs that TensorBoard shows, in Keras's layout.

Scalars go to ``log_dir/train`` and ``log_dir/validation`` with Keras's tag
names (``epoch_loss``, ``epoch_accuracy``, ``batch_loss`` ...), so a
TensorBoard dashboard set up for a tf.keras run reads a cnnlab run the same way.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import numpy as np
import torch

from cnnlab import _warnings
from cnnlab.callbacks.base import Callback, Logs, is_chief
from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.io.atomic import checkpoint_error
from cnnlab.layers.conv import Conv2D
from cnnlab.summary import FileWriter, create_file_writer

# Each filter of the first convolution is enlarged this many times (nearest
# neighbour) so that a 3x3 kernel is visible in TensorBoard's image tab.
FILTER_IMAGE_ZOOM = 8
# Most filters written as images per epoch: a grid TensorBoard can still show.
MAX_FILTER_IMAGES = 64
_EVENTS_KEPT = "The events written before stay in the log folder."


class TensorBoard(Callback):
    """Log scalars, weight histograms, first-layer filters and the graph for TensorBoard.

    Args:
        log_dir: folder of the logs; ``train/`` and ``validation/`` go below it.
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: write the model graph (traced once on an example input).
        write_images: write the first convolution's filters as images (at the
            histogram epochs, or every epoch when ``histogram_freq`` is 0).
        write_steps_per_second: also log ``epoch_steps_per_second``.
        update_freq: ``"epoch"``; ``"batch"`` or an int N to also log
            ``batch_<metric>`` every N training batches (reading the running
            values forces a device sync, so only every N batches).
        profile_batch: profiling is not written; only 0 is accepted.
        embeddings_freq, embeddings_metadata: accepted for Keras compatibility;
            embeddings are not written.

    Example:
        >>> tb = TensorBoard(log_dir="logs/run1", histogram_freq=1)  # doctest: +SKIP
        >>> model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[tb])  # doctest: +SKIP
        >>> # then: tensorboard --logdir logs
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None) -> None:
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _non_negative_int("histogram_freq", histogram_freq)
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = _update_freq(update_freq)
        if profile_batch not in (0, None, (0, 0)):
            raise ConfigError(
                "TensorBoard: profiling is not supported; use torch.profiler directly, or pass profile_batch=0. "
                f"Received: profile_batch={profile_batch!r}"
            )
        if embeddings_freq:
            raise ConfigError(f"TensorBoard: embeddings are not written; pass embeddings_freq=0. "
                              f"Received: embeddings_freq={embeddings_freq!r}")
        # Only the chief process writes; a distributed strategy sets this to False on the other workers.
        self._is_chief = True
        self._writers: dict[str, FileWriter] = {}
        self._write_failure: CheckpointError | None = None  # from a batch; raised at the epoch end
        self._warned_non_finite: set[str] = set()
        self._train_step = 0
        self._epoch_start = 0.0
        self._epoch_steps = 0

    # ------------------------------------------------------------------ writers
    def _writer(self, which: str) -> FileWriter:
        if which not in self._writers:
            folder = os.path.join(self.log_dir, which)
            try:
                self._writers[which] = create_file_writer(folder)
            except OSError as err:  # log_dir is a file, read-only or on a full disk
                raise checkpoint_error(folder, err) from err
        return self._writers[which]

    def _close_writers(self, quietly: bool = False) -> None:
        writers, self._writers = self._writers, {}
        failure = None
        for writer in writers.values():
            try:
                writer.close()
            except OSError as err:
                failure = failure or err
        if failure is not None and not quietly:
            raise self._fail(failure) from failure

    def _fail(self, err: OSError) -> CheckpointError:
        """The log folder cannot be written (full disk, file-size limit): stop logging; the caller raises."""
        self._close_writers(quietly=True)
        if isinstance(err, CheckpointError):  # already names the folder and the cause
            return err
        return checkpoint_error(self.log_dir, err, kept=_EVENTS_KEPT)

    # -------------------------------------------------------------------- hooks
    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._train_step = 0
        self._write_failure = None
        self._is_chief = is_chief()
        if not self._is_chief:
            return
        self._writer("train")  # fails early, with the install hint, if tensorboard is missing
        if self.write_graph:
            self._log_graph()

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_steps = 0

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._train_step += 1
        self._epoch_steps += 1
        if not self._is_chief or self.update_freq == "epoch" or self._train_step % self.update_freq:
            return
        if self._write_failure is not None:
            return
        try:
            writer = self._writer("train")
            for name, value in (logs or {}).items():
                writer.scalar(f"batch_{name}", float(value), step=self._train_step)
        except OSError as err:
            # Raised at the epoch end: the epoch finishes and the callbacks that save the model run first.
            self._write_failure = self._fail(err)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if not self._is_chief:
            return
        if self._write_failure is not None:
            raise self._write_failure
        try:
            self._log_epoch(epoch, dict(logs or {}))
        except OSError as err:
            raise self._fail(err) from err

    def _log_epoch(self, epoch: int, logs: dict) -> None:
        train, val = self._writer("train"), None
        for name, value in logs.items():
            if name.startswith("val_"):
                val = val or self._writer("validation")
                val.scalar(f"epoch_{name[4:]}", value, step=epoch)
                if self.update_freq != "epoch":
                    val.scalar(f"evaluation_{name[4:]}_vs_iterations", value, step=self._train_step)
            else:
                train.scalar(f"epoch_{name}", value, step=epoch)
        if "learning_rate" not in logs:
            lr = _learning_rate(self.model)
            if lr is not None:
                train.scalar("epoch_learning_rate", lr, step=epoch)
        if self.write_steps_per_second:
            seconds = max(time.perf_counter() - self._epoch_start, 1e-9)
            train.scalar("epoch_steps_per_second", self._epoch_steps / seconds, step=epoch)
        on_schedule = self.histogram_freq and epoch % self.histogram_freq == 0
        if on_schedule:
            self._log_histograms(train, epoch)
        if self.write_images and (on_schedule or not self.histogram_freq):
            self._log_filters(train, epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close_writers()

    # ------------------------------------------------------------------ content
    def _log_histograms(self, writer: FileWriter, epoch: int) -> None:
        for variable in self.model.weights:
            tag = f"{variable.path}/histogram"
            values = variable.value.detach()
            if values.is_floating_point() and not bool(torch.isfinite(values).all()):
                self._warn_non_finite(tag, epoch)
                continue
            writer.histogram(tag, values, step=epoch)

    def _warn_non_finite(self, tag: str, epoch: int) -> None:
        # TensorBoard's histogram buckets cannot hold NaN or inf; skipping keeps the rest of the logs.
        if tag in self._warned_non_finite:
            return
        self._warned_non_finite.add(tag)
        _warnings.warn(f"TensorBoard: the weights {tag.removesuffix('/histogram')!r} hold NaN or infinite values at "
                       f"epoch {epoch}, so their histogram is not written (this epoch and later ones while they "
                       "stay so). The training has diverged: lower the learning rate or add TerminateOnNaN().")

    def _log_filters(self, writer: FileWriter, epoch: int) -> None:
        conv = next((m for m in self.model.modules() if isinstance(m, Conv2D) and getattr(m, "built", False)), None)
        if conv is None:
            return
        writer.image(f"{conv.name}/filters", filter_images(conv.kernel), step=epoch, max_outputs=MAX_FILTER_IMAGES)

    def _log_graph(self) -> None:
        example = _example_input(self.model)
        if example is None:
            _warnings.warn("TensorBoard: the model graph was not written because the input shape of the model is "
                           "unknown (a subclassed model not built yet). Call the model on a batch before fit, or "
                           "pass write_graph=False.")
            return
        was_training = self.model.training
        try:
            self.model.eval()
            # no_grad: the trace and its check run take the same (inference) kernels
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # the tracer's own warnings are about internals
                self._writer("train").graph(self.model, example)
        except Exception as err:  # tracing can fail on Python control flow; the rest of the logs still matter
            _warnings.warn(f"TensorBoard: the model graph was not written because tracing the model failed "
                           f"({type(err).__name__}: {_warnings.shorten(err)}). Scalars and histograms are still "
                           "logged; pass write_graph=False to skip the graph.")
        finally:
            self.model.train(was_training)


def filter_images(kernel: torch.Tensor, zoom: int = FILTER_IMAGE_ZOOM) -> np.ndarray:
    """First input channel of each filter of a ``(kh, kw, in, out)`` kernel as ``(out, kh*z, kw*z, 1)`` images.

    The colour scale is shared and symmetric: 0.5 is a zero weight, 0 and 1 the
    largest magnitude in the layer, so filters can be compared with each other.
    """
    weights = kernel.detach().cpu().float().numpy()[:, :, 0, :]  # (kh, kw, out)
    scale = float(np.abs(weights).max()) or 1.0
    images = np.transpose(weights, (2, 0, 1)) / (2 * scale) + 0.5
    images = np.kron(images, np.ones((1, zoom, zoom), dtype=np.float32))
    return images[..., None].astype(np.float32)


def _example_input(model: Any) -> torch.Tensor | None:
    """A zero batch of one image in the model's input shape, or None when it is unknown."""
    try:
        shape = tuple(model.input.shape)
    except Exception:  # subclassed models have no symbolic input
        shape = getattr(model, "_build_shape", None)
    if not shape or any(d is None for d in shape[1:]):
        return None
    return torch.zeros((1, *shape[1:]), device=model.device)


def _learning_rate(model: Any) -> float | None:
    try:
        return float(model.optimizer.learning_rate)
    except Exception:  # no optimizer, or a schedule that needs a step
        return None


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"TensorBoard: {name} must be an int >= 0 (0 turns it off). Received: {name}={value!r}")
    return int(value)


def _update_freq(value: Any) -> str | int:
    if value == "batch":
        return 1
    if value == "epoch":
        return "epoch"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int (every N batches). "
                          f"Received: update_freq={value!r}")
    return int(value)

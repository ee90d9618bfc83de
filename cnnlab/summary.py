"""Write custom TensorBoard logs, in the manner of ``tf.summary``.

Example:
    >>> from cnnlab import summary
    >>> writer = summary.create_file_writer("logs/custom")  # doctest: +SKIP
    >>> with writer.as_default():  # doctest: +SKIP
    ...     for step in range(3):
    ...         summary.scalar("my_metric", 0.5 * step, step=step)

Event files are written with PyTorch's ``SummaryWriter``, which needs the
``tensorboard`` package: ``pip install 'cnnlab[tensorboard]'``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from cnnlab.errors import ConfigError, ShapeError, did_you_mean
from cnnlab.tf_names._args import check_arguments

INSTALL_HINT = "pip install 'cnnlab[tensorboard]'"
summary_api = check_arguments("tf.summary")  # misspelt keywords (stpe=3) get a did-you-mean
# tf.summary.image writes at most this many images of a batch by default.
DEFAULT_MAX_OUTPUTS = 3

_default_writers: list[FileWriter] = []


def _summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError(
            f"Writing TensorBoard logs needs the 'tensorboard' package, which is not installed. "
            f"Install it with: {INSTALL_HINT}  (or: pip install tensorboard)"
        ) from err
    return SummaryWriter


def _require_step(step: Any, what: str) -> int:
    if step is None or isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise ConfigError(f"summary.{what}: step must be an int (the x axis in TensorBoard). Received: step={step!r}")
    return int(step)


def _as_numpy(data: Any) -> np.ndarray:
    if hasattr(data, "detach"):  # a torch tensor, possibly on a GPU
        data = data.detach().cpu().numpy()
    return np.asarray(data)


class FileWriter:
    """Writes scalars, images, histograms and text to one TensorBoard log folder.

    Create it with :func:`create_file_writer`. Use its methods directly, or
    make it the default for the module functions with ``as_default()``.

    Args:
        logdir: the folder of the event files (created if missing).
        max_queue: events held in memory before a write.
        flush_millis: the longest time events wait in memory.
        filename_suffix: appended to the event file names.
    """

    def __init__(self, logdir: str | os.PathLike, max_queue: int = 10, flush_millis: int = 120_000,
                 filename_suffix: str = "") -> None:
        writer_class = _summary_writer_class()
        self.logdir = os.fspath(logdir)
        self._writer = writer_class(self.logdir, max_queue=max_queue, flush_secs=max(1, flush_millis // 1000),
                                    filename_suffix=filename_suffix)

    def scalar(self, name: str, data: Any, step: int) -> bool:
        """Log one number, e.g. ``writer.scalar("loss", 0.25, step=3)``."""
        value = _as_numpy(data)
        if value.size != 1:
            raise ShapeError(f"summary.scalar {name!r}: data must be a single number; got shape {value.shape}. "
                             f"Received: data={data!r:.80}")
        self._writer.add_scalar(name, float(value.reshape(())), _require_step(step, "scalar"))
        return True

    def image(self, name: str, data: Any, step: int, max_outputs: int = DEFAULT_MAX_OUTPUTS) -> bool:
        """Log images of shape ``(k, height, width, channels)`` (channels 1, 3 or 4).

        Floats are taken as 0..1, uint8 as 0..255, as in ``tf.summary.image``.
        Up to ``max_outputs`` images are written, tiled into one picture.
        """
        images = _as_numpy(data)
        if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
            raise ShapeError(
                f"summary.image {name!r}: data must have shape (k, height, width, channels) with 1, 3 or 4 "
                f"channels; got shape {images.shape}. Add a batch axis with data[None] for one image."
            )
        images = images[:max(1, int(max_outputs))]
        if images.dtype != np.uint8:
            images = np.clip(images.astype(np.float32), 0.0, 1.0)
        self._writer.add_images(name, images, _require_step(step, "image"), dataformats="NHWC")
        return True

    def histogram(self, name: str, data: Any, step: int, buckets: int | None = None) -> bool:
        """Log the distribution of the values of ``data`` (any shape)."""
        values = _as_numpy(data).astype(np.float64).reshape(-1)
        if values.size == 0:
            raise ShapeError(f"summary.histogram {name!r}: data is empty; there is nothing to histogram.")
        bins = "tensorflow" if buckets is None else int(buckets)
        self._writer.add_histogram(name, values, _require_step(step, "histogram"), bins=bins)
        return True

    def text(self, name: str, data: str, step: int) -> bool:
        """Log a (Markdown) string, shown in TensorBoard's Text tab."""
        self._writer.add_text(name, str(data), _require_step(step, "text"))
        return True

    def graph(self, model: Any, example_input: Any) -> None:
        """Log a model's graph, traced on ``example_input`` (a batch tensor)."""
        self._writer.add_graph(model, example_input)

    def flush(self) -> None:
        """Write pending events to disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file; the writer cannot be used afterwards."""
        self._writer.close()

    @contextlib.contextmanager
    def as_default(self) -> Iterator[FileWriter]:
        """Make this writer the target of :func:`scalar`, :func:`image`, ... inside the block."""
        _default_writers.append(self)
        try:
            yield self
        finally:
            _default_writers.remove(self)
            self.flush()

    def __enter__(self) -> FileWriter:
        """``with create_file_writer(d) as w:`` makes ``w`` the default and closes it at the end."""
        _default_writers.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _default_writers.remove(self)
        self.close()


@summary_api
def create_file_writer(logdir: str | os.PathLike, max_queue: int = 10, flush_millis: int = 120_000,
                       filename_suffix: str = "") -> FileWriter:
    """Create a :class:`FileWriter` for the folder ``logdir``, like ``tf.summary.create_file_writer``.

    Example:
        >>> writer = create_file_writer("logs/run1")  # doctest: +SKIP
        >>> writer.scalar("accuracy", 0.9, step=1)  # doctest: +SKIP
        True
    """
    return FileWriter(logdir, max_queue=max_queue, flush_millis=flush_millis, filename_suffix=filename_suffix)


def _default() -> FileWriter | None:
    return _default_writers[-1] if _default_writers else None


@summary_api
def scalar(name: str, data: Any, step: int) -> bool:
    """Log a number to the default writer; False (nothing written) when there is none, as in TF."""
    writer = _default()
    return writer.scalar(name, data, step) if writer else False


@summary_api
def image(name: str, data: Any, step: int, max_outputs: int = DEFAULT_MAX_OUTPUTS) -> bool:
    """Log images ``(k, h, w, c)`` to the default writer; False when there is none."""
    writer = _default()
    return writer.image(name, data, step, max_outputs) if writer else False


@summary_api
def histogram(name: str, data: Any, step: int, buckets: int | None = None) -> bool:
    """Log a histogram of ``data`` to the default writer; False when there is none."""
    writer = _default()
    return writer.histogram(name, data, step, buckets) if writer else False


@summary_api
def text(name: str, data: str, step: int) -> bool:
    """Log text to the default writer; False when there is none."""
    writer = _default()
    return writer.text(name, data, step) if writer else False


def __getattr__(name: str) -> Any:
    public = ["FileWriter", "create_file_writer", "histogram", "image", "scalar", "text"]
    raise AttributeError(f"module 'cnnlab.summary' has no attribute '{name}'.{did_you_mean(name, public)}")

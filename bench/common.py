"""What every runner shares: the data, the thread setting, RSS sampling and the result line.

Imports only the standard library and NumPy, so a Keras/TensorFlow runner
does not load torch (and its memory) through this module.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Self  # Python 3.11+; annotations are not evaluated at run time here

import numpy as np

DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/usr/share/datasets/fashion-mnist"))
TRAIN_SIZE = 48_000  # first 48k of the official train set; the last 12k are validation
RESULT_PREFIX = "BENCH_RESULT "  # the orchestrator picks the line starting with this from a runner's stdout
PREDICT_BATCH = 128  # the same predict batch size for every tool
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # IDX magic numbers of uint8 image (3-D) and label (1-D) files


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    if magic != IDX_MAGIC[ndim]:
        raise ValueError(f"{path}: not an IDX file of {ndim} dimension(s) (magic {magic:#x}).")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    # A writable copy: torch warns on tensors made from read-only buffers.
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def load_raw() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST as uint8 ``(x_train, y_train), (x_test, y_test)`` from ``DATA_DIR``."""
    if not DATA_DIR.is_dir():
        raise FileNotFoundError(f"Fashion-MNIST not found in {DATA_DIR}. Install Debian's dataset-fashion-mnist "
                                "(make data) or set BENCH_DATA_DIR to a folder with the four .gz IDX files.")
    return ((_read_idx(DATA_DIR / "train-images-idx3-ubyte.gz", 3), _read_idx(DATA_DIR / "train-labels-idx1-ubyte.gz", 1)),
            (_read_idx(DATA_DIR / "t10k-images-idx3-ubyte.gz", 3), _read_idx(DATA_DIR / "t10k-labels-idx1-ubyte.gz", 1)))


def _scaled(images: np.ndarray, layout: str) -> np.ndarray:
    out = images.astype(np.float32)
    out /= 255.0  # in place: no second full-size temporary in every runner's peak RSS
    return out.reshape((-1, 28, 28, 1) if layout == "nhwc" else (-1, 1, 28, 28))


def bench_split(layout: str = "nhwc") -> dict[str, np.ndarray]:
    """The fixed split's training part (first 48k of the train set) and the official 10k test set.

    Images are float32 in [0, 1], labels int64. The last 12k of the train set
    are the validation part; the timed runs do not use them, so they are not
    kept in memory (they would count in every tool's peak RSS).

    Args:
        layout: ``"nhwc"`` (Keras, cnnlab) or ``"nchw"`` (PyTorch).
    """
    (x, y), (x_test, y_test) = load_raw()
    return {"x_train": _scaled(x[:TRAIN_SIZE], layout), "y_train": y[:TRAIN_SIZE].astype(np.int64),
            "x_test": _scaled(x_test, layout), "y_test": y_test.astype(np.int64)}


def threads() -> int:
    """Threads for every tool: ``BENCH_THREADS`` or the machine's core count."""
    return int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))


def ru_maxrss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """Samples this process's RSS in a background thread (every ``interval`` s) while in a ``with`` block.

    ``mark()`` stores the latest sample under a label, e.g. at each epoch end.
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak = 0.0
        self.marks: list[float] = []
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, current_rss_mb())

    def mark(self) -> None:
        rss = current_rss_mb()
        self.peak = max(self.peak, rss)
        self.marks.append(round(rss, 1))

    def __enter__(self) -> Self:
        self.peak = current_rss_mb()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class EpochClock:
    """Wall time of each epoch, for the runners that loop themselves or get epoch hooks."""

    def __init__(self):
        self.seconds: list[float] = []
        self._start = None

    def begin(self) -> None:
        self._start = time.perf_counter()

    def end(self) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def timed_predict(predict, x: np.ndarray, repeats: int) -> tuple[np.ndarray, list[float]]:
    """Call ``predict(x)`` once to warm up, then ``repeats`` timed times; returns outputs and the timed seconds."""
    out = predict(x)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = predict(x)
        seconds.append(time.perf_counter() - start)
    return np.asarray(out), seconds


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(probs).argmax(axis=1) == labels).mean())


def emit(result: dict) -> None:
    """Print the one result line the orchestrator reads."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))

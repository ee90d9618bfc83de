"""``keras.utils.PyDataset``: a Python class serving whole batches by index (Keras 3's base class).

A subclass implements ``__len__`` (batches per epoch; or a ``num_batches`` property, None for infinite) and
``__getitem__(index)`` returning a batch ``(x, y)`` / ``(x, y, sample_weight)``. Iterating it is one epoch:
``on_epoch_begin()``, the batches in index order, then ``on_epoch_end()`` (where a subclass reshuffles).
With ``workers > 1`` the batches are prepared ahead, by a thread pool or (``use_multiprocessing=True``)
DataLoader worker processes, at most ``max_queue_size`` ahead; the order stays the index order.
"""

from __future__ import annotations

import itertools
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch.utils.data import DataLoader

from cnnlab.data._structure import INFINITE_CARDINALITY
from cnnlab.errors import ConfigError

_DEFAULTS = {"_workers": 1, "_use_multiprocessing": False, "_max_queue_size": 10}


class PyDataset:
    """Base class for batch-serving Python datasets (``keras.utils.PyDataset``).

    Args:
        workers: how many batches are prepared in parallel (1: one at a time, in the calling thread).
        use_multiprocessing: prepare them in worker processes instead of threads (``__getitem__`` must then
            not rely on state changed in the main process after iteration starts).
        max_queue_size: how many batches may be prepared ahead.

    Example:
        >>> class Batches(PyDataset):
        ...     def __init__(self, x, y, batch_size, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, i):
        ...         s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        ...         return self.x[s], self.y[s]
        >>> len(list(Batches(list(range(10)), list(range(10)), 4)))
        3
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"PyDataset: {name} must be a positive int. Received: {name}={value!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    def _setting(self, name: str) -> Any:
        if name not in self.__dict__:
            warnings.warn(f"Your `PyDataset` class {type(self).__name__} should call `super().__init__(**kwargs)` "
                          "in its constructor (kwargs may hold workers, use_multiprocessing, max_queue_size).",
                          stacklevel=3)
            for key, default in _DEFAULTS.items():
                self.__dict__.setdefault(key, default)
        return self.__dict__[name]

    workers = property(lambda self: self._setting("_workers"), lambda self, v: setattr(self, "_workers", v))
    use_multiprocessing = property(lambda self: self._setting("_use_multiprocessing"),
                                   lambda self, v: setattr(self, "_use_multiprocessing", v))
    max_queue_size = property(lambda self: self._setting("_max_queue_size"),
                              lambda self, v: setattr(self, "_max_queue_size", v))

    def __getitem__(self, index: int) -> Any:
        """The batch at position ``index``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(self, index) returning a batch.")

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch (``len(self)``), or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (or a num_batches property).")

    def on_epoch_begin(self) -> None:
        """Called before the first batch of every epoch."""

    def on_epoch_end(self) -> None:
        """Called after the last batch of every epoch (e.g. to reshuffle)."""

    def cardinality(self) -> int:
        """Batches per epoch, or -1 (INFINITE_CARDINALITY) when ``num_batches`` is None."""
        count = self.num_batches
        return INFINITE_CARDINALITY if count is None else count

    def __iter__(self) -> Iterator[Any]:
        count = self.num_batches
        indices = itertools.count() if count is None else range(count)
        self.on_epoch_begin()
        if self.workers <= 1:
            yield from (self[i] for i in indices)
        elif self.use_multiprocessing:
            yield from DataLoader(_ByIndex(self, count), batch_size=None, num_workers=self.workers,
                                  prefetch_factor=max(1, self.max_queue_size // self.workers), collate_fn=_keep,
                                  pin_memory=torch.cuda.is_available())
        else:
            yield from _threaded(self, indices, self.workers, self.max_queue_size)
        self.on_epoch_end()


def _threaded(dataset: PyDataset, indices: Any, workers: int, ahead: int) -> Iterator[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for index in indices:
            pending.append(pool.submit(dataset.__getitem__, index))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _keep(batch: Any) -> Any:
    return batch


class _ByIndex(torch.utils.data.Dataset):
    """A PyDataset as a map-style torch Dataset (for DataLoader worker processes)."""

    def __init__(self, dataset: PyDataset, count: int | None) -> None:
        self.dataset, self.count = dataset, count

    def __len__(self) -> int:
        if self.count is None:
            raise TypeError("endless")
        return self.count

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

"""``map(num_parallel_calls=...)`` in ``torch.utils.data.DataLoader`` worker processes.

Every worker replays the map's input pipeline and maps the elements whose position ``i`` has
``i % num_workers == worker_id`` (whole batches, when the map is followed by ``batch``); the DataLoader collects
the workers' outputs round robin, so the order is the input order. Shuffles upstream must give every worker the same order, so the main process draws their epoch
seeds before the workers start (and the workers, forked or spawned, carry them).

AUTOTUNE: on this 2-core machine (bench/README.md, "Dataset pipelines"), decoding JPEGs in 2 worker processes while
the main process trains was the fastest choice; in-memory elements are cheaper to map in the main process than
to ship between processes, so AUTOTUNE uses workers only on pipelines that read files.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from cnnlab.data._structure import AUTOTUNE, stack
from cnnlab.data.dataset import upstream

# The worker count AUTOTUNE picks for a file-reading map, at most the number of cores (see the module docstring).
AUTOTUNE_WORKERS = 2


def worker_count(num_parallel_calls: int | None, input_dataset: Any) -> int:
    """How many DataLoader workers a map uses: 0 means in the main process."""
    if num_parallel_calls is None or num_parallel_calls == 1 or get_worker_info() is not None:
        return 0  # already inside a worker: daemonic workers cannot start their own
    cores = os.cpu_count() or 1
    if num_parallel_calls == AUTOTUNE:
        return min(AUTOTUNE_WORKERS, cores) if reads_files(input_dataset) else 0
    return min(num_parallel_calls, cores)


def reads_files(dataset: Any) -> bool:
    return dataset._reads_files or any(reads_files(d) for d in dataset._inputs)


def parallel_map(input_dataset: Any, apply: Callable, workers: int, batch_size: int = 0,
                 drop_remainder: bool = False) -> Iterator[Any]:
    """The mapped elements of one epoch, computed by ``workers`` DataLoader processes, in input order.

    With ``batch_size``, each worker maps and stacks whole batches (a map followed by ``batch``): one tensor per
    batch crosses between processes instead of one per element, several times faster for decoded images.
    """
    shuffles = [d for d in upstream(input_dataset) if hasattr(d, "_pinned")]
    for shuffle in shuffles:
        shuffle._pinned = shuffle._epoch_seed()
    try:
        shard = _Shard(input_dataset, apply, batch_size, drop_remainder)
        loader = DataLoader(shard, batch_size=None, num_workers=workers, collate_fn=_keep, pin_memory=torch.cuda.is_available())
        iterator = iter(loader)  # the workers start here, with the pinned seeds
    finally:
        for shuffle in shuffles:
            shuffle._pinned = None
    for item in iterator:
        if isinstance(item, _Failure):
            raise item.error
        yield item


class _Failure:
    """An exception raised in a worker, sent back as data so the caller gets it as it was raised (same class,
    one-line message) instead of DataLoader's wrapper with the worker's traceback folded into the message."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _keep(element: Any) -> Any:
    """DataLoader's collate for already-formed elements (the default would turn tuples into lists)."""
    return element


class _Shard(IterableDataset):
    """The work of one worker: every ``num_workers``-th element (or batch), starting at its id."""

    def __init__(self, source: Any, apply: Callable, batch_size: int, drop_remainder: bool) -> None:
        self.source = source
        self.apply = apply
        self.batch_size = batch_size
        self.drop_remainder = drop_remainder

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        group = max(self.batch_size, 1)
        mine: list = []
        try:
            for position, element in enumerate(self.source._elements()):
                if position // group % workers == worker:
                    mine.append(self.apply(element))
                    if len(mine) == group:
                        yield self._emit(mine)
                        mine = []
            if mine and not (self.batch_size and self.drop_remainder):
                yield self._emit(mine)
        except Exception as err:
            try:
                pickle.dumps(err)
            except Exception:
                raise err from None  # not picklable: DataLoader's own wrapper reports it
            yield _Failure(err)

    def _emit(self, elements: list) -> Any:
        return stack(elements, "Dataset.batch") if self.batch_size else elements[0]

"""The transformations of a Dataset: shuffle, map, filter, take/skip/repeat, concatenate, prefetch, cache.

Batching lives in ``_batching.py``.

Each keeps tf.data's semantics (order, remainders, cardinality, element_spec). Those that only reorder or select
rows of an in-memory source pass an :class:`IndexPlan` down, so ``batch`` can slice the source tensors directly.
"""

from __future__ import annotations

import inspect
import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from cnnlab.data import _cache_file, _workers
from cnnlab.data._structure import (
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    TensorSpec,
    flatten,
    map_structure,
    normalize,
    pack,
    spec_of,
    stack,
)
from cnnlab.data.dataset import Dataset, IndexPlan, peek
from cnnlab.errors import ArgumentTypeError, DataError


class _Transform(Dataset):
    """A dataset made from one input; element_spec and cardinality are the input's unless overridden."""

    def __init__(self, input_dataset: Dataset) -> None:
        self._input = input_dataset
        self._inputs = (input_dataset,)

    def _elements(self) -> Iterator[Any]:
        return self._input._elements()

    def _cardinality(self) -> int:
        return self._input.cardinality()

    def _spec(self) -> Any:
        return self._input.element_spec


class ShuffleDataset(_Transform):
    """``shuffle``: TF's buffer algorithm (random draws from a buffer refilled from the input)."""

    _tf_name = "_ShuffleDataset"

    def __init__(self, input_dataset: Dataset, buffer_size: int, seed: int | None, reshuffle: bool) -> None:
        super().__init__(input_dataset)
        self._buffer_size = buffer_size
        self._reshuffle = reshuffle
        # seed=None still follows keras.utils.set_random_seed: the base seed comes from torch's global generator.
        base = int(torch.randint(0, 2**62, ())) if seed is None else int(seed)
        self._seeds = np.random.default_rng(base)
        self._fixed_seed = int(self._seeds.integers(2**62))
        self._pinned: int | None = None  # set while DataLoader workers replay this epoch (see _workers)

    def _epoch_seed(self) -> int:
        if self._pinned is not None:
            return self._pinned
        return int(self._seeds.integers(2**62)) if self._reshuffle else self._fixed_seed

    def _plan(self) -> IndexPlan | None:
        plan = self._input._plan()
        if plan is None:
            return None
        seed, n = self._epoch_seed(), len(plan.order)
        if self._buffer_size >= n:
            order = plan.order[torch.randperm(n, generator=torch.Generator().manual_seed(seed))]
        else:
            order = torch.tensor(list(_buffer_shuffle(plan.order.tolist(), self._buffer_size, random.Random(seed))),
                                 dtype=torch.int64)
        return IndexPlan(order, plan.gather)

    def _elements(self) -> Iterator[Any]:
        plan = self._plan()
        if plan is not None:
            return (plan.gather(i) for i in plan.order.tolist())
        return _buffer_shuffle(self._input, self._buffer_size, random.Random(self._epoch_seed()))


def _buffer_shuffle(items: Any, buffer_size: int, rng: random.Random) -> Iterator[Any]:
    buffer: list = []
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        slot = rng.randrange(buffer_size)
        yield buffer[slot]
        buffer[slot] = item
    rng.shuffle(buffer)
    yield from buffer


class MapDataset(_Transform):
    """``map``: ``map_func`` on every element, in the main process or in DataLoader workers."""

    def __init__(self, input_dataset: Dataset, map_func: Callable, num_parallel_calls: int | None) -> None:
        super().__init__(input_dataset)
        self._map_func = map_func
        self._num_parallel_calls = num_parallel_calls
        self._tf_name = "_MapDataset" if num_parallel_calls is None else "_ParallelMapDataset"

    def worker_count(self) -> int:
        """DataLoader worker processes for this epoch (0: the main process)."""
        return _workers.worker_count(self._num_parallel_calls, self)

    def _elements(self) -> Iterator[Any]:
        workers = self.worker_count()
        if workers:
            return _workers.parallel_map(self._input, self.apply_to, workers)
        return (self.apply_to(element) for element in self._input._elements())

    def apply_to(self, element: Any) -> Any:
        """``map_func`` on one element: a tuple is unpacked into positional arguments, as tf.data does."""
        args = element if type(element) is tuple else (element,)  # TF unpacks plain tuples, not namedtuples
        try:
            with torch.no_grad():
                result = self._map_func(*args)
        except TypeError as err:
            if _accepts(self._map_func, len(args)):
                raise
            raise ArgumentTypeError(
                f"Dataset.map: map_func was called with {len(args)} positional argument(s), one per component of "
                f"the element {'tuple' if len(args) > 1 else ''} (tf.data unpacks tuples), but it does not accept "
                f"that. Give it one parameter per component, e.g. lambda x, y: .... ({err})") from err
        if isinstance(result, list):
            result = tuple(result)
        return normalize(result, "Dataset.map: map_func's result")

    def _spec(self) -> Any:
        first = peek(self._input)
        if first is None:
            return self._input.element_spec
        spec = spec_of(self.apply_to(first))
        inputs = flatten(self._input.element_spec)
        if inputs and all(s.shape and s.shape[0] is None for s in inputs):
            # a map over batches keeps the batch axis unknown, as TF's traced function does
            batch = flatten(first)[0].shape[0]
            spec = map_structure(lambda s: TensorSpec((None, *s.shape[1:]), s.dtype)
                                 if s.shape and s.shape[0] == batch else s, spec)
        return spec


def _accepts(func: Callable, count: int) -> bool:
    try:
        inspect.signature(func).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # builtins without a signature
        return True
    return True


class FilterDataset(_Transform):
    """``filter``: the elements for which the predicate holds."""

    _tf_name = "_FilterDataset"

    def __init__(self, input_dataset: Dataset, predicate: Callable) -> None:
        super().__init__(input_dataset)
        self._predicate = predicate

    def _elements(self) -> Iterator[Any]:
        for element in self._input._elements():
            with torch.no_grad():
                keep = self._predicate(*element) if type(element) is tuple else self._predicate(element)
            if isinstance(keep, torch.Tensor | np.ndarray) and keep.shape == () and keep.dtype in (torch.bool, bool):
                keep = bool(keep)
            if not isinstance(keep, bool | np.bool_):
                raise DataError("Dataset.filter: predicate must return a bool (or a scalar bool tensor); it "
                                f"returned {type(keep).__name__} {getattr(keep, 'shape', '')}. Compare, e.g. "
                                f"lambda x, y: y == 0. Received: {keep!r:.80}")
            if keep:
                yield element

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY


class TakeDataset(_Transform):
    """``take``: the first ``count`` elements."""

    _tf_name = "_TakeDataset"

    def __init__(self, input_dataset: Dataset, count: int) -> None:
        super().__init__(input_dataset)
        self._count = count

    def _elements(self) -> Iterator[Any]:
        return self._input._elements() if self._count < 0 else itertools.islice(self._input._elements(), self._count)

    def _plan(self) -> IndexPlan | None:
        plan = self._input._plan()
        if plan is None or self._count < 0:
            return plan
        return IndexPlan(plan.order[:self._count], plan.gather)

    def _cardinality(self) -> int:
        n = self._input.cardinality()
        if self._count < 0 or n == UNKNOWN_CARDINALITY:
            return n
        return self._count if n == INFINITE_CARDINALITY else min(n, self._count)


class SkipDataset(_Transform):
    """``skip``: all but the first ``count`` elements."""

    _tf_name = "_SkipDataset"

    def __init__(self, input_dataset: Dataset, count: int) -> None:
        super().__init__(input_dataset)
        self._count = count

    def _elements(self) -> Iterator[Any]:
        return iter(()) if self._count < 0 else itertools.islice(self._input._elements(), self._count, None)

    def _plan(self) -> IndexPlan | None:
        plan = self._input._plan()
        if plan is None:
            return None
        return IndexPlan(plan.order[len(plan.order) if self._count < 0 else self._count:], plan.gather)

    def _cardinality(self) -> int:
        n = self._input.cardinality()
        if self._count < 0:
            return 0
        return n if n < 0 else max(n - self._count, 0)


class RepeatDataset(_Transform):
    """``repeat``: the input again and again (each pass a new epoch, reshuffled)."""

    _tf_name = "_RepeatDataset"

    def __init__(self, input_dataset: Dataset, count: int) -> None:
        super().__init__(input_dataset)
        self._count = count

    def _elements(self) -> Iterator[Any]:
        passes = itertools.count() if self._count < 0 else range(self._count)
        for _ in passes:
            empty = True
            for element in self._input._elements():
                empty = False
                yield element
            if empty:  # an empty input repeated forever is still empty (as TF)
                return

    def _plan(self) -> IndexPlan | None:
        if self._count < 0:
            return None
        return concatenate_plans([self._input._plan() for _ in range(self._count)]) if self._count else None

    def _cardinality(self) -> int:
        n = self._input.cardinality()
        if n == UNKNOWN_CARDINALITY or n == INFINITE_CARDINALITY:
            return n
        if self._count < 0:
            return 0 if n == 0 else INFINITE_CARDINALITY
        return n * self._count


class ConcatenateDataset(Dataset):
    """``concatenate``: one dataset's elements, then another's."""

    _tf_name = "_ConcatenateDataset"

    def __init__(self, first: Dataset, second: Dataset) -> None:
        self._inputs = (first, second)
        a, b = first.element_spec, second.element_spec
        if _structure_of(a) != _structure_of(b):
            raise DataError(f"Dataset.concatenate: the two datasets have different element structures or dtypes: "
                            f"{a} and {b}. Map one of them to the other's structure first.")

    def _elements(self) -> Iterator[Any]:
        return itertools.chain(*(d._elements() for d in self._inputs))

    def _plan(self) -> IndexPlan | None:
        return concatenate_plans([d._plan() for d in self._inputs])

    def _cardinality(self) -> int:
        counts = [d.cardinality() for d in self._inputs]
        if INFINITE_CARDINALITY in counts:
            return INFINITE_CARDINALITY
        return UNKNOWN_CARDINALITY if UNKNOWN_CARDINALITY in counts else sum(counts)

    def _spec(self) -> Any:
        a, b = (flatten(d.element_spec) for d in self._inputs)
        return pack(self._inputs[0].element_spec, [
            TensorSpec(tuple(x if x == y else None for x, y in zip(s.shape, t.shape)), s.dtype)
            for s, t in zip(a, b)])


def _structure_of(spec: Any) -> Any:
    return pack(spec, [(len(s.shape), s.dtype) for s in flatten(spec)])


def concatenate_plans(plans: list) -> IndexPlan | None:
    """One plan running several plans one after the other (repeat, concatenate)."""
    if not plans or any(p is None for p in plans):
        return None
    if len(plans) == 1:
        return plans[0]
    offsets = torch.tensor([0] + [len(p.order) for p in plans]).cumsum(0)

    def gather(index: Any) -> Any:
        if not isinstance(index, int) and len(index) == 0:
            return plans[0].gather(plans[0].order[:0])
        if isinstance(index, int):
            part = int(torch.searchsorted(offsets, index, right=True)) - 1
            return plans[part].gather(int(plans[part].order[index - int(offsets[part])]))
        parts = torch.searchsorted(offsets, index, right=True) - 1
        out = None
        for part in parts.unique().tolist():
            rows = (parts == part).nonzero().squeeze(1)
            plan = plans[part]
            values = flatten(plan.gather(plan.order[index[rows] - offsets[part]]))
            if out is None:
                template = plan.gather(plan.order[index[rows[:1]] - offsets[part]])
                out = [v.new_empty((len(index), *v.shape[1:])) for v in values]
            for target, value in zip(out, values):
                target.index_copy_(0, rows, value)
        return pack(template, out)

    return IndexPlan(torch.arange(int(offsets[-1])), gather)


class PrefetchDataset(_Transform):
    """``prefetch``: the input unchanged (overlap comes from DataLoader workers where ``map`` uses them)."""

    _tf_name = "_PrefetchDataset"

    def _plan(self) -> IndexPlan | None:
        return self._input._plan()


class CacheDataset(_Transform):
    """``cache``: the first complete epoch kept (in memory, or in an ``.npz`` file) and replayed."""

    _tf_name = "CacheDataset"

    def __init__(self, input_dataset: Dataset, filename: str) -> None:
        super().__init__(input_dataset)
        self._file = _cache_file.CacheFile(filename) if filename else None
        self._stacked: Any = None  # every element stacked along a first axis, when their shapes agree
        self._elements_list: list | None = None

    def _load(self) -> None:
        if self._stacked is None and self._elements_list is None and self._file is not None and self._file.exists():
            self._stacked, self._elements_list = self._file.read(self._input.element_spec)

    def _store(self, elements: list | None, stacked: Any = None) -> None:
        if stacked is None and elements:
            try:
                stacked = stack(elements, "Dataset.cache")
            except DataError:
                stacked = None
        self._stacked, self._elements_list = stacked, None if stacked is not None else elements
        if self._file is not None:
            self._file.write(stacked, elements)

    def _plan(self) -> IndexPlan | None:
        self._load()
        if self._stacked is None and self._elements_list is None:
            plan = self._input._plan()
            if plan is not None:
                self._store(None, plan.gather(plan.order))
        if self._stacked is None:
            return None
        leaves = flatten(self._stacked)
        size = int(leaves[0].shape[0]) if leaves else 0
        gather = lambda index: pack(self._stacked, [  # noqa: E731
            leaf[index] if isinstance(index, int) else leaf.index_select(0, index) for leaf in leaves])
        return IndexPlan(torch.arange(size), gather)

    def _elements(self) -> Iterator[Any]:
        plan = self._plan()
        if plan is not None:
            yield from (plan.gather(i) for i in plan.order.tolist())
            return
        if self._elements_list is not None:
            yield from self._elements_list
            return
        seen = []
        for element in self._input._elements():
            seen.append(element)
            yield element
        self._store(seen)  # reached only when the epoch ran to its end: a partial epoch is not cached (as TF)

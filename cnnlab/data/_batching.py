"""Batching transformations: ``batch`` (index slices of the source when it can), ``padded_batch``, ``unbatch``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import torch

from cnnlab.data import _workers
from cnnlab.data._structure import UNKNOWN_CARDINALITY, TensorSpec, flatten, leading_size, map_structure, pack, stack
from cnnlab.data._transforms import MapDataset, _Transform
from cnnlab.data.dataset import Dataset, IndexPlan
from cnnlab.errors import DataError


class BatchDataset(_Transform):
    """``batch``: consecutive elements stacked; index slices of the source when the input has a plan."""

    _tf_name = "_BatchDataset"

    def __init__(self, input_dataset: Dataset, batch_size: int, drop_remainder: bool) -> None:
        super().__init__(input_dataset)
        self._batch_size = batch_size
        self._drop_remainder = drop_remainder

    def _elements(self) -> Iterator[Any]:
        if isinstance(self._input, MapDataset) and type(self) is BatchDataset:
            workers = self._input.worker_count()
            if workers:
                return _workers.parallel_map(self._input._input, self._input.apply_to, workers, self._batch_size,
                                             self._drop_remainder)
        plan = self._input._plan()
        if plan is not None:
            return self._planned(plan)
        return (stack(group, "Dataset.batch") for group in self._groups())

    def _planned(self, plan: IndexPlan) -> Iterator[Any]:
        n, size = len(plan.order), self._batch_size
        stop = n - n % size if self._drop_remainder else n
        for start in range(0, stop, size):
            yield plan.gather(plan.order[start:start + size])

    def _groups(self) -> Iterator[list]:
        iterator = self._input._elements()
        while group := list(itertools.islice(iterator, self._batch_size)):
            if len(group) < self._batch_size and self._drop_remainder:
                return
            yield group

    def _cardinality(self) -> int:
        n = self._input.cardinality()
        if n < 0:
            return n
        return n // self._batch_size if self._drop_remainder else math.ceil(n / self._batch_size)

    def _spec(self) -> Any:
        size = self._batch_size if self._drop_remainder else None
        return map_structure(lambda s: s if s.shape is None else TensorSpec((size, *s.shape), s.dtype),
                             self._input.element_spec)


class PaddedBatchDataset(BatchDataset):
    """``padded_batch``: each batch padded to its largest shape (or to ``padded_shapes``)."""

    _tf_name = "_PaddedBatchDataset"

    def __init__(self, input_dataset: Dataset, batch_size: int, drop_remainder: bool, padded_shapes: Any,
                 padding_values: Any) -> None:
        super().__init__(input_dataset, batch_size, drop_remainder)
        self._padded_shapes = padded_shapes
        self._padding_values = padding_values

    def _elements(self) -> Iterator[Any]:
        for group in self._groups():
            columns = list(zip(*(flatten(e) for e in group)))
            shapes = _per_leaf(group[0], self._padded_shapes)
            values = _per_leaf(group[0], self._padding_values)
            yield pack(group[0], [_pad_stack(c, shape, value) for c, shape, value in zip(columns, shapes, values)])


def _per_leaf(template: Any, option: Any) -> list:
    """An option given per component of an element (padded_shapes, padding_values), one entry per leaf."""
    if not isinstance(template, tuple | dict):
        return [option]
    if option is None or not isinstance(option, tuple | dict | list):
        return [option] * len(flatten(template))
    items = template.values() if isinstance(template, dict) else template
    options = [option[k] for k in template] if isinstance(template, dict) else option
    return [leaf for t, o in zip(items, options) for leaf in _per_leaf(t, o)]


def _pad_stack(column: tuple, padded_shape: Any, value: Any) -> torch.Tensor:
    target = [max(t.shape[d] for t in column) for d in range(column[0].ndim)]
    if padded_shape is not None:
        target = [t if p is None or p == -1 else int(p) for t, p in zip(target, padded_shape)]
    fill = 0 if value is None else torch.as_tensor(value).item()
    out = torch.full((len(column), *target), fill, dtype=column[0].dtype)
    for row, tensor in zip(out, column):
        if any(s > t for s, t in zip(tensor.shape, target)):
            raise DataError(f"Dataset.padded_batch: an element of shape {tuple(tensor.shape)} does not fit "
                            f"padded_shapes {tuple(target)}. Make padded_shapes larger, or None for the largest.")
        row[tuple(slice(0, s) for s in tensor.shape)] = tensor
    return out


class UnbatchDataset(_Transform):
    """``unbatch``: every row of every element as its own element."""

    _tf_name = "_UnbatchDataset"

    def _elements(self) -> Iterator[Any]:
        for element in self._input._elements():
            leaves = flatten(element)
            for i in range(leading_size(element, "Dataset.unbatch")):
                yield pack(element, [leaf[i] for leaf in leaves])

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _spec(self) -> Any:
        return map_structure(lambda s: TensorSpec(s.shape[1:], s.dtype), self._input.element_spec)

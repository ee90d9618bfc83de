"""The datasets that start a pipeline: tensor slices, one tensor, a generator, a range, a zip of datasets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from cnnlab.data._structure import (
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    TensorSpec,
    flatten,
    leading_size,
    normalize,
    pack,
    to_tensor,
    torch_dtype,
)
from cnnlab.data.dataset import Dataset, IndexPlan
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError

# Beyond this many elements a range is iterated rather than planned (the plan holds one int64 per element).
_LARGEST_PLANNED_RANGE = 1 << 26


class TensorSliceDataset(Dataset):
    """Rows of in-memory tensors; ``Dataset.from_tensor_slices``."""

    _tf_name = "_TensorSliceDataset"
    _where = "Dataset.from_tensor_slices"

    def __init__(self, tensors: Any) -> None:
        self._data = normalize(tensors, self._where)
        self._leaves = flatten(self._data)
        if not self._leaves:
            raise DataError(f"{self._where}: got an empty structure {tensors!r}. Give a tensor or array, or a "
                            "tuple/dict of them, e.g. (x_train, y_train).")
        self._size = leading_size(self._data, self._where)

    def _gather(self, index: Any) -> Any:
        if isinstance(index, int):
            return pack(self._data, [leaf[index] for leaf in self._leaves])
        return pack(self._data, [leaf.index_select(0, index) for leaf in self._leaves])

    def _plan(self) -> IndexPlan:
        return IndexPlan(torch.arange(self._size), self._gather)

    def _cardinality(self) -> int:
        return self._size

    def _spec(self) -> Any:
        return pack(self._data, [TensorSpec(tuple(leaf.shape[1:]), leaf.dtype) for leaf in self._leaves])


class TensorDataset(TensorSliceDataset):
    """One element; ``Dataset.from_tensors`` (stored as a slice of one row, so it plans like the rows)."""

    _tf_name = "_TensorDataset"
    _where = "Dataset.from_tensors"

    def __init__(self, tensors: Any) -> None:
        element = normalize(tensors, self._where)
        super().__init__(pack(element, [leaf.unsqueeze(0) for leaf in flatten(element)]))


class RangeDataset(Dataset):
    """``Dataset.range``: int64 scalars as Python's ``range``."""

    _tf_name = "_RangeDataset"

    def __init__(self, *args: int, output_type: Any = "int64") -> None:
        if not 1 <= len(args) <= 3 or any(isinstance(a, bool) or not isinstance(a, int) for a in args):
            raise ArgumentTypeError(f"Dataset.range takes 1 to 3 ints (stop, or start, stop[, step]), as Python's "
                                    f"range. Received: args={args!r}")
        if len(args) == 3 and args[2] == 0:
            raise ConfigError("Dataset.range: step must not be 0. Received: step=0")
        self._range = range(*args)
        self._dtype = torch_dtype(output_type)

    def _gather(self, index: Any) -> torch.Tensor:
        if isinstance(index, int):
            return torch.tensor(self._range[index], dtype=self._dtype)
        return (self._range.start + index * self._range.step).to(self._dtype)

    def _plan(self) -> IndexPlan | None:
        if len(self._range) > _LARGEST_PLANNED_RANGE:
            return None
        return IndexPlan(torch.arange(len(self._range)), self._gather)

    def _elements(self) -> Iterator[torch.Tensor]:
        for value in self._range:
            yield torch.tensor(value, dtype=self._dtype)

    def _cardinality(self) -> int:
        return len(self._range)

    def _spec(self) -> TensorSpec:
        return TensorSpec((), self._dtype)


class CounterDataset(Dataset):
    """``tf.data.experimental.Counter``: ``start``, ``start + step``, ... forever (INFINITE cardinality)."""

    _tf_name = "_CounterDataset"

    def __init__(self, start: int, step: int, dtype: Any) -> None:
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (start, step)):
            raise ArgumentTypeError(f"tf.data.experimental.Counter: start and step must be ints. "
                                    f"Received: start={start!r}, step={step!r}")
        self._start, self._step, self._dtype = start, step, torch_dtype(dtype)

    def _elements(self) -> Iterator[torch.Tensor]:
        value = self._start
        while True:
            yield torch.tensor(value, dtype=self._dtype)
            value += self._step

    def _cardinality(self) -> int:
        return INFINITE_CARDINALITY

    def _spec(self) -> TensorSpec:
        return TensorSpec((), self._dtype)


class GeneratorDataset(Dataset):
    """``Dataset.from_generator``: ``generator(*args)`` called again at every epoch."""

    _tf_name = "_FlatMapDataset"

    def __init__(self, generator: Callable, output_types: Any, output_shapes: Any, args: Any,
                 output_signature: Any) -> None:
        if not callable(generator):
            raise ArgumentTypeError("Dataset.from_generator: generator must be a callable that returns an iterator "
                                    "(the generator function itself, not generator()). "
                                    f"Received: generator={generator!r:.80}")
        self._generator = generator
        self._args = tuple(args) if args is not None else ()
        self._signature = _signature(output_types, output_shapes, output_signature)

    def _elements(self) -> Iterator[Any]:
        specs = flatten(self._signature)
        for value in self._generator(*self._args):
            if isinstance(value, list) and isinstance(self._signature, tuple):
                value = tuple(value)  # a generator yielding [x, y] for a tuple signature, as TF accepts
            leaves = flatten(value)
            if len(leaves) != len(specs):
                raise DataError(f"Dataset.from_generator: the generator yielded {_describe(value)} but "
                                f"output_signature describes {len(specs)} component(s): {self._signature}. Make "
                                "them agree.")
            tensors = []
            for leaf, spec in zip(leaves, specs):
                dtype = None if spec.dtype == "string" else torch_dtype(spec.dtype)  # text: a StringTensor
                tensor = to_tensor(leaf, "Dataset.from_generator", dtype)
                if spec.shape is not None and not spec.is_compatible_with(tensor):
                    raise DataError(f"Dataset.from_generator: the generator yielded a value of shape "
                                    f"{tuple(tensor.shape)} where output_signature expects {spec.shape}. Fix the "
                                    "generator or the signature (None for a dimension that varies).")
                tensors.append(tensor)
            yield pack(self._signature, tensors)

    def _spec(self) -> Any:
        return self._signature


def _signature(output_types: Any, output_shapes: Any, output_signature: Any) -> Any:
    if output_signature is not None:
        if output_types is not None or output_shapes is not None:
            raise ConfigError("Dataset.from_generator: give output_signature, or the older output_types/"
                              "output_shapes, not both.")
        leaves = flatten(output_signature)
        bad = [s for s in leaves if not (hasattr(s, "shape") and hasattr(s, "dtype"))]
        if bad:
            raise ArgumentTypeError("Dataset.from_generator: output_signature must be a TensorSpec or a tuple/dict "
                                    "of them, e.g. (TensorSpec(shape=(28, 28), dtype='float32'), "
                                    f"TensorSpec(shape=(), dtype='int32')). Received: {bad[0]!r}")
        return pack(output_signature, [TensorSpec(_shape(s.shape), s.dtype, getattr(s, "name", None))
                                       for s in leaves])
    if output_types is None:
        raise ConfigError("Dataset.from_generator needs output_signature (or output_types), e.g. "
                          "output_signature=(TensorSpec(shape=(28, 28), dtype='float32'), "
                          "TensorSpec(shape=(), dtype='int32')).")
    types = flatten(output_types)
    shapes = flatten(output_shapes) if output_shapes is not None else [None] * len(types)
    if output_shapes is not None and isinstance(output_types, tuple) and not isinstance(output_shapes, tuple):
        shapes = [output_shapes]
    if len(shapes) != len(types):
        raise ConfigError(f"Dataset.from_generator: output_types has {len(types)} component(s) but output_shapes "
                          f"has {len(shapes)}. Give one shape per type.")
    return pack(output_types, [_UnknownShapeSpec(dtype) if shape is None else TensorSpec(_shape(shape), dtype)
                               for dtype, shape in zip(types, shapes)])


class _UnknownShapeSpec(TensorSpec):
    """A spec of unknown rank (output_types without output_shapes)."""

    def __init__(self, dtype: Any) -> None:
        super().__init__((), dtype)
        self.shape = None


def _shape(shape: Any) -> tuple:
    dims = getattr(shape, "as_list", lambda: shape)()  # a tf.TensorShape
    return tuple(None if d is None else int(d) for d in dims)


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if isinstance(value, dict):
        return f"a dict with keys {list(value)}"
    return f"a single {type(value).__name__}"


class ZipDataset(Dataset):
    """``Dataset.zip``: the elements of several datasets together, in their structure."""

    _tf_name = "_ZipDataset"

    def __init__(self, structure: Any) -> None:
        self._structure = structure
        self._inputs = tuple(flatten(structure))
        bad = [d for d in self._inputs if not isinstance(d, Dataset)]
        if bad or not self._inputs:
            raise ArgumentTypeError("Dataset.zip takes datasets (positionally, or a tuple/dict of them). "
                                    f"Received: {bad[0] if bad else structure!r:.80}")

    def _elements(self) -> Iterator[Any]:
        for elements in zip(*(d._elements() for d in self._inputs)):
            yield pack(self._structure, list(elements))

    def _plan(self) -> IndexPlan | None:
        plans = [d._plan() for d in self._inputs]
        if any(p is None for p in plans):
            return None
        size = min(len(p.order) for p in plans)

        def gather(index: Any) -> Any:
            if isinstance(index, int):
                return pack(self._structure, [p.gather(int(p.order[index])) for p in plans])
            return pack(self._structure, [p.gather(p.order[index]) for p in plans])

        return IndexPlan(torch.arange(size), gather)

    def _cardinality(self) -> int:
        counts = [d.cardinality() for d in self._inputs]
        if UNKNOWN_CARDINALITY in counts:
            return UNKNOWN_CARDINALITY
        finite = [c for c in counts if c >= 0]
        return min(finite) if finite else INFINITE_CARDINALITY

    def _spec(self) -> Any:
        return pack(self._structure, [d.element_spec for d in self._inputs])

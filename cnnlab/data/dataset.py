"""``Dataset``: the ``tf.data.Dataset`` vocabulary on torch tensors.

A Dataset is an iterable of elements (a tensor, a tuple or a dict of them, nested); iterating it again starts a
new epoch. Sources (``from_tensor_slices``, ``from_generator``, ``range``, ...) live in ``_sources.py``, the
transformations in ``_transforms.py`` (``shuffle``, ``map``, ...) and ``_batching.py``; this file holds the
class users see.

Speed: a pipeline over in-memory tensors (``from_tensor_slices`` then ``shuffle``/``take``/``skip``/``repeat``/
``cache``/``zip``) hands ``batch`` an *index plan* (one epoch's order of row indices and a gather function), so
batches are ``index_select`` slices of the source tensors, with no Python per element.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from cnnlab.data import _strings
from cnnlab.data._structure import (
    AUTOTUNE,
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    TensorSpec,
    check_int,
    check_parallel_calls,
    flatten,
    normalize,
    pack,
    spec_of,
)
from cnnlab.eager import DataTensor, hand_out
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError


ALL = (-1, "meaning all")  # take/skip/repeat's count for every element (repeat: forever)


class IndexPlan:
    """One epoch of an in-memory dataset as row indices into source tensors.

    Attributes:
        order: int64 indices, in the order the epoch yields them.
        gather: ``gather(indices)`` returns the rows stacked (one batch); ``gather(int)`` one element.
    """

    def __init__(self, order: torch.Tensor, gather: Callable[[Any], Any]) -> None:
        self.order = order
        self.gather = gather


# The sources and transformations (_sources.py, _transforms.py, _batching.py) by class name: they subclass
# Dataset, so cnnlab.data imports them after this module, and they register themselves here.
_KINDS: dict[str, type] = {}


class Dataset:
    """A sequence of elements with tf.data's methods; what ``tf.data.Dataset`` is in ``import cnnlab as tf``.

    Build one with a source (:meth:`from_tensor_slices`, :meth:`from_tensors`, :meth:`from_generator`,
    :meth:`range`, :meth:`zip`) and chain transformations; iterate it (or pass it to ``model.fit``).
    Every leaf of every element is a CPU ``torch.Tensor`` (or a ``StringTensor`` for text such as file names),
    so ``.numpy()`` works as on TF tensors.

    Example:
        >>> import numpy as np
        >>> ds = Dataset.from_tensor_slices((np.zeros((100, 4)), np.arange(100))).shuffle(100).batch(32)
        >>> len(ds), [tuple(x.shape) for x, _ in ds][-1]
        (4, (4, 4))
    """

    _inputs: tuple[Dataset, ...] = ()
    _tf_name = "Dataset"  # the class name TF's repr shows, e.g. _BatchDataset
    _reads_files = False  # set on a decode map; tells AUTOTUNE that worker processes pay off downstream

    # -- what every dataset implements ---------------------------------------------------------------------------
    def _elements(self) -> Iterator[Any]:
        """One epoch of elements."""
        plan = self._plan()
        if plan is None:
            raise NotImplementedError(type(self).__name__)
        for index in plan.order.tolist():
            yield plan.gather(index)

    def _plan(self) -> IndexPlan | None:
        """An index plan for one epoch when the data are in-memory tensors, else None (iterate elements)."""
        return None

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _spec(self) -> Any:
        """The element_spec; by default read off the first element (the sources know it without reading)."""
        first = peek(self)
        if first is None:
            return self._inputs[0].element_spec if self._inputs else ()
        return spec_of(first)

    # -- Python protocol -----------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        # Elements are handed out as TF's are (.numpy(), np.min(element), ...); the pipeline itself, map
        # functions included, passes plain tensors between its stages (_elements).
        return (hand_out(element, kind=DataTensor) for element in self._elements())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("cnnlab.data."):
            _KINDS[cls.__name__] = cls  # the sources and transformations, found by name (no import back)

    def __len__(self) -> int:
        n = self.cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self) -> bool:  # a Dataset is truthy even when len() would raise
        return True

    def __repr__(self) -> str:
        return f"<{self._tf_name} element_spec={self.element_spec}>"

    # -- inspection ----------------------------------------------------------------------------------------------
    def cardinality(self) -> int:
        """The number of elements, or ``INFINITE_CARDINALITY`` (-1) / ``UNKNOWN_CARDINALITY`` (-2).

        An int that also answers ``.numpy()``, as TF's scalar tensor does (``ds.cardinality().numpy()``).
        """
        return Cardinality(self._cardinality())

    @property
    def element_spec(self) -> Any:
        """The structure of an element with a :class:`TensorSpec` (shape and dtype) for each leaf."""
        if "_element_spec" not in self.__dict__:
            self._element_spec = self._spec()
        return self._element_spec

    def as_numpy_iterator(self) -> Iterator[Any]:
        """Iterate the elements with each leaf as a NumPy array (a NumPy scalar for rank 0)."""
        for element in self:
            yield pack(element, [_numpy_value(leaf) for leaf in flatten(element)])

    def reduce(self, initial_state: Any, reduce_func: Callable) -> Any:
        """Fold the elements: ``state = reduce_func(state, element)``, starting from ``initial_state``."""
        state = normalize(initial_state, "Dataset.reduce initial_state")
        for element in self:
            state = normalize(reduce_func(state, element), "Dataset.reduce: reduce_func's result")
        return state

    # -- sources ---------------------------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any, name: str | None = None) -> Dataset:
        """One element per row of the given tensors (all share their first dimension), kept as their structure."""
        return _KINDS["TensorSliceDataset"](tensors)

    @staticmethod
    def from_tensors(tensors: Any, name: str | None = None) -> Dataset:
        """A dataset of one element: the given tensors."""
        return _KINDS["TensorDataset"](tensors)

    @staticmethod
    def from_generator(generator: Callable, output_types: Any = None, output_shapes: Any = None, args: Any = None,
                       output_signature: Any = None, name: str | None = None) -> Dataset:
        """Elements from ``generator(*args)``, called again at each epoch; give ``output_signature`` (TensorSpecs)."""
        return _KINDS["GeneratorDataset"](generator, output_types, output_shapes, args, output_signature)

    @staticmethod
    def range(*args: int, output_type: Any = "int64", name: str | None = None) -> Dataset:
        """``range(stop)``, ``range(start, stop[, step])`` as int64 scalars."""
        return _KINDS["RangeDataset"](*args, output_type=output_type)

    @staticmethod
    def zip(*args: Any, datasets: Any = None, name: str | None = None) -> Dataset:
        """Elements of several datasets side by side, as a tuple (or the structure given); stops at the shortest."""
        if datasets is not None and args:
            raise ConfigError("Dataset.zip: give the datasets either positionally or as datasets=, not both.")
        structure = datasets if datasets is not None else (args[0] if len(args) == 1 else tuple(args))
        return _KINDS["ZipDataset"](structure)

    @staticmethod
    def list_files(file_pattern: str | list, shuffle: bool | None = None, seed: int | None = None,
                   name: str | None = None) -> Dataset:
        """The paths matching a glob pattern (or a list of patterns), as scalar string tensors.

        Sorted when ``shuffle=False``; shuffled (again at each epoch) by default, as TF. ``*`` also matches names
        that start with a dot, as in TF. Raises ``DatasetNotFoundError`` when nothing matches.

        Example:
            >>> files = Dataset.list_files("flowers/*/*.jpg", shuffle=False)  # doctest: +SKIP
            >>> next(iter(files)).numpy()  # doctest: +SKIP
            b'flowers/daisy/1.jpg'
        """
        files = _strings.list_files(file_pattern)
        dataset = Dataset.from_tensor_slices(files)
        dataset._reads_files = True  # a map over file names reads files: AUTOTUNE gives it worker processes
        if shuffle is None or shuffle:
            dataset = dataset.shuffle(len(files), seed=seed)
        return dataset

    # -- transformations -------------------------------------------------------------------------------------------
    def batch(self, batch_size: int, drop_remainder: bool = False, num_parallel_calls: int | None = None,
              deterministic: bool | None = None, name: str | None = None) -> Dataset:
        """Consecutive elements stacked into batches of ``batch_size`` (the last one smaller unless dropped)."""
        check_parallel_calls(num_parallel_calls, "batch")
        return _KINDS["BatchDataset"](self, check_int(batch_size, "batch_size", "batch", 1), bool(drop_remainder))

    def padded_batch(self, batch_size: int, padded_shapes: Any = None, padding_values: Any = None,
                     drop_remainder: bool = False, name: str | None = None) -> Dataset:
        """Batches whose elements are padded to a common shape (the batch's largest, or ``padded_shapes``)."""
        return _KINDS["PaddedBatchDataset"](self, check_int(batch_size, "batch_size", "padded_batch", 1),
                                              bool(drop_remainder), padded_shapes, padding_values)

    def unbatch(self, name: str | None = None) -> Dataset:
        """The rows of each element as separate elements (undoes ``batch``)."""
        return _KINDS["UnbatchDataset"](self)

    def rebatch(self, batch_size: int, drop_remainder: bool = False, name: str | None = None) -> Dataset:
        """The same elements in batches of a new size."""
        return self.unbatch().batch(batch_size, drop_remainder)

    def map(self, map_func: Callable, num_parallel_calls: int | None = None, deterministic: bool | None = None,
            name: str | None = None) -> Dataset:
        """``map_func`` applied to each element (a tuple element is passed as positional arguments).

        With ``num_parallel_calls`` (an int > 1 or ``AUTOTUNE``) on a pipeline that reads files, the calls run
        in ``torch.utils.data.DataLoader`` worker processes; the output order is always the input order.
        """
        if not callable(map_func):
            raise ArgumentTypeError(f"Dataset.map: map_func must be callable. Received: map_func={map_func!r}")
        return _KINDS["MapDataset"](self, map_func, check_parallel_calls(num_parallel_calls, "map"))

    def filter(self, predicate: Callable, name: str | None = None) -> Dataset:
        """The elements for which ``predicate`` returns True (a bool or a scalar bool tensor)."""
        if not callable(predicate):
            raise ArgumentTypeError(f"Dataset.filter: predicate must be callable. Received: predicate={predicate!r}")
        return _KINDS["FilterDataset"](self, predicate)

    def shuffle(self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool = True,
                name: str | None = None) -> Dataset:
        """Elements drawn at random from a buffer of ``buffer_size`` (a full shuffle when it holds the data)."""
        return _KINDS["ShuffleDataset"](self, check_int(buffer_size, "buffer_size", "shuffle", 1), seed,
                                          bool(reshuffle_each_iteration))

    def take(self, count: int, name: str | None = None) -> Dataset:
        """The first ``count`` elements (all with -1)."""
        return _KINDS["TakeDataset"](self, check_int(count, "count", "take", 0, ALL))

    def skip(self, count: int, name: str | None = None) -> Dataset:
        """All but the first ``count`` elements (none with -1)."""
        return _KINDS["SkipDataset"](self, check_int(count, "count", "skip", 0, ALL))

    def repeat(self, count: int | None = None, name: str | None = None) -> Dataset:
        """The dataset ``count`` times (forever with None or -1); each repetition is a new epoch."""
        return _KINDS["RepeatDataset"](self, -1 if count is None else check_int(count, "count", "repeat", 0, ALL))

    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """This dataset's elements followed by ``dataset``'s (same structure and dtypes)."""
        if not isinstance(dataset, Dataset):
            raise ArgumentTypeError(f"Dataset.concatenate: dataset must be a Dataset. Received: {type(dataset)}")
        return _KINDS["ConcatenateDataset"](self, dataset)

    def enumerate(self, start: int = 0, name: str | None = None) -> Dataset:
        """``(index, element)`` pairs, the index an int64 counting from ``start``."""
        count = self.cardinality()
        stop = start + count if count >= 0 else start + (1 << 62)
        return Dataset.zip((Dataset.range(start, stop), self))

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """Keep the elements of the first full epoch in memory (or in an ``.npz`` file) and replay them."""
        return _KINDS["CacheDataset"](self, filename)

    def prefetch(self, buffer_size: int, name: str | None = None) -> Dataset:
        """Accepted for compatibility: batches are produced ahead by DataLoader workers where ``map`` uses them."""
        check_int(buffer_size, "buffer_size", "prefetch", 0, (AUTOTUNE, "tf.data.AUTOTUNE"))
        return _KINDS["PrefetchDataset"](self)

    def apply(self, transformation_func: Callable[[Dataset], Dataset]) -> Dataset:
        """``transformation_func(self)``, which must return a Dataset."""
        result = transformation_func(self)
        if not isinstance(result, Dataset):
            raise DataError(f"Dataset.apply: transformation_func must return a Dataset; it returned a "
                            f"{type(result).__name__}. Received: transformation_func={transformation_func!r}")
        return result


def _numpy_value(leaf: Any) -> Any:
    """A leaf as NumPy gives it: a NumPy scalar for rank 0 (``bytes`` for a string), else an array."""
    value = leaf.numpy()
    return value if isinstance(value, bytes) else value[()]


class Cardinality(int):
    """An int with TF's ``.numpy()``."""

    def numpy(self) -> np.int64:
        return np.int64(self)


def upstream(dataset: Dataset) -> Iterator[Dataset]:
    """The dataset and every dataset it reads from."""
    yield dataset
    for source in dataset._inputs:
        yield from upstream(source)


def peek(dataset: Dataset) -> Any:
    """The first element of an epoch (None if empty), leaving every shuffle's seed sequence where it was, so
    reading element_spec does not change the orders a seeded pipeline gives."""
    seeded = [d for d in upstream(dataset) if hasattr(d, "_seeds")]
    states = [d._seeds.bit_generator.state for d in seeded]
    try:
        return next(iter(dataset._elements()), None)
    finally:
        for d, state in zip(seeded, states):
            d._seeds.bit_generator.state = state


__all__ = ["Dataset", "IndexPlan", "TensorSpec"]

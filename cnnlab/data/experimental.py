"""``tf.data.experimental``: the constants, ``cardinality`` and ``Counter`` that tutorials still use."""

from __future__ import annotations

from typing import Any

from cnnlab.data._sources import CounterDataset
from cnnlab.data._structure import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY


def cardinality(dataset) -> int:
    """``dataset.cardinality()``: the number of elements, or INFINITE_CARDINALITY / UNKNOWN_CARDINALITY."""
    return dataset.cardinality()


def Counter(start: int = 0, step: int = 1, dtype: Any = "int64", name: str | None = None):  # noqa: N802 - TF's name
    """An infinite dataset of scalars ``start, start + step, ...``; zip it with a finite one to number elements.

    Args:
        start: the first value.
        step: the increment (may be negative).
        dtype: the element dtype (``tf.int64`` by default).

    Shape:
        Each element is a scalar; ``cardinality()`` is ``INFINITE_CARDINALITY``.

    Example:
        >>> counter = Counter()
        >>> [int(c) for c in counter.take(3)]
        [0, 1, 2]
    """
    return CounterDataset(start, step, dtype)


__all__ = ["AUTOTUNE", "Counter", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "cardinality"]

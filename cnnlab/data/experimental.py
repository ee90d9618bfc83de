"""``tf.data.experimental``: the constants and the ``cardinality`` function tutorials still use."""

from __future__ import annotations

from cnnlab.data._structure import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY


def cardinality(dataset) -> int:
    """``dataset.cardinality()``: the number of elements, or INFINITE_CARDINALITY / UNKNOWN_CARDINALITY."""
    return dataset.cardinality()


__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "cardinality"]

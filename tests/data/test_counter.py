"""tf.data.experimental.Counter: an infinite dataset of scalars that zips with finite ones."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.errors import ArgumentTypeError


def test_counter_counts_from_start_by_step_as_int64_forever():
    counter = tf.data.experimental.Counter()
    assert counter.cardinality() == tf.data.INFINITE_CARDINALITY
    assert counter.element_spec.shape == () and counter.element_spec.dtype == "int64"
    assert [int(c) for c in counter.take(4)] == [0, 1, 2, 3]
    assert [int(c) for c in tf.data.experimental.Counter(10, -3).take(3)] == [10, 7, 4]


def test_counter_takes_a_dtype():
    first = next(iter(tf.data.experimental.Counter(5, dtype=tf.int32)))
    assert first.dtype == tf.int32 and int(first) == 5


def test_zip_with_a_nested_pair_of_counters_has_the_finite_cardinality():
    data = tf.data.Dataset.from_tensor_slices((np.zeros((6, 2), np.float32), np.arange(6)))
    counter = tf.data.experimental.Counter()
    zipped = tf.data.Dataset.zip((data, (counter, counter)))
    assert zipped.cardinality() == 6
    elements = list(zipped)
    assert len(elements) == 6
    (x, y), (a, b) = elements[4]
    assert int(y) == 4 and int(a) == int(b) == 4


def test_counter_rejects_a_float_start():
    with pytest.raises(ArgumentTypeError, match="start and step must be ints"):
        tf.data.experimental.Counter(0.5)

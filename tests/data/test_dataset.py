"""Dataset sources and the ordering transformations against plain-Python references of tf.data's semantics."""

import math
import random

import numpy as np
import pytest
import torch

from cnnlab import data as tf_data
from cnnlab.data import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, TensorSpec
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError, DatasetNotFoundError


def values(dataset):
    """Every element as nested Python lists/numbers (a comparable reference form)."""
    def plain(element):
        if isinstance(element, tuple):
            return tuple(plain(e) for e in element)
        if isinstance(element, dict):
            return {k: plain(v) for k, v in element.items()}
        assert isinstance(element, torch.Tensor) and element.device.type == "cpu"
        return element.tolist()
    return [plain(e) for e in dataset]


def batches_of(items, size, drop_remainder=False):
    """tf.data's batch on a Python list: consecutive groups, the last one shorter unless dropped."""
    groups = [items[i:i + size] for i in range(0, len(items), size)]
    return [g for g in groups if len(g) == size] if drop_remainder else groups


def test_tutorial_pipeline_gives_every_pair_once_in_batches_of_32():
    x = np.random.rand(100, 28, 28).astype("float32")
    y = np.arange(100)
    ds = Dataset.from_tensor_slices((x, y)).shuffle(1000).batch(32).prefetch(AUTOTUNE)
    assert len(ds) == ds.cardinality() == 4
    sizes, labels = [], []
    for xb, yb in ds:
        sizes.append(len(yb))
        labels += yb.tolist()
        np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()])  # rows stay paired
    assert sizes == [32, 32, 32, 4] and sorted(labels) == list(range(100))


def test_from_tensor_slices_keeps_structure_and_dtypes():
    ds = Dataset.from_tensor_slices({"a": np.arange(3, dtype=np.int16), "b": (np.ones((3, 2)), [1.5, 2.5, 3.5])})
    first = next(iter(ds))
    assert set(first) == {"a", "b"} and isinstance(first["b"], tuple)
    assert first["a"].dtype == torch.int16 and first["b"][0].dtype == torch.float64
    assert first["b"][1].dtype == torch.float32  # Python floats become float32, as in TensorFlow
    assert ds.element_spec == {"a": TensorSpec((), "int16"), "b": (TensorSpec((2,), "float64"),
                                                                    TensorSpec((), "float32"))}
    assert Dataset.from_tensor_slices([1, 2]).element_spec.dtype == "int32"


def test_from_tensors_is_one_element_and_range_is_pythons():
    assert values(Dataset.from_tensors(np.arange(3))) == [[0, 1, 2]]
    assert values(Dataset.range(2, 11, 3)) == list(range(2, 11, 3))
    assert values(Dataset.range(5, 0, -2)) == [5, 3, 1]
    assert Dataset.range(4).element_spec == TensorSpec((), "int64") and len(Dataset.range(0)) == 0


def test_from_generator_is_called_again_each_epoch_and_checked_against_the_signature():
    calls = []

    def gen(n):
        calls.append(n)
        for i in range(n):
            yield np.full((i + 1,), i, np.float64), i

    ds = Dataset.from_generator(gen, args=(3,), output_signature=(TensorSpec((None,), "float32"),
                                                                  TensorSpec((), "int32")))
    assert values(ds) == [([0.0], 0), ([1.0, 1.0], 1), ([2.0, 2.0, 2.0], 2)]
    assert values(ds)[0][0] == [0.0] and calls == [3, 3]
    assert next(iter(ds))[0].dtype == torch.float32 and ds.cardinality() == UNKNOWN_CARDINALITY
    bad = Dataset.from_generator(lambda: iter([np.zeros(2)]), output_signature=TensorSpec((3,), "float32"))
    with pytest.raises(DataError, match=r"shape \(2,\) where output_signature expects \(3,\)"):
        list(bad)
    old_style = Dataset.from_generator(lambda: iter([(1, 2.0)]), output_types=("int64", "float32"))
    assert values(old_style) == [(1, 2.0)]


@pytest.mark.parametrize("n, size, drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True)])
def test_batch_groups_consecutive_elements(n, size, drop):
    ds = Dataset.range(n).batch(size, drop_remainder=drop)
    assert values(ds) == batches_of(list(range(n)), size, drop)
    assert ds.cardinality() == (n // size if drop else math.ceil(n / size))
    assert ds.element_spec == TensorSpec((size if drop else None,), "int64")


def test_batch_of_generator_elements_stacks_and_names_mismatched_shapes():
    ok = Dataset.from_generator(lambda: ((np.ones(2) * i, i) for i in range(3)),
                                output_signature=(TensorSpec((2,), "float64"), TensorSpec((), "int64")))
    assert values(ok.batch(2)) == [([[0.0, 0.0], [1.0, 1.0]], [0, 1]), ([[2.0, 2.0]], [2])]
    ragged = Dataset.from_generator(lambda: (np.ones(i + 1) for i in range(2)),
                                    output_signature=TensorSpec((None,), "float64"))
    with pytest.raises(DataError, match=r"element 0 has shape \(1,\) and element 1 has shape \(2,\).*padded_batch"):
        list(ragged.batch(2))


def test_shuffle_with_a_full_buffer_is_a_permutation_that_changes_each_epoch():
    ds = Dataset.range(50).shuffle(50)
    first, second = values(ds), values(ds)
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second and first != list(range(50))


def test_shuffle_seed_gives_the_same_epochs_and_no_reshuffle_repeats_one_order():
    a, b = Dataset.range(30).shuffle(30, seed=7), Dataset.range(30).shuffle(30, seed=7)
    assert [values(a), values(a)] == [values(b), values(b)]
    fixed = Dataset.range(30).shuffle(30, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)


def _buffer_positions_ok(order, buffer_size):
    """With TF's buffer, the k-th output was among the first k + buffer_size inputs."""
    return all(item < k + buffer_size for k, item in enumerate(order))


@pytest.mark.parametrize("planned", [True, False])
def test_small_buffer_shuffles_only_locally(planned):
    source = Dataset.range(200) if planned else Dataset.range(200).filter(lambda i: True)  # no index plan
    order = values(source.shuffle(10, seed=1))
    assert sorted(order) == list(range(200)) and order != list(range(200))
    assert _buffer_positions_ok(order, 10)
    assert not _buffer_positions_ok(list(range(200)[::-1]), 10)  # the check can fail


def test_buffer_shuffle_matches_a_python_reference_of_tfs_algorithm():
    from cnnlab.data._transforms import _buffer_shuffle

    def reference(items, size, rng):  # fill, then draw a random slot and refill it; drain the rest at random
        buffer, out = list(items[:size]), []
        for item in items[size:]:
            slot = rng.randrange(size)
            out.append(buffer[slot])
            buffer[slot] = item
        rng.shuffle(buffer)
        return out + buffer

    items = list(range(40))
    assert list(_buffer_shuffle(items, 6, random.Random(3))) == reference(items, 6, random.Random(3))


def test_take_skip_repeat_order_and_cardinality():
    items = list(range(10))
    assert values(Dataset.range(10).take(3)) == items[:3] and values(Dataset.range(10).take(-1)) == items
    assert values(Dataset.range(10).skip(7)) == items[7:] and values(Dataset.range(10).skip(-1)) == []
    assert values(Dataset.range(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert values(Dataset.range(3).repeat().take(7)) == [0, 1, 2, 0, 1, 2, 0]
    cases = [
        (Dataset.range(10).take(3), 3), (Dataset.range(10).take(30), 10), (Dataset.range(10).skip(30), 0),
        (Dataset.range(10).skip(4), 6), (Dataset.range(3).repeat(4), 12), (Dataset.range(3).repeat(), -1),
        (Dataset.range(3).repeat().take(5), 5), (Dataset.range(0).repeat(), 0),
        (Dataset.range(10).filter(lambda x: True), -2), (Dataset.range(10).filter(lambda x: True).take(2), -2),
        (Dataset.range(3).repeat().batch(2), INFINITE_CARDINALITY),
    ]
    assert [ds.cardinality() for ds, _ in cases] == [expected for _, expected in cases]
    assert tf_data.experimental.cardinality(Dataset.range(4)) == 4


def test_len_raises_type_error_for_infinite_and_unknown_as_tf():
    with pytest.raises(TypeError, match="infinite"):
        len(Dataset.range(3).repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(Dataset.range(3).filter(lambda x: x > 0))


def test_repeat_reshuffles_each_pass_and_keeps_the_fast_path_batches():
    ds = Dataset.range(20).shuffle(20, seed=3).repeat(2).batch(8)
    flat = [v for batch in values(ds) for v in batch]
    assert [len(b) for b in values(ds)] == [8, 8, 8, 8, 8]
    assert sorted(flat[:20]) == sorted(flat[20:]) == list(range(20)) and flat[:20] != flat[20:]


def test_batch_after_shuffle_uses_index_slices_not_per_element_python(monkeypatch):
    ds = Dataset.from_tensor_slices((np.arange(10), np.arange(10) * 2)).shuffle(10).batch(4)
    monkeypatch.setattr(Dataset, "_elements", lambda self: pytest.fail("per-element path taken"))
    got = values(ds)
    assert [len(x) for x, _ in got] == [4, 4, 2] and all(y == [2 * v for v in x] for x, y in got)


def test_repr_and_element_spec_read_like_tf():
    ds = Dataset.from_tensor_slices((np.zeros((5, 28, 28), np.float32), np.zeros(5, np.uint8))).batch(2)
    assert repr(ds) == ("<_BatchDataset element_spec=(TensorSpec(shape=(None, 28, 28), dtype=tf.float32, name=None),"
                        " TensorSpec(shape=(None,), dtype=tf.uint8, name=None))>")
    assert repr(Dataset.range(3).prefetch(AUTOTUNE)).startswith("<_PrefetchDataset")


def test_as_numpy_iterator_and_reduce():
    assert list(Dataset.range(3).as_numpy_iterator()) == [0, 1, 2]
    assert isinstance(next(Dataset.range(3).as_numpy_iterator()), np.integer)
    assert int(Dataset.range(5).reduce(np.int64(0), lambda state, x: state + x)) == 10


@pytest.mark.parametrize("make, error, match", [
    (lambda: Dataset.from_tensor_slices((np.zeros(3), np.zeros(4))), DataError, r"same size.*\[3, 4\]"),
    (lambda: Dataset.from_tensor_slices(np.float32(1)), DataError, "from_tensors"),
    (lambda: Dataset.from_tensor_slices(np.array([object(), object()])), DataError, "numbers"),  # strings: ok
    (lambda: Dataset.range(3).batch(0), ConfigError, "batch_size=0"),
    (lambda: Dataset.range(3).batch(2.0), ArgumentTypeError, "batch_size=2.0"),
    (lambda: Dataset.range(3).take(-2), ConfigError, "count=-2"),
    (lambda: Dataset.range(3).skip("1"), ArgumentTypeError, "count='1'"),
    (lambda: Dataset.range(3).shuffle(0), ConfigError, "buffer_size=0"),
    (lambda: Dataset.range(3).prefetch(-5), ConfigError, "buffer_size=-5"),
    (lambda: Dataset.range(3).map(5), ArgumentTypeError, "callable"),
    (lambda: Dataset.range(3).map(abs, num_parallel_calls=0), ConfigError, "num_parallel_calls=0"),
    (lambda: Dataset.range(1, 2, 0), ConfigError, "step"),
    (lambda: Dataset.from_generator(lambda: iter([])), ConfigError, "output_signature"),
    (lambda: Dataset.from_generator(range(3), output_signature=TensorSpec((), "int64")), ArgumentTypeError,
     "callable"),
    (lambda: Dataset.zip(Dataset.range(2), [1, 2]), ArgumentTypeError, "datasets"),
    (lambda: Dataset.range(3).apply(lambda ds: 3), DataError, "return a Dataset"),
    (lambda: Dataset.list_files("no-such-folder/*.png"), DatasetNotFoundError, "no files matched"),
])
def test_bad_arguments_raise_named_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_reading_element_spec_does_not_change_a_seeded_order():
    plain = Dataset.range(20).shuffle(5, seed=4).map(lambda x: x * 2)
    looked_at = Dataset.range(20).shuffle(5, seed=4).map(lambda x: x * 2)
    assert looked_at.element_spec == TensorSpec((), "int64")
    assert values(looked_at) == values(plain)


def test_cardinality_is_an_int_that_answers_numpy_as_tf():
    count = Dataset.range(7).batch(2).cardinality()
    assert isinstance(count, int) and count == 4 and count.numpy() == 4
    assert Dataset.range(7).take(count // 2).cardinality() == 2  # the tutorials' val.take(batches // 5)

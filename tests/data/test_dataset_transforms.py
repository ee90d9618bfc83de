"""Dataset.map/filter/zip/concatenate/enumerate/unbatch/padded_batch/cache against Python references."""

import os

import numpy as np
import pytest
import torch

from cnnlab.data import Dataset, TensorSpec
from cnnlab.errors import ArgumentTypeError, DataError, FileFormatError
from tests.data.test_dataset import batches_of, values


def test_map_unpacks_tuples_into_arguments_and_passes_dicts_whole():
    pairs = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10))
    assert values(pairs.map(lambda x, y: x + y)) == [0, 11, 22, 33]
    assert values(pairs.map(lambda x, y: (y, x))) == [(0, 0), (10, 1), (20, 2), (30, 3)]
    dicts = Dataset.from_tensor_slices({"a": np.arange(3), "b": np.ones(3)})
    assert values(dicts.map(lambda d: d["a"] * 2)) == [0, 2, 4]
    assert values(Dataset.range(3).map(lambda x: [x, x])) == [(0, 0), (1, 1), (2, 2)]  # a list becomes a tuple


def test_map_on_batches_is_one_call_per_batch_and_keeps_the_batch_axis_unknown():
    calls = []

    def scale(x, y):
        calls.append(len(x))
        return x / 255, y

    ds = Dataset.from_tensor_slices((np.full((10, 2), 255.0, np.float32), np.arange(10))).batch(4).map(scale)
    spec = ds.element_spec
    calls.clear()
    got = values(ds)
    assert calls == [4, 4, 2] and got[0][0] == [[1.0, 1.0]] * 4
    assert spec == (TensorSpec((None, 2), "float32"), TensorSpec((None,), "int64"))


def test_map_functions_get_plain_tensors_and_elements_come_out_as_eager_tensors_without_gradients():
    from cnnlab.eager import DataTensor

    weight = torch.ones(1, requires_grad=True)
    seen = []
    out = next(iter(Dataset.range(2).map(lambda x: seen.append(type(x)) or x.float() * weight)))
    assert seen == [torch.Tensor]  # inside the pipeline: plain tensors, no per-op subclass dispatch
    assert type(out) is DataTensor and not out.requires_grad  # handed out: answers np.min, .numpy(), ...
    assert type(out + 1) is torch.Tensor  # what is computed from it is plain: a torch model runs at full speed
    assert out.numpy().tolist() == [0.0] and np.min(out) == 0.0


def test_map_errors_name_the_cause():
    with pytest.raises(DataError, match=r"map_func's result.*got a object"):  # a str is fine: a string tensor
        list(Dataset.range(2).map(lambda x: object()))
    with pytest.raises(DataError, match="got a NoneType"):
        list(Dataset.range(2).map(lambda x: None))
    with pytest.raises(ArgumentTypeError, match="2 positional argument.*lambda x, y"):
        list(Dataset.from_tensor_slices((np.arange(2), np.arange(2))).map(lambda pair: pair))


def test_filter_keeps_matching_elements_and_refuses_non_bool_predicates():
    pairs = Dataset.from_tensor_slices((np.arange(10), np.arange(10) % 3))
    assert values(pairs.filter(lambda x, y: y == 0)) == [(x, 0) for x in range(0, 10, 3)]
    assert values(Dataset.range(6).filter(lambda x: bool(x % 2))) == [1, 3, 5]
    with pytest.raises(DataError, match="must return a bool"):
        list(Dataset.range(3).filter(lambda x: x))  # an int64 tensor, not a bool


def test_zip_pairs_elements_and_stops_at_the_shortest():
    ds = Dataset.zip(Dataset.range(5), Dataset.range(10, 13))
    assert values(ds) == [(0, 10), (1, 11), (2, 12)] and len(ds) == 3
    nested = Dataset.zip((Dataset.range(2), (Dataset.range(2), Dataset.range(2))))
    assert values(nested) == [(0, (0, 0)), (1, (1, 1))]
    named = Dataset.zip(datasets={"x": Dataset.range(2), "y": Dataset.range(2)})
    assert values(named.batch(2)) == [{"x": [0, 1], "y": [0, 1]}]
    assert Dataset.zip(Dataset.range(3), Dataset.range(3).repeat()).cardinality() == 3


def test_zip_of_a_shuffled_source_batches_with_the_plan_and_keeps_pairs():
    x = Dataset.from_tensor_slices(np.arange(12)).shuffle(12, seed=2)
    ds = Dataset.zip(x, Dataset.range(12)).batch(5)
    got = values(ds)
    assert [len(a) for a, _ in got] == [5, 5, 2] and [b for _, bs in got for b in bs] == list(range(12))
    assert sorted(a for batch, _ in got for a in batch) == list(range(12))


def test_concatenate_and_enumerate():
    ds = Dataset.range(3).concatenate(Dataset.range(10, 12))
    assert values(ds) == [0, 1, 2, 10, 11] and len(ds) == 5
    assert values(ds.batch(2)) == batches_of([0, 1, 2, 10, 11], 2)  # batches cross the seam
    assert values(Dataset.range(3).concatenate(Dataset.range(4).repeat()).take(5)) == [0, 1, 2, 0, 1]
    assert values(Dataset.range(10, 13).enumerate(start=5)) == [(5, 10), (6, 11), (7, 12)]
    with pytest.raises(DataError, match="different element structures"):
        Dataset.range(3).concatenate(Dataset.from_tensor_slices((np.arange(2), np.arange(2))))


def test_concatenated_plan_shuffled_keeps_every_element():
    ds = Dataset.range(6).concatenate(Dataset.range(100, 104)).shuffle(10, seed=0).batch(3)
    flat = [v for batch in values(ds) for v in batch]
    assert sorted(flat) == [0, 1, 2, 3, 4, 5, 100, 101, 102, 103]


def test_unbatch_gives_the_elements_back_and_rebatch_regroups():
    x, y = np.arange(14).reshape(7, 2), np.arange(7)
    batched = Dataset.from_tensor_slices((x, y)).batch(3)
    assert values(batched.unbatch()) == values(Dataset.from_tensor_slices((x, y)))
    assert batched.unbatch().element_spec == (TensorSpec((2,), "int64"), TensorSpec((), "int64"))
    assert values(Dataset.range(7).batch(3).rebatch(2)) == batches_of(list(range(7)), 2)


def test_padded_batch_pads_to_the_longest_or_to_padded_shapes():
    ragged = Dataset.from_generator(lambda: (np.arange(1, n + 1) for n in (1, 3, 2)),
                                    output_signature=TensorSpec((None,), "int64"))
    assert values(ragged.padded_batch(2)) == [[[1, 0, 0], [1, 2, 3]], [[1, 2]]]
    assert values(ragged.padded_batch(3, padded_shapes=(4,), padding_values=-1)) == [
        [[1, -1, -1, -1], [1, 2, 3, -1], [1, 2, -1, -1]]]
    with pytest.raises(DataError, match="does not fit"):
        list(ragged.padded_batch(3, padded_shapes=(2,)))


def test_cache_replays_the_first_epoch_and_skips_a_partial_one():
    calls = []

    def record(x):
        calls.append(int(x))
        return x

    ds = Dataset.range(4).map(record).cache()
    list(ds.take(2))  # a partial epoch is not cached (as TF)
    assert values(ds) == values(ds) == [0, 1, 2, 3]
    assert calls == [0, 1, 0, 1, 2, 3]
    frozen = Dataset.range(10).shuffle(10).cache()  # cache after shuffle freezes the first order, as TF
    assert values(frozen) == values(frozen)


def test_cache_file_is_npz_read_without_pickle_by_a_new_pipeline(tmp_path):
    path = str(tmp_path / "train_cache")
    ds = Dataset.from_tensor_slices((np.arange(5), np.ones((5, 2), np.float32))).map(lambda x, y: (x * 2, y))
    assert values(ds.cache(path)) == values(ds)
    assert os.path.exists(path + ".npz")
    with np.load(path + ".npz", allow_pickle=False) as stored:
        assert stored["leaf_0"].tolist() == [0, 2, 4, 6, 8]
    other = Dataset.from_tensor_slices((np.zeros(5, np.int64), np.zeros((5, 2), np.float32))).cache(path)
    assert [x for x, _ in values(other)] == [0, 2, 4, 6, 8]  # read back from the file, as TF's cache file
    ragged = Dataset.from_generator(lambda: (np.arange(n) for n in (1, 2)), output_signature=TensorSpec((None,),
                                                                                                  "int64"))
    assert values(ragged.cache(str(tmp_path / "ragged"))) == [[0], [0, 1]]
    assert values(ragged.cache(str(tmp_path / "ragged"))) == [[0], [0, 1]]


def test_cache_file_from_another_pipeline_is_refused_with_the_fix(tmp_path):
    path = str(tmp_path / "c.npz")
    list(Dataset.range(3).cache(path))
    with pytest.raises(FileFormatError, match="delete it"):
        list(Dataset.from_tensor_slices(np.zeros((3, 2), np.float32)).cache(path))


def test_apply_prefetch_and_element_spec_pass_through():
    ds = Dataset.range(6).apply(lambda d: d.batch(4)).prefetch(2)
    assert values(ds) == [[0, 1, 2, 3], [4, 5]] and ds.element_spec == TensorSpec((None,), "int64")

"""Dataset elements holding strings: from_tensor_slices of text, list_files, batching, maps and worker maps."""

import os

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.data import Dataset, TensorSpec
from cnnlab.data._strings import StringTensor
from cnnlab.errors import DatasetNotFoundError

WORDS = ["apple", "banana", "cherry", "date", "elder"]


def _files(folder, names):
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    return folder


def test_from_tensor_slices_of_str_gives_bytes_scalars_with_a_string_spec():
    ds = Dataset.from_tensor_slices(WORDS)
    assert ds.element_spec == TensorSpec((), tf.string)
    assert repr(ds.element_spec) == "TensorSpec(shape=(), dtype=tf.string, name=None)"
    assert list(ds.as_numpy_iterator()) == [w.encode() for w in WORDS]
    assert all(isinstance(e, StringTensor) for e in ds)


def test_take_skip_shuffle_and_cache_keep_the_strings():
    ds = Dataset.from_tensor_slices(np.array(WORDS))
    assert list(ds.skip(1).take(2).as_numpy_iterator()) == [b"banana", b"cherry"]
    shuffled = ds.shuffle(5, seed=3, reshuffle_each_iteration=False)
    once = list(shuffled.as_numpy_iterator())
    assert sorted(once) == sorted(w.encode() for w in WORDS) and list(shuffled.as_numpy_iterator()) == once
    cached = ds.cache()
    assert list(cached.as_numpy_iterator()) == list(cached.as_numpy_iterator()) == [w.encode() for w in WORDS]
    assert tf.data.experimental.cardinality(ds.skip(2)).numpy() == 3


def test_batch_of_strings_is_a_1d_string_tensor_and_unbatch_undoes_it():
    ds = Dataset.from_tensor_slices((WORDS, np.arange(5)))
    batches = list(ds.batch(2).as_numpy_iterator())
    assert [b[0].tolist() for b in batches] == [[b"apple", b"banana"], [b"cherry", b"date"], [b"elder"]]
    assert ds.batch(2).element_spec[0] == TensorSpec((None,), "string")
    assert list(ds.batch(2).unbatch().as_numpy_iterator()) == list(ds.as_numpy_iterator())
    assert [b.tolist() for b in ds.map(lambda s, i: s).repeat(2).batch(4).as_numpy_iterator()][1] == \
        [b"elder", b"apple", b"banana", b"cherry"]


def test_map_receives_string_tensors_and_may_return_them():
    ds = Dataset.from_tensor_slices(["a/x", "b/y"]).map(lambda s: (tf.strings.split(s, "/")[-1], tf.strings.length(s)))
    assert list(ds.as_numpy_iterator()) == [(b"x", 3), (b"y", 3)]
    assert ds.element_spec == (TensorSpec((), "string"), TensorSpec((), "int32"))


@pytest.mark.parametrize("then_batch", [False, True])
def test_map_in_worker_processes_carries_strings_in_order(then_batch):
    def upper(s):
        return tf.strings.upper(s)

    def pipeline(parallel):
        ds = Dataset.from_tensor_slices(WORDS).map(upper, num_parallel_calls=parallel)
        return ds.batch(2) if then_batch else ds

    parallel, serial = pipeline(2), pipeline(None)
    as_lists = lambda ds: [np.asarray(e).tolist() for e in ds.as_numpy_iterator()]  # noqa: E731
    assert as_lists(parallel) == as_lists(serial)
    assert as_lists(serial)[0] == ([b"APPLE", b"BANANA"] if then_batch else b"APPLE")


def test_from_generator_with_a_string_signature():
    ds = Dataset.from_generator(lambda: iter(["p", "q"]), output_signature=tf.TensorSpec((), tf.string))
    assert list(ds.as_numpy_iterator()) == [b"p", b"q"]


def test_list_files_without_shuffle_is_sorted_like_glob(tmp_path):
    _files(tmp_path, ["b/2.jpg", "a/1.jpg", "b/1.jpg", "a/.hidden.jpg", "LICENSE.txt"])
    ds = Dataset.list_files(str(tmp_path / "*/*"), shuffle=False)
    expected = sorted(os.fsencode(tmp_path / n) for n in ("a/.hidden.jpg", "a/1.jpg", "b/1.jpg", "b/2.jpg"))
    assert list(ds.as_numpy_iterator()) == expected
    assert ds.cardinality() == 4 and ds.element_spec == TensorSpec((), "string")


def test_list_files_with_several_patterns_keeps_their_order(tmp_path):
    _files(tmp_path, ["x.txt", "y.png", "a.png"])
    ds = Dataset.list_files([str(tmp_path / "*.txt"), str(tmp_path / "*.png")], shuffle=False)
    assert [os.path.basename(p) for p in ds.as_numpy_iterator()] == [b"x.txt", b"a.png", b"y.png"]


def test_list_files_shuffles_by_default_and_a_seed_repeats_the_order(tmp_path):
    names = [f"{i:02d}.jpg" for i in range(20)]
    _files(tmp_path, names)
    pattern = str(tmp_path / "*.jpg")
    first = list(Dataset.list_files(pattern, seed=7).as_numpy_iterator())
    assert sorted(first) == sorted(os.fsencode(tmp_path / n) for n in names) and first != sorted(first)
    assert list(Dataset.list_files(pattern, seed=7).as_numpy_iterator()) == first


def test_list_files_with_no_match_names_the_pattern(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no files matched") as caught:
        Dataset.list_files(str(tmp_path / "*.jpg"))
    assert str(tmp_path / "*.jpg") in str(caught.value)


def test_a_file_pipeline_reads_and_decodes_in_workers(tmp_path):
    from PIL import Image

    for i, colour in enumerate([(255, 0, 0), (0, 0, 255)]):
        Image.new("RGB", (6, 4), colour).save(tmp_path / f"{i}.png")
    ds = Dataset.list_files(str(tmp_path / "*.png"), shuffle=False)
    ds = ds.map(lambda f: tf.io.decode_png(tf.io.read_file(f)), num_parallel_calls=tf.data.AUTOTUNE)
    assert ds.worker_count() == 2  # list_files marks the pipeline as reading files
    images = list(ds.as_numpy_iterator())
    assert [img.shape for img in images] == [(4, 6, 3)] * 2
    assert images[0][0, 0].tolist() == [255, 0, 0] and images[1][0, 0].tolist() == [0, 0, 255]


def test_cache_to_a_file_keeps_string_elements_without_pickling(tmp_path):
    import numpy as np

    from cnnlab.data import Dataset

    names = ["a.png", "bb.jpg", "ünï.png"]

    def pipeline():
        return Dataset.from_tensor_slices((names, np.arange(3))).cache(str(tmp_path / "cache"))

    first = list(pipeline().as_numpy_iterator())  # writes the file
    again = list(pipeline().as_numpy_iterator())  # reads it back
    assert [(f, int(i)) for f, i in again] == [(n.encode(), i) for i, n in enumerate(names)] == \
        [(f, int(i)) for f, i in first]
    with np.load(tmp_path / "cache.npz", allow_pickle=False) as data:  # plain arrays: no pickle needed
        assert {data[k].dtype.kind for k in data.files} <= {"S", "i"}

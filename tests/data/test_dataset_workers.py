"""map(num_parallel_calls) in DataLoader workers, AUTOTUNE's choice, PyDataset, and fit on a Dataset."""

import warnings

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.data import AUTOTUNE, Dataset, PyDataset, _workers
from cnnlab.errors import ConfigError
from tests.data.test_dataset import values


def _square(x, y):
    return x * x, y


@pytest.mark.parametrize("then_batch", [False, True])
def test_worker_map_gives_the_main_process_elements_in_the_same_order(then_batch):
    def pipeline(parallel):
        ds = Dataset.from_tensor_slices((np.arange(23), np.arange(23) % 4)).shuffle(23, seed=5)
        ds = ds.map(_square, num_parallel_calls=parallel)
        return ds.batch(4) if then_batch else ds

    parallel, serial = pipeline(2), pipeline(None)
    assert _workers.worker_count(2, parallel) == 2
    assert values(parallel) == values(serial)
    assert values(parallel) == values(serial)  # the second epoch too: both reshuffle with the same seeds


def test_worker_map_with_unseeded_shuffle_loses_and_repeats_nothing():
    ds = Dataset.range(40).shuffle(40).map(lambda x: x + 1000, num_parallel_calls=2).batch(7)
    flat = [v for batch in values(ds) for v in batch]
    assert sorted(flat) == list(range(1000, 1040))


def test_autotune_uses_workers_only_on_pipelines_that_read_files():
    in_memory = Dataset.range(4).map(lambda x: x, num_parallel_calls=AUTOTUNE)
    assert in_memory.worker_count() == 0
    decode = Dataset.range(4).map(lambda x: x, num_parallel_calls=AUTOTUNE)
    decode._reads_files = True
    downstream = decode.batch(2).map(lambda x: x, num_parallel_calls=AUTOTUNE)
    assert decode.worker_count() == downstream.worker_count() == min(_workers.AUTOTUNE_WORKERS, 2)
    assert Dataset.range(4).map(lambda x: x).worker_count() == 0


def test_worker_errors_reach_the_caller_with_their_class():
    def boom(x):
        if int(x) == 3:
            raise ConfigError("element three is bad")
        return x

    with pytest.raises(ConfigError, match="element three is bad"):
        list(Dataset.range(6).map(boom, num_parallel_calls=2))


class _Batches(PyDataset):
    def __init__(self, n, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = np.arange(n, dtype=np.float32).reshape(n, 1)
        self.batch_size = batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        rows = self.x[index * self.batch_size:(index + 1) * self.batch_size]
        return rows, rows[:, 0] % 2

    def on_epoch_end(self):
        self.epochs_ended += 1


@pytest.mark.parametrize("options", [{}, {"workers": 2}, {"workers": 2, "use_multiprocessing": True}])
def test_py_dataset_yields_batches_in_index_order_and_ends_epochs(options):
    data = _Batches(10, 4, max_queue_size=3, **options)
    got = [x[:, 0].tolist() for x, _ in data]
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and data.epochs_ended == 1
    assert data.cardinality() == len(data) == 3 and data.num_batches == 3
    assert tf.utils.PyDataset is PyDataset


def test_py_dataset_without_super_init_warns_and_uses_defaults():
    class NoSuper(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return np.zeros((1, 1)), np.zeros(1)

    with pytest.warns(UserWarning, match="super"):
        assert NoSuper().workers == 1
    with pytest.raises(ConfigError, match="workers=0"):
        _Batches(4, 2, workers=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(_Batches(4, 2))) == 2


def test_tutorial_fit_on_a_dataset_and_on_a_py_dataset():
    x = np.random.rand(64, 4, 4, 1).astype("float32")
    y = np.random.randint(0, 3, 64)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000).batch(16).prefetch(tf.data.AUTOTUNE)
    model = tf.keras.Sequential([tf.keras.layers.Input((4, 4, 1)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ds, epochs=2, validation_data=ds.take(1), verbose=0)
    assert len(history.history["loss"]) == 2 and "val_accuracy" in history.history
    assert model.predict(ds.map(lambda xb, yb: xb), verbose=0).shape == (64, 3)
    flat = tf.keras.Sequential([tf.keras.layers.Input((1,)), tf.keras.layers.Dense(2, activation="softmax")])
    flat.compile("sgd", "sparse_categorical_crossentropy")
    batches = _Batches(20, 8)
    flat.fit(batches, epochs=2, verbose=0)
    assert batches.epochs_ended >= 2


def test_worker_errors_keep_their_one_line_message():
    def boom(x):
        raise ConfigError("element is bad")

    with pytest.raises(ConfigError) as info:
        list(Dataset.range(4).map(boom, num_parallel_calls=2).batch(2))
    assert str(info.value) == "element is bad"

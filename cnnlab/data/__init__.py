"""Data loading: the tf.data-style ``Dataset``, IDX files, dataset sources, image folders and array utilities."""

from cnnlab.data import experimental
from cnnlab.data._structure import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, TensorSpec
from cnnlab.data.arrays import to_categorical, train_test_split
from cnnlab.data.dataset import Dataset
from cnnlab.data import _batching, _sources, _transforms  # noqa: F401,E402  Dataset's kinds register themselves
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.data.py_dataset import PyDataset
from cnnlab.data.sources import data_home

__all__ = ["AUTOTUNE", "Dataset", "INFINITE_CARDINALITY", "PyDataset", "TensorSpec", "UNKNOWN_CARDINALITY",
           "data_home", "experimental", "read_idx", "to_categorical", "train_test_split", "write_idx"]

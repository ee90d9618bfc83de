"""Data loading: IDX files, dataset sources, and array utilities."""

from cnnlab.data.arrays import to_categorical, train_test_split
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.data.sources import data_home

__all__ = ["data_home", "read_idx", "to_categorical", "train_test_split", "write_idx"]

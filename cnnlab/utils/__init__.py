"""Utilities with Keras's names: seeding, devices, array helpers."""

from cnnlab.backend import gpu_device_name, list_devices, set_random_seed
from cnnlab.data.arrays import to_categorical, train_test_split

__all__ = ["gpu_device_name", "list_devices", "set_random_seed", "to_categorical", "train_test_split"]

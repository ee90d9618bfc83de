"""Utilities with Keras's names: seeding, devices, array helpers, model diagrams."""

from cnnlab.backend import gpu_device_name, list_devices, set_random_seed
from cnnlab.data.arrays import to_categorical, train_test_split
from cnnlab.data.image_folder import image_dataset_from_directory
from cnnlab.inspect.diagram import plot_model

__all__ = ["gpu_device_name", "image_dataset_from_directory", "list_devices", "plot_model", "set_random_seed", "to_categorical", "train_test_split"]

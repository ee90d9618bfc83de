"""Utilities with Keras's names: seeding, devices, array helpers, image files, model diagrams."""

from cnnlab.backend import gpu_device_name, list_devices, set_random_seed
from cnnlab.data.arrays import to_categorical, train_test_split
from cnnlab.data.image_folder import image_dataset_from_directory
from cnnlab.data.py_dataset import PyDataset
from cnnlab.inspect.diagram import plot_model
from cnnlab.utils.file_utils import get_file
from cnnlab.utils.image_utils import array_to_img, img_to_array, load_img, save_img

__all__ = ["PyDataset",
           "array_to_img", "get_file", "gpu_device_name", "image_dataset_from_directory", "img_to_array",
           "list_devices", "load_img", "plot_model", "save_img", "set_random_seed", "to_categorical", "train_test_split"]

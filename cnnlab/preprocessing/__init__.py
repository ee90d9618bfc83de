"""Keras's older ``keras.preprocessing`` path, kept so that code written for it runs unchanged.

``keras.preprocessing.image.load_img`` and ``keras.preprocessing.image_dataset_from_directory``
are the same functions as in :mod:`cnnlab.utils`; nothing is copied.
"""

from cnnlab.data.image_folder import image_dataset_from_directory
from cnnlab.preprocessing import image

__all__ = ["image", "image_dataset_from_directory"]

"""``keras.preprocessing.image``: the image-file helpers, re-exported from :mod:`cnnlab.utils.image_utils`.

Example:
    >>> from cnnlab.keras.preprocessing.image import img_to_array, load_img
    >>> x = img_to_array(load_img("cat.jpg", target_size=(224, 224)))  # doctest: +SKIP
"""

from cnnlab.utils.image_utils import array_to_img, img_to_array, load_img, save_img

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]

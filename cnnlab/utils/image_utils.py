"""Image files to arrays and back, with Keras's names and semantics (``keras.utils.load_img`` and friends).

::

    img = load_img("elephant.jpg", target_size=(224, 224))   # a PIL image
    x = img_to_array(img)                                      # float32 (224, 224, 3), values 0..255
    save_img("copy.png", x)

Decoding keeps Pillow's decompression-bomb limit (``MAX_IMAGE_PIXELS``, as
``image_dataset_from_directory`` does); a missing path or a file that is not
an image raises a cnnlab error naming the file.
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings
from typing import Any

import numpy as np

from cnnlab.backend import floatx
from cnnlab.data.image_folder import ALLOWED_FORMATS, MAX_IMAGE_PIXELS, SIGNATURE_BYTES, _too_large, check_image_format
from cnnlab.errors import ArgumentTypeError, ConfigError, DatasetNotFoundError, FileFormatError, ShapeError, did_you_mean
from cnnlab.layers._args import data_format as _data_format

# PIL modes load_img leaves alone for color_mode="grayscale" (8-, 16- and 32-bit grey), as Keras does.
_GRAYSCALE_MODES = ("L", "I;16", "I")
_COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
# keras.utils.load_img's interpolation names, mapped to PIL resampling filters by name.
_INTERPOLATIONS = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC", "hamming": "HAMMING",
                   "box": "BOX", "lanczos": "LANCZOS"}
_CHANNEL_MODES = {4: "RGBA", 3: "RGB", 1: "L"}


def load_img(path: str | os.PathLike | bytes | io.BytesIO, color_mode: str = "rgb",
             target_size: tuple[int, int] | None = None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False):
    """Load an image file as a PIL image (Keras's ``keras.utils.load_img``).

    Args:
        path: the image file, or an ``io.BytesIO`` holding one.
        color_mode: ``"grayscale"`` (8-, 16- or 32-bit grey images are kept
            as they are), ``"rgb"`` or ``"rgba"``.
        target_size: ``(height, width)`` to resize to, or None for the file's size.
        interpolation: resampling when resizing: ``"nearest"`` (Keras's
            default), ``"bilinear"``, ``"bicubic"``, ``"hamming"``, ``"box"``, ``"lanczos"``.
        keep_aspect_ratio: crop the largest centred box of the target's aspect
            ratio before resizing, instead of stretching.

    Returns:
        A ``PIL.Image.Image`` (its ``size`` is ``(width, height)``).

    Raises:
        DatasetNotFoundError: the file does not exist (also a FileNotFoundError).
        FileFormatError: the file is not an image Pillow can read, or it is
            larger than ``MAX_IMAGE_PIXELS`` (a decompression-bomb guard).

    Example:
        >>> img = load_img("elephant.jpg", target_size=(224, 224))  # doctest: +SKIP
        >>> img_to_array(img).shape  # doctest: +SKIP
        (224, 224, 3)
    """
    if color_mode not in _COLOR_MODES:
        raise ConfigError(f"load_img: color_mode must be 'grayscale', 'rgb' or 'rgba'."
                          f"{did_you_mean(str(color_mode), _COLOR_MODES)} Received: color_mode={color_mode!r}")
    if target_size is not None:
        target_size = _check_target_size(target_size)
    img = _open(path)
    if color_mode == "grayscale":
        if img.mode not in _GRAYSCALE_MODES:
            img = img.convert("L")
    elif img.mode != _COLOR_MODES[color_mode]:
        if img.mode in _GRAYSCALE_MODES[1:]:
            warnings.warn(f"load_img: the image is {img.mode} grey (values up to {img.getextrema()[1]}); as in Keras, "
                          f"color_mode={color_mode!r} clips values above 255 to 255. Use color_mode='grayscale' to keep "
                          "them (then scale, e.g. / 65535).", stacklevel=2)
        img = img.convert(_COLOR_MODES[color_mode])
    if target_size is None or img.size == (target_size[1], target_size[0]):
        return img
    return _resize(img, target_size, interpolation, keep_aspect_ratio)


def img_to_array(img, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A PIL image (or anything NumPy reads) as a 3-D array (Keras's ``keras.utils.img_to_array``).

    Args:
        img: a PIL image.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dtype: the array's dtype; None means ``"float32"`` (``backend.floatx()``).

    Shape:
        - Output: ``(height, width, channels)``, or ``(channels, height, width)``
          for channels-first; a grey image gets a channel axis of 1.

    Example:
        >>> img_to_array(load_img("digit.png", color_mode="grayscale")).shape  # doctest: +SKIP
        (28, 28, 1)
    """
    data_format = _data_format(data_format, "img_to_array")
    x = np.asarray(img, dtype=floatx() if dtype is None else dtype)
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[..., None]
    if x.ndim != 3:
        raise ShapeError(f"img_to_array: an image is 2-D (grey) or 3-D (with channels); got shape {x.shape}. "
                         "Pass one image, not a batch.")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format: str | None = None, scale: bool = True, dtype: Any = None):
    """A 3-D array as a PIL image (Keras's ``keras.utils.array_to_img``).

    Args:
        x: one image, ``(height, width, channels)`` with 1, 3 or 4 channels
            (``(channels, height, width)`` with ``data_format="channels_first"``).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        scale: stretch the values so that the minimum becomes 0 and the maximum
            255; without it the values are cast to uint8 as they are.
        dtype: dtype of the intermediate array; None means ``"float32"``.

    Returns:
        A ``PIL.Image.Image`` in mode ``"L"`` (``"I"`` for grey values above
        255), ``"RGB"`` or ``"RGBA"``.

    Example:
        >>> array_to_img(np.random.random((32, 32, 3))).size  # doctest: +SKIP
        (32, 32)
    """
    from PIL import Image

    data_format = _data_format(data_format, "array_to_img")
    x = np.array(x, dtype=floatx() if dtype is None else dtype)
    if x.ndim != 3:
        raise ShapeError(f"array_to_img: expected one image of rank 3 (height, width, channels); got shape "
                         f"{x.shape}. Pass x[0] for the first image of a batch.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels not in _CHANNEL_MODES:
        raise ShapeError(f"array_to_img: an image has 1, 3 or 4 channels; got {channels} (shape {x.shape}, "
                         f"data_format='{data_format}'). Check the channel axis.")
    if channels == 1:
        if np.max(x) > 255:  # 32-bit grey, as Keras does
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    return Image.fromarray(x.astype("uint8"), _CHANNEL_MODES[channels])


def save_img(path: str | os.PathLike | io.IOBase, x, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs) -> None:
    """Save a 3-D array as an image file (Keras's ``keras.utils.save_img``).

    Args:
        path: the file, or a file object (then give ``file_format``).
        x: one image, as for :func:`array_to_img`.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        file_format: e.g. ``"png"``; None takes it from the file name's extension.
        scale: stretch the values to 0..255 (see :func:`array_to_img`).
        **kwargs: passed to ``PIL.Image.Image.save`` (e.g. ``quality=90``).

    Example:
        >>> save_img("noise.png", np.random.random((32, 32, 3)))  # doctest: +SKIP
    """
    data_format = _data_format(data_format, "save_img")
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG has no alpha channel; the RGBA image is saved as RGB.", stacklevel=2)
        img = img.convert("RGB")
    try:
        img.save(path, format=file_format, **kwargs)
    except (KeyError, ValueError) as err:
        raise ConfigError(f"save_img: cannot save as {file_format!r}: {err}. Give a file name ending in a known "
                          f"image extension ({', '.join(ALLOWED_FORMATS)}) or pass file_format='png'. "
                          f"Received: path={path!r}, file_format={file_format!r}") from err


def _check_target_size(target_size: Any) -> tuple[int, int]:
    ok = isinstance(target_size, (tuple, list)) and len(target_size) == 2 and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in target_size)
    if not ok:
        raise ConfigError("load_img: target_size must be (height, width) of positive ints or None, e.g. (224, 224). "
                          f"Received: target_size={target_size!r}")
    return int(target_size[0]), int(target_size[1])


def _open(path: Any):
    """Decode ``path`` fully into memory (the file is closed on return), with Pillow's bomb guard."""
    from PIL import Image

    if isinstance(path, io.BytesIO):
        name, source = "<BytesIO>", path
    elif isinstance(path, (str, bytes, os.PathLike)):
        name = os.fsdecode(path)
        if not os.path.exists(name):
            raise DatasetNotFoundError(f"load_img: image file '{name}' does not exist. Check the path. "
                                       f"Received: path={path!r}")
        if not os.path.isfile(name):
            raise FileFormatError(f"load_img: '{name}' is not a regular file (a folder?). Give an image file. "
                                  f"Received: path={path!r}")
        with open(name, "rb") as f:
            source = io.BytesIO(f.read())
    else:
        raise ArgumentTypeError(f"load_img: path must be a file path or an io.BytesIO. "
                                f"Received: path of type {type(path).__name__}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Keras reads any format Pillow knows; only a file whose name promises another format is refused.
            start = source.tell()
            image_format = check_image_format(name, source.read(SIGNATURE_BYTES), None)
            source.seek(start)
            img = Image.open(source, formats=None if image_format is None else [image_format])
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_large(name, width, height)
            img.load()
            return img
    except FileFormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise FileFormatError(f"load_img: image '{name}' is too large to decode safely ({err}). "
                              "Resize it first.") from err
    except (OSError, ValueError, SyntaxError) as err:
        raise FileFormatError(f"load_img: cannot read '{name}' as an image: {err}. The file is corrupt or not an "
                              f"image in a format Pillow reads (e.g. {', '.join(ALLOWED_FORMATS)}).") from err


def _resize(img, target_size: tuple[int, int], interpolation: str, keep_aspect_ratio: bool):
    from PIL import Image

    if interpolation not in _INTERPOLATIONS:
        raise ConfigError(f"load_img: interpolation must be one of {', '.join(map(repr, _INTERPOLATIONS))}."
                          f"{did_you_mean(str(interpolation), _INTERPOLATIONS)} Received: interpolation={interpolation!r}")
    resample = getattr(Image.Resampling, _INTERPOLATIONS[interpolation])
    target_w, target_h = target_size[1], target_size[0]
    if not keep_aspect_ratio:
        return img.resize((target_w, target_h), resample)
    # The largest centred box with the target's aspect ratio, in integer pixels as Keras computes it.
    width, height = img.size
    crop_h = min(height, (width * target_h) // target_w)
    crop_w = min(width, (height * target_w) // target_h)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize((target_w, target_h), resample, box=(left, top, left + crop_w, top + crop_h))

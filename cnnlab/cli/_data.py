"""What ``--data`` names: a built-in dataset or a folder of class sub-folders, ready for a model.

Every image the command feeds a model is scaled to 0..1 (pixel / 255), for
built-in datasets and image folders alike; ``predict`` does the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnlab.errors import DataError, DatasetNotFoundError, unknown_name

BUILTIN_DATASETS = ("fashion_mnist", "mnist", "digits")
PIXEL_MAX = 255.0
DEFAULT_FOLDER_IMAGE_SIZE = (32, 32)


class ScaledImages:
    """An image-folder dataset whose batches are divided by 255 (keeps ``len`` and ``class_names``)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.class_names = dataset.class_names

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        for images, labels in self.dataset:
            yield images / PIXEL_MAX, labels


@dataclass
class Data:
    """A dataset as the command uses it: training, validation and test parts, and class names."""

    name: str
    train: Any  # (x, y) arrays, or a ScaledImages
    test: Any
    class_names: list[str]
    input_shape: tuple[int, int, int]
    val: Any = None  # only for folders; arrays use fit(validation_split=...)
    sizes: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def is_folder_spec(spec: str) -> bool:
    return os.sep in spec or "/" in spec or os.path.isdir(spec) or spec.startswith(".")


def _builtin_module(spec: str):
    import cnnlab.datasets as datasets

    name = spec.replace("-", "_").lower()
    if name not in BUILTIN_DATASETS:
        raise unknown_name("dataset", spec, BUILTIN_DATASETS, where="--data (or give a folder of class sub-folders)")
    return name, getattr(datasets, name)


def load(spec: str, limit: int | None = None, val_split: float = 0.0, seed: int = 0,
         image_size: tuple[int, int] | None = None, color_mode: str | None = None, batch_size: int = 32) -> Data:
    """Load ``--data``: a built-in name (with its test split) or an image folder.

    For a folder, ``val_split`` of the files is held out for validation and
    also serves as the test set (a folder has no separate test split).
    """
    if is_folder_spec(spec) and not os.path.isdir(spec):
        if not os.path.exists(spec):
            raise DatasetNotFoundError(f"--data: the folder '{spec}' does not exist. Give one of "
                                       f"{', '.join(BUILTIN_DATASETS)} or a folder with one sub-folder per class.")
        raise DataError(f"--data: '{spec}' is a file. Give a folder with one sub-folder per class, or one of "
                        f"{', '.join(BUILTIN_DATASETS)}.")
    if os.path.isdir(spec):
        return _load_folder(spec, val_split, seed, image_size, color_mode, batch_size)
    name, module = _builtin_module(spec)
    (x_train, y_train), (x_test, y_test) = module.load_data()
    if limit:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]
    x_train, x_test = (_fit_images(_as_images(x), image_size, color_mode, name) for x in (x_train, x_test))
    return Data(name, (x_train, y_train), (x_test, y_test), list(module.class_names), x_train.shape[1:],
                sizes={"train": len(x_train), "test": len(x_test)})


def _as_images(x: np.ndarray) -> np.ndarray:
    """uint8 (n, h, w) → float32 (n, h, w, 1) in 0..1."""
    x = x.reshape(*x.shape[:3], -1) if x.ndim == 4 else x[..., None]
    return x.astype(np.float32) / PIXEL_MAX


def _fit_images(x: np.ndarray, image_size, color_mode, name: str) -> np.ndarray:
    """Built-in images resized to ``image_size`` (bilinear, as folders are read) and, for ``rgb``, the grey
    channel repeated three times: how a 28x28 grey set feeds a model such as mobilenet_v2."""
    if color_mode in ("rgba",) or (color_mode == "grayscale" and x.shape[-1] != 1):
        raise DataError(f"--color-mode {color_mode}: the built-in dataset {name} has {x.shape[-1]} channel(s); "
                        f"use --color-mode rgb (channels repeated) or leave it out. Received: --color-mode {color_mode}")
    if image_size:
        x = _resize(x, tuple(image_size))
    if color_mode == "rgb" and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x


def _resize(x: np.ndarray, size: tuple[int, ...], chunk: int = 1024) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    if len(size) != 2:
        raise DataError(f"--image-size needs height,width, e.g. 96,96. Received: --image-size {','.join(map(str, size))}")
    if tuple(x.shape[1:3]) == size:
        return x
    out = np.empty((len(x), *size, x.shape[-1]), np.float32)
    for start in range(0, len(x), chunk):  # bounded memory: the 60,000 images are resized a chunk at a time
        part = torch.from_numpy(x[start:start + chunk]).permute(0, 3, 1, 2)
        resized = F.interpolate(part, size=size, mode="bilinear", align_corners=False)
        out[start:start + chunk] = resized.permute(0, 2, 3, 1).numpy()
    return out


def _load_folder(path: str, val_split: float, seed: int, image_size, color_mode, batch_size) -> Data:
    from cnnlab.utils import image_dataset_from_directory

    image_size = tuple(image_size or DEFAULT_FOLDER_IMAGE_SIZE)
    color_mode = color_mode or "rgb"
    options = dict(image_size=image_size, color_mode=color_mode, batch_size=batch_size, seed=seed, verbose=False)
    if val_split:
        train, val = image_dataset_from_directory(path, validation_split=val_split, subset="both", **options)
        train, val = ScaledImages(train), ScaledImages(val)
        test = val
    else:
        train = ScaledImages(image_dataset_from_directory(path, **options))
        val = None
        test = ScaledImages(image_dataset_from_directory(path, shuffle=False, **options))
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]
    sizes = {"train": len(train.dataset.file_paths), "test": len(test.dataset.file_paths)}
    return Data(os.path.abspath(path), train, test, list(train.class_names), (*image_size, channels), val, sizes)


def as_arrays(part: Any, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` arrays from arrays or a folder dataset (read whole, up to ``limit`` images)."""
    if isinstance(part, tuple):
        x, y = part
        return (x[:limit], y[:limit]) if limit else (x, y)
    xs, ys, count = [], [], 0
    for x, y in part:
        xs.append(x)
        ys.append(y)
        count += len(x)
        if limit and count >= limit:
            break
    x, y = np.concatenate(xs), np.concatenate(ys)
    return (x[:limit], y[:limit]) if limit else (x, y)


def folder_options_for(model: Any) -> tuple[tuple[int, int], str]:
    """The image size and colour mode that match a model's input, for reading folders and files."""
    height, width, channels = input_shape_of(model)
    return (height, width), {1: "grayscale", 3: "rgb", 4: "rgba"}.get(channels, "rgb")


def input_shape_of(model: Any) -> tuple[int, int, int]:
    """``(height, width, channels)`` of a built model's input."""
    try:
        shape = tuple(model.input.shape)[1:]
    except Exception:  # subclassed model: the shape it was built with
        shape = tuple(getattr(model, "_build_shape", None) or ())[1:]
    if len(shape) != 3 or any(d is None for d in shape):
        raise DataError(f"Model '{model.name}' does not take images of a fixed (height, width, channels) shape; "
                        f"its input shape is {shape}.")
    return shape


def check_fits(data: Data, model: Any) -> None:
    """Fail early, with both shapes, when the data does not fit the model's input."""
    expected = input_shape_of(model)
    if tuple(data.input_shape) != tuple(expected):
        raise DataError(f"The images of --data {data.name} are {tuple(data.input_shape)} (height, width, channels) "
                        f"but model '{model.name}' takes {tuple(expected)}. Use data of that size, or build the "
                        "model for this data.")

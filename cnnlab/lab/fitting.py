"""Which datasets fit which model, and how their images are converted to its input.

The lab trains and looks inside *any* model, not only one built for the data:
a model file of 96x96 RGB images can be trained on ``digits`` (8x8 grey) once
the images are resized and their grey channel repeated, as
``cnnlab train --image-size 96,96 --color-mode rgb`` does. What cannot be
converted (a different number of classes, colour images into a grey model) is
refused with the reason. Zoo models of Keras's architectures (``mobilenet_v2``)
need images of at least their smallest size: the lab resizes to it when the
data is smaller and no ``--image-size`` was given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cnnlab.cli import _data
from cnnlab.errors import DataError

# (height, width, channels), class count and training images of the built-in datasets, known without loading them.
BUILTIN = {"fashion_mnist": ((28, 28, 1), 10, 60_000), "mnist": ((28, 28, 1), 10, 60_000),
           "digits": ((8, 8, 1), 10, 1_437)}
MEMORY_NOTE_BYTES = 1 << 30  # converted training images above this get a "set a limit" note
MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


@dataclass
class Fit:
    """How dataset ``data`` feeds a model: ``fits``, the ``load`` options that convert it, a sentence ``note``."""

    data: str
    fits: bool
    note: str
    image_size: tuple[int, int] | None = None
    color_mode: str | None = None

    def brief(self) -> dict:
        return {"fits": self.fits, "note": self.note,
                "image_size": list(self.image_size) if self.image_size else None, "color_mode": self.color_mode}


def _shown(spec: str) -> str:
    return os.path.basename(os.path.normpath(spec)) if _data.is_folder_spec(spec) else spec


def _folder_classes(spec: str) -> int | None:
    try:
        return sum(1 for entry in os.scandir(spec) if entry.is_dir() and not entry.name.startswith("."))
    except OSError:
        return None


def model_classes(model) -> int | None:
    try:
        return int(model.outputs[0].shape[-1])
    except Exception:  # noqa: BLE001  a subclassed model has no symbolic output: the training tells
        return None


def fit(model, spec: str) -> Fit:
    """How the images of ``spec`` (a built-in name or a folder) become ``model``'s input, or why they cannot."""
    name = _shown(spec)
    try:
        height, width, channels = _data.input_shape_of(model)
    except DataError as err:
        return Fit(spec, False, f"{name}: {err}")
    classes = model_classes(model)
    where = f"model '{model.name}' takes {height}x{width}x{channels} images"
    if _data.is_folder_spec(spec):
        found = _folder_classes(spec)
        if classes and found is not None and found != classes:
            return Fit(spec, False, f"{name}: {found} class folders, but {where} into {classes} classes.")
        return Fit(spec, True, f"{name}: images read at {height}x{width} as {MODES.get(channels, 'rgb')}.",
                   (height, width), MODES.get(channels, "rgb"))
    key = spec.replace("-", "_").lower()
    if key not in BUILTIN:
        return Fit(spec, False, f"{name}: not a dataset the lab knows ({', '.join(BUILTIN)} or a folder).")
    (h, w, c), k, count = BUILTIN[key]
    if classes and k != classes:
        return Fit(spec, False, f"{name}: {k} classes, but {where} into {classes} classes.")
    if c != channels and not (c == 1 and channels == 3):
        return Fit(spec, False, f"{name}: {c}-channel images cannot become the {channels} channels of {where} "
                                f"(grey becomes RGB by repeating its channel; nothing else is converted).")
    steps = []
    size = None
    if (h, w) != (height, width):
        size = (height, width)
        steps.append(f"resized {h}x{w} -> {height}x{width}")
    mode = None
    if c != channels:
        mode = "rgb"
        steps.append("grey channel repeated 3 times")
    note = f"{name}: " + (", ".join(steps) if steps else f"{h}x{w}x{c}, as the model takes") + "."
    size_bytes = count * height * width * channels * 4
    if size_bytes > MEMORY_NOTE_BYTES:
        note += f" All {count:,} training images take {size_bytes / (1 << 30):.1f} GB once converted: set a limit."
    return Fit(spec, True, note, size, mode)


def zoo_image_size(model: str, spec: str, given: tuple[int, int] | None) -> tuple[int, int] | None:
    """The image size to train zoo ``model`` on ``spec``: ``given``, else the architecture's smallest when the
    data is smaller (Keras's applications refuse smaller images), else None (the data's own size)."""
    if given:
        return tuple(given)
    from cnnlab.zoo import applications

    if not applications.is_application(model):
        return None
    smallest = applications.min_size(applications.APPLICATION_MODELS[model])
    key = spec.replace("-", "_").lower()
    if key not in BUILTIN:  # a folder is read at 32x32 unless told
        return (smallest, smallest) if smallest > min(_data.DEFAULT_FOLDER_IMAGE_SIZE) else None
    h, w = BUILTIN[key][0][:2]
    return (smallest, smallest) if min(h, w) < smallest else None

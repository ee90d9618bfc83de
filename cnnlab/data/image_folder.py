"""``image_dataset_from_directory``: a folder of class sub-folders as a dataset (Keras semantics).

::

    flowers/
      daisy/   a.jpg b.png ...
      tulip/   c.jpg ...

gives batches of ``(images, labels)`` with ``class_names == ["daisy", "tulip"]``.
The result is a :class:`~cnnlab.data.Dataset` (file indices, a shuffle, a Pillow decode ``map`` run in
DataLoader worker processes, ``batch``, ``prefetch``), so ``.map``, ``.take``, ``.cache``, ``.unbatch`` work on it
as on TF's, and a folder larger than memory works.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cnnlab.data._structure import AUTOTUNE
from cnnlab.data.dataset import Dataset
from cnnlab.errors import ConfigError, DataError, DatasetNotFoundError, FileFormatError, did_you_mean

# The file types Keras's image_dataset_from_directory accepts.
ALLOWED_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
# Largest image decoded, in pixels: Pillow's own decompression-bomb bound
# (PIL.Image.MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3, about 89 megapixels).
MAX_IMAGE_PIXELS = 89_478_485
_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
# Image formats told apart by their first bytes (Pillow's format names). A file is decoded only by the decoder of
# the format its bytes show, and only when the loader takes that format.
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
               (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"8BPS", "PSD"), (b"qoif", "QOI"),
               (b"\x00\x00\x01\x00", "ICO"), (b"\x00\x00\x00\x0cjP  ", "JPEG2000"), (b"\xff\x4f\xff\x51", "JPEG2000"))
SIGNATURE_BYTES = 16  # enough for every signature above and WebP's RIFF....WEBP
# The formats image_dataset_from_directory decodes: the ones its file-name filter (ALLOWED_FORMATS) names. TF's
# decode_image tells them apart by content too, so a JPEG saved under a .png name still loads, as in Keras.
FOLDER_FORMATS = frozenset({"BMP", "GIF", "JPEG", "PNG"})
_EXTENSION_FORMATS = {".bmp": "BMP", ".gif": "GIF", ".jpeg": "JPEG", ".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP",
                      ".tif": "TIFF", ".tiff": "TIFF", ".psd": "PSD", ".qoi": "QOI", ".ico": "ICO"}
_LABEL_MODES = ("int", "categorical", "binary", None)
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


class _DecodeImage:
    """The map that turns a file index (and its label) into the decoded image (and the label)."""

    def __init__(self, file_paths: list[str], image_size: tuple[int, int], color_mode: str,
                 interpolation: str) -> None:
        self.file_paths = file_paths
        self.options = (image_size, color_mode, interpolation)

    def __call__(self, index: torch.Tensor, *label: torch.Tensor) -> Any:
        image = torch.from_numpy(load_image(self.file_paths[int(index)], *self.options))
        return (image, *label) if label else image


def _as_dataset(file_paths: list[str], label_ids: np.ndarray | None, class_names: list[str] | None,
                label_mode: str | None, color_mode: str, batch_size: int | None, image_size: tuple[int, int],
                shuffle: bool, seed: int | None, interpolation: str) -> Dataset:
    """File indices (and encoded labels) -> shuffle -> decode map in DataLoader workers -> batch -> prefetch."""
    indices = torch.arange(len(file_paths))
    labels = None if label_mode is None or label_ids is None else _encode(label_ids, label_mode, len(class_names))
    dataset = Dataset.from_tensor_slices(indices if labels is None else (indices, labels))
    if shuffle:  # Keras's buffer: 8 batches (1024 images unbatched), so a large folder shuffles locally each epoch
        dataset = dataset.shuffle(batch_size * 8 if batch_size else 1024, seed=seed)
    dataset = dataset.map(_DecodeImage(file_paths, image_size, color_mode, interpolation),
                          num_parallel_calls=AUTOTUNE)
    dataset._reads_files = True
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset = dataset.prefetch(AUTOTUNE)
    dataset.class_names = class_names
    dataset.file_paths = list(file_paths)
    return dataset


def _encode(label_ids: np.ndarray, label_mode: str, num_classes: int) -> torch.Tensor:
    if label_mode == "categorical":
        return torch.from_numpy(np.eye(num_classes, dtype=np.float32)[label_ids])
    if label_mode == "binary":
        return torch.from_numpy(label_ids.astype(np.float32).reshape(-1, 1))
    return torch.from_numpy(label_ids.astype(np.int32))


def load_image(path: str | os.PathLike, image_size: tuple[int, int] | None = None, color_mode: str = "rgb",
               interpolation: str = "bilinear") -> np.ndarray:
    """Decode one image file to float32 ``(height, width, channels)`` with values 0..255.

    Args:
        path: the image file.
        image_size: ``(height, width)`` to resize to, or None to keep its size.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        interpolation: resize method, e.g. ``"bilinear"`` (Keras's default).

    Raises:
        FileFormatError: the file is not a readable image, or is larger than
            ``MAX_IMAGE_PIXELS`` (a decompression bomb guard).
    """
    from PIL import Image

    path = os.fspath(path)
    mode, _ = _COLOR_MODES[color_mode]
    if os.path.islink(path) and not os.path.exists(path):
        raise DataError(f"Image '{path}' is a symbolic link whose target is missing or loops back on itself. "
                        f"Remove the link or point it at an image file. Received: path={path!r}")
    if not os.path.isfile(path):
        what = ("is a folder, not an image file" if os.path.isdir(path) else
                "is not a regular file (a pipe, socket or device)" if os.path.exists(path) else "does not exist")
        raise DataError(f"Image '{path}' {what}. Check the path and give an image file. Received: path={path!r}")
    try:
        with warnings.catch_warnings(), open(path, "rb") as fh:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image_format = check_image_format(path, fh.read(SIGNATURE_BYTES), FOLDER_FORMATS)
            fh.seek(0)
            with Image.open(fh, formats=[image_format]) as img:
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _too_large(path, width, height)
                img = _high_byte(img).convert(mode)
                if image_size is not None and img.size != (image_size[1], image_size[0]):
                    img = img.resize((image_size[1], image_size[0]), _resample(interpolation))
                return np.asarray(img, dtype=np.float32).reshape(img.size[1], img.size[0], -1)
    except FileFormatError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise FileFormatError(f"Image '{path}' is too large to decode safely ({err}). Resize it first, or remove "
                              "it from the folder.") from err
    except (OSError, ValueError, SyntaxError) as err:
        raise FileFormatError(
            f"Cannot read image '{path}': {err}. The file is corrupt or not an image in a supported format "
            f"({', '.join(ALLOWED_FORMATS)}); remove or replace it."
        ) from err


def _sniff(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)


def check_image_format(name: str, head: bytes, decodable: frozenset[str] | None) -> str | None:
    """The format shown by an image file's first bytes, refused when the loader does not take it or the name
    promises another kind of file (a TIFF or WebP saved as ``.png``).

    Args:
        name: the file's name, for the extension and for messages.
        head: its first ``SIGNATURE_BYTES`` bytes.
        decodable: the formats the loader decodes (e.g. ``FOLDER_FORMATS``); None: any format Pillow reads.

    Returns:
        Pillow's name of the format, or None when the bytes match no known signature (``decodable=None`` only).

    Raises:
        FileFormatError: naming the file, what its bytes are and what its name or the loader expects.
    """
    found = _sniff(head)
    claimed = _EXTENSION_FORMATS.get(os.path.splitext(name)[1].lower())
    # Among the formats the folder loader takes, content decides (TF's decode_image does the same).
    agrees = found == claimed or (found in FOLDER_FORMATS and claimed in FOLDER_FORMATS)
    if (decodable is None or found in decodable) and (claimed is None or agrees):
        return found
    what = f"a {found} image" if found else f"not an image in any known format (it starts with {head[:8]!r})"
    if decodable is not None and found not in decodable:
        expected = f"this loader reads {', '.join(sorted(decodable))} images only"
        fix = "Convert it to PNG or JPEG, or remove it from the folder."
    else:
        expected = f"its name says {claimed}"
        fix = f"Rename it to match its content (e.g. '.{(found or '').lower()}'), or convert it to {claimed}."
    if found is None:
        fix = "The file is corrupt or not an image; remove or replace it."
    raise FileFormatError(f"Image '{name}' is {what}, but {expected}. {fix}")


def _high_byte(img):
    """A 16-bit grey image as 8-bit grey from the high byte of each value, as TF's decode_image gives it (Pillow's
    own convert() would saturate: 32768 -> 255). Pillow already reads 16-bit colour PNGs this way."""
    if not img.mode.startswith("I;16"):
        return img
    from PIL import Image

    return Image.fromarray((np.asarray(img) >> 8).astype(np.uint8), "L")


def _too_large(path: str, width: int, height: int) -> FileFormatError:
    return FileFormatError(
        f"Image '{path}' is {width}x{height} = {width * height:,} pixels, more than the limit of "
        f"{MAX_IMAGE_PIXELS:,} (a guard against decompression bombs). Resize it first, or remove it from the folder."
    )


def _resample(interpolation: str) -> int:
    from PIL import Image

    return {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST, "bicubic": Image.BICUBIC, "area": Image.BOX,
            "lanczos3": Image.LANCZOS, "lanczos5": Image.LANCZOS}[interpolation]


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    verbose: bool = True,
):
    """Read a folder of images, one sub-folder per class, as a dataset (Keras's function).

    Args:
        directory: the folder. With ``labels="inferred"`` it holds one
            sub-folder per class; images may be nested deeper inside them.
        labels: ``"inferred"`` (from the sub-folder names), None (images
            only), or a list of int labels, one per image file in sorted path order.
        label_mode: ``"int"`` (int32 ids), ``"categorical"`` (one-hot float32),
            ``"binary"`` (float32 0/1 of shape ``(batch, 1)``, two classes), or None.
        class_names: with inferred labels, the sub-folders to use, in label order.
        color_mode: ``"grayscale"`` (1 channel), ``"rgb"`` (3) or ``"rgba"`` (4).
        batch_size: images per batch; None yields single images.
        image_size: ``(height, width)`` every image is resized to.
        shuffle: shuffle the files (and reshuffle every epoch).
        seed: seed of the shuffling and of the validation split.
        validation_split: fraction of the files kept for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"`` (returns a pair),
            with ``validation_split``.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``,
            ``"lanczos3"``, ``"lanczos5"``.
        follow_links: follow symbolic links to sub-folders.
        verbose: print how many files and classes were found, as Keras does.

    Returns:
        A :class:`~cnnlab.data.Dataset` with ``class_names`` and ``file_paths`` attributes (a pair of them for
        ``subset="both"``). Iterating it yields ``(images, labels)`` torch tensors (images only without labels).

    Shape:
        - images: float32 ``(batch, height, width, channels)``, values 0..255.
        - labels: int32 ``(batch,)``, or float32 ``(batch, classes)`` / ``(batch, 1)``.

    Example:
        >>> train, val = image_dataset_from_directory(  # doctest: +SKIP
        ...     "flowers", image_size=(64, 64), validation_split=0.2, subset="both", seed=1)
        >>> train.class_names  # doctest: +SKIP
        ['daisy', 'tulip']
    """
    root = _check_directory(directory)
    _check_choice("label_mode", label_mode, _LABEL_MODES)
    _check_choice("color_mode", color_mode, tuple(_COLOR_MODES))
    _check_choice("interpolation", interpolation, _INTERPOLATIONS)
    image_size = _check_image_size(image_size)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"image_dataset_from_directory: batch_size must be a positive int or None. "
                          f"Received: batch_size={batch_size!r}")
    _check_split(validation_split, subset, shuffle, seed)
    if labels is None:
        label_mode = None
    if class_names is not None and labels != "inferred":
        raise ConfigError("image_dataset_from_directory: class_names is only valid with labels='inferred'. "
                          f"Received: labels={labels!r}, class_names={class_names!r}")

    paths, label_ids, names = _index(root, labels, class_names, follow_links)
    if label_mode == "binary" and len(names) != 2:
        raise ConfigError(f"image_dataset_from_directory: label_mode='binary' needs exactly 2 classes; "
                          f"'{root}' has {len(names)}: {names}. Use label_mode='int' or 'categorical'.")
    if verbose:
        print(f"Found {len(paths)} files" + (f" belonging to {len(names)} classes." if labels is not None else "."))
    if shuffle:
        seed = int(np.random.randint(1_000_000)) if seed is None else seed
        order = np.random.RandomState(seed).permutation(len(paths))  # Keras's shuffle of the file list: same split
        paths = [paths[i] for i in order]
        label_ids = None if label_ids is None else label_ids[order]

    def make(part: slice, shuffle_part: bool, part_seed: int | None):
        return _as_dataset(paths[part], None if label_ids is None else label_ids[part], names or None,
                                  label_mode, color_mode, batch_size, image_size, shuffle_part, part_seed,
                                  interpolation)

    if not validation_split:
        return make(slice(None), shuffle, seed)
    n_val = int(validation_split * len(paths))
    cut = len(paths) - n_val
    if cut == 0 or n_val == 0:
        raise DataError(f"image_dataset_from_directory: validation_split={validation_split} of {len(paths)} files "
                        "leaves an empty training or validation set. Add images or change the fraction.")
    train, val = make(slice(0, cut), shuffle, seed), make(slice(cut, None), False, seed)
    if verbose:
        if subset in ("training", "both"):
            print(f"Using {cut} files for training.")
        if subset in ("validation", "both"):
            print(f"Using {n_val} files for validation.")
    return {"training": train, "validation": val, "both": (train, val)}[subset]


def _check_directory(directory: Any) -> str:
    if not isinstance(directory, (str, os.PathLike)):
        raise ConfigError(f"image_dataset_from_directory: directory must be a path. Received: directory={directory!r}")
    path = os.fspath(directory)
    if not os.path.exists(path):
        raise DatasetNotFoundError(f"Image folder '{path}' does not exist. Give the folder that holds one "
                                   f"sub-folder per class. Received: directory={path!r}")
    if not os.path.isdir(path):
        raise DataError(f"'{path}' is a file, not a folder. Give the folder that holds one sub-folder per class "
                        f"(e.g. '{os.path.dirname(path) or '.'}'). Received: directory={path!r}")
    return path


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"image_dataset_from_directory: {name} must be one of {shown}."
                          f"{did_you_mean(str(value), [c for c in choices if c])} Received: {name}={value!r}")


def _check_image_size(image_size: Any) -> tuple[int, int]:
    ok = isinstance(image_size, (tuple, list)) and len(image_size) == 2 and all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_size)
    if not ok:
        raise ConfigError("image_dataset_from_directory: image_size must be (height, width) of positive ints, "
                          f"e.g. (64, 64). Received: image_size={image_size!r}")
    return int(image_size[0]), int(image_size[1])


def _check_split(validation_split: Any, subset: Any, shuffle: bool, seed: Any) -> None:
    if subset not in (None, "training", "validation", "both"):
        raise ConfigError("image_dataset_from_directory: subset must be 'training', 'validation', 'both' or None. "
                          f"Received: subset={subset!r}")
    if bool(validation_split) != (subset is not None):
        raise ConfigError("image_dataset_from_directory: validation_split and subset go together; set both or "
                          f"neither. Received: validation_split={validation_split!r}, subset={subset!r}")
    if validation_split and not 0 < validation_split < 1:
        raise ConfigError("image_dataset_from_directory: validation_split must be a fraction in (0, 1). "
                          f"Received: validation_split={validation_split!r}")
    if validation_split and shuffle and seed is None:
        raise ConfigError("image_dataset_from_directory: with validation_split and shuffle=True, pass a seed so that "
                          "the training and validation subsets do not overlap, e.g. seed=1337. Received: seed=None")


def _index(root: str, labels: Any, class_names: Sequence[str] | None,
           follow_links: bool) -> tuple[list[str], np.ndarray | None, list[str]]:
    """The image files under ``root`` (sorted), their label ids, and the class names."""
    if labels == "inferred":
        folders = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        if class_names is not None:
            missing = [c for c in class_names if c not in folders]
            if missing:
                raise DataError(f"image_dataset_from_directory: class_names {missing} have no sub-folder in '{root}'. "
                                f"Its sub-folders are: {folders}. Received: class_names={list(class_names)!r}")
            folders = list(class_names)
        if not folders:
            raise DataError(f"Image folder '{root}' has no sub-folders. Put the images of each class in their own "
                            f"sub-folder, e.g. '{root}/cats/1.jpg', '{root}/dogs/2.jpg'.")
        paths, ids = [], []
        for label, folder in enumerate(folders):
            found = _image_files(os.path.join(root, folder), follow_links)
            paths += found
            ids += [label] * len(found)
        _require_images(paths, root)
        return paths, np.asarray(ids, dtype=np.int64), list(folders)
    paths = _image_files(root, follow_links)
    _require_images(paths, root)
    if labels is None:
        return paths, None, []
    if isinstance(labels, str) or not isinstance(labels, Sequence | np.ndarray):
        raise ConfigError("image_dataset_from_directory: labels must be 'inferred', None, or a list of int labels "
                          f"(one per image file, in sorted path order). Received: labels={labels!r:.80}")
    ids = np.asarray(labels)
    if len(ids) != len(paths):
        raise DataError(f"image_dataset_from_directory: {len(ids)} labels were given for {len(paths)} image files "
                        f"in '{root}'. Give one label per file, in sorted path order.")
    if ids.dtype.kind not in "iu" or (ids.size and ids.min() < 0):
        raise DataError("image_dataset_from_directory: labels must be non-negative ints (class ids).")
    return paths, ids.astype(np.int64), [str(i) for i in range(int(ids.max()) + 1)]


def _image_files(folder: str, follow_links: bool) -> list[str]:
    """The image files under ``folder``. Following links, each real folder is walked once: a link back to a folder
    already walked (a loop, or a second way into the same folder) is skipped with a warning. Keras's os.walk has no
    such check, so a loop there repeats files until the kernel's 40-link limit, and two loops never finish."""
    found = []
    walked = {os.path.realpath(folder)}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=follow_links):
        dirnames.sort()
        if follow_links:
            dirnames[:] = [d for d in dirnames if _first_visit(os.path.join(dirpath, d), walked)]
        found += [os.path.join(dirpath, f) for f in sorted(filenames) if f.lower().endswith(ALLOWED_FORMATS)]
    return sorted(found)


def _first_visit(path: str, walked: set[str]) -> bool:
    real = os.path.realpath(path)
    if real not in walked:
        walked.add(real)
        return True
    warnings.warn(f"image_dataset_from_directory: skipped '{path}': it is a symbolic link to '{real}', a folder "
                  "already read (a link loop, or a second way into the same folder). Remove the link to silence this "
                  "warning; its images are read once.", stacklevel=4)
    return False


def _require_images(paths: list[str], root: str) -> None:
    if not paths:
        raise DataError(f"Image folder '{root}' holds no images (looked for {', '.join(ALLOWED_FORMATS)} files, "
                        "also in sub-folders). Check the path, or add images.")

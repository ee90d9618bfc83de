"""``tf.io`` on files and Pillow: ``read_file``, ``write_file``, ``matching_files`` and the image codecs.

File contents are scalar string tensors (:class:`~cnnlab.data._strings.StringTensor`); decoders return
``uint8`` ``(height, width, channels)`` tensors as TF's do. As in TF, every decoder reads every format TF knows
(JPEG, PNG, GIF, BMP, WebP: ``decode_jpeg`` of PNG bytes works), so the name says what the caller expects,
not what is checked; only animated GIFs need ``decode_gif`` or ``decode_image``. Decoding keeps Pillow's
decompression-bomb limit (``MAX_IMAGE_PIXELS``, as ``load_img`` and ``image_dataset_from_directory``).

``cnnlab.io`` is also cnnlab's package of model files (``save_model``, ``export_onnx``...): :class:`IoNamespace`
answers both, so ``tf.io.read_file`` and ``cnnlab.io.export_onnx`` work.

Example:
    >>> import cnnlab as tf
    >>> image = tf.io.decode_jpeg(tf.io.read_file("flower.jpg"), channels=3)  # doctest: +SKIP
    >>> image.dtype, image.shape  # doctest: +SKIP
    (torch.uint8, torch.Size([240, 320, 3]))
"""

from __future__ import annotations

import importlib
import io
import os
import warnings
from typing import Any

import numpy as np
import torch

from cnnlab.data._strings import StringTensor, matching_files as _matching_files
from cnnlab.data.image_folder import MAX_IMAGE_PIXELS
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError, DatasetNotFoundError, FileFormatError
from cnnlab.tf_names._args import Namespace, check_arguments, to_tensor
from cnnlab.tf_names.dtypes import as_dtype
from cnnlab.tf_names.strings import as_strings

tf_api = check_arguments("tf.io")

# The formats TF's image decoders read, as Pillow names them (Pillow's JPEG reader also returns cameras' MPO files).
_TF_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")
_CHANNEL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
_DECODE_DTYPES = (torch.uint8, torch.uint16, torch.float32)


def _path(filename: Any, where: str) -> str:
    if isinstance(filename, str | bytes | os.PathLike):
        return os.fsdecode(filename)
    tensor = as_strings(filename, where, "filename")
    if tensor.ndim:
        raise ArgumentTypeError(f"{where}: filename must be one path (a scalar string); got shape {tensor.shape}. "
                                f"Received: filename={filename!r:.80}")
    return os.fsdecode(tensor.numpy())


@tf_api
def read_file(filename: Any, name: str | None = None) -> StringTensor:
    """The bytes of a file, as a scalar string tensor (decode them with :func:`decode_image` and friends)."""
    path = _path(filename, "tf.io.read_file")
    if not os.path.exists(path):
        raise DatasetNotFoundError(f"tf.io.read_file: file '{path}' does not exist. Check the path (list a folder "
                                   f"with tf.io.matching_files or glob). Received: filename={path!r}")
    if os.path.isdir(path):
        raise DataError(f"tf.io.read_file: '{path}' is a folder, not a file. Give a file inside it, or list its "
                        f"files with tf.data.Dataset.list_files(folder + '/*'). Received: filename={path!r}")
    try:
        with open(path, "rb") as file:
            return StringTensor(file.read())
    except OSError as err:
        raise DataError(f"tf.io.read_file: cannot read '{path}': {err.strerror or err}. "
                        f"Received: filename={path!r}") from err


@tf_api
def write_file(filename: Any, contents: Any, name: str | None = None) -> None:
    """Write a scalar string (bytes) to a file, creating its folders as TF does; atomic (temp file, rename)."""
    from cnnlab.io.atomic import atomic_write

    path = _path(filename, "tf.io.write_file")
    data = as_strings(contents, "tf.io.write_file", "contents")
    if data.ndim:
        raise ArgumentTypeError(f"tf.io.write_file: contents must be one string; got shape {data.shape}. "
                                f"Received: contents={data!r:.80}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as file:
        file.write(data.numpy())


@tf_api
def matching_files(pattern: Any, name: str | None = None) -> StringTensor:
    """The paths matching a glob pattern (or a list of them), sorted per pattern; empty when none match."""
    return StringTensor._of(np.array(_matching_files(pattern, "tf.io.matching_files"), dtype=object))


# --------------------------------------------------------------------------- decoding


def _open(contents: Any, where: str):
    """A Pillow image over the bytes in ``contents`` (not yet decoded), size-checked against the bomb limit."""
    from PIL import Image, UnidentifiedImageError

    data = as_strings(contents, where, "contents")
    if data.ndim:
        raise ArgumentTypeError(f"{where}: contents must be the bytes of one image (a scalar string, as "
                                f"tf.io.read_file returns); got shape {data.shape}. Decode each one in "
                                "Dataset.map.")
    raw = data.numpy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw), formats=_TF_FORMATS)
    except UnidentifiedImageError as err:
        raise FileFormatError(f"{where}: the contents ({len(raw)} bytes, starting {raw[:8]!r}) are not an image in "
                              f"a format TF decodes ({', '.join(_TF_FORMATS)}). Check "
                              "that the file is an image and is not truncated.") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise FileFormatError(f"{where}: the image is too large to decode safely ({err}). Resize it first.") from err
    width, height = img.size
    if width * height > MAX_IMAGE_PIXELS:
        raise FileFormatError(f"{where}: the image is {width}x{height} = {width * height:,} pixels, more than the "
                              f"limit of {MAX_IMAGE_PIXELS:,} (a guard against decompression bombs). Resize it first.")
    return img


def _pixels(frame, channels: int) -> np.ndarray:
    """One decoded frame as ``(height, width, channels)``; ``channels=0`` keeps the image's own."""
    if channels == 0:
        if frame.mode == "P":
            frame = frame.convert("RGBA" if "transparency" in frame.info else "RGB")
        elif frame.mode in ("1", "CMYK", "YCbCr", "I", "F", "PA", "LAB", "HSV"):
            frame = frame.convert("L" if frame.mode in ("1", "I", "F") else "RGB")
    elif not (channels == 1 and frame.mode == "I;16"):
        frame = frame.convert(_CHANNEL_MODES[channels])
    array = np.array(frame)  # a writable copy: torch.from_numpy shares it
    return array.reshape(array.shape[0], array.shape[1], -1)


def _decode(contents: Any, channels: int | None, dtype: Any, where: str, animations: str) -> torch.Tensor:
    """Decode ``contents``; ``animations``: ``"frames"`` (always 4-D), ``"expand"`` (4-D for a GIF),
    ``"first"`` (the first frame) or ``"single"`` (refuse animated GIFs)."""
    from PIL import Image, ImageSequence

    channels = 0 if channels is None else int(channels)
    if channels not in (0, 1, 3, 4):
        raise ConfigError(f"{where}: channels must be 0 (the image's own), 1, 3 or 4. Received: channels={channels}")
    target = as_dtype(dtype, where)
    if target not in _DECODE_DTYPES:
        raise ConfigError(f"{where}: dtype must be tf.uint8, tf.uint16 or tf.float32. Received: dtype={dtype!r}")
    img = _open(contents, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if img.format in ("JPEG", "MPO") and channels == 1:
                img.draft("L", img.size)  # the luma plane itself, as libjpeg's grayscale output
            gif = img.format == "GIF"
            count = getattr(img, "n_frames", 1) if gif else 1
            if gif and count > 1 and animations == "single":
                raise FileFormatError(f"{where}: the GIF has {count} frames, but animated GIFs can only be "
                                      "decoded by tf.io.decode_gif or tf.io.decode_image.")
            if gif and animations in ("frames", "expand"):
                frames = [_pixels(frame.convert("RGB") if channels == 0 else frame, channels or 3)
                          for frame in ImageSequence.Iterator(img)]
                array = np.stack(frames)
            else:
                img.load()
                array = _pixels(img, channels)
    except FileFormatError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise FileFormatError(f"{where}: cannot decode the {img.format} image ({err}). The data is corrupt or "
                              "truncated; re-create or remove the file.") from err
    return torch.from_numpy(_convert(np.ascontiguousarray(array), target))


def _convert(array: np.ndarray, target: torch.dtype) -> np.ndarray:
    """Pixel values rescaled to ``target``, as ``tf.image.convert_image_dtype`` (uint8 255 -> uint16 65535)."""
    if array.dtype == np.uint16 and target == torch.uint8:
        return (array >> 8).astype(np.uint8)
    if array.dtype == np.uint8 and target == torch.uint16:
        return array.astype(np.uint16) * 257
    if target == torch.float32:
        return array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
    return array


@tf_api
def decode_image(contents: Any, channels: int | None = None, dtype: Any = torch.uint8, name: str | None = None,
                 expand_animations: bool = True) -> torch.Tensor:
    """Decode a JPEG, PNG, GIF, BMP or WebP image, whichever the bytes hold.

    Args:
        contents: the file's bytes (a scalar string tensor, e.g. from :func:`read_file`).
        channels: 0 or None for the image's own, or 1, 3, 4 to convert.
        dtype: ``tf.uint8`` (default), ``tf.uint16`` or ``tf.float32`` (values rescaled to 0..1).
        expand_animations: a GIF gives ``(frames, height, width, 3)``; False gives its first frame only.

    Shape:
        ``(height, width, channels)``, or ``(frames, height, width, 3)`` for a GIF with ``expand_animations``.
    """
    return _decode(contents, channels, dtype, "tf.io.decode_image", "expand" if expand_animations else "first")


@tf_api
def decode_jpeg(contents: Any, channels: int = 0, ratio: int = 1, fancy_upscaling: bool = True,
                try_recover_truncated: bool = False, acceptable_fraction: float = 1, dct_method: str = "",
                name: str | None = None) -> torch.Tensor:
    """Decode an image to ``uint8 (height, width, channels)``; ``ratio`` (1, 2, 4, 8) shrinks it by that factor
    (here by averaging ``ratio x ratio`` blocks after decoding; TF scales inside libjpeg's IDCT).

    TF's decoder options ``fancy_upscaling``, ``try_recover_truncated``, ``acceptable_fraction`` and
    ``dct_method`` are accepted; Pillow's libjpeg decodes with its own defaults, so pixels may differ from TF's
    by a few levels (as between TF's own DCT methods).
    """
    if ratio not in (1, 2, 4, 8):
        raise ConfigError(f"tf.io.decode_jpeg: ratio must be 1, 2, 4 or 8. Received: ratio={ratio!r}")
    image = _decode(contents, channels, torch.uint8, "tf.io.decode_jpeg", "single")
    if ratio == 1:
        return image
    pooled = torch.nn.functional.avg_pool2d(image.permute(2, 0, 1).float(), ratio, ceil_mode=True)
    return pooled.round().to(torch.uint8).permute(1, 2, 0).contiguous()


@tf_api
def decode_png(contents: Any, channels: int = 0, dtype: Any = torch.uint8, name: str | None = None) -> torch.Tensor:
    """Decode an image to ``(height, width, channels)``: ``tf.uint8`` or ``tf.uint16`` (16-bit greyscale kept)."""
    return _decode(contents, channels, dtype, "tf.io.decode_png", "single")


@tf_api
def decode_bmp(contents: Any, channels: int = 0, name: str | None = None) -> torch.Tensor:
    """Decode an image to ``uint8 (height, width, channels)``."""
    return _decode(contents, channels, torch.uint8, "tf.io.decode_bmp", "single")


@tf_api
def decode_gif(contents: Any, name: str | None = None) -> torch.Tensor:
    """Decode a GIF to ``uint8 (frames, height, width, 3)`` (one frame for a still image)."""
    return _decode(contents, 0, torch.uint8, "tf.io.decode_gif", "frames")


# --------------------------------------------------------------------------- encoding


def _encode(image: Any, where: str, file_format: str, channel_choices: tuple, **options: Any) -> StringTensor:
    from PIL import Image

    pixels = to_tensor(image, where, "image").detach().cpu()
    if pixels.dtype != torch.uint8 or pixels.dim() != 3 or pixels.shape[-1] not in channel_choices:
        raise ArgumentTypeError(f"{where}: image must be uint8 (height, width, channels) with channels in "
                                f"{channel_choices}; got {str(pixels.dtype).removeprefix('torch.')} "
                                f"{tuple(pixels.shape)}. Convert with tf.cast(tf.clip_by_value(x, 0, 255), tf.uint8). "
                                f"Received: image.shape={tuple(pixels.shape)}")
    array = pixels.numpy()
    out = io.BytesIO()
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(out, format=file_format, **options)
    return StringTensor(out.getvalue())


@tf_api
def encode_png(image: Any, compression: int = -1, name: str | None = None) -> StringTensor:
    """PNG bytes of a ``uint8 (height, width, channels)`` image (1, 3 or 4 channels)."""
    level = 6 if compression == -1 else int(compression)  # -1: zlib's default level, as TF
    return _encode(image, "tf.io.encode_png", "PNG", (1, 3, 4), compress_level=level)


@tf_api
def encode_jpeg(image: Any, format: str = "", quality: int = 95, progressive: bool = False,  # noqa: A002
                optimize_size: bool = False, chroma_downsampling: bool = True, density_unit: str = "in",
                x_density: int = 300, y_density: int = 300, xmp_metadata: str = "",
                name: str | None = None) -> StringTensor:
    """JPEG bytes of a ``uint8 (height, width, channels)`` image (1 or 3 channels), at ``quality`` 0..100."""
    return _encode(image, "tf.io.encode_jpeg", "JPEG", (1, 3), quality=int(quality), progressive=progressive,
                   optimize=optimize_size, subsampling=2 if chroma_downsampling else 0,
                   dpi=(x_density, y_density))


class IoNamespace(Namespace):
    """``tf.io``, also reached as ``cnnlab.io``: names it does not have come from the ``cnnlab.io`` package of
    model files (``cnnlab.io.save_model``, ``cnnlab.io.native``), so both readings of the name work."""

    def __getattr__(self, name: str) -> Any:
        package = importlib.import_module("cnnlab.io")
        if not name.startswith("__") and hasattr(package, name):
            return getattr(package, name)
        return super().__getattr__(name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(importlib.import_module("cnnlab.io"))))


# The decoders and encoders TF also lists under tf.image.
IMAGE_CODECS = ("decode_bmp", "decode_gif", "decode_image", "decode_jpeg", "decode_png", "encode_jpeg", "encode_png")

__all__ = ["decode_bmp", "decode_gif", "decode_image", "decode_jpeg", "decode_png", "encode_jpeg", "encode_png",
           "matching_files", "read_file", "write_file"]

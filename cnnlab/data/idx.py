"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number (two zero bytes, a dtype code, the number
of dimensions), one big-endian uint32 per dimension, then the array data in
big-endian C order. Files may be gzip-compressed; the reader tells the two
apart by their first bytes, not by the file name.

The reader trusts nothing in the file: it checks the magic number, the
dimensions and the exact data length, refuses headers that declare more data
than :data:`MAX_IDX_DATA_BYTES`, and never decompresses more than the header
declares (plus one byte to detect trailing data), so a gzip bomb cannot
exhaust memory.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cnnlab.errors import ArgumentTypeError, DatasetNotFoundError, FileFormatError, ShapeError
from cnnlab.io.atomic import temp_prefix

# Dtype codes of the IDX format (Y. LeCun's MNIST page), big-endian on disk.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_IDX_NDIM = 4
# Largest data section read_idx accepts (2 GiB); MNIST train images are 47 MB.
MAX_IDX_DATA_BYTES = 2**31

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 20
_CODE_BY_KIND = {dt.newbyteorder("=").str[1:]: code for code, dt in IDX_DTYPES.items()}
_DTYPE_NAMES = "uint8, int8, int16, int32, float32, float64"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Args:
        path: the file to read. Gzip compression is detected from the file's
            first bytes, whatever its name.

    Returns:
        A native-endian array with the file's dtype and shape, e.g. uint8
        ``(60000, 28, 28)`` for MNIST training images.

    Raises:
        DatasetNotFoundError: the file does not exist.
        FileFormatError: the path is a directory, or the file is corrupt,
            truncated, has trailing bytes, or is not an IDX file.

    Example:
        >>> write_idx(tmp / "y.idx", np.arange(3, dtype=np.uint8))  # doctest: +SKIP
        >>> read_idx(tmp / "y.idx")  # doctest: +SKIP
        array([0, 1, 2], dtype=uint8)
    """
    path = Path(path) if isinstance(path, (str, os.PathLike)) else path
    _check_is_file(path)
    try:
        raw = open(path, "rb")
    except OSError as err:
        raise FileFormatError(f"IDX file '{path}' cannot be opened: {err}. Check its permissions.") from err
    try:
        with raw:
            if raw.read(2) == _GZIP_MAGIC:
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_stream(stream, path, compressed=True)
            raw.seek(0)
            return _read_stream(raw, path, compressed=False)
    except (OSError, EOFError, zlib.error) as err:
        # gzip.BadGzipFile is an OSError; a cut-off gzip stream raises EOFError.
        raise FileFormatError(
            f"IDX file '{path}' could not be read: {type(err).__name__}: {err}. "
            "The file is corrupt or not gzip/IDX data; delete it and download it again."
        ) from err


def _check_is_file(path: Path) -> None:
    if not isinstance(path, Path):
        raise ArgumentTypeError(f"read_idx expects a file path; pass a str or pathlib.Path. Received: path={path!r:.80}")
    if not path.exists():
        raise DatasetNotFoundError(f"IDX file '{path}' does not exist. Check the path. Received: path='{path}'")
    if not path.is_file():
        raise FileFormatError(
            f"IDX path '{path}' is a directory (or another non-file); give the path of an IDX file such as "
            f"'{path / 'train-images-idx3-ubyte.gz'}'. Received: path='{path}'"
        )


def _read_stream(stream: BinaryIO, path: Path, compressed: bool) -> np.ndarray:
    dtype, shape = _read_header(stream, path)
    expected = math.prod(shape) * dtype.itemsize
    if not compressed:
        # For a raw file the size is known up front: no need to read to find out.
        header_bytes = 4 + 4 * len(shape)
        _check_length(path, expected, os.fstat(stream.fileno()).st_size - header_bytes)
    data = np.empty(expected, dtype=np.uint8)  # pages are only committed as they are filled
    got = _read_into(stream, memoryview(data))
    _check_length(path, expected, got)
    if stream.read(1):
        _check_length(path, expected, expected + 1, at_least=True)
    array = data.view(dtype).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def _read_header(stream: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = stream.read(4)
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        raise FileFormatError(
            f"'{path}' is not an IDX file: it should start with two zero bytes, a dtype code and the "
            f"number of dimensions; got first bytes {magic.hex(' ') or '(empty file)'}."
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise FileFormatError(f"IDX file '{path}' has unknown dtype code 0x{code:02X}; expected one of {known}.")
    if not 1 <= ndim <= MAX_IDX_NDIM:
        raise FileFormatError(f"IDX file '{path}' declares {ndim} dimensions; expected 1 to {MAX_IDX_NDIM}.")
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise FileFormatError(
            f"IDX file '{path}' is truncated inside its header: expected {4 * ndim} bytes of "
            f"dimensions, got {len(dims_bytes)}."
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    _check_shape(path, shape, IDX_DTYPES[code])
    return IDX_DTYPES[code], shape


def _check_shape(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if 0 in shape:
        raise FileFormatError(f"IDX file '{path}' declares an empty dimension: shape {shape}. Every dimension must be >= 1.")
    declared = math.prod(shape) * dtype.itemsize
    if declared > MAX_IDX_DATA_BYTES:
        raise FileFormatError(
            f"IDX file '{path}' declares shape {shape} of {dtype.newbyteorder('=').name}, i.e. {declared} bytes "
            f"of data; cnnlab refuses more than {MAX_IDX_DATA_BYTES} bytes. The header is corrupt or the "
            "file is not an image dataset."
        )


def _read_into(stream: BinaryIO, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``stream`` in chunks; return how many bytes were read."""
    filled = 0
    while filled < len(buffer):
        n = stream.readinto(buffer[filled : filled + _CHUNK_BYTES])
        if not n:
            break
        filled += n
    return filled


def _check_length(path: Path, expected: int, got: int, at_least: bool = False) -> None:
    if got == expected:
        return
    got_text = f"more than {expected}" if at_least else str(got)
    what = "has trailing bytes after its data" if got > expected else "is truncated"
    raise FileFormatError(
        f"IDX file '{path}' {what}: from its header, expected {expected} bytes of data, got {got_text}. "
        "Delete the file and download it again."
    )


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write an array as an IDX file (big-endian), optionally gzip-compressed.

    The write is atomic: data goes to a temporary file that is then renamed.

    Args:
        path: destination file.
        array: array of dtype uint8, int8, int16, int32, float32 or float64,
            with 1 to 4 dimensions, each at least 1.
        compress: gzip the file. ``None`` (default) compresses when the
            name ends in ``.gz``.

    Returns:
        The path written.

    Example:
        >>> write_idx("labels-idx1-ubyte.gz", np.array([3, 1, 4], dtype=np.uint8))  # doctest: +SKIP
    """
    path = Path(path)
    if not isinstance(array, np.ndarray):
        raise ArgumentTypeError(f"write_idx expects a NumPy array; got {type(array).__name__}. Received: array={array!r:.80}")
    code = _CODE_BY_KIND.get(array.dtype.newbyteorder("=").str[1:]) if array.dtype.kind in "uif" else None
    if code is None:
        raise ArgumentTypeError(
            f"write_idx: IDX files hold {_DTYPE_NAMES}; got dtype {array.dtype}. "
            f"Convert first, e.g. array.astype('int32'). Received: array.dtype={array.dtype}"
        )
    if not 1 <= array.ndim <= MAX_IDX_NDIM or 0 in array.shape or max(array.shape) >= 2**32:
        raise ShapeError(
            f"write_idx: IDX arrays need 1 to {MAX_IDX_NDIM} dimensions, each from 1 to 2**32-1; "
            f"got shape {array.shape}. Received: array.shape={array.shape}"
        )
    payload = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    payload += np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    _write_atomic(path, payload)
    return path


def _write_atomic(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

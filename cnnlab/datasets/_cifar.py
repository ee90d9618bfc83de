"""Reading CIFAR-10 and CIFAR-100 from their binary version, never from the pickled one.

Each ``.bin`` file is a run of fixed-size records: the label byte(s), then
3072 pixel bytes (the 1024 red values of the 32x32 image row by row, then the
1024 green, then the 1024 blue). The published ``.tar.gz`` archive is read as
a stream, nothing is extracted to disk, and its SHA-256 is checked in the same
pass. A folder already extracted by hand (``cifar-10-batches-bin/*.bin``) is
read too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data.sources import DatasetSpec, dataset_dir, find_dataset_files, keras_datasets_dir
from cnnlab.errors import DatasetNotFoundError, FileFormatError, UnsafeArchiveError

IMAGE_SHAPE = (3, 32, 32)  # channel planes, as stored in the files
PIXEL_BYTES = 3 * 32 * 32
# The archives' text files (class names, a readme) are a few kB; anything bigger is not the published archive.
MAX_OTHER_MEMBER_BYTES = 1 << 20
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class CifarLayout:
    """What one CIFAR archive holds; replace fields (``dataclasses.replace``) to read small test archives.

    Args:
        spec: where the archive is found or downloaded; ``spec.files`` holds
            the archive alone, with its SHA-256 and size.
        folder: the folder inside the archive (and of a hand-extracted copy).
        train_files: ``(member name, record count)`` of the training split, in order.
        test_files: the same for the test split.
        other_files: members that may be in the archive and are skipped.
        label_names: one name per label byte, e.g. ``("coarse", "fine")``.
        num_classes: one class count per label byte.
    """

    spec: DatasetSpec
    folder: str
    train_files: tuple[tuple[str, int], ...]
    test_files: tuple[tuple[str, int], ...]
    other_files: tuple[str, ...]
    label_names: tuple[str, ...]
    num_classes: tuple[int, ...]

    @property
    def record_bytes(self) -> int:
        return len(self.label_names) + PIXEL_BYTES

    @property
    def data_files(self) -> dict[str, int]:
        return dict(self.train_files + self.test_files)


Split = tuple[np.ndarray, np.ndarray]


def load_cifar(layout: CifarLayout, label: str, label_dtype: str) -> tuple[Split, Split]:
    """Find, check and decode a CIFAR dataset.

    Args:
        layout: the dataset's archive layout.
        label: which label byte becomes ``y`` (one of ``layout.label_names``).
        label_dtype: dtype of ``y``, to match what Keras returns.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``
        and labels ``(n, 1)``.

    Raises:
        DatasetNotFoundError: no local copy and no download possible.
        FileFormatError: a file is damaged, truncated or not the published one
            (:class:`~cnnlab.errors.UnsafeArchiveError` for links and foreign members).
    """
    buffers = {name: np.empty((count, layout.record_bytes), np.uint8) for name, count in layout.data_files.items()}
    source = _locate(layout)
    if source.is_dir():
        _read_folder(layout, source, buffers)
    else:
        _read_archive(layout, source, buffers)
    label_index = layout.label_names.index(label)
    splits = []
    for files in (layout.train_files, layout.test_files):
        records = np.concatenate([buffers.pop(name) for name, _ in files]) if len(files) > 1 else buffers.pop(files[0][0])
        y = records[:, label_index].astype(label_dtype).reshape(-1, 1)
        splits.append((_planes_to_hwc(records[:, len(layout.label_names):]), y))
    return splits[0], splits[1]


def _planes_to_hwc(pixels: np.ndarray) -> np.ndarray:
    """``(n, 3072)`` R, G, B planes to C-contiguous ``(n, 32, 32, 3)``."""
    channels, height, width = IMAGE_SHAPE
    out = np.empty((len(pixels), height, width, channels), np.uint8)
    plane = height * width
    # One plane at a time: about 10x faster than a contiguous copy of the transposed view.
    for c in range(channels):
        out[..., c] = pixels[:, c * plane:(c + 1) * plane].reshape(-1, height, width)
    return out


def _search_dirs(layout: CifarLayout) -> tuple[Path, ...]:
    return (dataset_dir(layout.spec), *layout.spec.system_dirs, keras_datasets_dir())


def _locate(layout: CifarLayout) -> Path:
    """The extracted folder or the archive, folder by folder in lookup order; else download the archive."""
    archive = layout.spec.files[0].name
    for folder in _search_dirs(layout):
        extracted = folder / layout.folder
        if all((extracted / name).is_file() for name in layout.data_files):
            return extracted
        for candidate in (folder / archive, folder / archive.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
    spec = dataclasses.replace(layout.spec, system_dirs=_search_dirs(layout)[1:])
    try:
        return find_dataset_files(spec)[archive]
    except DatasetNotFoundError as err:
        # The reason is in the message; the extracted layout is the other way to provide the data.
        raise DatasetNotFoundError(
            f"{err}\nAn extracted copy works too: '{dataset_dir(layout.spec) / layout.folder}' holding "
            f"{', '.join(layout.data_files)}."
        ) from None


def _read_folder(layout: CifarLayout, folder: Path, buffers: dict[str, np.ndarray]) -> None:
    for name, buffer in buffers.items():
        path = folder / name
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            _check_size(path, None, size, buffer)
            _read_exactly(f, buffer, path, None)
        _check_labels(layout, buffer, path, None)


class _HashingReader(io.RawIOBase):
    """A read-only stream that hashes every byte read through it."""

    def __init__(self, raw) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._raw.readinto(b)
        self.digest.update(memoryview(b)[:n])
        return n


def _read_archive(layout: CifarLayout, path: Path, buffers: dict[str, np.ndarray]) -> None:
    remote = layout.spec.files[0]
    prefix = layout.folder + "/"
    seen: set[str] = set()
    member_name = None
    with open(path, "rb") as raw:
        reader = _HashingReader(raw)
        try:
            with tarfile.open(fileobj=reader, mode="r|*") as tar:
                for member in tar:
                    member_name = member.name
                    name = _member_file(layout, path, member, seen)
                    if name is None:
                        continue
                    if name in buffers:
                        _check_size(path, member_name, member.size, buffers[name])
                        _read_exactly(tar.extractfile(member), buffers[name], path, member_name)
                        _check_labels(layout, buffers[name], path, member_name)
                    elif member.size > MAX_OTHER_MEMBER_BYTES:
                        raise FileFormatError(
                            f"'{path}' member '{member_name}' is {member.size} bytes; the published archive's text "
                            f"files are under {MAX_OTHER_MEMBER_BYTES} bytes. {_FIX}")
                member_name = None
            while reader.read(_CHUNK_BYTES):
                pass  # the rest of the file still counts for the checksum
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            where = f" in member '{member_name}'" if member_name else ""
            raise FileFormatError(f"'{path}' is not a readable tar archive{where}: {err}. The file is truncated or "
                                  f"damaged. {_FIX}") from err
    # A gunzipped copy (.tar) has no published hash; its members are checked all the same.
    if path.name == remote.name and reader.digest.hexdigest() != remote.sha256:
        raise FileFormatError(
            f"'{path}' is not the published {remote.name}: expected SHA-256 {remote.sha256}, got "
            f"{reader.digest.hexdigest()}. The file is truncated, damaged or altered. {_FIX}")
    missing = [name for name in buffers if name not in seen]
    if missing:
        raise FileFormatError(f"'{path}' lacks member(s) {', '.join(prefix + m for m in missing)}: it is truncated "
                              f"or not the {layout.spec.title} archive. {_FIX}")


def _member_file(layout: CifarLayout, path: Path, member: tarfile.TarInfo, seen: set[str]) -> str | None:
    """The file name of an archive member (None for the top folder); refuse anything else and add it to ``seen``."""
    prefix = layout.folder + "/"
    if member.name.rstrip("/") == layout.folder and member.isdir():
        return None
    allowed = set(layout.data_files) | set(layout.other_files)
    name = member.name.removeprefix(prefix)
    if not member.name.startswith(prefix) or name not in allowed:
        raise UnsafeArchiveError(
            f"'{path}' holds member '{member.name}', which is not part of the {layout.spec.title} archive (expected "
            f"only '{prefix}' + one of {', '.join(sorted(allowed))}), so the file is not the published one. {_FIX}")
    if not member.isfile():
        raise UnsafeArchiveError(f"'{path}' member '{member.name}' is a {_kind(member)}, not a regular file; links "
                                 f"and special files are never followed. {_FIX}")
    if name in seen:
        raise UnsafeArchiveError(f"'{path}' holds member '{member.name}' twice. {_FIX}")
    seen.add(name)
    return name


_FIX = "Delete it so that it is downloaded again, or replace it with the original from https://www.cs.toronto.edu/~kriz/."


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"symbolic link to '{member.linkname}'"
    if member.islnk():
        return f"hard link to '{member.linkname}'"
    if member.isdir():
        return "folder"
    return "device or special file"


def _where(path: Path, member: str | None) -> str:
    return f"'{path}' member '{member}'" if member else f"'{path}'"


def _check_size(path: Path, member: str | None, size: int, buffer: np.ndarray) -> None:
    # Checked before reading: a member of the wrong size is refused without decompressing it.
    if size != buffer.nbytes:
        count, record_bytes = buffer.shape
        raise FileFormatError(f"{_where(path, member)} is {size} bytes; expected {buffer.nbytes} ({count} records "
                              f"of {record_bytes} bytes). {_FIX}")


def _read_exactly(f, buffer: np.ndarray, path: Path, member: str | None) -> None:
    view = memoryview(buffer.reshape(-1))
    done = 0
    while done < len(view):
        # Bounded reads: tarfile copies each request through a bytes object, slow for a 150 MB one.
        n = f.readinto(view[done:done + _CHUNK_BYTES])
        if not n:
            raise FileFormatError(f"{_where(path, member)} ends at byte offset {done}; expected {len(view)} bytes. "
                                  f"The file is truncated. {_FIX}")
        done += n


def _check_labels(layout: CifarLayout, records: np.ndarray, path: Path, member: str | None) -> None:
    for index, (label, count) in enumerate(zip(layout.label_names, layout.num_classes)):
        bad = np.flatnonzero(records[:, index] >= count)
        if len(bad):
            record = int(bad[0])
            raise FileFormatError(
                f"{_where(path, member)}: record {record} (byte offset {record * layout.record_bytes + index}) has {label} label "
                f"{int(records[record, index])}; expected 0..{count - 1}. {_FIX}")

"""The zip containers ``.cnnlab`` and ``.keras``: checked members, bounded streamed reads, stored writes.

Every member is checked before anything is read (:func:`open_archive`): a plain name from the format's list,
no symlink, no duplicate, no encryption, stored or deflated only, and a declared size that the bytes on disk
can back. Reads stream through a counter (:func:`open_member`), so a member that expands beyond its bound --
which the caller derives from the model it belongs to -- is refused after at most that many bytes, whatever
its header claims. Weight members are written stored (uncompressed: floats do not deflate, and Keras stores
them too) and streamed tensor by tensor (:func:`write_stored`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from cnnlab.errors import FileFormatError
from cnnlab.io.limits import MAX_DEFLATE_RATIO, MAX_MEMBER_BYTES, MAX_WEIGHT_DEFLATE_RATIO

_SYMLINK = 0o120000
_ENCRYPTED = 0x1  # general purpose bit 0
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 99: "AES encryption", 93: "zstandard"}
_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error, NotImplementedError, RuntimeError)


def open_archive(path: Path, members: tuple[str, ...], kind: str) -> zipfile.ZipFile:
    """Open the zip at ``path`` after checking every member against the rules above.

    Args:
        path: the file, named in every message.
        members: the only member names the format has.
        kind: the format, for messages (``".cnnlab"``, ``".keras"``).

    Raises:
        FileFormatError: not a zip, or a member breaking a rule (the member is named).
    """
    try:
        zf = zipfile.ZipFile(path)
    except OSError as err:  # unreadable: permissions, a vanished mount, an I/O error
        raise FileFormatError(f"'{path}' cannot be opened ({err.strerror or err}). Check the file's permissions "
                              "and that it is readable.") from err
    except (zipfile.BadZipFile, ValueError, EOFError) as err:
        hint = " or an HDF5 model misnamed: rename an HDF5 model file to end with .h5" if kind == ".keras" else ""
        raise FileFormatError(
            f"'{path}' is not a {kind} model file (not a zip archive: {err}). It may be truncated{hint}; check "
            f"that the copy finished, or re-save the model with model.save('model{kind}')."
        ) from err
    try:
        archive_size = os.fstat(zf.fp.fileno()).st_size
        seen: set[str] = set()
        for info in zf.infolist():
            _check_member(info, path, members, kind, seen, archive_size)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_member(info: zipfile.ZipInfo, path: Path, members: tuple[str, ...], kind: str, seen: set[str],
                  archive_size: int) -> None:
    name = info.filename
    if stat.S_IFMT(info.external_attr >> 16) == _SYMLINK:
        raise FileFormatError(f"'{path}' holds a symbolic link {name!r}; refusing to load it. Re-save the model.")
    if name not in members:
        unsafe = name.startswith(("/", "\\")) or ".." in Path(name.replace("\\", "/")).parts or ":" in name
        what = " with an unsafe path" if unsafe else ""
        raise FileFormatError(f"'{path}' holds an unexpected member {name!r}{what} (a {kind} file has only "
                              f"{', '.join(members)}); refusing to load it. Re-save the model.")
    if name in seen:  # zipfile would silently read the last copy; another tool may read the first
        raise FileFormatError(f"'{path}' holds member {name!r} twice; which copy is the model is ambiguous, so "
                              "the file was crafted or damaged. Refusing to load it; re-save the model.")
    seen.add(name)
    if info.flag_bits & _ENCRYPTED:
        raise FileFormatError(f"'{path}': member {name!r} is encrypted; a model file is never encrypted. "
                              "Decrypt it with the tool that encrypted it, or re-save the model.")
    if info.compress_type not in _METHODS:
        method = _METHOD_NAMES.get(info.compress_type, "unknown")
        raise FileFormatError(f"'{path}': member {name!r} uses compression method {info.compress_type} "
                              f"({method}); a {kind} file uses only stored (0) or deflate (8). Re-save the model.")
    if info.file_size > MAX_MEMBER_BYTES:
        raise FileFormatError(f"'{path}': member {name!r} declares {info.file_size} bytes, over the "
                              f"{MAX_MEMBER_BYTES}-byte limit; refusing to load it. Check the file's source.")
    if info.header_offset + info.compress_size > archive_size:
        raise FileFormatError(f"'{path}': member {name!r} declares {info.compress_size} stored bytes at offset "
                              f"{info.header_offset}, past the end of the {archive_size}-byte file; it is truncated "
                              "or crafted. Check that the copy finished, or re-save the model.")
    expands = info.file_size if info.compress_type == zipfile.ZIP_STORED else info.file_size / MAX_DEFLATE_RATIO
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size \
            or expands > max(info.compress_size, 1):
        raise FileFormatError(f"'{path}': member {name!r} declares {info.file_size} bytes from "
                              f"{info.compress_size} stored bytes, more than {_METHODS[info.compress_type]} can "
                              "produce (a zip bomb or a damaged file); refusing to load it. Re-save the model.")


def declared_bytes(zf: zipfile.ZipFile, name: str) -> int:
    """The size ``name`` declares, already checked by :func:`open_archive` against its bytes on disk."""
    return zf.getinfo(name).file_size


class _BoundedMember:
    """A member's read stream that refuses to yield more than ``limit`` bytes and names the member on errors."""

    def __init__(self, handle: IO[bytes], path: Path, name: str, limit: int, need: str) -> None:
        self._handle, self._path, self._name, self.limit, self._need = handle, path, name, limit, need
        self.count = 0

    def read(self, size: int) -> bytes:
        size = min(size, self.limit + 1 - self.count)
        try:
            data = self._handle.read(size) if size > 0 else b""
        except _READ_ERRORS as err:
            raise corrupt_member(self._path, self._name, err) from err
        self.count += len(data)
        if self.count > self.limit:
            raise FileFormatError(
                f"'{self._path}': {self._name} expands beyond {self.limit} bytes, but {self._need} (a zip bomb or "
                "a damaged file); refusing to load it. Re-save the model from its source.")
        return data


def corrupt_member(path: Path, name: str, err: BaseException) -> FileFormatError:
    return FileFormatError(f"'{path}': {name} is corrupt ({type(err).__name__}: {err}). Re-save the model.")


@contextlib.contextmanager
def open_member(zf: zipfile.ZipFile, name: str, path: Path, limit: int, need: str, kind: str) -> Iterator[
        _BoundedMember]:
    """Stream member ``name``, refusing it when it declares or yields more than ``limit`` bytes.

    Args:
        limit: the most bytes the member may hold, derived from what the model needs.
        need: what ``limit`` stands for, for the message (e.g. ``"model 'm' needs at most 4200 bytes"``).
        kind: the format, for the message when the member is missing.
    """
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise FileFormatError(f"'{path}' is missing {name}: the file is incomplete or not a {kind} model. "
                              "Re-save the model.") from None
    if info.file_size > limit:
        raise FileFormatError(f"'{path}': {name} declares {info.file_size} bytes, but {need}; refusing to load "
                              "it (a zip bomb, or a file saved from another model). Re-save the model.")
    try:
        handle = zf.open(info)
    except _READ_ERRORS as err:
        raise corrupt_member(path, name, err) from err
    with handle:
        yield _BoundedMember(handle, path, name, limit, need)


def read_member(zf: zipfile.ZipFile, name: str, path: Path, limit: int, kind: str, need: str | None = None) -> bytes:
    """The bytes of member ``name`` (at most ``limit``; see :func:`open_member`), read in one piece so that a
    large member is held once, not as chunks plus their join."""
    need = need or f"a {kind} file's {name} is never that large"
    with open_member(zf, name, path, limit, need, kind) as fh:
        return fh.read(limit + 1)


def backed_bytes(zf: zipfile.ZipFile, name: str, path: Path, kind: str) -> int:
    """How many bytes member ``name`` can really hold, to bound the weights a config may create before the
    member is read: a stored member its size, a deflated one at most MAX_WEIGHT_DEFLATE_RATIO x its bytes."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise FileFormatError(f"'{path}' is missing {name}: the file is incomplete or not a {kind} model. "
                              "Re-save the model.") from None
    if info.compress_type == zipfile.ZIP_STORED:
        return info.file_size
    return min(info.file_size, info.compress_size * MAX_WEIGHT_DEFLATE_RATIO)


def write_stored(zf: zipfile.ZipFile, name: str, size: int, write: Callable[[IO[bytes]], None]) -> None:
    """Write member ``name`` uncompressed by streaming: ``write(fh)`` must write exactly ``size`` bytes."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.file_size = size  # lets zipfile choose zip64 headers up front for members over 2 GiB
    with zf.open(info, "w") as fh:
        write(fh)

"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Checkpoints are written here so that a crash, a full disk or a killed job in
the middle of a save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from typing import IO, Any

from cnnlab.errors import CheckpointError, ConfigError

# OSError numbers that mean "this file cannot be written here", as opposed to
# a bug in the code that produces the bytes.
_WRITE_FAILURES = {
    errno.ENOENT: "its directory does not exist",
    errno.ENOTDIR: "a part of its directory path is a file, not a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EISDIR: "the path is an existing directory",
    errno.EFBIG: "the file would exceed the file-size limit of this process (ulimit -f) or of the file system",
    errno.ENAMETOOLONG: "the file name is too long for the file system",
}
# Failures that can only come from writing the bytes themselves.
_BODY_WRITE_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}
_FIXES = {
    errno.ENOENT: "Create the directory first, e.g. os.makedirs({dir!r}, exist_ok=True), or choose another path.",
    errno.ENOTDIR: "Choose a path whose parent folders are all directories.",
    errno.EACCES: "Choose a directory you can write to, or change its permissions.",
    errno.EPERM: "Choose a directory you can write to, or change its permissions.",
    errno.EROFS: "Choose a directory on a writable file system.",
    errno.ENOSPC: "Free some disk space or choose a directory on another disk.",
    errno.EDQUOT: "Free some space within your quota or choose another directory.",
    errno.EISDIR: "Give a file name, not a directory, e.g. {path!r} + '/model.cnnlab'.",
    errno.EFBIG: "Raise the limit (ulimit -f unlimited), or choose a directory on a file system that allows larger "
                 "files.",
    errno.ENAMETOOLONG: "Choose a shorter file name (at most 255 bytes per path component on most file systems).",
}
# A temporary file's name keeps this many characters of the final name (for people looking at the folder) and
# adds a random suffix; short, so that any name the file system accepts can be saved (255 bytes per component).
_TEMP_NAME_CHARS = 24


def checkpoint_error(path: str, err: OSError, kept: str = "The previous file, if any, is left unchanged.") -> \
        CheckpointError:
    """Build the error for a write that failed with ``err``; ``kept`` says what is still on disk."""
    directory = os.path.dirname(path) or "."
    why = _WRITE_FAILURES.get(err.errno, err.strerror or str(err))
    fix = _FIXES.get(err.errno, "Check that the directory exists and is writable.").format(dir=directory, path=path)
    return CheckpointError(
        f"Cannot write {path!r}: {why} ({err.__class__.__name__}: {err.strerror or err}). "
        f"{kept} {fix} Received: path={path!r}"
    )


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable; some file systems refuse, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path(path: str | os.PathLike, suffix: str = ".tmp") -> str:
    """A fresh hidden name beside ``path`` for writing it atomically, at most ~120 bytes long whatever ``path`` is.

    Example:
        >>> os.path.basename(temp_path("/data/" + "x" * 250 + ".cnnlab")).startswith(".xxxxxxxx")
        True
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name[:_TEMP_NAME_CHARS]}.{secrets.token_hex(6)}{suffix}")


def temp_prefix(name: str) -> str:
    """The hidden prefix for ``tempfile.mkstemp``/``mkdtemp`` beside a file called ``name``, short whatever ``name``
    is (a legal 255-byte file name must still leave room for its temporary name)."""
    return f".{name[:_TEMP_NAME_CHARS]}."


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file next to ``path`` and move it onto ``path`` on success.

    The bytes go to a hidden temporary file in the same directory; on leaving
    the block without error the file is flushed, ``fsync``-ed and renamed onto
    ``path`` with :func:`os.replace` (atomic on POSIX and Windows). If the
    block raises, the temporary file is removed, ``path`` is left exactly as
    it was, and the exception propagates.

    Args:
        path: the final file path.
        mode: a write mode: ``"wb"`` (default) or ``"w"`` for text.
        **open_kwargs: passed to :func:`open`, e.g. ``encoding="utf-8"``.

    Yields:
        The open temporary file.

    Raises:
        CheckpointError: the directory is missing, read-only or full (the
            message names the path and the fix).
        ConfigError: ``mode`` is not a write mode.

    Example:
        >>> with atomic_write("/tmp/weights.bin") as f:
        ...     _ = f.write(b"\\x00\\x01")
    """
    if mode not in ("w", "wb", "wt", "w+", "wb+", "w+b"):
        raise ConfigError(f"atomic_write only writes whole files; mode must be 'wb' or 'w'. Received: mode={mode!r}")
    path = os.fspath(path)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    temp = temp_path(path)
    try:
        # 0o666 lets the umask decide the permissions, as for a plain open().
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:
        raise checkpoint_error(path, err) from err
    in_block = False
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            in_block = True
            yield f
            in_block = False
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as err:
        _remove_quietly(temp)
        # Inside the block only a full or read-only disk is surely about this
        # file; any other OSError there belongs to the caller's own code.
        codes = _BODY_WRITE_FAILURES if in_block else _WRITE_FAILURES
        if isinstance(err, OSError) and not isinstance(err, CheckpointError) and err.errno in codes:
            raise checkpoint_error(path, err) from err
        raise
    _fsync_directory(directory)

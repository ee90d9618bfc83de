"""``get_file``: download a file into Keras's cache, check its hash, and extract it safely.

Same arguments, defaults and returned paths as ``keras.utils.get_file``. The
download goes to a temporary file in the cache folder and replaces the target
only once complete and matching ``file_hash``. Archives are extracted into a
temporary folder that is renamed into place at the end, after every member has
been checked: paths that leave the folder, absolute paths, links, devices and
archives that expand too much (a "zip bomb") are refused before anything is
written, so a refused archive leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.parse
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from cnnlab.data.sources import KERAS_HOME_ENV, OFFLINE_ENV, fetch_url, is_offline
from cnnlab.errors import ConfigError, DatasetNotFoundError, FileFormatError, UnsafeArchiveError, did_you_mean
from cnnlab.io.atomic import temp_prefix

# Extraction limits; module attributes so that a caller (or a test) can adjust them.
MAX_MEMBERS = 1_000_000
MAX_EXTRACTED_BYTES = 64 << 30
# Image and text datasets expand 1-10x; bombs expand thousands of times. Small archives get a floor.
MAX_EXPANSION_RATIO = 100
MIN_EXPANSION_ALLOWANCE_BYTES = 1 << 20

_HASH_ALGORITHMS = {"sha256": 64, "md5": 32}
_ARCHIVE_FORMATS = ("tar", "zip")
_COPY_CHUNK_BYTES = 1 << 20
# Python < 3.11.4 has no extraction filters (nor their error); our own checks still run.
_TAR_FILTER_ERROR = getattr(tarfile, "FilterError", ())


def get_file(fname: str | os.PathLike | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto", extract: bool = False, archive_format: str | list[str] | None = "auto",
             cache_dir: str | os.PathLike | None = None, force_download: bool = False) -> str:
    """Download a file from a URL unless it is already in the cache (Keras's ``keras.utils.get_file``).

    Args:
        fname: local file name; None takes the last part of ``origin``'s path.
            With ``extract=True`` a name without a dot names the extraction
            folder (the archive is saved as ``<fname>_archive``); a name with a
            dot is the archive's name and the folder is ``<stem>_extracted``.
        origin: the URL (``https://``, ``http://`` or ``file://``).
        untar: deprecated form of ``extract=True, archive_format="tar"``.
        md5_hash: deprecated form of ``file_hash=..., hash_algorithm="md5"``.
        file_hash: expected SHA-256 or MD5 hex digest of the file.
        cache_subdir: folder under ``cache_dir``; an absolute path is used as is.
        hash_algorithm: ``"sha256"``, ``"md5"`` or ``"auto"`` (chosen by the
            length of ``file_hash``).
        extract: extract the file (tar, tar.gz, tar.bz2, tar.xz or zip).
        archive_format: ``"auto"`` (tar, then zip), ``"tar"``, ``"zip"``, a
            list of those, or None (do not extract).
        cache_dir: the cache root; None means ``$KERAS_HOME`` or ``~/.keras``
            (``/tmp/.keras`` when the home folder is read-only).
        force_download: download again even if the file is cached.

    Returns:
        The path of the file, or of the extraction folder when ``extract``.

    Raises:
        ConfigError: bad arguments (no ``origin``, a path as ``fname``, an
            unknown hash algorithm or a hash of the wrong length).
        FileFormatError: the download does not match ``file_hash`` (nothing is
            kept), or the archive is damaged.
        UnsafeArchiveError: a member that would land outside the folder, a
            link or device, or an archive that expands too much.
        DatasetNotFoundError: the URL cannot be fetched (or downloads are off:
            ``CNNLAB_OFFLINE``).

    Example:
        >>> path = get_file(origin="https://example.com/flower_photos.tgz", extract=True)  # doctest: +SKIP
        >>> os.listdir(path)  # doctest: +SKIP
        ['flower_photos']
    """
    if not origin:
        raise ConfigError("get_file: give the URL to download as origin=. Received: origin=None")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _hash_algorithm(hash_algorithm, file_hash)
    datadir = _cache_folder(cache_dir) / cache_subdir
    datadir.mkdir(parents=True, exist_ok=True)
    download_target, extraction_dir = _targets(datadir, fname, origin, extract or untar)

    downloaded = False
    if force_download or not download_target.exists():
        _download(origin, download_target, algorithm, file_hash)
        downloaded = True
    elif file_hash is not None and _hash_file(download_target, algorithm) != file_hash.lower():
        warnings.warn(f"get_file: the cached '{download_target}' does not match its {algorithm} hash "
                      f"{file_hash} (incomplete or outdated); downloading it again.", stacklevel=2)
        _download(origin, download_target, algorithm, file_hash)
        downloaded = True

    if not (extract or untar):
        return str(download_target)
    formats = _archive_formats("tar" if untar else archive_format)
    if downloaded or not extraction_dir.is_dir():
        if not extract_archive(download_target, extraction_dir, formats):
            warnings.warn(f"get_file: could not extract '{download_target}': it is not a "
                          f"{' or '.join(formats) or 'known'} archive (archive_format={archive_format!r}).",
                          stacklevel=2)
    return str(extraction_dir)


def _hash_algorithm(hash_algorithm: str, file_hash: str | None) -> str:
    if hash_algorithm not in ("auto", *_HASH_ALGORITHMS):
        raise ConfigError(f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5'."
                          f"{did_you_mean(str(hash_algorithm), _HASH_ALGORITHMS)} Received: hash_algorithm={hash_algorithm!r}")
    if file_hash is None:
        return "sha256" if hash_algorithm == "auto" else hash_algorithm
    # Keras's rule for "auto": a 64-digit hash is SHA-256, anything else MD5.
    algorithm = hash_algorithm if hash_algorithm != "auto" else ("sha256" if len(file_hash) == 64 else "md5")
    digits = _HASH_ALGORITHMS[algorithm]
    if len(file_hash) != digits or any(c not in "0123456789abcdefABCDEF" for c in file_hash):
        raise ConfigError(f"get_file: file_hash must be the {digits} hex digits of the file's {algorithm} "
                          f"(sha256sum or md5sum print it). Received: file_hash={file_hash!r}")
    return algorithm


def _cache_folder(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is None:
        env = os.environ.get(KERAS_HOME_ENV)
        cache_dir = env if env else Path.home() / ".keras"
    base = Path(cache_dir).expanduser()
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    # As Keras does: a cache folder that cannot be written falls back to one under /tmp.
    return base if os.access(base, os.W_OK) else Path(tempfile.gettempdir()) / ".keras"


def _targets(datadir: Path, fname, origin: str, extract: bool) -> tuple[Path, Path]:
    """The download path and the extraction folder, named as Keras names them."""
    given = os.fspath(fname) if fname is not None else ""
    name = given or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ConfigError(f"get_file: cannot take a file name from origin {origin!r}; pass fname='data.zip'. "
                          f"Received: fname={fname!r}")
    if os.sep in name or "/" in name or name in (".", ".."):
        raise ConfigError(f"get_file: fname is a file name, not a path; give the folder as cache_dir=. "
                          f"Received: fname={fname!r}")
    if not extract:
        return datadir / name, datadir / name
    if given and "." in name:
        return datadir / name, datadir / f"{name[:name.find('.')]}_extracted"
    return datadir / f"{name}_archive", datadir / name


def _download(origin: str, target: Path, algorithm: str, file_hash: str | None) -> None:
    scheme = urllib.parse.urlsplit(origin).scheme
    if is_offline() and scheme != "file":
        raise DatasetNotFoundError(f"get_file: downloads are off ({OFFLINE_ENV}={os.environ.get(OFFLINE_ENV)}), so "
                                   f"'{origin}' was not fetched. Put the file at '{target}' or unset {OFFLINE_ENV}.")
    try:
        digest = fetch_url(origin, target, algorithm=algorithm, expected=file_hash)
    except (OSError, urllib.error.URLError, ValueError) as err:
        raise DatasetNotFoundError(f"get_file: could not download '{origin}': {err}. Check the URL and the network, "
                                   f"or put the file at '{target}' yourself.") from err
    if file_hash is not None and digest != file_hash.lower():
        raise FileFormatError(f"get_file: the file downloaded from '{origin}' does not match file_hash, so it was "
                              f"not kept: expected {algorithm} {file_hash.lower()}, got {digest}. The download is "
                              f"incomplete or the file changed; check file_hash or try again.")


def _hash_file(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_COPY_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _archive_formats(archive_format) -> list[str]:
    if archive_format is None:
        return []
    formats = list(_ARCHIVE_FORMATS) if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt not in _ARCHIVE_FORMATS:
            raise ConfigError(f"get_file: archive_format must be 'auto', 'tar', 'zip', a list of those, or None."
                              f"{did_you_mean(str(fmt), _ARCHIVE_FORMATS)} Received: archive_format={archive_format!r}")
    return formats


def extract_archive(file_path: str | os.PathLike, path: str | os.PathLike, archive_format="auto") -> bool:
    """Safely extract a tar or zip archive into the folder ``path``, replacing it.

    Every member is checked before anything is written; the archive is
    unpacked into a temporary sibling folder that is renamed to ``path`` at
    the end, so ``path`` never holds half an archive.

    Args:
        file_path: the archive.
        path: the folder to extract into.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"``, a list, or None.

    Returns:
        True if the file was an archive of one of the formats and was extracted.

    Raises:
        UnsafeArchiveError: a member breaks a safety rule (the message names it and the rule).
        FileFormatError: the archive is damaged.
    """
    archive, dest = Path(file_path), Path(path)
    for fmt in _archive_formats(archive_format):
        if fmt == "tar" and tarfile.is_tarfile(archive):
            _extract_atomically(archive, dest, _extract_tar)
            return True
        if fmt == "zip" and zipfile.is_zipfile(archive):
            _extract_atomically(archive, dest, _extract_zip)
            return True
    return False


def _extract_atomically(archive: Path, dest: Path, extract) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=temp_prefix(dest.name), suffix=".part"))
    try:
        try:
            extract(archive, tmp)
        except _TAR_FILTER_ERROR as err:
            raise UnsafeArchiveError(f"get_file: refused to extract '{archive}': {err}. Nothing was extracted. "
                                     "Only download archives from sources you trust.") from err
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, RuntimeError, OSError) as err:
            raise FileFormatError(f"get_file: cannot extract '{archive}': {err}. The archive is damaged or "
                                  "incomplete; delete it (or pass force_download=True) to download it again.") from err
        if dest.exists():
            old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=temp_prefix(dest.name), suffix=".old"))
            os.replace(dest, old / dest.name)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _refuse(archive: Path, member: str, rule: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"get_file: refused to extract '{archive}': member '{member}' {rule}. Nothing was "
                              "extracted. Only download archives from sources you trust.")


def _check_name(archive: Path, name: str) -> str:
    """Return ``name`` normalised; refuse names that are absolute or climb out of the folder."""
    if not name or "\x00" in name:
        raise _refuse(archive, name, "has an empty or invalid name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise _refuse(archive, name, "has an absolute path (rule: paths stay inside the extraction folder)")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        raise _refuse(archive, name, "climbs out of the extraction folder with '..' (path traversal)")
    return "/".join(p for p in parts if p != ".")


class _Budget:
    """Counts members and bytes against the bomb limits, so a refusal comes before any write."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.members = 0
        self.bytes = 0
        self.limit = min(MAX_EXTRACTED_BYTES,
                         max(MIN_EXPANSION_ALLOWANCE_BYTES, MAX_EXPANSION_RATIO * archive.stat().st_size))
        self.names: set[str] = set()

    def add(self, name: str, size: int, is_dir: bool) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise _refuse(self.archive, name, f"is beyond the limit of {MAX_MEMBERS} members (rule: archive bombs)")
        # Some tools list a folder twice; a second file of the same name would silently replace the first.
        if name in self.names and not is_dir:
            raise _refuse(self.archive, name, "appears twice (rule: a member may not overwrite another)")
        self.names.add(name)
        self.bytes += size
        if self.bytes > self.limit:
            raise _refuse(self.archive, name, f"takes the extracted size past {self.limit} bytes, "
                                              f"{MAX_EXPANSION_RATIO}x the archive's size (rule: archive bombs)")


def _extract_tar(archive: Path, dest: Path) -> None:
    budget = _Budget(archive)
    with tarfile.open(archive) as tar:
        members = []
        for member in tar:
            name = _check_name(archive, member.name)
            if member.issym() or member.islnk():
                raise _refuse(archive, member.name, f"is a link to '{member.linkname}' (rule: no symbolic or hard links)")
            if not (member.isreg() or member.isdir()) or member.issparse():
                raise _refuse(archive, member.name, "is a device, pipe or sparse file (rule: regular files and "
                                                    "folders only)")
            budget.add(name, member.size, member.isdir())
            members.append(member)
        # Python's own "data" filter checks again as each member is written.
        tar.extractall(dest, members=members, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))


def _extract_zip(archive: Path, dest: Path) -> None:
    budget = _Budget(archive)
    with zipfile.ZipFile(archive) as zf:
        infos = []
        for info in zf.infolist():
            name = _check_name(archive, info.filename)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind == stat.S_IFLNK:
                raise _refuse(archive, info.filename, "is a symbolic link (rule: no symbolic or hard links)")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise _refuse(archive, info.filename, "is a device or pipe (rule: regular files and folders only)")
            budget.add(name, info.file_size, info.is_dir())
            infos.append((name, info))
        for name, info in infos:
            target = dest.joinpath(*name.split("/"))
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "xb") as out:
                _copy_bounded(src, out, info.file_size, archive, info.filename)


def _copy_bounded(src, out, size: int, archive: Path, member: str) -> None:
    # zipfile stops at the declared size, but a lying header must not be trusted to bound the write.
    written = 0
    while chunk := src.read(_COPY_CHUNK_BYTES):
        written += len(chunk)
        if written > size:
            raise _refuse(archive, member, f"holds more than its declared {size} bytes (rule: archive bombs)")
        out.write(chunk)

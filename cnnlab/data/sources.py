"""Finding dataset files: the data folder, system locations, then mirrors.

Each file of a dataset is looked for, in order, in

1. ``$CNNLAB_DATA/<dataset>/`` if ``CNNLAB_DATA`` is set, else
   ``~/.cache/cnnlab/<dataset>/`` (both compressed ``.gz`` and gunzipped
   copies are accepted);
2. system locations, e.g. ``/usr/share/datasets/fashion-mnist/`` from
   Debian's ``dataset-fashion-mnist`` package;
3. the dataset's public mirrors, downloaded into the folder of step 1 and
   checked against a pinned SHA-256 (``CNNLAB_OFFLINE=1`` skips this step).

When a file is found nowhere, :class:`~cnnlab.errors.DatasetNotFoundError`
says which files to put in which folder and where to download them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data.idx import read_idx
from cnnlab.errors import DatasetNotFoundError, FileFormatError
from cnnlab.io.atomic import temp_prefix

DATA_ENV = "CNNLAB_DATA"
OFFLINE_ENV = "CNNLAB_OFFLINE"
KERAS_HOME_ENV = "KERAS_HOME"  # keras/src/backend/config.py
DOWNLOAD_TIMEOUT_S = 60.0
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset with its published identity."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's files live and how to recognise them.

    Args:
        name: folder name under the data home, e.g. ``"fashion-mnist"``.
        title: name shown to people, e.g. ``"Fashion-MNIST"``.
        files: the files, each with its SHA-256 and size in bytes.
        mirrors: base URLs, tried in order; a file's URL is base + name.
        system_dirs: read-only folders where an OS package puts the files.
        apt_package: Debian/Ubuntu package that installs the files, if any.
    """

    name: str
    title: str
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]
    system_dirs: tuple[Path, ...] = ()
    apt_package: str | None = None

    def urls_for(self, name: str) -> tuple[str, ...]:
        """Return the download URLs of file ``name``, one per mirror."""
        return tuple(mirror + name for mirror in self.mirrors)


def data_home() -> Path:
    """Return the folder cnnlab keeps datasets in: ``$CNNLAB_DATA`` or ``~/.cache/cnnlab``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cnnlab"


def keras_datasets_dir() -> Path:
    """Return the folder Keras downloads datasets into: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``.

    Read from the environment on each call (Keras reads it once, at import).
    """
    env = os.environ.get(KERAS_HOME_ENV)
    return Path(env).expanduser() / "datasets" if env else Path.home() / ".keras" / "datasets"


def is_offline() -> bool:
    """Return True when ``CNNLAB_OFFLINE`` asks cnnlab never to download."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def dataset_dir(spec: DatasetSpec) -> Path:
    """Return the user folder for ``spec``: ``data_home() / spec.name``."""
    return data_home() / spec.name


def find_dataset_files(spec: DatasetSpec) -> dict[str, Path]:
    """Locate (and if needed download) every file of a dataset.

    Args:
        spec: the dataset.

    Returns:
        A mapping from each file name in ``spec.files`` to a local path.

    Raises:
        DatasetNotFoundError: some file is neither local nor downloadable.
        FileFormatError: a download did not match its pinned SHA-256.
    """
    found = {f.name: _find_local(spec, f.name) for f in spec.files}
    missing = [f for f in spec.files if found[f.name] is None]
    if not missing:
        return found
    if is_offline():
        raise _not_found(spec, missing, f"downloads are off ({OFFLINE_ENV}={os.environ.get(OFFLINE_ENV)})")
    for remote in missing:
        try:
            found[remote.name] = download_file(spec.urls_for(remote.name), dataset_dir(spec) / remote.name, remote)
        except DatasetNotFoundError as err:
            still_missing = [m for m in missing if found[m.name] is None]
            # The reason is in the message: a chained traceback would print the download failure twice.
            raise _not_found(spec, still_missing, str(err)) from None
    return found


def _find_local(spec: DatasetSpec, name: str) -> Path | None:
    for folder in (dataset_dir(spec), *spec.system_dirs):
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
    return None


def download_file(urls: tuple[str, ...], dest: Path, remote: RemoteFile) -> Path:
    """Download ``remote`` from the first mirror that serves it intact.

    The file is streamed to a temporary file next to ``dest``, hashed on
    the way, and renamed to ``dest`` only when its SHA-256 matches.

    Args:
        urls: candidate URLs, tried in order.
        dest: final path of the file.
        remote: expected name, SHA-256 and size.

    Returns:
        ``dest``.

    Raises:
        FileFormatError: a mirror served a file with the wrong SHA-256 and
            no other mirror served the right one.
        DatasetNotFoundError: no mirror could be reached, or ``dest``'s
            folder cannot be created.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetNotFoundError(f"cannot create the folder '{dest.parent}': {err}") from err
    failures: list[str] = []
    mismatches: list[str] = []
    for url in urls:
        try:
            digest = _fetch_to(url, dest, remote)
        except (OSError, urllib.error.URLError, ValueError) as err:
            failures.append(f"{url}: {err}")
            continue
        if digest == remote.sha256:
            return dest
        mismatches.append(f"{url} (expected SHA-256 {remote.sha256}, got {digest})")
    if mismatches:
        raise FileFormatError(
            f"Downloaded '{remote.name}' does not match its published checksum, so it was deleted: "
            f"{'; '.join(mismatches)}. The mirror may be serving a damaged or altered file; "
            f"try again later or copy the file into '{dest.parent}' by hand."
        )
    raise DatasetNotFoundError(f"no mirror of '{remote.name}' could be reached: " + "; ".join(failures))


def _fetch_to(url: str, dest: Path, remote: RemoteFile) -> str:
    """Stream ``url`` to ``dest`` if its SHA-256 matches; return the digest of what the server sent.

    Reads at most ``remote.size + 1`` bytes, so an oversized answer cannot
    fill the disk (the extra byte makes the checksum fail).
    """
    return fetch_url(url, dest, expected=remote.sha256, max_bytes=remote.size + 1)


def fetch_url(url: str, dest: Path, *, algorithm: str = "sha256", expected: str | None = None,
              max_bytes: int | None = None) -> str:
    """Stream ``url`` to a temporary file next to ``dest``; rename it to ``dest`` if its digest is ``expected``.

    The data is flushed to disk before the rename, so ``dest`` is never a
    partial file; the temporary file never outlives this call.

    Args:
        url: what to download (``https://``, ``http://`` or ``file://``).
        dest: final path; its folder must exist.
        algorithm: a :mod:`hashlib` name, e.g. ``"sha256"`` or ``"md5"``.
        expected: hex digest the data must have; None keeps whatever arrives.
        max_bytes: stop reading after this many bytes; None reads to the end.

    Returns:
        The hex digest of what was read.
    """
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=temp_prefix(dest.name), suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.new(algorithm)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            remaining = max_bytes
            while remaining is None or remaining > 0:
                chunk = response.read(_CHUNK_BYTES if remaining is None else min(_CHUNK_BYTES, remaining))
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if expected is None or digest.hexdigest() == expected.lower():
            os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()


def _not_found(spec: DatasetSpec, missing: list[RemoteFile], reason: str) -> DatasetNotFoundError:
    folder = dataset_dir(spec)
    lines = [
        f"{spec.title} was not found on this machine and could not be downloaded ({reason}).",
        f"Put these files in '{folder}' (set {DATA_ENV} to use another folder):",
    ]
    for remote in missing:
        lines.append(f"  {remote.name}  <- " + "  or  ".join(spec.urls_for(remote.name)))
    searched = ", ".join(f"'{d}'" for d in (folder, *spec.system_dirs))
    lines.append(f"Folders searched: {searched}.")
    if spec.apt_package:
        lines.append(f"On Debian or Ubuntu: sudo apt-get install {spec.apt_package}")
    home = data_home()
    if home.exists() and not home.is_dir():
        lines.insert(1, f"{DATA_ENV}='{home}' is a file, not a folder; set {DATA_ENV} to a folder.")
    return DatasetNotFoundError("\n".join(lines))


def load_idx_classification(
    spec: DatasetSpec, num_classes: int, image_shape: tuple[int, int]
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load an image classification dataset stored as four IDX files.

    ``spec.files`` must list train images, train labels, test images and
    test labels, in that order (the MNIST layout).

    Args:
        spec: the dataset.
        num_classes: labels must lie in ``[0, num_classes)``.
        image_shape: expected ``(height, width)`` of each image.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
        ``(n, *image_shape)`` and uint8 labels of shape ``(n,)``.

    Raises:
        DatasetNotFoundError: files missing and not downloadable.
        FileFormatError: a file is corrupt, or images and labels disagree.
    """
    paths = find_dataset_files(spec)
    names = [f.name for f in spec.files]
    splits = []
    for image_name, label_name in (names[0:2], names[2:4]):
        images, labels = read_idx(paths[image_name]), read_idx(paths[label_name])
        _check_images(images, paths[image_name], image_shape)
        _check_labels(labels, paths[label_name], num_classes, len(images), paths[image_name])
        splits.append((images, labels))
    return splits[0], splits[1]


_REPLACE_HINT = "Delete the damaged file so that it is downloaded again, or replace it with the original."


def _check_images(images: np.ndarray, path: Path, image_shape: tuple[int, int]) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != image_shape:
        raise FileFormatError(
            f"'{path}' should hold uint8 images of shape (n, {image_shape[0]}, {image_shape[1]}); "
            f"got {images.dtype} array of shape {images.shape}. Is it the right file? {_REPLACE_HINT}"
        )


def _check_labels(labels: np.ndarray, path: Path, num_classes: int, n_images: int, image_path: Path) -> None:
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise FileFormatError(
            f"'{path}' should hold a 1-D uint8 array of labels; got {labels.dtype} array of shape "
            f"{labels.shape}. Is it the right file? {_REPLACE_HINT}"
        )
    if len(labels) != n_images:
        raise FileFormatError(
            f"'{path}' has {len(labels)} labels but '{image_path}' has {n_images} images; "
            f"they must match. One of the files is from another dataset or damaged. {_REPLACE_HINT}"
        )
    if labels.max() >= num_classes:
        raise FileFormatError(
            f"'{path}' contains label {int(labels.max())}; expected labels 0..{num_classes - 1}. {_REPLACE_HINT}"
        )

"""Keras's published application files (weights, class index): where they are cached and how they are fetched."""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab.data.sources import KERAS_HOME_ENV, is_offline
from cnnlab.errors import DatasetNotFoundError
from cnnlab.utils.file_utils import get_file

# Keras's cache folder for application weights and the ImageNet class index (get_file cache_subdir).
CACHE_SUBDIR = "models"


def weights_folder() -> Path:
    """The folder ``get_file`` keeps application weights in: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    env = os.environ.get(KERAS_HOME_ENV)
    return (Path(env).expanduser() if env else Path.home() / ".keras") / CACHE_SUBDIR


def fetch_keras_file(fname: str, origin: str, file_hash: str | None, *, where: str) -> str:
    """Return the cached path of one of Keras's published files, downloading it once through ``get_file``.

    Raises:
        DatasetNotFoundError: offline (``CNNLAB_OFFLINE``) or the download
            failed; the message names the file, its URL and the folder to put it in.
    """
    target = weights_folder() / fname
    if is_offline() and not target.exists():
        raise _not_downloaded(fname, origin, where, "downloads are off (CNNLAB_OFFLINE is set)")
    try:
        return get_file(fname, origin, cache_subdir=CACHE_SUBDIR, file_hash=file_hash)
    except DatasetNotFoundError as err:
        raise _not_downloaded(fname, origin, where, f"the download failed ({err})") from err


def _not_downloaded(fname: str, origin: str, where: str, reason: str) -> DatasetNotFoundError:
    folder = weights_folder()
    return DatasetNotFoundError(
        f"{where}: needs Keras's file '{fname}', which is not on this machine and {reason}. Download it from "
        f"{origin} and put it in the folder '{folder}' (as '{folder / fname}'), or pass weights=None for random "
        "initialization, or weights='path/to/file.h5' for a file you have.")

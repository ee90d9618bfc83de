"""The run folder of ``cnnlab train``: ``model.cnnlab``, ``history.csv``, ``report.html``, ``events/``, ``run.json``.

``run.json`` is rewritten atomically at every change of status (running →
finished, failed or interrupted), so it is always complete JSON that says
what the folder holds. A process that dies without a word (killed, out of
memory, aborted) leaves "running" behind; :func:`current_status` reads such a
record as "died", from the process id and host the record holds.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

from cnnlab.errors import ConfigError, FileFormatError
from cnnlab.io.atomic import atomic_write
from cnnlab.io.safe_json import load_json_file

RUN_JSON = "run.json"
MODEL_FILE = "model.cnnlab"
HISTORY_FILE = "history.csv"
REPORT_FILE = "report.html"
EVENTS_DIR = "events"


def versions() -> dict[str, str]:
    """Versions of cnnlab, Python, the platform and the libraries that shape results."""
    import numpy
    import torch

    import cnnlab

    found = {"cnnlab": cnnlab.__version__, "python": platform.python_version(), "platform": platform.platform(),
             "torch": torch.__version__, "numpy": numpy.__version__}
    with contextlib.suppress(ImportError):
        import tensorboard

        found["tensorboard"] = tensorboard.__version__
    return found


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


class RunFolder:
    """A run folder and its ``run.json`` record.

    Args:
        path: the folder (created; must be empty or new unless ``overwrite``).
        config: the full configuration of the run, stored in ``run.json``.
        overwrite: allow a folder that already holds a run.
    """

    def __init__(self, path: str, config: dict[str, Any], overwrite: bool = False) -> None:
        self.path = path
        if os.path.isfile(path):
            raise ConfigError(f"--out: '{path}' is a file; give a folder for the run.")
        if os.path.isdir(path) and os.listdir(path) and not overwrite:
            status = folder_status(path)
            held = f" It holds a run whose status is '{status}'." if status else ""
            raise ConfigError(f"--out: the folder '{path}' is not empty.{held} Choose another --out, or pass "
                              "--overwrite to write over it.")
        os.makedirs(path, exist_ok=True)
        self.record: dict[str, Any] = {"status": "created", "config": config, "versions": versions(),
                                       "command": ["cnnlab", *sys.argv[1:]]}
        self._start = time.perf_counter()

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def update(self, **fields: Any) -> None:
        """Merge ``fields`` into the record and rewrite ``run.json`` atomically."""
        self.record.update(fields)
        with atomic_write(self.file(RUN_JSON), "w") as f:
            json.dump(self.record, f, indent=2, default=str)
            f.write("\n")

    @contextlib.contextmanager
    def recording(self) -> Iterator[RunFolder]:
        """Mark the run running; on leaving, finished, failed (with the error) or interrupted (Ctrl-C)."""
        self.update(status="running", started=_now(), pid=os.getpid(), host=socket.gethostname())
        try:
            yield self
        except KeyboardInterrupt:
            self._end("interrupted")
            raise
        except BaseException as err:
            self._end("failed", error=f"{type(err).__name__}: {err}")
            raise
        self._end("finished")

    def _end(self, status: str, **fields: Any) -> None:
        self.update(status=status, ended=_now(), duration_s=round(time.perf_counter() - self._start, 3), **fields)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process holds the id: alive
        return True
    return True


def current_status(record: dict[str, Any]) -> str | None:
    """The run's status, with a "running" whose process is gone (on this host) read as "died"."""
    status = record.get("status")
    pid, host = record.get("pid"), record.get("host")
    if status == "running" and isinstance(pid, int) and host == socket.gethostname() and pid != os.getpid() \
            and not _alive(pid):
        return "died"
    return status if isinstance(status, str) else None


def folder_status(path: str) -> str | None:
    """The current status of the run in ``path`` (see :func:`current_status`), or None without a readable record."""
    try:
        record = load_json_file(os.path.join(path, RUN_JSON), expect=dict)
    except (OSError, FileFormatError):
        return None
    status = current_status(record)
    if status == "died":
        return (f"died: run.json still says 'running' but process {record['pid']} has ended without recording "
                "an end (killed, out of memory or aborted)")
    return status

"""The run folder of ``cnnlab train``: ``model.cnnlab``, ``history.csv``, ``report.html``, ``events/``, ``run.json``.

``run.json`` is rewritten atomically at every change of status (running →
finished, failed or interrupted), so it is always complete JSON that says
what the folder holds.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.io.atomic import atomic_write

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
            raise ConfigError(f"--out: the folder '{path}' is not empty. Choose another --out, or pass --overwrite "
                              "to write over it.")
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
        self.update(status="running", started=_now())
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

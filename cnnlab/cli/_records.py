"""Reading what a run folder recorded, for verbs that take a trained model."""

from __future__ import annotations

import os
from typing import Any

from cnnlab.cli._runs import HISTORY_FILE, RUN_JSON, current_status
from cnnlab.errors import ConfigError, FileFormatError
from cnnlab.io.safe_json import load_json_file


def run_folder_of(spec: str) -> str | None:
    """The run folder of a model spec (the folder itself, or the folder holding the .cnnlab file)."""
    folder = spec if os.path.isdir(spec) else os.path.dirname(os.path.abspath(spec))
    return folder if os.path.isfile(os.path.join(folder, RUN_JSON)) else None


def run_record(spec: str) -> dict[str, Any]:
    """The ``run.json`` of the model's run folder, or ``{}``."""
    folder = run_folder_of(spec)
    if folder is None:
        return {}
    try:  # a damaged run.json only loses the defaults it would give
        record = load_json_file(os.path.join(folder, RUN_JSON), expect=dict)
    except (OSError, FileFormatError):
        return {}
    return {**record, "status": current_status(record)}


def data_spec(args_data: str | None, spec: str) -> str:
    """``--data`` if given, else the dataset the run was trained on."""
    if args_data:
        return args_data
    recorded = run_record(spec).get("config", {}).get("data")
    if not recorded:
        raise ConfigError(f"Give the test data with --data (fashion_mnist, mnist, digits or a folder); '{spec}' "
                          "has no run.json saying what it was trained on.")
    return recorded


def class_names(spec: str) -> list[str] | None:
    return run_record(spec).get("data", {}).get("class_names")


def history_path(spec: str) -> str | None:
    folder = run_folder_of(spec)
    path = os.path.join(folder, HISTORY_FILE) if folder else None
    return path if path and os.path.isfile(path) else None

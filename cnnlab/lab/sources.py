"""What the lab opens: a runs folder, one run folder, a model file, or a zoo model with a dataset.

The lab holds one *current* model (what the Model, Look-inside and Mistakes
pages show) and the data that goes with it. Run folders are named by their
path relative to the runs folder and resolved with :func:`security.confine`,
so no request reaches a file outside it. Models are read only through
cnnlab's safe loaders (``.cnnlab``, ``.keras``, ``.h5``): nothing is unpickled.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnlab.cli import _data, _models, _records
from cnnlab.cli._runs import HISTORY_FILE, MODEL_FILE, RUN_JSON, current_status
from cnnlab.errors import ConfigError, DataError, DatasetNotFoundError, FileFormatError
from cnnlab.io.safe_json import load_json_file
from cnnlab.lab.security import Forbidden, confine

MODEL_SUFFIXES = (".cnnlab", ".keras", ".h5", ".hdf5")
DEFAULT_MODEL, DEFAULT_DATA = "lenet5", "digits"
MAX_TEST_IMAGES = 10_000  # as the CLI's report
MAX_INPUTS = 32
MAX_CONVERTED_BYTES = 256 << 20  # resized built-in images the lab keeps for Look inside and Mistakes


class NotFound(ConfigError):
    """A run, layer, image or input the lab does not have (404)."""


@dataclass
class Source:
    """What ``cnnlab lab`` was given.

    Args:
        runs_dir: the runs folder: run folders are listed from it and trainings write into it.
        run: a run folder to open first (its id inside ``runs_dir``).
        model_file: a model file to open first (``.cnnlab``, ``.keras``, ``.h5``).
        model: a zoo name to build (untrained) and train, with ``data``.
        data: a built-in dataset name or an image folder.
        image_size: ``(height, width)`` the zoo model's images are resized to (``--image-size``).
    """

    runs_dir: str = "runs"
    run: str | None = None
    model_file: str | None = None
    model: str | None = None
    data: str | None = None
    image_size: tuple[int, int] | None = None

    @property
    def kind(self) -> str:
        return "run" if self.run else "model_file" if self.model_file else "zoo" if self.model else "runs"

    @classmethod
    def from_path(cls, path: str | None, model: str | None = None, data: str | None = None,
                  runs_dir: str | None = None, image_size: tuple[int, int] | None = None) -> Source:
        """The source of ``cnnlab lab [PATH] [--model NAME --data DATA --image-size H,W]``."""
        if image_size is not None and not model:
            raise ConfigError("cnnlab lab: --image-size applies to a zoo --model (an opened model's images are "
                              "resized to its own input). Received: --image-size "
                              f"{','.join(map(str, image_size))}")
        if path is None:
            return cls(runs_dir=runs_dir or "runs", model=model, data=data, image_size=image_size)
        if os.path.isdir(path):
            if os.path.isfile(os.path.join(path, RUN_JSON)) or os.path.isfile(os.path.join(path, MODEL_FILE)):
                parent = os.path.dirname(os.path.abspath(path))
                return cls(runs_dir=runs_dir or parent, run=os.path.basename(os.path.abspath(path)), data=data)
            return cls(runs_dir=path, model=model, data=data, image_size=image_size)  # a folder of runs
        if not os.path.exists(path):
            raise DatasetNotFoundError(f"cnnlab lab: '{path}' does not exist. Give a runs folder, a run folder, or a "
                                       f"model file ({', '.join(MODEL_SUFFIXES)}).")
        if not path.endswith(MODEL_SUFFIXES):
            raise ConfigError(f"cnnlab lab opens {', '.join(MODEL_SUFFIXES)} model files only (never pickles or "
                              f"code). Received: {path!r}")
        if model:
            raise ConfigError(f"cnnlab lab: give a model file or --model, not both. Received: {path!r} and "
                              f"--model {model}")
        return cls(runs_dir=runs_dir or "runs", model_file=os.path.abspath(path), data=data)


def load_model_file(path: str):
    """A model from a ``.cnnlab``, ``.keras`` or ``.h5`` file through cnnlab's safe loaders."""
    from cnnlab.models import load_model

    if not path.endswith(MODEL_SUFFIXES) or not os.path.isfile(path):
        raise FileFormatError(f"The lab opens {', '.join(MODEL_SUFFIXES)} files only. Received: {path!r}")
    return load_model(path)


def read_record(folder: str) -> dict[str, Any]:
    try:
        record = load_json_file(os.path.join(folder, RUN_JSON), expect=dict)
    except (OSError, FileFormatError):
        return {}
    return {**record, "status": current_status(record)}


def read_history(folder: str) -> dict[str, list]:
    """``history.csv`` of a run as columns (epoch counted from 1), ``{}`` when absent."""
    import csv

    path = os.path.join(folder, HISTORY_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list] = {}
    for row in rows:
        for key, value in row.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = None
            columns.setdefault(key, []).append(number if number is None or np.isfinite(number) else None)
    if "epoch" in columns:
        columns["epoch"] = [None if e is None else int(e) + 1 for e in columns["epoch"]]
    return columns


class Lab:
    """The lab's state: the runs folder, the current model and its data, the prepared inputs.

    Every method that runs the current model holds ``lock`` (one model, many request threads).
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        os.makedirs(source.runs_dir, exist_ok=True)
        self.runs_dir = os.path.realpath(source.runs_dir)
        self.lock = threading.RLock()
        self.model = None
        self.model_run: str | None = None
        self.data_spec: str | None = source.data
        self._data_cache: dict[tuple, Any] = {}
        self._test_cache: dict[tuple, tuple] = {}
        self.inputs: OrderedDict[str, dict] = OrderedDict()
        self.derived: dict[str, Any] = {}  # per-model results (confusion, predictions), cleared on change
        self.version = 0  # bumped when the current model changes
        self._open_initial()

    # ---------------------------------------------------------------- opening
    def _open_initial(self) -> None:
        s = self.source
        if s.run:
            self.select_run(s.run)
        elif s.model_file:
            self.set_model(load_model_file(s.model_file), None)
        elif s.model:
            from cnnlab.lab.fitting import zoo_image_size

            self.data_spec = s.data or DEFAULT_DATA
            size = zoo_image_size(s.model, self.data_spec, s.image_size)
            data = self._load(self.data_spec, size, None)
            model = _models.build(s.model, data.input_shape, data.num_classes)
            self.set_model(model, None)
        else:
            newest = self.list_runs()
            usable = [r for r in newest if r["has_model"]]
            if usable:
                self.select_run(usable[-1]["id"])

    def set_model(self, model, run: str | None) -> None:
        with self.lock:
            self.model, self.model_run = model, run
            self.inputs.clear()
            self.derived.clear()
            self.version += 1

    def run_path(self, run_id: str) -> str:
        """The real path of run ``run_id``: inside the runs folder and holding a run (else 403/404)."""
        path = confine(self.runs_dir, run_id)
        if not os.path.isdir(path) or not (os.path.isfile(os.path.join(path, RUN_JSON))
                                           or os.path.isfile(os.path.join(path, MODEL_FILE))):
            raise NotFound(f"There is no run '{run_id}' in the runs folder {self.runs_dir}. GET /api/runs lists them.")
        return path

    def select_run(self, run_id: str) -> None:
        path = self.run_path(run_id)
        model_path = os.path.join(path, MODEL_FILE)
        if os.path.islink(model_path) or not os.path.isfile(model_path):
            raise NotFound(f"Run '{run_id}' has no {MODEL_FILE} (yet): train it, or pick a finished run.")
        model = load_model_file(model_path)
        recorded = read_record(path).get("config", {}).get("data")
        with self.lock:
            if recorded:
                self.data_spec = recorded
            self.set_model(model, run_id)

    def list_runs(self) -> list[dict]:
        """Run folders directly inside the runs folder (symbolic links leading out are skipped), oldest first."""
        found = []
        for entry in sorted(os.scandir(self.runs_dir), key=lambda e: e.name):
            try:
                path = confine(self.runs_dir, entry.name)
            except Forbidden:
                continue
            if not entry.is_dir() or not (os.path.isfile(os.path.join(path, RUN_JSON))
                                          or os.path.isfile(os.path.join(path, MODEL_FILE))):
                continue
            record = read_record(path)
            results = record.get("results", {})
            config = record.get("config", {})
            found.append({"id": entry.name, "status": record.get("status"), "model": config.get("model"),
                          "data": config.get("data"), "params": record.get("model", {}).get("params"),
                          "epochs_run": results.get("epochs_run"), "best_val_accuracy": results.get("best_val_accuracy"),
                          "test": results.get("test"), "started": record.get("started"),
                          "has_model": os.path.isfile(os.path.join(path, MODEL_FILE)),
                          "current": entry.name == self.model_run})
        found.sort(key=lambda r: (r["started"] or "", r["id"]))
        return found

    # ---------------------------------------------------------------- data
    def data(self, spec: str | None = None):
        """The dataset ``spec`` (default: the current one) converted to the current model's input, loaded once.

        Raises:
            DataError: its images cannot become the model's input (the reason is in the message).
        """
        spec = spec or self.data_spec
        if spec is None:
            return None
        if self.model is None:
            return self._load(spec, self.source.image_size, None)
        from cnnlab.lab.fitting import fit

        fitted = fit(self.model, spec)
        if not fitted.fits:
            raise DataError(f"The lab's data does not fit its model: {fitted.note} Start the lab with --data NAME "
                            f"of a dataset that fits (the Train page lists them).")
        return self._load(spec, fitted.image_size, fitted.color_mode)

    def _load(self, spec: str, image_size, color_mode):
        key = (spec, tuple(image_size) if image_size else None, color_mode)
        if key not in self._data_cache:
            limit = None
            if image_size and not _data.is_folder_spec(spec):  # the lab reads the test images: bound their memory
                limit = max(100, min(MAX_TEST_IMAGES, MAX_CONVERTED_BYTES // (4 * 4 * image_size[0] * image_size[1])))
            self._data_cache[key] = _data.load(spec, image_size=image_size, color_mode=color_mode, limit=limit)
            self._data_cache[key].cache_key = key
        return self._data_cache[key]

    def data_problem(self) -> str | None:
        """Why the lab has no test images (no --data, or data that does not fit), or None when it has them."""
        if self.data_spec is None:
            return ("This lab was started without a dataset, so it has no test images and no confusion matrix. "
                    "Start it again with --data NAME (e.g. cnnlab lab MODEL --data digits); drawing and uploading "
                    "work without one.")
        try:
            self.data()
        except Exception as err:  # noqa: BLE001  the reason is the answer
            return " ".join(str(err).split())
        return None

    def test_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        data = self.data()
        if data is None:
            raise NotFound("The lab has no dataset: start it with --data NAME (e.g. --data digits), or open a run "
                           "folder.")
        if data.cache_key not in self._test_cache:
            self._test_cache[data.cache_key] = _data.as_arrays(data.test, limit=MAX_TEST_IMAGES)
        return self._test_cache[data.cache_key]

    def class_names(self) -> list[str]:
        try:
            data = self.data() if self.data_spec else None
        except Exception:  # noqa: BLE001  data that does not fit the model names no classes
            data = None
        if data is not None:
            return list(data.class_names)
        if self.model_run:
            names = _records.class_names(os.path.join(self.runs_dir, self.model_run))
            if names:
                return list(names)
        classes = self.require_model().outputs[0].shape[-1] if hasattr(self.model, "outputs") else 0
        return [str(i) for i in range(classes or 0)]

    def require_model(self):
        if self.model is None:
            raise NotFound("No model is open yet: start a training on the Train page, or pick a run "
                           "(POST /api/model/select).")
        return self.model

    def model_brief(self) -> dict | None:
        if self.model is None:
            return None
        model = self.model
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        try:
            shape = list(_data.input_shape_of(model))
        except Exception:  # noqa: BLE001  a model without a fixed image input still has a brief
            shape = None
        names = self.class_names()
        return {"name": model.name, "run": self.model_run, "params": int(model.count_params()),
                "trainable_params": trainable, "input_shape": shape, "num_classes": len(names),
                "class_names": names}

    def data_brief(self) -> dict | None:
        try:
            data = self.data()
        except Exception:  # noqa: BLE001  data that cannot be loaded is reported where it is used
            return None
        if data is None:
            return None
        return {"name": data.name if not os.path.isabs(data.name) else os.path.basename(data.name),
                "class_names": list(data.class_names), "input_shape": list(data.input_shape), "sizes": data.sizes}

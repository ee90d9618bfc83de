"""One training at a time, in a worker thread, writing the run folder ``cnnlab train`` writes.

The worker runs ``model.fit`` with a callback that publishes events (batch
logs at most ``BATCH_EVENTS_PER_S`` times a second, every epoch, every change
of state) and that pauses or stops the loop between batches. While it trains,
torch uses one core fewer than the machine has, so the server keeps one for
requests (torch's thread count is per process). :func:`warm_up` takes the
first training's one-time set-up, and the garbage collector's long pauses, out
of the server's way.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import os
import threading
import time
from typing import Any

from cnnlab.callbacks import Callback
from cnnlab.cli import _data, _models, _training
from cnnlab.cli._runs import EVENTS_DIR, HISTORY_FILE, MODEL_FILE, RunFolder
from cnnlab.errors import CnnlabError, ConfigError
from cnnlab.lab.warmup import warm_up  # noqa: F401  cnnlab lab and the tests call it from here

BATCH_EVENTS_PER_S = 4
POINTS_PER_EPOCH = 20  # curve points per epoch the batch events carry (fewer when an epoch has fewer batches)
FINAL_STATES = ("idle", "finished", "stopped", "failed")
AUGMENTATIONS = ("none", "flip", "shift", "rotate", "zoom", "all")
DEFAULTS = {"optimizer": "adam", "learning_rate": None, "batch_size": 32, "epochs": 5, "regularization": "none",
            "augmentation": "none", "val_split": 0.1, "limit": None, "seed": 0, "image_size": None}
MAX_EPOCHS, MAX_BATCH = 1000, 4096


class Busy(CnnlabError, RuntimeError):
    """A second training asked while one runs, or a pause/resume/stop with nothing to act on (409)."""


class EventHub:
    """Fan-out of events from the worker thread to every open event stream (each an asyncio queue)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self._lock = threading.Lock()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subscribers = [(loop, q) for loop, q in self._subscribers if q is not queue]

    def publish(self, kind: str, data: dict) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_put, queue, (kind, data))
            except RuntimeError:  # that stream's loop has closed
                self.unsubscribe(queue)


def _put(queue: asyncio.Queue, item) -> None:
    if not queue.full():  # a stream that stopped reading loses events rather than memory
        queue.put_nowait(item)


def _clean(logs: dict) -> dict:
    out = {}
    for key, value in logs.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        out[key] = number if math.isfinite(number) else None
    return out


class _Control(Callback):
    """Publishes progress and obeys pause/stop between batches.

    Events go out at most ``BATCH_EVENTS_PER_S`` times a second, but each one
    carries the curve points sampled since the previous one: a point every
    ``batches // POINTS_PER_EPOCH`` batches, so an epoch of half a second still
    draws ~``POINTS_PER_EPOCH`` points and a long epoch does not flood the page.
    """

    def __init__(self, trainer: Trainer) -> None:
        super().__init__()
        self.trainer = trainer
        self._last_sent = 0.0
        self._points: list[dict] = []

    def on_train_begin(self, logs=None):
        self.trainer._begin_fit(self.params)

    def on_epoch_begin(self, epoch, logs=None):
        self.trainer._update(epoch=epoch + 1, batch=0)

    def on_train_batch_end(self, batch, logs=None):
        t = self.trainer
        now = time.monotonic()
        batches = t.status.get("batches") or 0
        last = batch + 1 == (batches or -1)
        t.status["batch"] = batch + 1
        stride = max(1, batches // POINTS_PER_EPOCH)
        due = now - self._last_sent >= 1.0 / BATCH_EVENTS_PER_S or last
        if (batch + 1) % stride == 0 or last or due:
            from cnnlab.training.progress import logs_to_floats

            t.status["logs"] = _clean(logs_to_floats(logs or {}))
            step = (t.status["epoch"] - 1) * batches + batch + 1
            if not self._points or self._points[-1]["step"] != step:
                self._points.append({"step": step, "logs": t.status["logs"]})
        if due:
            self._last_sent = now
            t._timing()
            event = {k: t.status[k] for k in ("epoch", "batch", "batches", "logs", "elapsed_s", "eta_s")}
            t.hub.publish("batch", {**event, "points": self._points})
            self._points = []
        t._wait_if_paused()
        if t._stop.is_set():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._points:  # a stop between two events: the page still gets the last points
            t = self.trainer
            event = {k: t.status[k] for k in ("epoch", "batch", "batches", "logs", "elapsed_s", "eta_s")}
            t.hub.publish("batch", {**event, "points": self._points})
            self._points = []

    def on_epoch_end(self, epoch, logs=None):
        t = self.trainer
        logs = _clean(logs or {})
        for key, value in logs.items():
            t.status["history"].setdefault(key, []).append(value)
        t._done_epochs = epoch + 1
        t._timing()
        t.hub.publish("epoch", {"epoch": epoch + 1, "epochs": t.status["epochs"], "logs": logs,
                                "history": t.status["history"], "elapsed_s": t.status["elapsed_s"],
                                "eta_s": t.status["eta_s"]})


class Trainer:
    """The lab's one training slot.

    Args:
        lab: the :class:`cnnlab.lab.sources.Lab` (runs folder, current model, datasets).
        hub: where events go.
        on_done: called with the run id when a training leaves a model (the lab then opens it).
    """

    def __init__(self, lab, hub: EventHub, on_done=None) -> None:
        self.lab, self.hub, self.on_done = lab, hub, on_done
        self._lock = threading.Lock()
        self._pause = threading.Event()
        self._pause.set()  # set = running
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.status: dict[str, Any] = self._fresh("idle")
        self._start_time = 0.0
        self._paused_s = 0.0
        self._done_epochs = 0

    @staticmethod
    def _fresh(state: str, **fields) -> dict:
        return {"state": state, "run": None, "config": None, "epoch": 0, "epochs": 0, "batch": 0, "batches": 0,
                "logs": {}, "history": {}, "elapsed_s": 0.0, "eta_s": None, "error": None, "test": None, **fields}

    # --------------------------------------------------------------- requests
    def snapshot(self) -> dict:
        return {**self.status, "history": {k: list(v) for k, v in self.status["history"].items()}}

    @property
    def active(self) -> bool:
        return self.status["state"] not in FINAL_STATES

    def start(self, request: dict) -> dict:
        with self._lock:
            if self.active:
                s = self.status
                raise Busy(f"A training is already running (run '{s['run']}', epoch {s['epoch']}/{s['epochs']}, "
                           f"{s['state']}). The lab trains one model at a time: stop it first or wait for it to end.")
            config = self._config(request)
            model_name = self.lab.model.name if config["model"] == "current" else config["model"]
            name = config.pop("name", None) or (f"{model_name}-{os.path.basename(str(config['data']))}-"
                                                f"{datetime.datetime.now():%Y%m%d-%H%M%S}")
            run_id = _unique(self.lab.runs_dir, _safe_name(name))
            self._pause.set()
            self._stop.clear()
            self._done_epochs = 0
            self._paused_s = 0.0
            self._start_time = time.monotonic()
            self.status = self._fresh("starting", run=run_id, config=config, epochs=config["epochs"])
            self.thread = threading.Thread(target=self._work, args=(run_id, config), name="cnnlab-lab-training",
                                           daemon=True)
            self.thread.start()
        self._publish_status()
        return self.snapshot()

    def pause(self) -> dict:
        with self._lock:
            if self.status["state"] not in ("running", "starting"):
                raise Busy(f"There is no running training to pause (state: {self.status['state']}).")
            self._pause.clear()
            self._paused_at = time.monotonic()
            self.status["state"] = "paused"
        self._publish_status()
        return self.snapshot()

    def resume(self) -> dict:
        with self._lock:
            if self.status["state"] != "paused":
                raise Busy(f"There is no paused training to resume (state: {self.status['state']}).")
            self._paused_s += time.monotonic() - self._paused_at
            self.status["state"] = "running"
            self._pause.set()
        self._publish_status()
        return self.snapshot()

    def stop(self) -> dict:
        with self._lock:
            if not self.active or self.status["state"] == "stopping":
                raise Busy(f"There is no training to stop (state: {self.status['state']}).")
            self.status["state"] = "stopping"
            self._stop.set()
            self._pause.set()  # a paused loop must wake up to stop
        self._publish_status()
        return self.snapshot()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    # --------------------------------------------------------------- checks
    def _config(self, request: dict) -> dict:
        if not isinstance(request, dict):
            raise ConfigError(f"POST /api/train takes a JSON object. Received: {type(request).__name__}")
        unknown = set(request) - set(DEFAULTS) - {"model", "data", "name"}
        if unknown:
            raise ConfigError(f"POST /api/train: unknown field(s) {sorted(unknown)}; the fields are "
                              f"{sorted([*DEFAULTS, 'model', 'data', 'name'])}.")
        config = {**DEFAULTS, **{k: v for k, v in request.items() if v is not None}}
        from cnnlab import zoo

        config.setdefault("model", None)
        config["model"] = config["model"] or self.default_model()
        if config["model"] != "current" and not zoo.is_model(config["model"]):
            from cnnlab.errors import unknown_name

            raise unknown_name("model", config["model"], [*zoo.list_models(), "current"], where="POST /api/train")
        config["data"] = config.get("data") or self.default_data(config["model"])
        if config["data"] is None:
            raise ConfigError("POST /api/train: no dataset fits the opened model "
                              f"({'; '.join(f.note for f in self.fits().values())}). Start the lab with --data "
                              "FOLDER of images in one sub-folder per class.")
        if config["data"] not in self.allowed_data():
            raise ConfigError(f"POST /api/train: data must be one of {self.allowed_data()} (the lab reads no other "
                              f"paths). Received: data={config['data']!r}")
        _training.make_optimizer(str(config["optimizer"]), None)  # raises with did-you-mean
        _training.variant_options(str(config["regularization"]))
        if config["augmentation"] not in AUGMENTATIONS:
            from cnnlab.errors import unknown_name

            raise unknown_name("augmentation", config["augmentation"], AUGMENTATIONS, where="POST /api/train")
        checks = (("epochs", int, 1, MAX_EPOCHS), ("batch_size", int, 1, MAX_BATCH), ("seed", int, 0, 2**31 - 1),
                  ("val_split", float, 0.0, 0.9), ("learning_rate", float, 1e-12, 10.0), ("limit", int, 10, 10**7))
        for key, kind, low, high in checks:
            value = config.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (kind is int and value != int(value)) or not low <= value <= high:
                raise ConfigError(f"POST /api/train: {key} must be a {kind.__name__} from {low} to {high}. "
                                  f"Received: {key}={value!r}")
            config[key] = kind(value)
        config["image_size"] = _image_size(config["image_size"])
        if config["model"] == "current":
            for key in ("regularization", "augmentation"):
                if config[key] != "none":
                    raise ConfigError(f"POST /api/train: {key} changes a zoo model's layers, so it applies to zoo "
                                      f"models only; with model 'current' (the opened model, trained as it is) use "
                                      f"{key} 'none'. Received: {key}={config[key]!r}")
            self._fit_current(config)
        else:
            from cnnlab.lab.fitting import zoo_image_size

            config["image_size"] = zoo_image_size(config["model"], config["data"], config["image_size"]
                                                  or self.lab.source.image_size)
            config["color_mode"] = None
        return config

    def _fit_current(self, config: dict) -> None:
        """The load options that turn ``config['data']`` into the current model's input, or why it cannot."""
        from cnnlab.lab.fitting import fit

        fitted = fit(self.lab.require_model(), config["data"])
        if not fitted.fits:
            fitting = [name for name, f in self.fits().items() if f.fits]
            raise ConfigError(f"POST /api/train: the data does not fit the opened model: {fitted.note} Datasets "
                              f"that fit: {', '.join(fitting) or 'none of the built-in ones'}. Received: "
                              f"data={config['data']!r}")
        if config["image_size"] and tuple(config["image_size"]) != tuple(fitted.image_size or ()):
            raise ConfigError(f"POST /api/train: image_size is the opened model's own input size with model "
                              f"'current'; leave it out. Received: image_size={list(config['image_size'])}")
        config["image_size"], config["color_mode"] = fitted.image_size, fitted.color_mode

    def fits(self) -> dict:
        """For every dataset the lab may train on, how it fits the current model (:class:`fitting.Fit`)."""
        from cnnlab.lab.fitting import fit

        if self.lab.model is None:
            return {}
        return {spec: fit(self.lab.model, spec) for spec in self.allowed_data()}

    def default_data(self, model: str) -> str | None:
        """The lab's dataset, or for the opened model the first dataset that fits it (None: none fits)."""
        if model != "current":
            return self.lab.data_spec or "digits"
        from cnnlab.lab.sources import DEFAULT_DATA

        fits = self.fits()
        for spec in (self.lab.data_spec, DEFAULT_DATA):
            if spec in fits and fits[spec].fits:
                return spec
        return next((spec for spec, f in fits.items() if f.fits), None)

    def default_model(self) -> str:
        """The zoo model the lab was started with; the opened model (``current``) for a model file or run
        folder, so the Train page continues training what the lab opened; else lenet5."""
        if self.lab.source.model:
            return self.lab.source.model
        if self.lab.model is not None and self.lab.source.kind in ("model_file", "run"):
            return "current"
        if self.lab.model_run:
            from cnnlab.lab.sources import read_record

            recorded = read_record(os.path.join(self.lab.runs_dir, self.lab.model_run)).get("config", {})
            from cnnlab import zoo

            if zoo.is_model(str(recorded.get("model"))):
                return recorded["model"]
        return "lenet5"

    def allowed_data(self) -> list[str]:
        allowed = list(_data.BUILTIN_DATASETS)
        for spec in (self.lab.source.data, self.lab.data_spec):
            if spec and spec not in allowed:
                allowed.append(spec)
        return allowed

    # --------------------------------------------------------------- worker
    def _work(self, run_id: str, config: dict) -> None:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, min(threads, (os.cpu_count() or 2) - 1)))
        try:
            state, test = self._train(run_id, config)
            self._finish(state, test=test)
        except BaseException as err:  # noqa: BLE001  the failure is the training's, not the server's
            self._finish("failed", error=f"{type(err).__name__}: {err}")
        finally:
            torch.set_num_threads(threads)

    def _train(self, run_id: str, config: dict):
        from cnnlab import callbacks, utils
        from cnnlab.cli.train import _best, _tensorboard, _write_report_or_warn

        utils.set_random_seed(config["seed"])
        data = _data.load(config["data"], limit=config["limit"], val_split=config["val_split"], seed=config["seed"],
                          batch_size=config["batch_size"], image_size=config["image_size"],
                          color_mode=config["color_mode"])
        model = self._build(config, data)
        _data.check_fits(data, model)
        model.compile(optimizer=_training.make_optimizer(config["optimizer"], config["learning_rate"]),
                      loss=_training.LOSS, metrics=["accuracy"])
        folder = RunFolder(os.path.join(self.lab.runs_dir, run_id), {**config, "source": "lab"})
        monitor = "val_loss" if config["val_split"] else "loss"
        best = callbacks.ModelCheckpoint(folder.file(MODEL_FILE), monitor=monitor, save_best_only=True)
        cbs = [callbacks.CSVLogger(folder.file(HISTORY_FILE)), best, _Control(self)]
        tensorboard = _tensorboard(folder.file(EVENTS_DIR))
        cbs += [tensorboard] if tensorboard else []
        with folder.recording():
            folder.update(data={"name": data.name, "input_shape": list(data.input_shape), "sizes": data.sizes,
                                "class_names": data.class_names},
                          model={"name": model.name, "params": model.count_params()},
                          files={"tensorboard_events": tensorboard is not None})
            self._update(state="running" if self.status["state"] == "starting" else self.status["state"])
            self._publish_status()
            try:
                history, seconds = _training.fit(model, data, config["epochs"], config["batch_size"],
                                                 config["val_split"], cbs, verbose=0)
            finally:  # stopped before a checkpoint: keep the weights reached
                if not os.path.isfile(folder.file(MODEL_FILE)):
                    model.save(folder.file(MODEL_FILE))
            from cnnlab.lab.sources import load_model_file

            model = load_model_file(folder.file(MODEL_FILE))  # the best epoch, as the run folder keeps it
            results = _training.evaluate(model, data.test)
            stopped = self._stop.is_set()
            folder.update(results={"test": results, "epochs_run": len(history.epoch),
                                   "train_seconds": round(seconds, 3), **_best(history.history)})
            _write_report_or_warn(model, data, history, folder)
        if stopped:
            folder.update(status="stopped")
        if self.on_done:
            self.on_done(run_id)
        return ("stopped" if stopped else "finished"), _clean(results)

    def _build(self, config: dict, data):
        if config["model"] == "current":
            from cnnlab.models import clone_model

            current = self.lab.require_model()
            with self.lab.lock:  # a copy: the lab keeps showing the current model while this one trains
                model = clone_model(current)
                model.set_weights(current.get_weights())
            return model
        model = _models.build(config["model"], data.input_shape, data.num_classes,
                              **_training.variant_options(config["regularization"]))
        return with_augmentation(model, config["augmentation"], data.input_shape)

    def _begin_fit(self, params: dict) -> None:
        self._update(batches=int(params.get("steps") or 0), epochs=int(params.get("epochs") or self.status["epochs"]))

    def _wait_if_paused(self) -> None:
        self._pause.wait()

    def _timing(self) -> None:
        elapsed = time.monotonic() - self._start_time - self._paused_s
        s = self.status
        done = self._done_epochs + (s["batch"] / s["batches"] if s["batches"] else 0.0)
        s["elapsed_s"] = round(elapsed, 2)
        s["eta_s"] = round(elapsed / done * (s["epochs"] - done), 1) if done > 0 and s["epochs"] else None

    def _update(self, **fields) -> None:
        self.status.update(fields)

    def _finish(self, state: str, **fields) -> None:
        self._timing()
        self._update(state=state, **fields)
        self._publish_status()

    def _publish_status(self) -> None:
        self.hub.publish("status", self.snapshot())


def with_augmentation(model, name: str, input_shape):
    """``model`` with random augmentation layers first (active in training only), as Keras examples do."""
    if name == "none":
        return model
    from cnnlab import layers
    from cnnlab.models import Model, Sequential

    chosen = {"flip": [layers.RandomFlip("horizontal")], "shift": [layers.RandomTranslation(0.1, 0.1)],
              "rotate": [layers.RandomRotation(0.05)], "zoom": [layers.RandomZoom(0.1)]}
    chosen["all"] = chosen["shift"] + chosen["rotate"] + chosen["zoom"]
    augment = chosen[name]
    if isinstance(model, Sequential):
        return Sequential([layers.Input(tuple(input_shape)), *augment, *model.layers], name=model.name)
    inputs = layers.Input(tuple(input_shape))
    x = inputs
    for layer in augment:
        x = layer(x)
    return Model(inputs, model(x), name=model.name)


def _image_size(value) -> tuple[int, int] | None:
    """``image_size`` of POST /api/train: None, a side (square) or [height, width], each 8 to 1024."""
    if value is None:
        return None
    sides = [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(sides, (list, tuple)) or len(sides) not in (1, 2) or \
            any(isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or not 8 <= v <= 1024
                for v in sides):
        raise ConfigError(f"POST /api/train: image_size is a side (96) or [height, width], each from 8 to 1024. "
                          f"Received: image_size={value!r}")
    return (int(sides[0]), int(sides[-1]))


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in str(name)).strip(".-")
    if not cleaned:
        raise ConfigError(f"POST /api/train: name must hold letters or digits. Received: name={name!r}")
    return cleaned[:80]


def _unique(root: str, name: str) -> str:
    candidate, n = name, 1
    while os.path.exists(os.path.join(root, candidate)):
        n += 1
        candidate = f"{name}-{n}"
    return candidate

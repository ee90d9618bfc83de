"""Routes of the lab as a whole and of the Compare and Mistakes pages: info, runs, test images, confusion."""

from __future__ import annotations

import os

import numpy as np
from starlette.routing import Route

from cnnlab import __version__
from cnnlab.errors import ConfigError
from cnnlab.lab.api_common import image_png, json_response, png_response, query_int
from cnnlab.lab.security import MAX_IMAGE_PIXELS, MAX_UPLOAD_BYTES
from cnnlab.lab.sources import NotFound, read_history, read_record

MAX_COMPARED = 12
PREDICT_BATCH = 256


def _lab(request):
    return request.app.state.lab


def info(request):
    lab = _lab(request)
    return json_response({"version": __version__,
                          "source": {"kind": lab.source.kind, "label": os.path.basename(lab.runs_dir) + "/"},
                          "model": lab.model_brief(), "data": lab.data_brief(),
                          "data_problem": lab.data_problem() if lab.model is not None else None,
                          "training": request.app.state.trainer.snapshot(),
                          "limits": {"max_upload_bytes": MAX_UPLOAD_BYTES, "max_image_pixels": MAX_IMAGE_PIXELS}})


def runs(request):
    return json_response({"runs": _lab(request).list_runs()})


async def select(request):
    from starlette.concurrency import run_in_threadpool

    body = await _json_body(request)
    run = body.get("run")
    if request.app.state.trainer.active:
        from cnnlab.lab.training import Busy

        raise Busy("A training is running: pick another model when it has ended (or stop it).")
    lab = _lab(request)
    await run_in_threadpool(lab.select_run, run)
    return json_response({"model": lab.model_brief(), "data": lab.data_brief()})


async def _json_body(request) -> dict:
    from cnnlab.lab.security import read_body

    raw = await read_body(request, limit=64 * 1024)
    try:
        import json

        body = json.loads(raw or b"{}")
    except ValueError as err:
        raise ConfigError(f"The request body must be JSON: {err}") from None
    if not isinstance(body, dict):
        raise ConfigError(f"The request body must be a JSON object. Received: {type(body).__name__}")
    return body


def compare(request):
    lab = _lab(request)
    ids = [r for r in request.query_params.get("runs", "").split(",") if r]
    if not ids:
        raise ConfigError("GET /api/compare needs runs=ID1,ID2 (ids from GET /api/runs). Received: runs=''")
    if len(ids) > MAX_COMPARED:
        raise ConfigError(f"GET /api/compare compares at most {MAX_COMPARED} runs. Received: {len(ids)} runs")
    found = []
    for run_id in ids:
        path = lab.run_path(run_id)
        record, history = read_record(path), read_history(path)
        results = record.get("results", {})
        final = {k: v[-1] for k, v in history.items() if k != "epoch" and v}
        found.append({"id": run_id, "status": record.get("status"), "config": record.get("config", {}),
                      "history": history, "final": final, "test": results.get("test"),
                      "best_val_accuracy": results.get("best_val_accuracy"), "best_epoch": results.get("best_epoch"),
                      "train_seconds": results.get("train_seconds")})
    return json_response({"runs": found})


# ------------------------------------------------------------------ test images
def images(request):
    lab = _lab(request)
    x, y = lab.test_arrays()
    offset = query_int(request, "offset", 0, 0)
    limit = query_int(request, "limit", 100, 1, 1000)
    label = query_int(request, "label", None, 0)
    indices = np.arange(len(y)) if label is None else np.flatnonzero(np.asarray(y).reshape(-1) == label)
    names = lab.class_names()
    chosen = indices[offset: offset + limit]
    return json_response({"total": int(len(indices)),
                          "images": [{"index": int(i), "label": int(y[i]), "class_name": _name(names, int(y[i]))}
                                     for i in chosen]})


def image(request):
    lab = _lab(request)
    x, _ = lab.test_arrays()
    index = _index(request.path_params["index"], len(x))
    return png_response(image_png(x[index], scale=query_int(request, "scale", 1, 1, 16), low=0.0, high=1.0))


def _index(raw: str, size: int) -> int:
    try:
        index = int(raw)
    except ValueError:
        raise NotFound(f"Test images are numbered 0 to {size - 1}. Received: index={raw!r}") from None
    if not 0 <= index < size:
        raise NotFound(f"Test images are numbered 0 to {size - 1}. Received: index={index}")
    return index


def _name(names: list[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else str(index)


# ------------------------------------------------------------------ mistakes
def predictions(lab) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true, predicted, probability of the prediction) on the test images, cached per model."""
    with lab.lock:
        key = ("predictions", lab.version)
        if key not in lab.derived:
            model = lab.require_model()
            x, y = lab.test_arrays()
            probs = model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
            lab.derived[key] = (np.asarray(y).reshape(-1).astype(int), probs.argmax(-1), probs.max(-1))
        return lab.derived[key]


def confusion(request):
    from cnnlab.inspect.confusion import confusion_matrix, per_class_metrics

    lab = _lab(request)
    true, pred, _ = predictions(lab)
    limit = query_int(request, "limit", len(true), 1)
    true, pred = true[:limit], pred[:limit]
    names = lab.class_names()
    cm = confusion_matrix(pred, None, true, num_classes=max(len(names), int(max(true.max(), pred.max())) + 1))
    metrics = [{"class_name": m.pop("class"), **m} for m in per_class_metrics(cm, class_names=names)]
    return json_response({"class_names": names, "matrix": cm.tolist(), "total": int(len(true)),
                          "accuracy": float((true == pred).mean()) if len(true) else None, "per_class": metrics})


def mistakes(request):
    lab = _lab(request)
    true, pred, prob = predictions(lab)
    want_true = query_int(request, "true", None, 0)
    want_pred = query_int(request, "pred", None, 0)
    limit = query_int(request, "limit", 50, 1, 1000)
    mask = true != pred
    if want_true is not None:
        mask &= true == want_true
    if want_pred is not None:
        mask &= pred == want_pred
    found = np.flatnonzero(mask)
    return json_response({"total": int(len(found)),
                          "images": [{"index": int(i), "true": int(true[i]), "pred": int(pred[i]),
                                      "probability": float(prob[i])} for i in found[:limit]]})


def routes() -> list[Route]:
    return [Route("/api/info", info), Route("/api/runs", runs),
            Route("/api/model/select", select, methods=["POST"]), Route("/api/compare", compare),
            Route("/api/images", images), Route("/api/images/{index}.png", image),
            Route("/api/confusion", confusion), Route("/api/mistakes", mistakes)]

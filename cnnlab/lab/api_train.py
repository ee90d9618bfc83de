"""Routes of the Train page: options, start, pause, resume, stop, status and the event stream (SSE)."""

from __future__ import annotations

import asyncio
import json

from starlette.responses import StreamingResponse
from starlette.routing import Route

from cnnlab.cli import _training
from cnnlab.lab.api_common import json_response
from cnnlab.lab.api_runs import _json_body
from cnnlab.lab.training import AUGMENTATIONS, DEFAULTS, FINAL_STATES

PING_EVERY_S = 15.0


def options(request):
    from cnnlab import zoo

    trainer, lab = request.app.state.trainer, request.app.state.lab
    model = trainer.default_model()
    size = lab.source.image_size
    return json_response({"models": [*zoo.list_models(), "current"] if lab.model is not None else zoo.list_models(),
                          "model": model, "current": lab.model_brief(),
                          "datasets": trainer.allowed_data(), "data": trainer.default_data(model),
                          "zoo_data": lab.data_spec or "digits",
                          "fits": {spec: f.brief() for spec, f in trainer.fits().items()},
                          "image_size": list(size) if size else None,
                          "optimizers": _training.optimizer_names(), "regularization": list(_training.VARIANTS),
                          "augmentation": list(AUGMENTATIONS), "defaults": DEFAULTS})


async def start(request):
    from starlette.concurrency import run_in_threadpool

    body = await _json_body(request)
    return json_response(await run_in_threadpool(request.app.state.trainer.start, body), status=202)


def pause(request):
    return json_response(request.app.state.trainer.pause())


def resume(request):
    return json_response(request.app.state.trainer.resume())


def stop(request):
    return json_response(request.app.state.trainer.stop())


def status(request):
    return json_response(request.app.state.trainer.snapshot())


def _event(kind: str, data: dict) -> str:
    from cnnlab.lab.api_common import _finite

    return f"event: {kind}\ndata: {json.dumps(_finite(data))}\n\n"


async def events(request):
    trainer, hub = request.app.state.trainer, request.app.state.hub
    until_end = request.query_params.get("until") == "end"
    queue = hub.subscribe()
    first = trainer.snapshot()

    async def stream():
        try:
            yield _event("status", first)
            if until_end and first["state"] in FINAL_STATES:
                return
            while True:
                try:
                    kind, data = await asyncio.wait_for(queue.get(), PING_EVERY_S)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": ping\n\n"
                    continue
                yield _event(kind, data)
                if until_end and kind == "status" and data["state"] in FINAL_STATES:
                    return
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def routes() -> list[Route]:
    return [Route("/api/train/options", options), Route("/api/train", start, methods=["POST"]),
            Route("/api/train/pause", pause, methods=["POST"]), Route("/api/train/resume", resume, methods=["POST"]),
            Route("/api/train/stop", stop, methods=["POST"]), Route("/api/train/status", status),
            Route("/api/train/events", events)]

"""The lab's web app: ``create_app(source)`` builds the Starlette app that ``cnnlab lab`` serves with uvicorn.

Routes live in one module per page (``api_model``, ``api_train``,
``api_inside``, ``api_runs``); this module wires them with the guard
(:mod:`cnnlab.lab.security`), the static page and the error answers. The
HTTP contract is docs/lab_api.md.
"""

from __future__ import annotations

import os
import traceback
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cnnlab.errors import CnnlabError
from cnnlab.lab import api_inside, api_model, api_runs, api_train
from cnnlab.lab.security import BadImage, Forbidden, GuardMiddleware, UploadTooLarge, new_token
from cnnlab.lab.sources import Lab, NotFound, Source
from cnnlab.lab.training import Busy, EventHub, Trainer

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><title>cnnlab lab</title></head>
<body><h1>cnnlab lab</h1><p>The page of the lab is not installed (cnnlab/lab/static/index.html is missing).
The JSON API answers: see docs/lab_api.md, e.g. <code>/api/info</code>.</p></body></html>"""
STATUS_OF = ((Forbidden, 403), (NotFound, 404), (Busy, 409), (UploadTooLarge, 413), (BadImage, 415))


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": message, "type": kind}, status_code=status, headers={"Cache-Control": "no-store"})


async def _cnnlab_error(request: Request, err: Exception) -> JSONResponse:
    status = next((code for cls, code in STATUS_OF if isinstance(err, cls)), 400)
    if isinstance(err, FileNotFoundError) and status == 400:
        status = 404
    return _error(status, " ".join(str(err).split()), type(err).__name__)


async def _http_error(request: Request, err: HTTPException) -> JSONResponse:
    message = err.detail if err.status_code != 404 else f"There is no {request.url.path} in the lab (docs/lab_api.md)."
    return _error(err.status_code, str(message), "HTTPException")


async def _internal_error(request: Request, err: Exception) -> JSONResponse:
    traceback.print_exception(err)
    return _error(500, f"Internal error: {type(err).__name__}: {err}", type(err).__name__)


async def _index(request: Request):
    path = os.path.join(STATIC_DIR, "index.html")
    if os.path.isfile(path):
        return FileResponse(path, headers={"Cache-Control": "no-store"})
    return HTMLResponse(PLACEHOLDER)


def create_app(source: Source | None = None, token: str | None = None, allowed_hosts=(), port_getter=None):
    """The lab's ASGI app.

    Args:
        source: what the lab opens (default: the ``runs`` folder of the working directory).
        token: the secret every request carries (default: a new random one, ``app.state.token``).
        allowed_hosts: host names accepted besides 127.0.0.1, localhost and [::1] (the bound host).
        port_getter: returns the bound port (names the token cookie); 0 when not given.

    Returns:
        A Starlette app; ``app.state.lab`` is the :class:`~cnnlab.lab.sources.Lab`,
        ``app.state.trainer`` the :class:`~cnnlab.lab.training.Trainer`.

    Serving it outside ``cnnlab lab``: call :func:`cnnlab.lab.training.warm_up` first, or the first
    training stalls requests for a few hundred ms (garbage collection over torch's objects).

    Example:
        >>> app = create_app(Source.from_path(None, model="lenet5", data="digits"))  # doctest: +SKIP
        >>> warm_up()  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8765)  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")  # a server draws off screen, from request threads
    token = token or new_token()
    lab = Lab(source or Source())
    hub = EventHub()

    def on_done(run_id: str) -> None:
        try:
            lab.select_run(run_id)
        except Exception:  # noqa: BLE001  the run stays listed; the current model just does not change
            traceback.print_exc()

    trainer = Trainer(lab, hub, on_done=on_done)
    routes = [Route("/", _index),
              *api_runs.routes(), *api_model.routes(), *api_train.routes(), *api_inside.routes()]
    if os.path.isdir(STATIC_DIR):
        routes.append(Mount("/static", StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static"))
    handlers = {CnnlabError: _cnnlab_error, PermissionError: _cnnlab_error, HTTPException: _http_error,
                Exception: _internal_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.lab, app.state.trainer, app.state.hub, app.state.token = lab, trainer, hub, token
    app.add_middleware(GuardMiddleware, token=token, allowed_hosts=allowed_hosts,
                       port_getter=port_getter or (lambda: 0))
    return app

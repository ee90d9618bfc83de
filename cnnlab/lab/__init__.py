"""``cnnlab lab``: a local web app to look inside, train and compare your own CNNs (optional extra ``cnnlab[lab]``).

The server (:func:`create_app`) answers the JSON/PNG/SSE API of docs/lab_api.md;
the page in ``static/`` reads it. Start it with ``cnnlab lab``.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):
    """The lab's Starlette app (see :func:`cnnlab.lab.server.create_app`); Starlette is imported only here."""
    from cnnlab.lab.server import create_app as _create_app

    return _create_app(*args, **kwargs)

"""Shared set-up of the lab server tests: an app on a temporary runs folder and a client holding the token."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import warnings  # noqa: E402

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2, which is not installed; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from cnnlab.lab.server import create_app  # noqa: E402
from cnnlab.lab.sources import Source  # noqa: E402

TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:8765"


def make_client(tmp_path, token_header: bool = True, **source) -> TestClient:
    """A TestClient on a lab over ``tmp_path/runs`` (``source`` as Source.from_path's keywords)."""
    runs = source.pop("runs_dir", os.path.join(tmp_path, "runs"))
    path = source.pop("path", None)
    app = create_app(Source.from_path(path, runs_dir=runs, **source), token=TOKEN)
    headers = {"X-Cnnlab-Token": TOKEN} if token_header else {}
    return TestClient(app, base_url=BASE, headers=headers)


def wait_until_done(client: TestClient, timeout: float = 120.0) -> dict:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = client.get("/api/train/status").json()
        if status["state"] in ("finished", "stopped", "failed", "idle"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"the training did not end in {timeout} s: {status}")

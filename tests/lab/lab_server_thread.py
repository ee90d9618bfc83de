"""A real lab server (uvicorn on a free 127.0.0.1 port) in a daemon thread, as ``cnnlab lab`` serves it.

Used by the browser tests (conftest.py) and by scripts/lab_screenshots.py; it needs no pytest.
"""

from __future__ import annotations

import socket
import threading
import time

BROWSER_TOKEN = "browser-test-token-4242"


class LabServer:
    """A lab under uvicorn on a free 127.0.0.1 port, served from a daemon thread."""

    def __init__(self, runs_dir: str, model: str | None = "lenet5", data: str | None = "digits",
                 path: str | None = None) -> None:
        import uvicorn

        from cnnlab.lab.server import create_app
        from cnnlab.lab.sources import Source
        from cnnlab.lab.training import warm_up

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.token = BROWSER_TOKEN
        self.app = create_app(Source.from_path(path, model=model, data=data, runs_dir=runs_dir),
                              token=BROWSER_TOKEN, port_getter=lambda: self.port)
        warm_up()  # as cnnlab lab does before it prints its URL
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, page: str = "model", token: str = BROWSER_TOKEN) -> str:
        return f"{self.base}/?token={token}#{page}"

    def start(self) -> LabServer:
        self.thread.start()
        end = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > end or not self.thread.is_alive():
                raise RuntimeError("the lab server did not start within 30 s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        trainer = getattr(self.app.state, "trainer", None)
        if trainer is not None and trainer.active:  # a training left running must not outlive the tests
            trainer.stop()
            trainer.join(timeout=30)
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

"""Fixtures of the lab's browser tests: a real lab server in a thread and Debian's Chromium under Playwright.

Only the browser tests ask for these; the server, security and training tests use TestClient and need
neither uvicorn's socket nor a browser.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")
BROWSER_TOKEN = "browser-test-token-4242"
INSTALL_HINT = ("install Debian's Chromium (`sudo apt-get install chromium`; `make test` does it in its set-up) "
                "or point CNNLAB_CHROMIUM at a Chromium binary")


def _needs_browser():
    pytest.importorskip("playwright.sync_api", reason="the browser tests need Playwright: pip install 'cnnlab[test]'")
    pytest.importorskip("uvicorn", reason="the lab needs its extra: pip install 'cnnlab[lab]'")
    if not os.path.isfile(CHROMIUM) or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM}, which is missing: {INSTALL_HINT}")


class LabServer:
    """A lab under uvicorn on a free 127.0.0.1 port, served from a daemon thread."""

    def __init__(self, runs_dir: str, model: str = "lenet5", data: str = "digits") -> None:
        import uvicorn

        from cnnlab.lab.server import create_app
        from cnnlab.lab.sources import Source

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.token = BROWSER_TOKEN
        self.app = create_app(Source.from_path(None, model=model, data=data, runs_dir=runs_dir),
                              token=BROWSER_TOKEN, port_getter=lambda: self.port)
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


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """A real lab on ``--model lenet5 --data digits``, its run folders in a temporary folder."""
    _needs_browser()
    server = LabServer(str(tmp_path_factory.mktemp("lab") / "runs")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    _needs_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as err:  # noqa: BLE001  a broken install is a skip with the reason, not a failure
            pytest.skip(f"Chromium at {CHROMIUM} did not start ({str(err).splitlines()[0]}): {INSTALL_HINT}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page (own cookies) at 1280x800; JavaScript errors fail the test that caused them."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"

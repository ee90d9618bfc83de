"""Fixtures of the lab's browser tests: a real lab server in a thread and Debian's Chromium under Playwright.

Only the browser tests ask for these; the server, security and training tests use TestClient and need
neither uvicorn's socket nor a browser.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from lab_server_thread import BROWSER_TOKEN, LabServer  # noqa: E402

CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = ("install Debian's Chromium (`sudo apt-get install chromium`; `make test` does it in its set-up) "
                "or point CNNLAB_CHROMIUM at a Chromium binary")


def _needs_browser():
    pytest.importorskip("playwright.sync_api", reason="the browser tests need Playwright: pip install 'cnnlab[test]'")
    pytest.importorskip("uvicorn", reason="the lab needs its extra: pip install 'cnnlab[lab]'")
    if not os.path.isfile(CHROMIUM) or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM}, which is missing: {INSTALL_HINT}")


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

"""Screenshots of the lab for docs/lab.md, taken only when asked:

    CNNLAB_LAB_SCREENSHOTS=docs/images OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests/lab/test_browser_screenshots.py

Trains two short runs on digits through the page (so Train, Compare and Mistakes show real curves), draws
a 7, clicks a feature-map pixel, and saves each page at 1280x800 plus Look inside at 420 px wide.
"""

from __future__ import annotations

import os

import pytest

OUT = os.environ.get("CNNLAB_LAB_SCREENSHOTS")
pytestmark = pytest.mark.skipif(not OUT, reason="set CNNLAB_LAB_SCREENSHOTS=DIR to refresh the lab's screenshots")


def train(page, lab_server, optimizer: str, lr: str, epochs: int = 10) -> None:
    page.goto(lab_server.url("train"))
    page.wait_for_selector("#train-form")
    page.select_option("#f-optimizer", optimizer)
    page.fill("#f-learning_rate", lr)
    page.fill("#f-epochs", str(epochs))
    page.fill("#f-name", f"digits-{optimizer}")
    page.click("#start")
    # The pill shows the previous run's end until this run's first status arrives: wait for this run.
    page.wait_for_function(f"document.querySelector('#train-run').textContent.includes('digits-{optimizer}') && "
                           "['finished', 'stopped', 'failed'].includes(document.querySelector('#train-state').textContent)",
                           timeout=300_000)
    assert page.text_content("#train-state") == "finished"


def draw_seven(page) -> None:
    canvas = page.locator("#draw-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    at = lambda fx, fy: (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)  # noqa: E731
    page.mouse.move(*at(0.25, 0.2))
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(*at(0.25 + i * 0.05, 0.2))
    for i in range(1, 15):
        page.mouse.move(*at(0.75 - i * 0.022, 0.2 + i * 0.05))
    page.mouse.up()
    page.wait_for_selector("#predicted")


def shot(page, name: str) -> None:
    page.wait_for_timeout(600)  # images and charts settle
    page.screenshot(path=os.path.join(OUT, f"lab_{name}.png"), full_page=True)


def test_screenshots_of_every_page(lab_server, page):
    os.makedirs(OUT, exist_ok=True)
    train(page, lab_server, "sgd", "0.05")
    train(page, lab_server, "adam", "0.003")
    shot(page, "train")

    page.goto(lab_server.url("model"))
    page.click("#diagram .layer-box.fam-conv")
    page.wait_for_selector("#layer-panel img[alt^='Filters of']")
    shot(page, "model")

    page.goto(lab_server.url("inside"))
    draw_seven(page)
    conv = page.locator("#feature-maps .layer-maps:has-text('click a pixel') .maps").first.locator(".map-tile img").nth(1)
    size = conv.bounding_box()
    conv.click(position={"x": size["width"] * 0.5, "y": size["height"] * 0.35})
    page.wait_for_selector("#arith-sum")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "inside")

    page.goto(lab_server.url("compare"))
    page.wait_for_selector("#compare-charts .chart")
    shot(page, "compare")

    page.goto(lab_server.url("mistakes"))
    page.click("#confusion td button:not([disabled])")
    page.wait_for_selector("#mistake-images img")
    shot(page, "mistakes")

    page.set_viewport_size({"width": 420, "height": 800})
    page.goto(lab_server.url("inside"))
    draw_seven(page)
    shot(page, "inside_narrow")

"""Refresh the lab's screenshots for docs/lab.md (``make lab-screenshots``).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/lab_screenshots.py [--out docs/images]

Starts a lab on ``--model lenet5 --data digits`` (run folders in a temporary folder) and drives it in
Debian's Chromium with Playwright, as a user would: trains two short runs through the Train page (so
Train, Compare and Mistakes show real curves), opens a convolution layer on the Model page, draws a 7 on
Look inside and clicks a feature-map pixel, opens a confusion cell on Mistakes, then takes Look inside
again at 420 px wide; then opens a MobileNetV2 model file with no --data (its layer list with a deep layer
picked, and the Train page offering to train it on resized digits). Every page is saved whole
(full-page PNG) as ``lab_<page>.png``: look at them before committing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lab"))
from lab_server_thread import LabServer  # noqa: E402

CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")


def train(page, lab, optimizer: str, lr: str, epochs: int = 10) -> None:
    page.goto(lab.url("train"))
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
    state = page.text_content("#train-state")
    if state != "finished":
        raise RuntimeError(f"the training digits-{optimizer} ended '{state}': {page.text_content('#train-result')}")


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


def wait_for_images(page) -> None:
    # A full-page screenshot does not scroll, so lazy images below the window would stay blank: load them all.
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=60_000)
    page.wait_for_timeout(600)  # charts settle


def shot(page, out: str, name: str) -> None:
    wait_for_images(page)
    path = os.path.join(out, f"lab_{name}.png")
    page.screenshot(path=path, full_page=True)
    print(f"wrote {path}")


def deep_model_file(folder: str) -> str:
    """A MobileNetV2 (alpha 0.35, 96x96x3, 10 classes, random weights) saved as .cnnlab: a deep model."""
    from cnnlab.applications import MobileNetV2

    path = os.path.join(folder, "mobilenet_v2.cnnlab")
    MobileNetV2(alpha=0.35, weights=None, input_shape=(96, 96, 3), classes=10).save(path)
    return path


def take(out: str, browser) -> None:
    with tempfile.TemporaryDirectory() as folder:
        lab = LabServer(os.path.join(folder, "runs")).start()
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.set_default_timeout(30_000)
            train(page, lab, "sgd", "0.05")
            train(page, lab, "adam", "0.003")
            shot(page, out, "train")

            page.goto(lab.url("model"))
            page.click("#diagram .layer-box.fam-conv")
            page.wait_for_selector("#layer-panel img[alt^='Filters of']")
            shot(page, out, "model")

            page.goto(lab.url("inside"))
            draw_seven(page)
            conv = page.locator("#feature-maps .layer-maps:has-text('click a pixel') .maps").first
            tile = conv.locator(".map-tile img").nth(1)
            size = tile.bounding_box()
            tile.click(position={"x": size["width"] * 0.5, "y": size["height"] * 0.35})
            page.wait_for_selector("#arith-sum")
            page.evaluate("window.scrollTo(0, 0)")
            shot(page, out, "inside")

            page.goto(lab.url("compare"))
            page.wait_for_selector("#compare-charts .chart")
            shot(page, out, "compare")

            page.goto(lab.url("mistakes"))
            page.click("#confusion td button:not([disabled])")
            page.wait_for_selector("#mistake-images img")
            shot(page, out, "mistakes")

            page.set_viewport_size({"width": 420, "height": 800})
            page.goto(lab.url("inside"))
            draw_seven(page)
            shot(page, out, "inside_narrow")
            page.goto(lab.url("train"))
            page.wait_for_selector("#chart-epoch-loss")
            shot(page, out, "train_narrow")
            context.close()
        finally:
            lab.stop()
        deep = LabServer(os.path.join(folder, "runs"), model=None, data=None, path=deep_model_file(folder)).start()
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(deep.url("model"))
            page.wait_for_selector("#layer-list .layer-row")
            row = page.locator('#layer-list .layer-row[data-layer="block_15_project"]')
            row.scroll_into_view_if_needed()
            row.click()
            page.wait_for_selector("#layer-panel #shape-math")
            page.evaluate("window.scrollTo(0, 0)")
            wait_for_images(page)
            path = os.path.join(out, "lab_model_deep.png")
            page.screenshot(path=path)  # the window, not the whole page: the list scrolls inside its card
            print(f"wrote {path}")
            page.goto(deep.url("train"))
            page.wait_for_selector("#fit-note li")
            path = os.path.join(out, "lab_train_opened.png")
            page.screenshot(path=path, full_page=True)
            print(f"wrote {path}")
            context.close()
        finally:
            deep.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "..", "docs", "images"), help="folder of the PNGs")
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"lab_screenshots: Chromium is missing at {CHROMIUM} (sudo apt-get install chromium, or set "
                 "CNNLAB_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    os.makedirs(args.out, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            take(args.out, browser)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

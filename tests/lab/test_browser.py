"""The lab in a real browser (Playwright on Debian's Chromium): every page opens, a training streams its
curve live, a drawing gets a prediction, a feature-map pixel shows its convolution arithmetic, a confusion
cell shows its images, a second training is refused with a clear message, and a wrong token shows 403.

Skipped, with the reason, when Playwright or /usr/bin/chromium is missing (see conftest.py).
"""

from __future__ import annotations

import re

import pytest


PAGES = {  # page -> an element that only appears once the page has read its data
    "model": "#diagram .layer-box",
    "train": "#train-form select#f-optimizer",
    "inside": "#test-images img",
    "compare": "#page-compare h1",
    "mistakes": "#confusion td button",
}


def overflow(page) -> int:
    """How many pixels the page is wider than the window (anything cut off or needing a side scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", [1280, 420])
def test_every_page_opens_and_fits_the_window(lab_server, page, width):
    page.set_viewport_size({"width": width, "height": 800})
    for name, ready in PAGES.items():
        page.goto(lab_server.url(name))
        page.wait_for_selector(ready)
        assert page.locator("#nav a.active").get_attribute("data-page") == name
        assert page.locator("#page .error").count() == 0, page.locator("#page .error").first.text_content()
        assert overflow(page) <= 0, f"page {name} is wider than a {width} px window"


def test_clicking_a_layer_shows_its_shape_arithmetic_and_weights(lab_server, page):
    page.goto(lab_server.url("model"))
    page.click("#diagram .layer-box.fam-conv")
    page.wait_for_selector("#layer-panel #shape-math")
    assert re.search(r"= \d+", page.text_content("#shape-math"))
    assert "Conv2D" in page.text_content("#layer-title")
    assert page.locator("#layer-panel img[alt^='Filters of']").count() == 1
    page.wait_for_function("[...document.querySelectorAll('#layer-panel img')].every(i => i.complete && i.naturalWidth > 0)")


def points(page) -> int:
    return int(page.get_attribute("#chart-batch", "data-points") or 0)


def test_training_streams_a_growing_curve_and_a_second_request_is_refused(lab_server, page):
    page.goto(lab_server.url("train"))
    page.wait_for_selector("#train-form")
    page.fill("#f-epochs", "4")
    page.fill("#f-batch_size", "16")
    page.fill("#f-limit", "800")
    page.click("#start")
    page.wait_for_function("Number(document.querySelector('#chart-batch')?.dataset.points || 0) >= 1", timeout=30_000)
    first = points(page)

    page.click("#start")  # one training at a time: the lab says so instead of starting another
    page.wait_for_selector("#busy-message")
    assert "already running" in page.text_content("#busy-message")

    page.wait_for_function(f"Number(document.querySelector('#chart-batch').dataset.points) > {first}", timeout=30_000)
    assert points(page) > first
    assert page.text_content("#train-state") in ("running", "paused", "stopping", "finished")
    assert page.locator("#eta").count() == 1

    page.click("#stop")  # keeps the tests short; the best checkpoint so far is kept
    page.wait_for_function(
        "['stopped', 'finished'].includes(document.querySelector('#train-state').textContent)", timeout=30_000)
    page.wait_for_selector("#chart-epoch-loss")


def test_a_drawing_on_the_canvas_gets_a_prediction(lab_server, page):
    page.goto(lab_server.url("inside"))
    canvas = page.locator("#draw-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 16):  # a "1": one vertical stroke
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.15 + step * 0.047))
    page.mouse.up()
    page.wait_for_selector("#predicted")
    assert re.fullmatch(r"[0-9]", page.text_content("#predicted"))
    assert page.locator("#top-classes .bar").count() == 5
    page.wait_for_selector("#feature-maps .maps .map-tile img")
    assert page.locator("#gradcam").count() == 1 and page.locator("#saliency").count() == 1


def test_clicking_a_feature_map_pixel_shows_the_convolution_arithmetic(lab_server, page):
    page.goto(lab_server.url("inside"))
    page.click("#test-images button >> nth=0")
    page.wait_for_selector("#predicted")
    conv_layers = page.locator("#feature-maps .layer-maps:has-text('click a pixel') .maps")
    tile = conv_layers.first.locator(".map-tile img").nth(2)
    tile.scroll_into_view_if_needed()
    size = tile.bounding_box()
    tile.click(position={"x": size["width"] * 0.55, "y": size["height"] * 0.45})
    page.wait_for_selector("#arith-sum")
    title = page.text_content("#arith h2")
    assert "filter 2" in title
    kernel = page.locator("#arith-matrices table").nth(1).locator("td")
    patch = page.locator("#arith-matrices table").nth(0).locator("td")
    assert kernel.count() == patch.count() > 1
    text = page.text_content("#arith-sum")
    shown = float(re.search(r"= (-?[\d.e+-]+)\s*the model computed", text).group(1))  # the page's sum
    computed = float(re.search(r"the model computed (-?[\d.e+-]+)", text).group(1))  # the model's output
    assert abs(shown - computed) < 1e-3


def test_clicking_a_confusion_cell_shows_those_images(lab_server, page):
    page.goto(lab_server.url("mistakes"))
    page.wait_for_selector("#confusion")
    cell = page.locator("#confusion td button:not([disabled])").first
    count = int(cell.text_content())
    cell.click()
    page.wait_for_selector("#mistake-images figure")
    assert page.locator("#mistake-images figure").count() == min(count, 100)
    page.wait_for_function("[...document.querySelectorAll('#mistake-images img')].every(i => i.complete && i.naturalWidth > 0)")


def test_a_misclassified_image_opens_in_look_inside(lab_server, page):
    page.goto(lab_server.url("mistakes"))
    page.click("#confusion td button:not([disabled]) >> nth=0")
    image = page.locator("#mistake-images a").first
    index = image.locator("figure").get_attribute("data-index")
    image.click()
    page.wait_for_selector("#predicted")
    assert page.url.endswith(f"#inside/{index}") and token_kept(page, lab_server)
    assert f"test image {index}" in page.text_content("#inside-results")
    page.wait_for_selector("#gradcam")
    page.wait_for_selector("#feature-maps .map-tile img")
    assert page.locator("#heat-legend").count() == 1


def token_kept(page, lab_server) -> bool:
    return f"token={lab_server.token}" in page.url


def test_a_wrong_token_shows_the_403_state(lab_server, page):
    response = page.goto(lab_server.url("model", token="not-the-token"))
    assert response.status == 403
    text = page.text_content("body")
    assert "403: access refused" in text and "cnnlab lab" in text  # the server's own page, not raw JSON


def test_the_page_turns_to_its_403_state_when_the_api_refuses_the_token(lab_server, page):
    """The page loaded, then the lab refuses its token (as after a restart with a new one)."""
    from pathlib import Path

    import cnnlab.lab

    static = Path(cnnlab.lab.__file__).parent / "static"

    def from_disk(route):  # serve the page's files as the lab would, so only the API sees the wrong token
        path = route.request.url.split("?")[0].split("#")[0].split(lab_server.base, 1)[1]
        file = static / ("index.html" if path == "/" else path.removeprefix("/static/"))
        route.fulfill(path=str(file))

    page.route(re.compile(r".*/(static/.*)?(\?token=.*)?$"), from_disk)
    page.goto(lab_server.url("model", token="stale-token"))
    page.wait_for_selector("#forbidden")
    assert "403" in page.text_content("#forbidden h1")
    assert page.locator("#diagram").count() == 0
    assert lab_server.token not in page.content()

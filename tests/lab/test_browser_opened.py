"""The lab in a real browser on a model file it did not build (a MobileNetV2 saved as .cnnlab, no --data):
the deep model opens as a readable layer list where a deep layer shows its shape arithmetic, Look inside
says what is missing and still predicts a drawing, and the Train page trains the opened model on digits
resized to its input.

Skipped, with the reason, when Playwright or /usr/bin/chromium is missing (see conftest.py).
"""

from __future__ import annotations

import os
import re

import pytest


@pytest.fixture(scope="module")
def deep_lab(browser, tmp_path_factory):
    """``cnnlab lab mobilenet_v2.cnnlab`` (no --data): MobileNetV2(alpha=0.35), 96x96x3, 10 classes."""
    from lab_server_thread import LabServer

    from cnnlab.applications import MobileNetV2

    folder = tmp_path_factory.mktemp("deep")
    path = os.path.join(folder, "mobilenet_v2.cnnlab")
    MobileNetV2(alpha=0.35, weights=None, input_shape=(96, 96, 3), classes=10).save(path)
    server = LabServer(os.path.join(folder, "runs"), model=None, data=None, path=path).start()
    yield server
    server.stop()


def test_a_deep_model_opens_as_a_readable_layer_list_and_a_deep_layer_shows_its_arithmetic(deep_lab, page):
    page.goto(deep_lab.url("model"))
    page.wait_for_selector("#layer-list .layer-row")
    assert page.locator("#diagram-view").is_hidden()  # the boxes of 156 layers are one click away
    row = page.locator('#layer-list .layer-row[data-layer="block_15_project"]')
    assert "(3, 3, 56)" in row.text_content()
    font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#layer-list .layer-row .name')).fontSize)")
    assert font >= 12  # readable without zooming
    row.click()
    page.wait_for_selector("#layer-panel #shape-math")
    assert "block_15_project (Conv2D)" in page.text_content("#layer-title")
    assert "(3 - 1 + 2*0)/1 + 1 = 3" in page.text_content("#shape-math")
    page.fill("#find-layer", "block_16_depthwise")  # the search filters the list
    visible = page.locator("#layer-list li:not([hidden]) .layer-row")
    assert 1 <= visible.count() <= 4
    page.click("#view-diagram")  # leaving the search box picks the layer it names
    page.wait_for_selector('#diagram .layer-box[data-layer="block_16_depthwise"].selected')
    page.wait_for_function("document.querySelector('#layer-title')?.textContent.startsWith('block_16_depthwise')")


def test_look_inside_without_data_says_how_to_add_it_and_a_drawing_gets_a_prediction(deep_lab, page):
    page.goto(deep_lab.url("inside"))
    page.wait_for_selector("#no-data")
    assert "--data" in page.text_content("#no-data")
    assert page.locator("#page .error").count() == 0
    canvas = page.locator("#draw-canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.8, steps=10)
    page.mouse.up()
    page.wait_for_selector("#predicted")
    assert page.locator("#top-classes .bar").count() == 5
    page.wait_for_selector("#feature-maps .map-tile img")
    page.goto(deep_lab.url("mistakes"))
    page.wait_for_selector("#no-data")
    assert page.locator("#page .error").count() == 0


def test_the_train_page_trains_the_opened_model_on_digits_resized_to_its_input(deep_lab, page):
    page.goto(deep_lab.url("train"))
    page.wait_for_selector("#fit-note li")
    assert page.input_value("#f-model") == "current"
    assert "opened model: mobilenetv2_0.35_96" in page.text_content("#f-model")
    assert page.input_value("#f-data") == "digits"
    note = page.text_content("#fit-note")
    assert "Continue training mobilenetv2_0.35_96" in note and "resized 8x8 -> 96x96" in note
    assert page.is_disabled("#f-regularization") and page.is_disabled("#f-augmentation")
    page.fill("#f-epochs", "1")
    page.fill("#f-limit", "40")
    page.fill("#f-batch_size", "20")
    page.click("#start")
    page.wait_for_function(
        "['finished', 'failed'].includes(document.querySelector('#train-state').textContent)", timeout=240_000)
    assert page.text_content("#train-state") == "finished", page.text_content("#train-result")
    assert re.search(r"mobilenetv2_0\.35_96-digits", page.text_content("#train-run"))
    page.select_option("#f-model", "lenet5")  # the zoo remains a choice
    assert page.is_enabled("#f-regularization")
    assert "untrained lenet5" in page.text_content("#fit-note")

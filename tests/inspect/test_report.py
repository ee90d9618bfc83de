"""The HTML report: every section, images embedded, nothing fetched from outside, text escaped."""

import os
import re

import numpy as np
import pytest

import cnnlab
from cnnlab import inspect, layers


@pytest.fixture
def trained():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, 24)
    model = cnnlab.Sequential([layers.Input(shape=(8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                               layers.MaxPooling2D(), layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=12, validation_split=0.25, verbose=0)
    return model, x, y, history


def test_report_has_every_section_with_embedded_images_and_no_external_reference(trained, tmp_path):
    model, x, y, history = trained
    path = inspect.report(model, x, y, history, path=str(tmp_path / "r.html"), class_names=["a", "b", "c"],
                          max_images=3)
    assert path == str(tmp_path / "r.html")
    text = open(path, encoding="utf-8").read()
    for section in ("metrics", "summary", "diagram", "curves", "per-class", "confusion", "misclassified",
                    "filters", "feature-maps", "grad-cam"):
        assert f'<section id="{section}">' in text
    sources = re.findall(r'src="([^"]*)"', text)
    assert len(sources) >= 8 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://|<link|<script|@import|url\(", text)
    assert "Receptive" in text or "RF / jump" in text  # the explained summary
    assert "loss" in text and "accuracy" in text
    assert os.listdir(tmp_path) == ["r.html"]  # written atomically: no temporary file left


def test_report_escapes_class_names_and_skips_curves_without_history(trained, tmp_path):
    model, x, y, _ = trained
    path = inspect.report(model, x, y, path=tmp_path / "r.html", class_names=["<script>alert(1)</script>", "b", "c"],
                          max_images=2)
    text = open(path, encoding="utf-8").read()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'id="curves"' not in text


def test_report_on_a_model_without_conv_layers_says_so(tmp_path):
    model = cnnlab.Sequential([layers.Input(shape=(4, 4, 1)), layers.Flatten(), layers.Dense(2, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(6, 4, 4, 1)).astype("float32")
    text = open(inspect.report(model, x, np.array([0, 1, 0, 1, 0, 1]), path=tmp_path / "r.html"),
                encoding="utf-8").read()
    assert "no Conv2D layer" in text and "accuracy" in text


@pytest.mark.slow  # trains on the 1437 digits images and writes a full report
def test_docs_page_examples_run(tmp_path, monkeypatch):
    """The code blocks of docs/inspect.md run as written (in a temporary folder)."""
    import matplotlib.pyplot as plt

    page = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "inspect.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/inspect.md", "exec"), namespace)
    plt.close("all")
    assert {"model.png", "curves.png", "report.html"} <= set(os.listdir(tmp_path))

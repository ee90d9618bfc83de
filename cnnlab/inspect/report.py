"""``report``: one self-contained HTML page about a trained model.

Collect (metrics, figures as PNG bytes) → render (escaped text, images as
``data:`` URIs, inline CSS) → write atomically. The file makes no external
request, so it opens offline and can be mailed or archived as is.
"""

from __future__ import annotations

import base64
import html
import io
import os

import numpy as np

from cnnlab._version import __version__
from cnnlab.inspect.figures import as_batch, to_numpy

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1180px;margin:0 auto;padding:24px;
color:#222;background:#fff;line-height:1.45}
h1{margin:0 0 4px}h2{border-bottom:2px solid #dde;padding-bottom:4px;margin-top:34px}
.sub{color:#666;margin:0 0 18px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccd;padding:4px 10px;text-align:right}
th{background:#f0f2f8}td:first-child,th:first-child{text-align:left}
pre{background:#f7f7fa;border:1px solid #e2e2ea;padding:10px;overflow-x:auto;font-size:12px;line-height:1.25}
img{max-width:100%;height:auto;border:1px solid #eee}
.note{color:#666;font-style:italic}.metrics td{font-size:1.1em}
nav a{margin-right:12px}.pair{display:flex;gap:12px}.pair img{width:50%;min-width:0}
"""


def _png(fig) -> str:
    """The figure as a ``data:`` URI; the figure is closed (a report may draw dozens)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, facecolor="white")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(fig, alt: str) -> str:
    return f'<img src="{_png(fig)}" alt="{html.escape(alt)}">'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _table(header: list[str], rows: list[list], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>'


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def test_metrics(model, x, y) -> dict[str, float]:
    """Loss and metrics from ``evaluate`` for a compiled model, else accuracy from ``predict``."""
    if getattr(model, "compiled", False):
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
        return {k: float(v) for k, v in logs.items()}
    from cnnlab.inspect.confusion import predicted_and_true

    predicted, true, _ = predicted_and_true(model, x, y)
    return {"accuracy": float(np.mean(predicted == true))}


def _first_conv(model):
    from cnnlab.layers.conv import Conv2D

    return next((m for m in model.modules() if isinstance(m, Conv2D)), None)


def _sections(model, x, y, history, class_names, max_images):
    from cnnlab.inspect.cam import plot_grad_cam
    from cnnlab.inspect.confusion import confusion_matrix, per_class_metrics, plot_confusion_matrix, \
        plot_misclassified
    from cnnlab.inspect.curves import plot_history
    from cnnlab.inspect.diagram import draw_model
    from cnnlab.inspect.feature_maps import plot_feature_maps
    from cnnlab.inspect.filters import plot_filters
    from cnnlab.inspect.summary import render_summary

    metrics = test_metrics(model, x, y)
    yield "metrics", "Test metrics", _table(list(metrics), [list(metrics.values())], "metrics") + \
        _note(f"{len(to_numpy(y))} test examples.")
    yield "summary", "Summary", f"<pre>{html.escape(render_summary(model, detail=True))}</pre>"
    yield "diagram", "Diagram", _img(draw_model(model, show_shapes=True), "model diagram")
    if history is not None:
        yield "curves", "Learning curves", _img(plot_history(history), "learning curves")
    cm = confusion_matrix(model, x, y)
    rows = per_class_metrics(cm, class_names=class_names)
    yield "per-class", "Per-class metrics", _table(["class", "precision", "recall", "F1", "support"],
                                                   [list(r.values()) for r in rows])
    yield "confusion", "Confusion matrix", '<div class="pair">' + \
        _img(plot_confusion_matrix(cm, class_names), "confusion matrix") + \
        _img(plot_confusion_matrix(cm, class_names, normalize=True), "normalised confusion matrix") + "</div>"
    yield "misclassified", "Misclassified examples", \
        _img(plot_misclassified(model, x, y, n=2 * max_images, class_names=class_names), "misclassified examples")
    conv = _first_conv(model)
    if conv is None:
        yield "filters", "Filters, feature maps and Grad-CAM", _note("The model has no Conv2D layer.")
        return
    yield "filters", "First-layer filters", _img(plot_filters(conv), "filters")
    sample = to_numpy(x)[:max_images]
    yield "feature-maps", "Feature maps", _img(plot_feature_maps(model, sample[0], conv), "feature maps")
    yield "grad-cam", "Grad-CAM", _img(plot_grad_cam(model, sample, class_names=class_names), "Grad-CAM")


def report(model, x_test, y_test, history=None, path: str = "report.html", class_names=None,
           max_images: int = 8) -> str:
    """Write one self-contained HTML page about a trained classifier.

    Sections: test metrics, the explained summary, the diagram, learning curves
    (with ``history``), per-class precision/recall/F1, confusion matrices,
    misclassified examples, first-layer filters, feature maps and Grad-CAM for
    the first ``max_images`` test images. Images are embedded as PNG
    ``data:`` URIs; the page loads nothing from the network.

    Args:
        model: a trained model.
        x_test, y_test: test images and labels.
        history: a ``History``, its dict or a CSVLogger path; optional.
        path: where to write the HTML file (atomically).
        class_names: names of the classes, for tables and titles.
        max_images: images used for Grad-CAM (and twice as many misclassified ones).

    Returns:
        ``path``.

    Example:
        >>> report(model, x_test, y_test, history, "report.html", class_names=names)  # doctest: +SKIP
    """
    from cnnlab.errors import ConfigError
    from cnnlab.io.atomic import atomic_write

    if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
        raise ConfigError(f"report: max_images must be a positive int. Received: max_images={max_images!r}")
    as_batch(model, to_numpy(x_test)[:1], "report")  # fail early, before any figure, on badly shaped images
    sections = list(_sections(model, x_test, y_test, history, class_names, max_images))
    nav = "".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>'
                   for key, title, content in sections)
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(model.name)} — cnnlab report</title><style>{CSS}</style></head><body>"
            f"<h1>Model report: {html.escape(model.name)}</h1>"
            f'<p class="sub">{html.escape(type(model).__name__)} · {model.count_params():,} parameters · '
            f"cnnlab {html.escape(__version__)}</p><nav>{nav}</nav>{body}</body></html>\n")
    with atomic_write(os.fspath(path), "w") as f:
        f.write(page)
    return os.fspath(path)

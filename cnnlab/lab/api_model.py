"""Routes of the Model page: the diagram, each layer's shape arithmetic, weights, filters and histogram."""

from __future__ import annotations

import io

import numpy as np
from starlette.routing import Route

from cnnlab.lab.api_common import figure_bytes, json_response, png_response, query_int
from cnnlab.lab.sources import NotFound


def _shape(shape):
    if shape is None:
        return None
    if isinstance(shape, list):
        return [_shape(s) for s in shape]
    return list(tuple(shape)[1:])


def _params(layer) -> tuple[int, int]:
    weights = getattr(layer, "weights", None) or []
    total = sum(int(np.prod(w.shape)) for w in weights)
    trainable = sum(int(np.prod(w.shape)) for w in getattr(layer, "trainable_weights", []) or [])
    return total, trainable


def _has_filters(layer) -> bool:
    from cnnlab.inspect.filters import conv_kernels

    try:
        conv_kernels(layer)
    except Exception:  # noqa: BLE001  not a 2-D convolution
        return False
    return True


def _summary_text(model) -> str:
    lines: list[str] = []
    try:
        model.summary(print_fn=lambda line, *a, **k: lines.append(str(line)))
    except TypeError:
        buffer = io.StringIO()
        import contextlib

        with contextlib.redirect_stdout(buffer):
            model.summary()
        return buffer.getvalue()
    return "\n".join(lines)


def _diagram(model) -> dict:
    from cnnlab.inspect.diagram import _ranks
    from cnnlab.inspect.diagram_graph import diagram_graph

    graph = diagram_graph(model)
    members, _, _ = _ranks(graph)
    place = {}
    for rank, row in enumerate(members):
        boxes = [m for m in row if not m.startswith("\0")]  # waypoints of long arrows are the drawing's, not ours
        for order, box in enumerate(boxes):
            place[box] = (rank, order)
    nodes = []
    for node in graph.nodes:
        layer = node.layer
        rank, order = place.get(node.id, (0, 0))
        nodes.append({"id": node.id, "layer": getattr(layer, "name", node.id), "class_name": node.class_name,
                      "input_shape": _shape(node.input_shape), "output_shape": _shape(node.output_shape),
                      "params": _params(layer)[0] if layer is not None else 0, "rank": rank, "order": order})
    return {"nodes": nodes, "edges": [{"from": a, "to": b} for a, b in graph.edges]}


def _rows(model) -> list:
    from cnnlab.inspect.model_graph import summary_rows

    return summary_rows(model)


def _layer_row(row) -> dict:
    layer = row.layer
    total, trainable = _params(layer)
    out = row.output_shape
    spatial = isinstance(out, tuple) and len(out) == 4
    return {"name": layer.name, "class_name": type(layer).__name__, "output_shape": _shape(out), "params": total,
            "trainable": bool(getattr(layer, "trainable", True)), "has_filters": _has_filters(layer),
            "has_weights": bool(getattr(layer, "weights", None)), "feature_maps": spatial}


def model(request):
    lab = request.app.state.lab
    with lab.lock:
        current = lab.require_model()
        key = ("model_page", lab.version)
        if key not in lab.derived:
            lab.derived[key] = {"model": lab.model_brief(), "summary": _summary_text(current),
                                "diagram": _diagram(current), "layers": [_layer_row(r) for r in _rows(current)]}
        return json_response(lab.derived[key])


def _find(lab, name: str):
    """(layer, summary row) of layer ``name`` of the current model (404 if none)."""
    current = lab.require_model()
    for row in _rows(current):
        if row.layer.name == name:
            return row.layer, row
    names = [r.layer.name for r in _rows(current)]
    raise NotFound(f"Model '{current.name}' has no layer '{name}'. Its layers: {', '.join(names)}.")


def layer_detail(request):
    from cnnlab.inspect.shape_math import field_text, output_formula, propagate_fields, row_macs

    lab = request.app.state.lab
    with lab.lock:
        layer, row = _find(lab, request.path_params["name"])
        rows = _rows(lab.model)
        fields = dict(zip([r.layer.name for r in rows], propagate_fields(lab.model, rows)))
        formula = output_formula(layer, row.input_shape) if row.input_shape is not None else ""
        field = fields.get(layer.name)
        weights = []
        for w in getattr(layer, "weights", None) or []:
            values = w.numpy()
            weights.append({"name": w.path.rsplit("/", 1)[-1], "shape": list(values.shape),
                            "min": float(values.min()) if values.size else None,
                            "max": float(values.max()) if values.size else None,
                            "mean": float(values.mean()) if values.size else None,
                            "std": float(values.std()) if values.size else None})
        total, trainable = _params(layer)
        try:
            config = layer.get_config()
        except Exception:  # noqa: BLE001  a layer without a config still has a page
            config = {}
        return json_response({
            "name": layer.name, "class_name": type(layer).__name__, "config": _plain(config),
            "input_shape": _shape(row.input_shape), "output_shape": _shape(row.output_shape),
            "params": total, "trainable_params": trainable,
            "shape_math": {"formula": formula, "lines": [p.strip() for p in formula.split(";") if p.strip()],
                           "receptive_field": field_text(field.r, field.j) if field else None,
                           "macs": int(row_macs(row))},
            "weights": weights, "has_filters": _has_filters(layer), "has_weights": bool(weights)})


def _plain(value):
    """A config made JSON-safe (objects become their repr)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def filters_png(request):
    from cnnlab.inspect.filters import plot_filters

    lab = request.app.state.lab
    with lab.lock:
        layer, _ = _find(lab, request.path_params["name"])
        fig = plot_filters(layer, input_channel=query_int(request, "channel", 0, 0),
                           max_filters=query_int(request, "max", 64, 1, 256))
        return png_response(figure_bytes(fig))


def histogram_png(request):
    from cnnlab.inspect.filters import plot_weights_histogram

    lab = request.app.state.lab
    with lab.lock:
        layer, _ = _find(lab, request.path_params["name"])
        fig = plot_weights_histogram(layer, bins=query_int(request, "bins", 50, 2, 500))
        return png_response(figure_bytes(fig))


def routes() -> list[Route]:
    return [Route("/api/model", model), Route("/api/model/layers/{name}", layer_detail),
            Route("/api/model/layers/{name}/filters.png", filters_png),
            Route("/api/model/layers/{name}/histogram.png", histogram_png)]

"""Routes of the Look-inside page: prepare an image, predict, feature maps, Grad-CAM, saliency, conv arithmetic.

An image (a test image, an upload, a drawing) is prepared once by
``POST /api/inputs``: converted to the model's input, run through the model
with every layer's output kept, and named by an id that the other routes take.
"""

from __future__ import annotations

import secrets

import numpy as np
import torch
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from cnnlab.cli._data import PIXEL_MAX, input_shape_of
from cnnlab.errors import ConfigError
from cnnlab.lab.api_common import figure_bytes, image_png, json_response, overlay_png, png_response, query_int
from cnnlab.lab.api_runs import _json_body, _name
from cnnlab.lab.security import BadImage, decode_image, read_body
from cnnlab.lab.sources import MAX_INPUTS, NotFound

TOP_K = 5
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp")
FIT_MARGIN = 0.2  # room around a drawing once cropped to its strokes, as MNIST digits have


# ------------------------------------------------------------------ preparing
def prepare_image(image, shape: tuple[int, int, int], invert: bool = False, fit: bool = False) -> np.ndarray:
    """A Pillow image as the model's input: its channels, its (height, width), values 0..1."""
    from PIL import Image, ImageOps

    height, width, channels = shape
    if image.mode in ("RGBA", "LA", "P"):  # transparent pixels (an empty canvas) count as white paper
        image = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image)
    image = image.convert({1: "L", 3: "RGB", 4: "RGBA"}.get(channels, "RGB"))
    if invert:
        image = ImageOps.invert(image.convert("RGB")).convert(image.mode) if image.mode != "L" else ImageOps.invert(image)
    if fit:
        box = image.convert("L").point(lambda v: 255 if v > 20 else 0).getbbox()
        if box:
            image = image.crop(box)
            side = int(max(image.size) * (1 + 2 * FIT_MARGIN)) or 1
            square = Image.new(image.mode, (side, side))
            square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
            image = square
    shrinking = image.width > width or image.height > height
    image = image.resize((width, height), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / PIXEL_MAX
    return pixels.reshape(height, width, channels)


def _spatial_layers(model) -> list:
    from cnnlab.inspect.model_graph import summary_rows
    from cnnlab.layers.core import InputLayer

    return [r.layer for r in summary_rows(model) if not isinstance(r.layer, InputLayer)]


def _probabilities(scores: np.ndarray) -> np.ndarray:
    if scores.min() < 0 or abs(float(scores.sum()) - 1.0) > 1e-3:  # logits: the model has no softmax
        e = np.exp(scores - scores.max())
        return e / e.sum()
    return scores


def analyse(lab, x: np.ndarray) -> dict:
    """Run the current model on one image, keeping every layer's output and each Conv2D's input."""
    from cnnlab.inspect.tracing import forward_hooks, tensors_in

    model = lab.require_model()
    layers = _spatial_layers(model)
    maps, inputs = {}, {}

    def keep(layer, args, output):
        if layer.name in maps:
            return
        out = tensors_in(output)
        if out and out[0].dim() == 4:
            maps[layer.name] = out[0][0].detach().cpu().numpy()
            if _conv_arithmetic_ok(layer):
                inputs[layer.name] = tensors_in(args)[0][0].detach().cpu().numpy()

    device = model._device() if hasattr(model, "_device") else torch.device("cpu")
    batch = torch.as_tensor(x[None], dtype=torch.float32, device=device)
    with torch.no_grad(), forward_hooks(layers, keep):
        scores = model(batch, training=False)
    scores = tensors_in(scores)[0][0].detach().cpu().numpy().reshape(-1)
    return {"x": x, "probs": _probabilities(scores.astype(np.float64)), "maps": maps, "conv_inputs": inputs,
            "layers": [layer for layer in layers if layer.name in maps]}


def _conv_arithmetic_ok(layer) -> bool:
    from cnnlab.layers.conv import Conv2D

    return (isinstance(layer, Conv2D) and getattr(layer, "groups", 1) == 1
            and getattr(layer, "data_format", "channels_last") == "channels_last")


def _store(lab, record: dict) -> str:
    input_id = secrets.token_hex(6)
    with lab.lock:
        lab.inputs[input_id] = record
        while len(lab.inputs) > MAX_INPUTS:
            lab.inputs.popitem(last=False)
    return input_id


def _answer(lab, input_id: str, record: dict) -> dict:
    names = lab.class_names()
    probs = record["probs"]
    top = np.argsort(-probs)[:TOP_K]
    return {"input_id": input_id, "source": record["source"], "test_index": record["test_index"],
            "label": record["label"],
            "top": [{"class_index": int(i), "class_name": _name(names, int(i)), "probability": float(probs[i])}
                    for i in top],
            "probabilities": [float(p) for p in probs],
            "layers": [{"name": layer.name, "class_name": type(layer).__name__,
                        "shape": list(record["maps"][layer.name].shape),
                        "maps": int(record["maps"][layer.name].shape[-1]),
                        "min": float(record["maps"][layer.name].min()), "max": float(record["maps"][layer.name].max()),
                        "conv_arithmetic": layer.name in record["conv_inputs"]} for layer in record["layers"]]}


def _from_test(lab, index) -> dict:
    x_test, y_test = lab.test_arrays()
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(x_test):
        raise NotFound(f"test_index must be a test image number from 0 to {len(x_test) - 1}. Received: "
                       f"test_index={index!r}")
    with lab.lock:
        record = analyse(lab, np.asarray(x_test[index], dtype=np.float32))
        record.update(source="test", test_index=index, label=int(y_test[index]))
        return _answer(lab, _store(lab, record), record)


def _from_upload(lab, data: bytes, invert: bool, fit: bool) -> dict:
    image = decode_image(data)
    with lab.lock:
        model = lab.require_model()
        x = prepare_image(image, tuple(input_shape_of(model)), invert=invert, fit=fit)
        record = analyse(lab, x)
        record.update(source="upload", test_index=None, label=None)
        return _answer(lab, _store(lab, record), record)


async def create_input(request):
    lab = request.app.state.lab
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        body = await _json_body(request)
        return json_response(await run_in_threadpool(_from_test, lab, body.get("test_index")))
    if kind not in IMAGE_TYPES:
        raise BadImage(f"POST /api/inputs takes JSON {{\"test_index\": n}} or the raw bytes of an image with "
                       f"Content-Type {', '.join(IMAGE_TYPES)} (not multipart). Received: content-type={kind!r}")
    data = await read_body(request)
    flags = {k: request.query_params.get(k) in ("1", "true") for k in ("invert", "fit")}
    return json_response(await run_in_threadpool(_from_upload, lab, data, flags["invert"], flags["fit"]))


# ------------------------------------------------------------------ reading an input
def _record(request) -> dict:
    lab = request.app.state.lab
    record = lab.inputs.get(request.path_params["id"])
    if record is None:
        raise NotFound(f"No prepared image '{request.path_params['id']}': the lab keeps the last {MAX_INPUTS} (and "
                       "forgets them when the model changes). POST /api/inputs again.")
    return record


def _maps(request, record) -> np.ndarray:
    name = request.path_params["name"]
    if name not in record["maps"]:
        raise NotFound(f"Layer '{name}' has no (height, width, channels) output for this image. Layers with maps: "
                       f"{', '.join(record['maps'])}.")
    return record["maps"][name]


def _map(request, record) -> np.ndarray:
    maps = _maps(request, record)
    k = request.path_params["k"]
    if not 0 <= k < maps.shape[-1]:
        raise NotFound(f"Layer '{request.path_params['name']}' has maps 0 to {maps.shape[-1] - 1}. Received: k={k}")
    return maps[..., k]


def input_png(request):
    record = _record(request)
    return png_response(image_png(record["x"], scale=query_int(request, "scale", 8, 1, 32), low=0.0, high=1.0))


def maps_info(request):
    maps = _maps(request, _record(request))
    return json_response({"layer": request.path_params["name"], "shape": list(maps.shape),
                          "min": float(maps.min()), "max": float(maps.max()),
                          "maps": [{"index": k, "min": float(maps[..., k].min()), "max": float(maps[..., k].max()),
                                    "mean": float(maps[..., k].mean())} for k in range(maps.shape[-1])]})


def layer_range(maps: np.ndarray) -> tuple[float, float]:
    """The grey scale of every map of a layer: the layer's lowest value is black, its highest white.

    One shared range, not one per map: a 1x1 map, or any constant map, has no range of its own (it
    would be all black), and maps of one layer are only comparable on one scale. A layer that is one
    value everywhere is drawn mid-grey.
    """
    low, high = float(np.nanmin(maps)), float(np.nanmax(maps))
    return (low, high) if high > low else (low - 1.0, low + 1.0)


def map_png(request):
    record = _record(request)
    low, high = layer_range(_maps(request, record))
    return png_response(image_png(_map(request, record), scale=query_int(request, "scale", 8, 1, 32),
                                  low=low, high=high))


def map_json(request):
    values = _map(request, _record(request))
    return json_response({"shape": list(values.shape), "values": values.tolist()})


def maps_grid_png(request):
    from cnnlab.inspect.feature_maps import plot_feature_maps

    lab, record = request.app.state.lab, _record(request)
    _maps(request, record)
    with lab.lock:
        fig = plot_feature_maps(lab.require_model(), record["x"], request.path_params["name"],
                                max_maps=query_int(request, "max", 32, 1, 256))
        return png_response(figure_bytes(fig))


def _explanation(request, method: str):
    from cnnlab.inspect.cam import grad_cam, saliency

    lab, record = request.app.state.lab, _record(request)
    classes = len(record["probs"])
    class_index = query_int(request, "class_index", int(np.argmax(record["probs"])), 0, classes - 1)
    layer = request.query_params.get("layer") or None
    with lab.lock:
        model = lab.require_model()
        if method == "gradcam":
            values = grad_cam(model, record["x"], class_index=class_index, layer=layer)
        else:
            values = saliency(model, record["x"], class_index=class_index)
            peak = float(values.max())
            values = values / peak if peak > 0 else values
    return values, class_index, layer


def explanation(request):
    method, fmt = request.path_params["method"], request.path_params["fmt"]
    if method not in ("gradcam", "saliency") or fmt not in ("png", "json"):
        raise NotFound(f"There is no {request.url.path}: use gradcam.png, gradcam.json, saliency.png or saliency.json.")
    values, class_index, layer = _explanation(request, method)
    if fmt == "json":
        return json_response({"class_index": class_index, "layer": layer, "shape": list(values.shape),
                              "values": np.asarray(values).tolist()})
    record = _record(request)
    return png_response(overlay_png(record["x"], values, scale=query_int(request, "scale", 8, 1, 32)))


def conv_arithmetic(request):
    from cnnlab.ops import same_padding

    lab, record = request.app.state.lab, _record(request)
    name = request.path_params["layer"]
    if name not in record["conv_inputs"]:
        usable = [n for n in record["conv_inputs"]]
        raise ConfigError(f"The convolution arithmetic is shown for Conv2D layers (channels_last, groups=1); "
                          f"'{name}' is not one. Pick one of: {', '.join(usable) or 'none in this model'}. "
                          f"Received: layer={name!r}")
    with lab.lock:
        layer = next(layer for layer in record["layers"] if layer.name == name)
        kernel_all = layer.kernel.detach().cpu().numpy()
        bias_all = layer.bias.detach().cpu().numpy() if layer.use_bias else None
        activation = layer.get_config().get("activation")
    out, inp = record["maps"][name], record["conv_inputs"][name]
    y, x = query_int(request, "y", 0), query_int(request, "x", 0)
    f = query_int(request, "filter", 0)
    if not (0 <= y < out.shape[0] and 0 <= x < out.shape[1] and 0 <= f < out.shape[2]):
        raise NotFound(f"Layer '{name}' outputs {list(out.shape)} (height, width, filters). Received: y={y}, x={x}, "
                       f"filter={f}")
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    top = same_padding(inp.shape[0], kh, sh, dh)[0] if layer.padding == "same" else 0
    left = same_padding(inp.shape[1], kw, sw, dw)[0] if layer.padding == "same" else 0
    rows = [y * sh - top + i * dh for i in range(kh)]
    cols = [x * sw - left + j * dw for j in range(kw)]
    patch = np.zeros((kh, kw, inp.shape[2]), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if 0 <= r < inp.shape[0] and 0 <= c < inp.shape[1]:
                patch[i, j] = inp[r, c]
    kernel = kernel_all[..., f].astype(np.float64)
    products = patch * kernel
    total = float(products.sum())
    bias = float(bias_all[f]) if bias_all is not None else 0.0
    pre = total + bias
    output = float(layer.activation(torch.tensor([pre], dtype=torch.float32))[0]) if layer.activation else pre
    inside = lambda v, n: v if 0 <= v < n else None  # noqa: E731  None marks a padding row/column
    return json_response({
        "layer": name, "y": y, "x": x, "filter": f, "input_layer": _input_layer(lab, record, name),
        "input_shape": list(inp.shape),
        "kernel_size": [kh, kw], "strides": [sh, sw], "dilation_rate": [dh, dw], "padding": layer.padding,
        "window": {"top": rows[0], "left": cols[0], "rows": [inside(r, inp.shape[0]) for r in rows],
                   "cols": [inside(c, inp.shape[1]) for c in cols]},
        "patch": patch.tolist(), "kernel": kernel.tolist(), "products": products.tolist(),
        "sum": total, "bias": bias, "pre_activation": pre,
        "activation": activation if isinstance(activation, str) else repr(activation), "output": output,
        "model_output": float(out[y, x, f])})


def _input_layer(lab, record: dict, name: str) -> str:
    """The name of the layer whose output ``name`` reads: from the model's graph, else the layer before it."""
    if name not in record.setdefault("input_layers", {}):
        from cnnlab.inspect.diagram_graph import diagram_graph

        found = None
        try:
            with lab.lock:
                edges = diagram_graph(lab.require_model()).edges
            found = next((_edge_end(e, 0) for e in edges if _edge_end(e, 1) == name), None)
        except Exception:  # noqa: BLE001  a graph the diagram cannot draw still has its arithmetic
            found = None
        if found is None:
            names = [layer.name for layer in record["layers"]]
            at = names.index(name)
            found = names[at - 1] if at > 0 else "input_layer"
        record["input_layers"][name] = found
    return record["input_layers"][name]


def _edge_end(edge, end: int) -> str:
    if isinstance(edge, dict):
        return edge["from" if end == 0 else "to"]
    return edge[end]


def routes() -> list[Route]:
    base = "/api/inputs/{id}"
    return [Route("/api/inputs", create_input, methods=["POST"]), Route(f"{base}/image.png", input_png),
            Route(f"{base}/layers/{{name}}/maps", maps_info),
            Route(f"{base}/layers/{{name}}/maps.png", maps_grid_png),
            Route(f"{base}/layers/{{name}}/maps/{{k:int}}.png", map_png),
            Route(f"{base}/layers/{{name}}/maps/{{k:int}}.json", map_json),
            Route(f"{base}/conv/{{layer}}", conv_arithmetic),
            Route(f"{base}/{{method}}.{{fmt}}", explanation)]

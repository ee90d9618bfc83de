"""The lab's API answers every page's endpoint (docs/lab_api.md) with the shapes the page reads."""

from __future__ import annotations

import io
import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from lab_server_fixtures import TOKEN, make_client  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("lab"), model="lenet5", data="digits") as c:
        yield c


@pytest.fixture(scope="module")
def test_input(client):
    r = client.post("/api/inputs", json={"test_index": 5})
    assert r.status_code == 200, r.text
    return r.json()


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_info_describes_source_model_data_and_limits(client):
    info = client.get("/api/info").json()
    assert info["source"]["kind"] == "zoo"
    assert info["model"]["name"] == "lenet5" and info["model"]["input_shape"] == [8, 8, 1]
    assert info["data"]["name"] == "digits" and len(info["data"]["class_names"]) == 10
    assert info["training"]["state"] == "idle"
    assert info["limits"]["max_upload_bytes"] == 5 * 1024 * 1024


def test_index_serves_a_page(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


def test_model_page_has_diagram_layers_and_summary(client):
    body = client.get("/api/model").json()
    ids = [n["id"] for n in body["diagram"]["nodes"]]
    assert "conv2d" in ids and body["diagram"]["edges"]
    ranks = {n["id"]: n["rank"] for n in body["diagram"]["nodes"]}
    for edge in body["diagram"]["edges"]:
        assert ranks[edge["from"]] < ranks[edge["to"]]
    conv = next(layer for layer in body["layers"] if layer["name"] == "conv2d")
    assert conv["has_filters"] and conv["feature_maps"] and conv["params"] == 5 * 5 * 1 * 6 + 6
    assert "Total params" in body["summary"]


def test_layer_detail_explains_shape_arithmetic(client):
    body = client.get("/api/model/layers/conv2d").json()
    assert body["class_name"] == "Conv2D" and body["output_shape"][-1] == 6
    assert "=" in body["shape_math"]["formula"] and body["shape_math"]["macs"] > 0
    assert {w["name"] for w in body["weights"]} == {"kernel", "bias"}


@pytest.mark.parametrize("what", ["filters.png", "histogram.png"])
def test_layer_pictures_are_png(client, what):
    r = client.get(f"/api/model/layers/conv2d/{what}")
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"


def test_filters_of_a_layer_without_kernel_is_a_clear_400(client):
    r = client.get("/api/model/layers/flatten/filters.png")
    assert r.status_code == 400 and "convolution" in r.json()["error"]


def test_unknown_layer_is_404_naming_the_layers(client):
    r = client.get("/api/model/layers/nope")
    assert r.status_code == 404 and "conv2d" in r.json()["error"]


def test_train_options_list_choices(client):
    body = client.get("/api/train/options").json()
    assert "adam" in body["optimizers"] and "lenet5" in body["models"]
    assert "l2" in body["regularization"] and "shift" in body["augmentation"]
    assert body["defaults"]["epochs"] >= 1


def test_bad_training_options_are_400(client):
    for body in ({"optimizer": "adamm"}, {"epochs": 0}, {"data": "/etc"}, {"colour": 1}, {"augmentation": "x"}):
        r = client.post("/api/train", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]
    assert "adam" in client.post("/api/train", json={"optimizer": "adamm"}).json()["error"]


def test_nothing_to_pause_resume_or_stop_is_409(client):
    for action in ("pause", "resume", "stop"):
        assert client.post(f"/api/train/{action}").status_code == 409


def test_test_images_list_and_thumbnail(client):
    body = client.get("/api/images?limit=5&label=3").json()
    assert body["total"] > 0 and all(i["label"] == 3 for i in body["images"])
    r = client.get(f"/api/images/{body['images'][0]['index']}.png?scale=4")
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    from PIL import Image

    assert Image.open(io.BytesIO(r.content)).size == (32, 32)
    assert client.get("/api/images/99999.png").status_code == 404


def test_predict_on_a_test_image(client, test_input):
    assert test_input["source"] == "test" and test_input["label"] is not None
    assert len(test_input["top"]) == 5
    assert abs(sum(test_input["probabilities"]) - 1) < 1e-4
    names = [layer["name"] for layer in test_input["layers"]]
    assert names[0] in ("zero_padding2d", "conv2d") and "conv2d" in names


def test_feature_maps_png_and_values(client, test_input):
    base = f"/api/inputs/{test_input['input_id']}"
    info = client.get(f"{base}/layers/conv2d/maps").json()
    h, w, c = info["shape"]
    assert len(info["maps"]) == c
    values = client.get(f"{base}/layers/conv2d/maps/1.json").json()
    assert np.asarray(values["values"]).shape == (h, w)
    from PIL import Image

    picture = Image.open(io.BytesIO(client.get(f"{base}/layers/conv2d/maps/1.png?scale=3").content))
    assert picture.size == (w * 3, h * 3)
    assert client.get(f"{base}/layers/conv2d/maps.png").content[:4] == b"\x89PNG"
    assert client.get(f"{base}/image.png").content[:4] == b"\x89PNG"
    assert client.get(f"{base}/layers/conv2d/maps/99.png").status_code == 404


@pytest.mark.parametrize("what", ["gradcam", "saliency"])
def test_explanations_as_png_and_json(client, test_input, what):
    base = f"/api/inputs/{test_input['input_id']}"
    assert client.get(f"{base}/{what}.png").content[:4] == b"\x89PNG"
    body = client.get(f"{base}/{what}.json?class_index=2").json()
    values = np.asarray(body["values"])
    assert body["class_index"] == 2 and values.shape == (8, 8) and values.min() >= 0 and values.max() <= 1


def _numpy_conv_value(x, kernel, bias, y, x0, f, activation):
    """One output of a 'same' Conv2D with stride 1 (TF padding), computed from scratch."""
    kh, kw = kernel.shape[:2]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(x, ((top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    value = (padded[y:y + kh, x0:x0 + kw] * kernel[..., f]).sum() + bias[f]
    return {"tanh": np.tanh, "relu": lambda v: max(v, 0.0)}[activation](value)


def test_conv_arithmetic_reproduces_the_models_output(client, test_input):
    base = f"/api/inputs/{test_input['input_id']}"
    body = client.get(f"{base}/conv/conv2d?y=3&x=2&filter=4").json()
    assert np.asarray(body["patch"]).shape == (5, 5, body["input_shape"][-1])
    assert np.allclose(np.asarray(body["products"]), np.asarray(body["patch"]) * np.asarray(body["kernel"]))
    assert body["pre_activation"] == pytest.approx(body["sum"] + body["bias"])
    assert body["output"] == pytest.approx(body["model_output"], abs=1e-5)
    lab = client.app.state.lab
    layer = lab.model.get_layer("conv2d")
    kernel, bias = (w.numpy() for w in layer.weights)
    x_in = lab.inputs[test_input["input_id"]]["conv_inputs"]["conv2d"]
    assert body["output"] == pytest.approx(_numpy_conv_value(x_in, kernel, bias, 3, 2, 4, body["activation"]), abs=1e-5)


def test_conv_arithmetic_names_the_layer_it_reads(client, test_input):
    base = f"/api/inputs/{test_input['input_id']}"
    model = client.app.state.lab.model
    names = [layer.name for layer in model.layers]
    for conv in [layer.name for layer in model.layers if type(layer).__name__ == "Conv2D"]:
        at = names.index(conv)
        expected = names[at - 1] if at else "input_layer"  # a Sequential: the layer before, or its input
        assert client.get(f"{base}/conv/{conv}?y=0&x=0").json()["input_layer"] == expected


def test_conv_arithmetic_of_other_layers_and_positions(client, test_input):
    base = f"/api/inputs/{test_input['input_id']}"
    r = client.get(f"{base}/conv/max_pooling2d?y=0&x=0")
    assert r.status_code in (400, 404) and "Conv2D" in r.json()["error"]
    assert client.get(f"{base}/conv/conv2d?y=999&x=0").status_code == 404


def test_predict_on_a_drawn_canvas(client):
    from PIL import Image, ImageDraw

    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(140, 40), (140, 240)], fill=(0, 0, 0, 255), width=24)
    r = client.post("/api/inputs?invert=1&fit=1", content=_png(canvas), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "upload" and len(body["top"]) == 5
    lab = client.app.state.lab
    x = lab.inputs[body["input_id"]]["x"]
    columns = x[..., 0].sum(axis=0)
    assert x.shape == (8, 8, 1) and x.max() > 0.2 and int(np.argmax(columns)) in (3, 4)  # light stroke, centred
    assert columns[0] == 0 and columns[-1] == 0
    assert client.get(f"/api/inputs/{body['input_id']}/gradcam.png").status_code == 200


def test_unknown_input_id_is_404(client):
    assert client.get("/api/inputs/nope/image.png").status_code == 404


def test_confusion_and_mistakes(client):
    body = client.get("/api/confusion").json()
    matrix = np.asarray(body["matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == body["total"]
    assert body["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert {"class_name", "precision", "recall", "f1", "support"} <= set(body["per_class"][0])
    true, pred = np.unravel_index(np.argmax(matrix - np.diag(np.diag(matrix))), matrix.shape)
    cell = client.get(f"/api/mistakes?true={true}&pred={pred}&limit=1000").json()
    assert cell["total"] == matrix[true, pred]
    assert all(i["true"] == true and i["pred"] == pred for i in cell["images"])


def _write_run(folder, model=None, history=((0, 1.0, 0.5), (1, 0.5, 0.8))):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "run.json"), "w") as f:
        json.dump({"status": "finished", "config": {"model": "lenet5", "data": "digits", "optimizer": "adam"},
                   "results": {"test": {"loss": 0.4, "accuracy": 0.9}, "best_val_accuracy": 0.8, "epochs_run": 2}}, f)
    with open(os.path.join(folder, "history.csv"), "w") as f:
        f.write("epoch,loss,val_accuracy\n" + "".join(f"{e},{l},{a}\n" for e, l, a in history))
    if model is not None:
        model.save(os.path.join(folder, "model.cnnlab"))


def test_runs_folder_lists_selects_and_compares_runs(tmp_path):
    from cnnlab import zoo

    model = zoo.create_model("lenet5", input_shape=(8, 8, 1), num_classes=10)
    _write_run(tmp_path / "runs" / "a", model)
    _write_run(tmp_path / "runs" / "b", history=((0, 2.0, 0.1),))
    with make_client(tmp_path) as c:
        runs = {r["id"]: r for r in c.get("/api/runs").json()["runs"]}
        assert set(runs) == {"a", "b"} and runs["a"]["has_model"] and not runs["b"]["has_model"]
        assert c.get("/api/info").json()["model"]["run"] == "a"  # opened the newest run with a model
        body = c.get("/api/compare?runs=a,b").json()["runs"]
        assert body[0]["history"]["epoch"] == [1, 2] and body[0]["final"]["val_accuracy"] == 0.8
        assert body[1]["history"]["loss"] == [2.0] and body[0]["test"]["accuracy"] == 0.9
        assert c.post("/api/model/select", json={"run": "a"}).json()["model"]["run"] == "a"
        assert c.post("/api/model/select", json={"run": "b"}).status_code == 404
        assert c.post("/api/model/select", json={"run": "zzz"}).status_code == 404
        assert c.get("/api/compare").status_code == 400


def test_opening_one_run_folder_and_a_model_file(tmp_path):
    from cnnlab import zoo

    model = zoo.create_model("lenet5", input_shape=(8, 8, 1), num_classes=10)
    _write_run(tmp_path / "runs" / "mine", model)
    with make_client(tmp_path, path=str(tmp_path / "runs" / "mine"), runs_dir=None) as c:
        assert c.get("/api/info").json()["model"]["run"] == "mine"
        assert c.get("/api/confusion").status_code == 200  # the run's dataset from run.json
    model.save(str(tmp_path / "m.keras"))
    with make_client(tmp_path, path=str(tmp_path / "m.keras")) as c:
        info = c.get("/api/info").json()
        assert info["source"]["kind"] == "model_file" and info["model"]["params"] == model.count_params()
        assert c.get("/api/model").status_code == 200


def test_empty_runs_folder_has_no_model_yet(tmp_path):
    with make_client(tmp_path) as c:
        assert c.get("/api/info").json()["model"] is None
        r = c.get("/api/model")
        assert r.status_code == 404 and "Train" in r.json()["error"]


def test_cli_parses_lab_and_binds_a_free_port_when_taken():
    import socket

    from cnnlab.cli import lab
    from cnnlab.cli.main import build_parser

    args = build_parser().parse_args(["lab", "--model", "lenet5", "--data", "digits", "--no-browser"])
    assert args.host == "127.0.0.1" and args.port == lab.DEFAULT_PORT and args.no_browser
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        taken = holder.getsockname()[1]
        sock = lab.bind("127.0.0.1", 0)
        assert sock.getsockname()[1] != taken
        sock.close()
        from cnnlab.errors import ConfigError

        with pytest.raises(ConfigError, match="--port"):
            lab.bind("127.0.0.1", taken)
    finally:
        holder.close()
    assert lab.url_of("127.0.0.1", 8765, TOKEN) == f"http://127.0.0.1:8765/?token={TOKEN}"

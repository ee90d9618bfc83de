"""The lab on a model it did not build: a model file trains on data converted to its input (or says why it
cannot), a zoo architecture gets resized data, a lab with no --data still reads drawings, and feature maps
are drawn on their layer's shared grey scale."""

from __future__ import annotations

import io
import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from lab_server_fixtures import make_client, wait_until_done  # noqa: E402


def _save(folder, input_shape=(16, 16, 3), classes=10, name="m.cnnlab") -> str:
    import cnnlab as keras
    from cnnlab import layers

    model = keras.Sequential([layers.Input(input_shape), layers.Conv2D(4, 3, activation="relu"),
                              layers.GlobalAveragePooling2D(), layers.Dense(classes, activation="softmax")])
    path = os.path.join(folder, name)
    model.save(path)
    return path


def _png(values: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    folder = tmp_path_factory.mktemp("opened")
    with make_client(folder, path=_save(str(folder))) as c:
        yield c


def test_the_train_page_defaults_to_the_opened_model_on_a_dataset_converted_to_its_input(opened):
    options = opened.get("/api/train/options").json()
    assert options["model"] == "current" and options["models"][-1] == "current"
    assert options["current"]["input_shape"] == [16, 16, 3]
    assert options["data"] == "digits"  # the lab's default dataset, as it fits
    digits = options["fits"]["digits"]
    assert digits["fits"] and digits["image_size"] == [16, 16] and digits["color_mode"] == "rgb"
    assert "resized 8x8 -> 16x16" in digits["note"] and "grey channel repeated 3 times" in digits["note"]


def test_a_lab_without_data_says_what_is_missing_and_still_reads_a_drawing(opened):
    info = opened.get("/api/info").json()
    assert info["data"] is None and "--data NAME" in info["data_problem"]
    r = opened.get("/api/images")
    assert r.status_code == 404 and "--data" in r.json()["error"]
    drawing = np.zeros((40, 40), np.uint8)
    drawing[5:35, 18:22] = 255
    r = opened.post("/api/inputs?fit=1", content=_png(drawing), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    assert len(r.json()["top"]) == 5
    assert opened.get(f"/api/inputs/{r.json()['input_id']}/image.png").status_code == 200


def test_training_the_opened_model_continues_from_its_weights_on_converted_data(opened):
    before = opened.app.state.lab.model.get_weights()
    r = opened.post("/api/train", json={"epochs": 1, "limit": 60, "batch_size": 16})
    assert r.status_code == 202, r.text
    assert r.json()["config"]["image_size"] == [16, 16] and r.json()["config"]["color_mode"] == "rgb"
    status = wait_until_done(opened)
    assert status["state"] == "finished", status["error"]
    run = os.path.join(opened.app.state.lab.runs_dir, status["run"])
    with open(os.path.join(run, "run.json")) as f:
        record = json.load(f)
    assert record["config"]["model"] == "current" and record["config"]["data"] == "digits"
    assert record["data"]["input_shape"] == [16, 16, 3]
    info = opened.get("/api/info").json()  # the trained run is now the lab's model, with its data converted
    assert info["model"]["run"] == status["run"] and info["model"]["input_shape"] == [16, 16, 3]
    assert info["data"]["input_shape"] == [16, 16, 3] and info["data_problem"] is None
    after = opened.app.state.lab.model.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert opened.post("/api/inputs", json={"test_index": 0}).status_code == 200


def test_options_of_the_opened_model_refuse_layer_changing_choices(opened):
    for key, value in (("regularization", "dropout"), ("augmentation", "flip")):
        r = opened.post("/api/train", json={"model": "current", key: value, "epochs": 1})
        assert r.status_code == 400 and f"{key}={value!r}" in r.json()["error"]
    r = opened.post("/api/train", json={"model": "current", "image_size": 32, "epochs": 1})
    assert r.status_code == 400 and "image_size" in r.json()["error"]


def test_a_dataset_with_other_classes_does_not_fit_and_the_refusal_says_why(tmp_path):
    with make_client(tmp_path, path=_save(str(tmp_path), classes=5)) as c:
        options = c.get("/api/train/options").json()
        assert options["data"] is None
        assert not options["fits"]["digits"]["fits"]
        assert "10 classes" in options["fits"]["digits"]["note"] and "into 5 classes" in options["fits"]["digits"]["note"]
        r = c.post("/api/train", json={"data": "digits", "epochs": 1})
        assert r.status_code == 400 and "does not fit" in r.json()["error"] and "5 classes" in r.json()["error"]


def test_data_given_with_a_model_file_is_converted_for_look_inside(tmp_path):
    with make_client(tmp_path, path=_save(str(tmp_path), input_shape=(12, 12, 1)), data="digits") as c:
        info = c.get("/api/info").json()
        assert info["data"]["input_shape"] == [12, 12, 1] and info["data_problem"] is None
        assert c.get("/api/images/0.png").status_code == 200
        assert c.post("/api/inputs", json={"test_index": 3}).status_code == 200


def test_a_zoo_architecture_gets_the_data_resized_to_its_smallest_size_or_to_image_size(tmp_path):
    with make_client(tmp_path, model="mobilenet_v2", data="digits") as c:
        assert c.get("/api/info").json()["model"]["input_shape"] == [32, 32, 1]  # Keras's smallest: 32x32
    with make_client(tmp_path, model="mobilenet_v2", data="digits", image_size=(40, 40)) as c:
        info = c.get("/api/info").json()
        assert info["model"]["input_shape"] == [40, 40, 1] and info["data"]["input_shape"] == [40, 40, 1]
        assert c.get("/api/train/options").json()["image_size"] == [40, 40]
        r = c.post("/api/inputs", json={"test_index": 1})
        assert r.status_code == 200 and r.json()["layers"][0]["shape"][:2] == [20, 20]


def test_the_cli_takes_image_size_for_a_zoo_model_only(tmp_path):
    from cnnlab.cli.main import build_parser
    from cnnlab.errors import ConfigError
    from cnnlab.lab.sources import Source

    args = build_parser().parse_args(["lab", "--model", "mobilenet_v2", "--data", "digits", "--image-size", "96"])
    assert args.image_size == (96, 96)
    with pytest.raises(ConfigError, match="--image-size applies to a zoo --model"):
        Source.from_path(_save(str(tmp_path)), image_size=(96, 96))


def _map_pixels(client, input_id: str, layer: str, k: int) -> np.ndarray:
    from PIL import Image

    r = client.get(f"/api/inputs/{input_id}/layers/{layer}/maps/{k}.png?scale=1")
    assert r.status_code == 200
    return np.asarray(Image.open(io.BytesIO(r.content)))


def test_feature_maps_share_their_layer_grey_scale_so_1x1_and_constant_maps_are_not_black(tmp_path):
    import cnnlab as keras
    from cnnlab import layers

    conv = layers.Conv2D(3, 4, name="whole")  # a 4x4 kernel on a 4x4 image: 1x1 maps
    flat = layers.Conv2D(2, 1, name="flat")
    model = keras.Sequential([layers.Input((4, 4, 1)), conv, flat, layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
    conv.set_weights([np.zeros((4, 4, 1, 3), np.float32), np.array([1.0, 2.0, 3.0], np.float32)])
    flat.set_weights([np.zeros((1, 1, 3, 2), np.float32), np.array([0.5, 0.5], np.float32)])
    path = os.path.join(tmp_path, "tiny.cnnlab")
    model.save(path)
    with make_client(tmp_path, path=path) as c:
        r = c.post("/api/inputs", content=_png(np.zeros((4, 4), np.uint8)), headers={"Content-Type": "image/png"})
        assert r.status_code == 200, r.text
        answer = r.json()
        whole = next(layer for layer in answer["layers"] if layer["name"] == "whole")
        assert whole["shape"] == [1, 1, 3] and (whole["min"], whole["max"]) == (1.0, 2.0 + 1.0)
        # values 1, 2, 3 on the layer's scale 1..3: black, mid-grey, white (per-map scaling made all three black)
        shades = [int(_map_pixels(c, answer["input_id"], "whole", k)[0, 0]) for k in range(3)]
        assert shades == [0, round((2 - 1) / (3 - 1) * 255), 255]
        # a layer that is one value everywhere is grey, not black
        assert {int(v) for k in range(2) for v in _map_pixels(c, answer["input_id"], "flat", k).ravel()} == {128}

"""``cnnlab train`` / ``summary`` with Keras's architectures from the zoo (mobilenet_v2, resnet50, ...)."""

import json

import numpy as np
from PIL import Image

from tests.cli.conftest import run_cli


def _grey_folder(root, per_class=6, side=20):
    """Two classes of small *grey* PNGs: the command reads them as RGB for a 3-channel model."""
    rng = np.random.default_rng(0)
    for label in ("bright", "dark"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            level = 200 if label == "bright" else 40
            pixels = np.clip(rng.normal(level, 20, (side, side)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(root / label / f"{i}.png")
    return root


def test_train_mobilenet_v2_on_a_grey_folder_at_image_size_96(tmp_path):
    data = _grey_folder(tmp_path / "images")
    out = tmp_path / "run"
    result = run_cli("train", "--model", "mobilenet_v2", "--data", data, "--image-size", "96", "--epochs", "1",
                     "--batch-size", "4", "--val-split", "0.25", "--no-report", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["input_shape"] == [96, 96, 3]
    assert record["model"]["name"] == "mobilenetv2_1.00_96" and record["model"]["params"] == 2_260_546
    evaluated = run_cli("evaluate", out, "--data", data)
    assert evaluated.returncode == 0, evaluated.stderr


def test_train_small_builtin_images_refused_with_minimum_and_image_size(tmp_path):
    result = run_cli("train", "--model", "mobilenet_v2", "--data", "digits", "--limit", "20", "--epochs", "1",
                     "--out", tmp_path / "run")
    assert result.returncode != 0
    assert "at least 32x32" in result.stderr and "--image-size" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_builtin_images_resized_and_made_rgb(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--model", "mobilenet_v3_small", "--data", "digits", "--image-size", "32x32",
                     "--color-mode", "rgb", "--limit", "40", "--epochs", "1", "--batch-size", "8", "--no-report",
                     "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "run.json").read_text())["data"]["input_shape"] == [32, 32, 3]


def test_summary_lists_applications_and_explains_resnet50(tmp_path):
    listed = run_cli("summary", "--list")
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"mobilenet_v2", "resnet50", "efficientnet_b0", "efficientnet_v2_b0", "lenet5"} <= set(names)
    detail = run_cli("summary", "resnet50", "--input-shape", "64,64,3", "--detail")
    assert detail.returncode == 0, detail.stderr
    assert "MACs per image" in detail.stdout and "conv5_block3_out" in detail.stdout

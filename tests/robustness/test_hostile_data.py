"""Trust round 2, "Data and folders": hostile image folders, label arrays, weights and class names.

Each case ends as a cnnlab error that names the file or argument and the problem (or is handled: the data is
read correctly), in bounded time and memory, with the files untouched (check_hostile).
"""

from __future__ import annotations

import io
import json
import os
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from robust_record import check_hostile

import cnnlab
from cnnlab import layers
from cnnlab.data.image_folder import load_image
from cnnlab.errors import ConfigError, DataError, FileFormatError
from cnnlab.utils import image_dataset_from_directory, img_to_array, load_img, to_categorical

FAMILY = "Data and folders"
RNG = np.random.default_rng(0)
X = RNG.random((12, 4), dtype=np.float32)
Y = RNG.integers(0, 3, 12)


def _model(loss: str = "sparse_categorical_crossentropy", units: int = 3, name: str | None = None):
    inp = layers.Input((4,), name=name) if name else layers.Input((4,))
    model = cnnlab.Sequential([inp, layers.Dense(units, activation="sigmoid" if units == 1 else "softmax")]) \
        if name is None else cnnlab.Model(inp, layers.Dense(units, activation="softmax")(inp))
    model.compile("adam", loss, device="cpu")
    return model


def _fit(x=X, y=Y, model=None, **kwargs):
    return (model or _model()).fit(x, y, epochs=1, verbose=0, **kwargs)


def _quiet(call):
    """Run ``call`` with warnings recorded; return (result, warning messages)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in seen]


# ------------------------------------------------------------------------------------------------ symlink loops
def _png(path, value: int = 100) -> None:
    from PIL import Image

    Image.fromarray(np.full((4, 4), value, np.uint8)).save(path)


def _classes(root, names=("a", "b")):
    for name in names:
        os.makedirs(root / name, exist_ok=True)
        _png(root / name / "0.png")
    return root


def _loop_self(root):
    os.symlink(root / "a", root / "a" / "self")


def _loop_root(root):
    os.symlink(root, root / "a" / "up")


def _two_loops(root):  # Keras's os.walk: 2**40 paths
    os.symlink(root / "a", root / "a" / "l1")
    os.symlink(root / "a", root / "a" / "l2")


def _mutual(root):
    os.symlink(root / "b", root / "a" / "to_b")
    os.symlink(root / "a", root / "b" / "to_a")


def _nested_loop(root):
    deep = root / "a" / "x" / "y" / "z"
    deep.mkdir(parents=True)
    os.symlink(root / "a" / "x", deep / "back")


def _diamond(root):  # no loop, but 2**18 paths through 18 levels of two links each
    level = root / "a"
    for i in range(18):
        nxt = root / f"level{i}"
        nxt.mkdir()
        os.symlink(nxt, level / "left")
        os.symlink(nxt, level / "right")
        level = nxt


def _link_chain(root):  # a link to a link to ... (30 deep) to a real folder with one image: read once
    elsewhere = root.parent / "elsewhere"
    real = elsewhere / "real"
    real.mkdir(parents=True)
    _png(real / "deep.png")
    target = real
    for i in range(30):
        link = elsewhere / f"chain{i}"
        os.symlink(target, link)
        target = link
    os.symlink(target, root / "a" / "chain")


@pytest.mark.parametrize("build, expected", [(_loop_self, 2), (_loop_root, 3), (_two_loops, 2), (_mutual, 4),
                                             (_nested_loop, 2), (_diamond, 2), (_link_chain, 3)],
                         ids=["link to itself", "link to the root (its other class is read once)", "two loops", "loop between classes",
                              "loop three folders down", "diamond of 18 link levels", "chain of 30 links"])
def test_symlink_loops_are_walked_once(tmp_path, build, expected):
    root = _classes(tmp_path / "data")
    build(root)
    out = {}

    def call():
        out["ds"], out["warnings"] = _quiet(lambda: image_dataset_from_directory(
            root, image_size=(4, 4), follow_links=True, shuffle=False, verbose=False))

    check_hostile(FAMILY, f"image_dataset_from_directory(follow_links=True): {build.__name__.strip('_')}", call,
                  None, watch=(root,))
    paths = out["ds"].file_paths
    assert len(paths) == expected, paths
    if build not in (_link_chain,):
        assert any("already read" in w for w in out["warnings"]), out["warnings"]


def test_a_link_that_loops_on_itself_named_png_is_refused_by_name(tmp_path):
    root = _classes(tmp_path / "data")
    os.symlink(root / "a" / "loop.png", root / "a" / "loop.png")
    check_hostile(FAMILY, "load_image of a .png link that points at itself", lambda: load_image(root / "a" / "loop.png"),
                  DataError, r"loop\.png.*symbolic link", watch=(root,))


def test_follow_links_false_still_reads_a_folder_with_loops(tmp_path):
    root = _classes(tmp_path / "data")
    _two_loops(root)
    check_hostile(FAMILY, "image_dataset_from_directory(follow_links=False) with two loops", lambda: None
                  if len(image_dataset_from_directory(root, image_size=(4, 4), verbose=False).file_paths) == 2
                  else pytest.fail("wrong file count"), None, watch=(root,))


# ------------------------------------------------------------------------------------------------ to_categorical
@pytest.mark.parametrize("y, kwargs, where", [
    ([0, 1], {"num_classes": 2**31}, r"2,147,483,648 classes.*16\.0 GiB"),
    ([10**10], {}, r"10,000,000,001 classes"),
    (np.arange(10), {"num_classes": 10**9}, r"1,000,000,000 classes"),
    (np.arange(10), {"num_classes": 2**28, "dtype": "float64"}, r"8 bytes \(float64\)"),
    (np.arange(100_000), {}, r"100,000 labels x 100,000 classes"),
    (np.array([2**64 - 1], np.uint64), {}, r"18446744073709551615 \(uint64\)"),
    (np.array([1e30]), {}, r"1e\+30"),
], ids=["2**31 classes", "a label of 10**10", "10**9 classes", "float64 one-hot of 2**28 classes",
        "100k labels 0..99999", "uint64 max label", "float label 1e30"])
def test_to_categorical_refuses_what_it_cannot_allocate(y, kwargs, where):
    check_hostile(FAMILY, f"to_categorical: {where.split('.')[0][:40]}", lambda: to_categorical(y, **kwargs),
                  DataError, where)


def test_to_categorical_of_a_sane_size_still_works():
    out = {}
    check_hostile(FAMILY, "to_categorical of 1000 labels x 1000 classes (handled)",
                  lambda: out.setdefault("y", to_categorical(np.arange(1000) % 1000, 1000)), None)
    np.testing.assert_array_equal(out["y"], np.eye(1000, dtype=np.float32))


# ------------------------------------------------------------------------------------------------ dict x, meta tensors
def _dict_dataset():
    return cnnlab.data.Dataset.from_tensor_slices({"image": X, "label": Y}).batch(4)


def _dict_generator():
    while True:
        yield {"image": X, "label": Y}


@pytest.mark.parametrize("call, where", [
    (lambda: _fit({"image": X, "label": Y}, None), r"keys \['image', 'label'\].*named \['input_layer'\].*'label'"),
    (lambda: _fit({"image": X, "label": Y}, None, model=_model(name="image")), r"y is missing.*'label' entry"),
    (lambda: _fit({"img": X}, Y, model=_model(name="image")), r"no entry for \['image'\]"),
    (lambda: _model().predict({"pixels": X, "label": Y}, verbose=0), r"predict: x is a dict.*'pixels'"),
    (lambda: _model().evaluate({"x0": X}, Y, verbose=0), r"evaluate: x is a dict"),
    (lambda: _fit(_dict_dataset(), None), r"keys \['image', 'label'\].*d\['label'\]"),
    (lambda: _fit(_dict_generator(), None, steps_per_epoch=2), r"keys \['image', 'label'\]"),
], ids=["Sequential fit of {image, label}", "functional fit of {image, label} without y", "keys not the input names",
        "predict of a dict with other names", "evaluate of a dict with other names", "Dataset of {image, label} dicts",
        "generator of {image, label} dicts"])
def test_a_dict_x_says_which_keys_and_where_the_labels_go(call, where):
    check_hostile(FAMILY, f"dict x: {where[:40]}", call, DataError, where)


def test_a_dict_x_named_after_the_input_works_on_a_sequential_model():
    check_hostile(FAMILY, "Sequential fit of {input_layer: x} (handled, as in Keras)",
                  lambda: _fit({"input_layer": X}, Y), None)


META = torch.empty(12, 4, device="meta")


@pytest.mark.parametrize("call, where", [
    (lambda: _fit(META, Y), r"^x is a tensor on the 'meta' device.*\(12, 4\)"),
    (lambda: _fit(X, torch.empty(12, device="meta")), r"^y is a tensor on the 'meta' device"),
    (lambda: _fit(X, Y, sample_weight=torch.empty(12, device="meta")), r"^sample_weight is a tensor on the 'meta'"),
    (lambda: _model().predict(META, verbose=0), r"'meta' device"),
    (lambda: _fit(validation_data=(META, Y)), r"'meta' device"),
    (lambda: _fit([(META, torch.as_tensor(Y))], None), r"x \(batch\) is a tensor on the 'meta' device"),
    (lambda: _model().train_on_batch(META, Y), r"'meta' device"),
], ids=["fit x", "fit y", "fit sample_weight", "predict x", "validation_data x", "a batch of a list of batches",
        "train_on_batch x"])
def test_meta_tensors_are_refused_by_name(call, where):
    check_hostile(FAMILY, f"meta tensor: {where[:40]}", call, DataError, where)


# ------------------------------------------------------------------------------------------------ weights
def _weighted_dataset(weights):
    return cnnlab.data.Dataset.from_tensor_slices((X, Y, weights)).batch(4)


def _weighted_generator(weights):
    while True:
        yield X, Y, weights


NAN_W = np.where(np.arange(12) == 5, np.nan, 1.0)


@pytest.mark.parametrize("call, error, where", [
    (lambda: _fit(sample_weight=NAN_W), DataError, r"sample_weight holds 1 NaN.*index 5"),
    (lambda: _fit(sample_weight=np.full(12, np.inf)), DataError, r"sample_weight holds 12 inf"),
    (lambda: _fit(sample_weight=-np.ones(12)), DataError, r"sample_weight holds 12 negative"),
    (lambda: _fit(sample_weight=np.full(12, 1e300)), DataError, r"inf"),  # float32 overflow
    (lambda: _fit(sample_weight=torch.full((12,), float("nan"))), DataError, r"NaN"),
    (lambda: _model().evaluate(X, Y, sample_weight=NAN_W, verbose=0), DataError, r"sample_weight holds 1 NaN"),
    (lambda: _model().train_on_batch(X, Y, sample_weight=-np.ones(12)), DataError, r"negative"),
    (lambda: _fit(validation_data=(X, Y, NAN_W)), DataError, r"sample_weight holds 1 NaN"),
    (lambda: _fit(_weighted_dataset(NAN_W), None), DataError, r"sample_weight \(batch\) holds 1 NaN.*index 1"),
    (lambda: _fit(_weighted_dataset(-np.ones(12)), None), DataError, r"sample_weight \(batch\) holds 4 negative"),
    (lambda: _fit(_weighted_generator(np.full(12, np.inf)), None, steps_per_epoch=2), DataError, r"12 inf"),
    (lambda: _fit([(X, Y, NAN_W)], None), DataError, r"sample_weight \(batch\) holds 1 NaN"),
    (lambda: _fit(class_weight={0: float("nan"), 1: 1.0, 2: 1.0}), ConfigError, r"class_weight\[0\].*nan"),
    (lambda: _fit(class_weight={0: 1.0, 1: float("inf"), 2: 1.0}), ConfigError, r"class_weight\[1\].*inf"),
    (lambda: _fit(class_weight={0: 1.0, 1: 1.0, 2: -2.0}), ConfigError, r"class_weight\[2\].*-2\.0"),
    (lambda: _fit(class_weight={0: "1", 1: 1.0, 2: 1.0}), ConfigError, r"class_weight\[0\].*'1'"),
    (lambda: _fit(class_weight={0: 1.0, 10**12: 1.0}), ConfigError, r"keys \[1000000000000\]"),
    (lambda: _fit(_weighted_dataset(np.ones(12)), None, class_weight={0: np.nan, 1: 1, 2: 1}), ConfigError,
     r"class_weight\[0\]"),
], ids=["NaN array", "inf array", "negative array", "1e300 overflows float32", "NaN tensor", "evaluate NaN",
        "train_on_batch negative", "validation_data NaN", "Dataset NaN batch", "Dataset negative batch",
        "generator inf batch", "list of batches NaN", "class_weight NaN", "class_weight inf", "class_weight negative",
        "class_weight a string", "class_weight key 10**12", "class_weight NaN with a Dataset"])
def test_poisonous_weights_are_refused(call, error, where):
    check_hostile(FAMILY, f"weights: {where[:40]}", call, error, where)


def test_zero_and_large_finite_weights_are_accepted():
    check_hostile(FAMILY, "sample_weight of zeros and 1e6 (handled)",
                  lambda: _fit(sample_weight=np.where(np.arange(12) % 2, 0.0, 1e6)), None)


# ------------------------------------------------------------------------------------------------ labels
@pytest.mark.parametrize("call, where", [
    (lambda: _fit(y=np.where(np.arange(12) == 3, np.nan, 1.0)), r"NaN or inf labels in 1 of 12.*sample 3: nan"),
    (lambda: _fit(y=np.full(12, np.inf)), r"NaN or inf labels in 12 of 12"),
    (lambda: _fit(y=np.eye(3)[Y] * np.nan, model=_model("categorical_crossentropy")), r"NaN or inf labels"),
    (lambda: _fit(y=np.full((12, 1), np.nan), model=_model("binary_crossentropy", 1)), r"NaN or inf labels"),
    (lambda: _fit(y=np.full(12, 2**64 - 1, np.uint64)), r"uint64 values up to 18446744073709551615"),
    (lambda: _fit(y=torch.full((12,), 2**63 + 5, dtype=torch.uint64)), r"uint64 values up to 9223372036854775813"),
    (lambda: _fit(y=-np.arange(12)), r"from -11 to 0.*count from 0"),
    (lambda: _fit(y=np.arange(12) * 10**9), r"to 11000000000.*not class ids"),
    (lambda: _fit(y=np.full(12, 1e30)), r"not class ids"),
    (lambda: _fit(y=np.arange(12)), r"from 0 to 11.*Dense\(12\)"),
], ids=["NaN sparse labels", "inf sparse labels", "NaN one-hot labels", "NaN binary labels", "uint64 max labels",
        "torch uint64 labels above int64", "negative labels", "labels in the billions", "float labels 1e30",
        "labels past the output size"])
def test_bad_labels_are_named_for_what_they_hold(call, where):
    check_hostile(FAMILY, f"labels: {where[:40]}", call, DataError, where)


# ------------------------------------------------------------------------------------------------ 16-bit PNGs
VALUES16 = np.array([[0, 255, 256, 32768, 65535, 1000]], np.uint16)


def _png16(path, array: np.ndarray) -> None:
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit colour): grey (2-D) or RGB (H, W, 3)."""
    height, width = array.shape[:2]
    colour_type = 0 if array.ndim == 2 else 2
    rows = b"".join(b"\x00" + array[i].astype(">u2").tobytes() for i in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


# TF's decode_image keeps the high byte of each 16-bit value: measured with tensorflow 2.21 on these very values
# (grey and RGB, channels 1/3/4, decode_image and Keras's image_dataset_from_directory): 0 0 1 128 255 3.
HIGH_BYTE = (VALUES16 >> 8).astype(np.float32)


@pytest.mark.parametrize("colour", ["grey", "rgb"])
@pytest.mark.parametrize("color_mode", ["grayscale", "rgb", "rgba"])
def test_16_bit_pngs_load_as_tf_decodes_them(tmp_path, colour, color_mode):
    path = tmp_path / "deep.png"
    _png16(path, VALUES16 if colour == "grey" else np.stack([VALUES16] * 3, -1))
    out = {}
    check_hostile(FAMILY, f"16-bit {colour} PNG, load_image color_mode={color_mode} (handled)",
                  lambda: out.setdefault("x", load_image(path, color_mode=color_mode)), None, watch=(path,))
    np.testing.assert_array_equal(out["x"][..., 0], HIGH_BYTE)


def test_16_bit_folder_images_are_not_saturated(tmp_path):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    _png16(root / "a" / "deep.png", VALUES16)
    out = {}

    def call():
        ds = image_dataset_from_directory(root, image_size=(1, 6), interpolation="nearest", verbose=False)
        out["x"] = next(iter(ds))[0].numpy()

    check_hostile(FAMILY, "16-bit grey PNG in image_dataset_from_directory (handled)", call, None, seconds=10,
                  watch=(root,))
    np.testing.assert_array_equal(out["x"][0, ..., 0], HIGH_BYTE)


def test_load_img_keeps_keras_behaviour_for_16_bit_grey(tmp_path):
    path = tmp_path / "deep.png"
    _png16(path, VALUES16)
    grey = img_to_array(load_img(path, color_mode="grayscale"))[..., 0]
    np.testing.assert_array_equal(grey, VALUES16.astype(np.float32))  # Keras keeps 16-bit values
    rgb, seen = _quiet(lambda: img_to_array(load_img(path)))
    np.testing.assert_array_equal(rgb[..., 0], np.minimum(VALUES16, 255).astype(np.float32))  # Keras clips
    assert any("clips values above 255" in w for w in seen), seen


# ------------------------------------------------------------------------------------------------ formats by content
def _save(path, fmt: str) -> None:
    from PIL import Image

    Image.fromarray((np.arange(48).reshape(4, 4, 3) * 5).astype(np.uint8)).save(path, format=fmt)


def _bytes(path, data: bytes) -> None:
    path.write_bytes(data)


@pytest.mark.parametrize("name, make, where", [
    ("t.png", lambda p: _save(p, "TIFF"), r"'[^']*t\.png' is a TIFF image"),
    ("w.png", lambda p: _save(p, "WEBP"), r"'[^']*w\.png' is a WEBP image"),
    ("t.jpg", lambda p: _save(p, "TIFF"), r"t\.jpg' is a TIFF image"),
    ("big.png", lambda p: _bytes(p, b"MM\x00*" + b"\x00" * 64), r"big\.png' is a TIFF image"),
    ("psd.jpg", lambda p: _bytes(p, b"8BPS" + b"\x00" * 64), r"psd\.jpg' is a PSD image"),
    ("g.png", lambda p: _bytes(p, b"garbage!" * 8), r"g\.png' is not an image.*b'garbage!'"),
    ("e.jpg", lambda p: _bytes(p, b""), r"e\.jpg' is not an image"),
    ("html.png", lambda p: _bytes(p, b"<html><script>x</script></html>"), r"html\.png' is not an image"),
], ids=["TIFF as .png", "WebP as .png", "TIFF as .jpg", "a bare TIFF header as .png", "PSD as .jpg",
        "garbage as .png", "empty .jpg", "HTML as .png"])
@pytest.mark.parametrize("loader", ["load_image", "load_img"])
def test_an_image_whose_bytes_are_another_format_is_refused_by_name(tmp_path, name, make, where, loader):
    path = tmp_path / name
    make(path)
    call = (lambda: load_image(path)) if loader == "load_image" else (lambda: load_img(path))
    check_hostile(FAMILY, f"{loader}: {name} holding {where.split(' is ')[-1][:30]}", call, FileFormatError, where,
                  watch=(path,))


@pytest.mark.parametrize("name, fmt", [("j.png", "JPEG"), ("p.jpg", "PNG"), ("b.gif", "BMP"), ("g.bmp", "GIF")])
def test_the_folder_formats_load_under_each_others_names_as_in_tf(tmp_path, name, fmt):
    path = tmp_path / name
    _save(path, fmt)
    check_hostile(FAMILY, f"load_image: a {fmt} named {name} (handled, as TF's decode_image)",
                  lambda: load_image(path, (4, 4)), None, watch=(path,))


def test_a_tiff_in_a_class_folder_is_named_when_the_dataset_reads_it(tmp_path):
    root = _classes(tmp_path / "data")
    _save(root / "b" / "scan.png", "TIFF")
    check_hostile(FAMILY, "image_dataset_from_directory: a TIFF named .png in a class folder",
                  lambda: list(image_dataset_from_directory(root, image_size=(4, 4), verbose=False)),
                  FileFormatError, r"scan\.png' is a TIFF image", seconds=10, watch=(root,))


# ------------------------------------------------------------------------------------------------ class names in figures
HOSTILE_NAMES = ["$x$", r"$\notacommand$", "$a^$", "$$", "a\\b", "{%}", "100% & _under_", "猫 é ∑"]


def _figures(names):
    from cnnlab import inspect
    from cnnlab.inspect.figures import figure_png

    model = cnnlab.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                               layers.Dense(len(names), activation="softmax")])
    x = RNG.random((16, 6, 6, 1), dtype=np.float32)
    y = np.arange(16) % len(names)
    cm = inspect.confusion_matrix(model, x, y)
    for fig in (inspect.plot_confusion_matrix(cm, names), inspect.plot_misclassified(model, x, y, class_names=names),
                inspect.plot_grad_cam(model, x[:2], class_names=names)):
        figure_png(fig)
    return model, x, y


@pytest.fixture(scope="module")
def drawn_once():
    """matplotlib's first import and font cache cost seconds: paid here, not in a measured case."""
    return _figures(["warm", "up"])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_class_names_are_drawn_literally(name, drawn_once):
    check_hostile(FAMILY, f"class name {name!r} in the confusion matrix, mistakes and Grad-CAM (handled)",
                  lambda: _figures([name, "other"]), None, seconds=10)


def test_a_report_with_hostile_class_names_is_written(tmp_path, drawn_once):
    from cnnlab import inspect

    path = tmp_path / "r.html"
    model, x, y = _figures(HOSTILE_NAMES)
    check_hostile(FAMILY, "report() with class names $x$, $\\notacommand$, {%}... (handled)",
                  lambda: inspect.report(model, x, y, path=str(path), class_names=HOSTILE_NAMES), None, seconds=30)
    assert "$\\notacommand$" in path.read_text()


def test_a_layer_named_with_dollars_is_drawn_literally(tmp_path, drawn_once):
    from cnnlab.utils import plot_model

    model = cnnlab.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3, name="c$a^$"), layers.Flatten()])
    check_hostile(FAMILY, "plot_model of a layer named 'c$a^$' (handled)",
                  lambda: plot_model(model, str(tmp_path / "m.png"), show_shapes=True), None, seconds=10)


def _image_folder(root, names):
    from PIL import Image

    for name in names:
        (root / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(RNG.integers(0, 255, (8, 8), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def run_cli(*args):
    """``cnnlab ARGS`` in a subprocess, as a user runs it (tests/cli does the same)."""
    import subprocess
    import sys

    env = dict(os.environ, COLUMNS="120", MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "cnnlab.cli.main", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_train_on_class_folders_named_with_dollars_writes_its_report(tmp_path):
    data = _image_folder(tmp_path / "data", ["$x$", r"$\notacommand$", "{%}"])
    out = tmp_path / "run"
    result = {}
    check_hostile(FAMILY, "cnnlab train on class folders '$x$', '$\\notacommand$', '{%}' (handled)",
                  lambda: result.setdefault("r", run_cli("train", "--model", "lenet5", "--data", data, "--image-size",
                                                         "8,8", "--color-mode", "grayscale", "--epochs", "1",
                                                         "--quiet", "--out", out)),
                  None, seconds=120, watch=(data,))
    assert result["r"].returncode == 0, result["r"].stderr
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished" and "report" not in record
    assert (out / "report.html").stat().st_size > 1000


def test_a_report_that_cannot_be_drawn_keeps_the_run_finished(tmp_path, monkeypatch, capsys):
    import cnnlab.inspect
    from cnnlab.cli.main import main

    def broken_report(*args, **kwargs):
        raise ValueError("mathtext cannot draw '$a^$'")

    monkeypatch.setattr(cnnlab.inspect, "report", broken_report)
    out = tmp_path / "run"
    status = {}
    warnings.simplefilter("always")  # main() prints warnings to stderr itself; -W ignore must not hide this one
    check_hostile(FAMILY, "cnnlab train whose report fails: run stays finished, model saved (handled)",
                  lambda: status.setdefault("s", main(["train", "--model", "lenet5", "--data", "digits", "--limit",
                                                       "60", "--epochs", "1", "--quiet", "--out", str(out)])),
                  None, seconds=60)
    assert status["s"] == 0
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished"
    assert record["report"] == {"written": False, "error": "ValueError: mathtext cannot draw '$a^$'"}
    assert (out / "model.cnnlab").is_file() and not (out / "report.html").exists()
    assert "report.html was not written" in capsys.readouterr().err

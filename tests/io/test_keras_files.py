"""Keras files: fixtures written by real Keras 3 load with Keras's outputs; cnnlab's files round-trip; crafted files are refused."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import cnnlab  # noqa: E402
from cnnlab import layers as L  # noqa: E402
from cnnlab.errors import FileFormatError  # noqa: E402
from cnnlab.io import keras_format  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
EXPECTED = np.load(FIXTURES / "expected.npz")
TOLERANCE = 1e-5


def batchnorm_model():
    """The same architecture as compat/models.py's ``batchnorm``, built in cnnlab."""
    return cnnlab.Sequential([L.Input(shape=(16, 16, 3)), L.Conv2D(8, 3, use_bias=False), L.BatchNormalization(),
                              L.ReLU(), L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")])


@pytest.mark.parametrize("filename, name", [
    ("branching.keras", "branching"), ("batchnorm.keras", "batchnorm"),
    ("batchnorm.h5", "batchnorm"), ("branching_tf2.h5", "branching"),
])
def test_keras_written_model_gives_keras_outputs(filename, name):
    model = cnnlab.load_model(FIXTURES / filename)
    got = model.predict(EXPECTED[f"{name}/x"], verbose=0)
    np.testing.assert_allclose(got, EXPECTED[f"{name}/y"], rtol=TOLERANCE, atol=TOLERANCE)


def test_keras_weights_h5_loads_into_the_same_architecture():
    model = batchnorm_model()
    model.load_weights(FIXTURES / "batchnorm.weights.h5")
    np.testing.assert_allclose(model.predict(EXPECTED["batchnorm/x"], verbose=0), EXPECTED["batchnorm/y"],
                               rtol=TOLERANCE, atol=TOLERANCE)


def _keras_optimizer_vars(filename: str) -> list[np.ndarray]:
    """The optimizer variables as Keras stored them, read with h5py alone."""
    with zipfile.ZipFile(FIXTURES / filename) as zf, h5py.File(__import__("io").BytesIO(zf.read("model.weights.h5"))) as f:
        group = f["optimizer/vars"]
        return [np.asarray(group[str(i)]) for i in range(len(group))]


def test_adam_state_from_a_keras_file_is_restored():
    model = cnnlab.load_model(FIXTURES / "branching.keras")
    stored = _keras_optimizer_vars("branching.keras")
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "Adam" and optimizer.iterations == int(stored[0]) == 1
    # Keras keeps [iteration, learning_rate, m(w0), v(w0), m(w1), v(w1), ...] over the trainable weights.
    state = optimizer.state_dict()
    for i in range(len(model.trainable_weights)):
        np.testing.assert_array_equal(state[f"adam/momentum/{i}"].numpy(), stored[2 + 2 * i])
        np.testing.assert_array_equal(state[f"adam/velocity/{i}"].numpy(), stored[3 + 2 * i])


def test_sgd_momentum_from_a_keras_file_is_restored():
    model = cnnlab.load_model(FIXTURES / "batchnorm.keras")
    stored = _keras_optimizer_vars("batchnorm.keras")
    state = model.optimizer.state_dict()
    assert model.optimizer.momentum == 0.9 and model.optimizer.iterations == 1
    for i in range(len(model.trainable_weights)):
        np.testing.assert_array_equal(state[f"sgd/momentum/{i}"].numpy(), stored[2 + i])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_cnnlab_model_round_trips_through_keras_formats_with_optimizer(tmp_path, suffix):
    model = cnnlab.load_model(FIXTURES / "branching.keras")
    x = EXPECTED["branching/x"]
    model.fit(x, np.array([1, 2]), epochs=1, verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    again = cnnlab.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert again.optimizer.iterations == model.optimizer.iterations == 2
    for key, value in model.optimizer.state_dict().items():
        np.testing.assert_allclose(again.optimizer.state_dict()[key].numpy(), value.numpy(), rtol=1e-6)


def test_keras_file_written_by_cnnlab_uses_keras_3_layout(tmp_path):
    model = batchnorm_model()
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        weights = zf.read("model.weights.h5")
    assert config["class_name"] == "Sequential"
    assert [l["class_name"] for l in config["config"]["layers"]][:3] == ["InputLayer", "Conv2D", "BatchNormalization"]
    with h5py.File(__import__("io").BytesIO(weights)) as f:
        assert f["layers/conv2d/vars/0"].shape == (3, 3, 3, 8)  # (kh, kw, in, out); group named by class
        bn = [np.asarray(f[f"layers/batch_normalization/vars/{i}"]) for i in range(4)]
    np.testing.assert_array_equal(bn[0], np.ones(8))  # gamma starts at 1, moving_variance too
    np.testing.assert_array_equal(bn[3], np.ones(8))


def test_save_weights_h5_round_trip(tmp_path):
    model = batchnorm_model()
    model.save_weights(tmp_path / "w.weights.h5")
    other = batchnorm_model()
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_writes_a_loadable_h5(tmp_path):
    model = batchnorm_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(size=(8, 16, 16, 3)).astype("float32")
    y = np.arange(8) % 10
    path = tmp_path / "best.h5"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cnnlab.callbacks.ModelCheckpoint(str(path), monitor="loss")])
    np.testing.assert_allclose(cnnlab.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


# ------------------------------------------------------------------ safety
def _write_zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")


def _good_members() -> dict[str, bytes]:
    with zipfile.ZipFile(FIXTURES / "batchnorm.keras") as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.mark.parametrize("extra, symlink, message", [
    ({"../evil.txt": b"x"}, None, "unsafe path"),
    ({"/tmp/evil.txt": b"x"}, None, "unsafe path"),
    ({"assets/run.py": b"x"}, None, "unexpected member"),
    ({}, "config.json.lnk", "symbolic link"),
])
def test_crafted_keras_zip_is_refused_and_nothing_is_written(tmp_path, monkeypatch, extra, symlink, message):
    path = tmp_path / "evil.keras"
    _write_zip(path, {**_good_members(), **extra}, symlink)
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FileFormatError, match=message):
        cnnlab.load_model(path)
    assert sorted(os.listdir(tmp_path)) == before
    assert not Path("/tmp/evil.txt").exists()


def test_zip_member_over_the_size_bound_is_refused(tmp_path, monkeypatch):
    from cnnlab.io import zip_members

    monkeypatch.setattr(zip_members, "MAX_MEMBER_BYTES", 1000)  # the fixture's weights are ~27 kB
    with pytest.raises(FileFormatError, match="over the 1000-byte limit"):
        cnnlab.load_model(FIXTURES / "batchnorm.keras")


def _with_config(tmp_path, edit) -> Path:
    members = _good_members()
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    path = tmp_path / "edited.keras"
    _write_zip(path, members)
    return path


def test_lambda_layer_is_refused_naming_it_and_nothing_runs(tmp_path):
    sentinel = tmp_path / "ran"

    def add_lambda(config):
        config["config"]["layers"].insert(2, {"module": "keras.layers", "class_name": "Lambda", "config": {
            "name": "sneaky", "function": {"class_name": "__lambda__", "config": {
                "code": f"__import__('os').system('touch {sentinel}')"}}}})

    with pytest.raises(FileFormatError, match="'sneaky' is a Lambda layer"):
        cnnlab.load_model(_with_config(tmp_path, add_lambda))
    assert not sentinel.exists()


def test_unknown_class_is_refused_unless_given_in_custom_objects(tmp_path):
    def rename(config):
        config["config"]["layers"][3]["class_name"] = "MyReLU"  # the ReLU layer

    path = _with_config(tmp_path, rename)
    with pytest.raises(FileFormatError, match="layer 're_lu' has class 'MyReLU'.*custom_objects"):
        cnnlab.load_model(path)

    class MyReLU(L.ReLU):
        pass

    model = cnnlab.load_model(path, custom_objects={"MyReLU": MyReLU})
    assert type(model.layers[2]) is MyReLU


def _h5_with(tmp_path, build) -> Path:
    path = tmp_path / "evil.weights.h5"
    path.write_bytes((FIXTURES / "batchnorm.weights.h5").read_bytes())
    with h5py.File(path, "r+") as f:
        build(f, tmp_path)
    return path


def _external_link(f, tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as other:
        other["data"] = np.zeros(3)
    f["layers/extra"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")


def _soft_link(f, tmp_path):
    f["layers/extra"] = h5py.SoftLink("/../../outside")


def _external_storage(f, tmp_path):
    (tmp_path / "raw.bin").write_bytes(np.zeros(4, "float32").tobytes())
    f.create_dataset("layers/extra", shape=(4,), dtype="float32", external=[(str(tmp_path / "raw.bin"), 0, 16)])


def _oversized(f, tmp_path):
    f.create_dataset("layers/extra", shape=(10_000_000,), dtype="float32")  # 40 MB declared, none stored


@pytest.mark.parametrize("craft, message", [
    (_external_link, "external link"), (_soft_link, "soft link"),
    (_external_storage, "outside the file"), (_oversized, "declares 40000000 bytes"),
])
def test_crafted_hdf5_is_refused_before_reading(tmp_path, craft, message):
    path = _h5_with(tmp_path, craft)
    with pytest.raises(FileFormatError, match=message):
        batchnorm_model().load_weights(path)


def test_weights_file_given_to_load_model_says_to_use_load_weights():
    with pytest.raises(FileFormatError, match="load_weights"):
        cnnlab.load_model(FIXTURES / "batchnorm.weights.h5")

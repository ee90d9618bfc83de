"""The native .cnnlab format: round trips, weights files, refusals of unsafe or broken files, atomic writes."""

import contextlib
import errno
import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers
from cnnlab.errors import CheckpointError, CnnlabError, ConfigError, FileFormatError, ShapeError
from cnnlab.io import native



def _x(shape=(4, 12, 12, 1), seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _np(t):
    return t.detach().numpy()


def _sequential():
    return cnnlab.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(5, activation="softmax"),
    ])


def _functional():
    inputs = layers.Input((12, 12, 1))
    a = layers.Conv2D(4, 3, padding="same")(inputs)
    b = layers.Conv2D(4, 1)(inputs)
    merged = layers.Concatenate()([layers.Add()([a, b]), inputs])
    pooled = layers.GlobalMaxPooling2D()(merged)
    return cnnlab.Model(inputs, [layers.Dense(3)(pooled), layers.Dense(1)(pooled)], name="two_heads")


def _with_batch_norm():
    model = cnnlab.Sequential([
        layers.Conv2D(3, 3, input_shape=(12, 12, 1)), layers.BatchNormalization(), layers.ReLU(),
        layers.GlobalAveragePooling2D(), layers.Dense(2),
    ])
    for seed in range(3):  # move the moving statistics away from their initial 0 and 1
        model(_x(seed=seed) * 5 + 2, training=True)
    return model


def _outputs(model, x):
    out = model(x)
    return [_np(o) for o in out] if isinstance(out, (list, tuple)) else [_np(out)]


@pytest.mark.parametrize("build", [_sequential, _functional, _with_batch_norm])
def test_save_then_load_model_predicts_exactly_the_same(tmp_path, build):
    model = build()
    path = tmp_path / "m.cnnlab"
    model.save(str(path))
    loaded = cnnlab.models.load_model(path)
    assert type(loaded) is type(model)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    x = _x()
    for got, expected in zip(_outputs(loaded, x), _outputs(model, x)):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, expected)


def test_loaded_batch_norm_keeps_moving_statistics(tmp_path):
    model = _with_batch_norm()
    mean = model.layers[1].get_weights()[2]
    assert not np.allclose(mean, 0)
    model.save(tmp_path / "bn.cnnlab")
    loaded = cnnlab.load_model(tmp_path / "bn.cnnlab")
    np.testing.assert_array_equal(loaded.layers[1].get_weights()[2], mean)
    assert len(loaded.non_trainable_weights) == 2


def test_file_is_a_zip_of_json_and_safetensors(tmp_path):
    _sequential().save(tmp_path / "m.cnnlab")
    with zipfile.ZipFile(tmp_path / "m.cnnlab") as zf:
        assert set(zf.namelist()) == {"config.json", "model.safetensors", "metadata.json"}
        config = json.loads(zf.read("config.json"))
    assert config["class_name"] == "Sequential"
    assert config["config"]["layers"][0]["config"]["filters"] == 4


def test_save_weights_then_load_weights_into_the_same_architecture(tmp_path):
    model, other = _functional(), _functional()
    path = tmp_path / "m.weights.safetensors"
    model.save_weights(path)
    other.load_weights(path)
    x = _x()
    for got, expected in zip(_outputs(other, x), _outputs(model, x)):
        np.testing.assert_array_equal(got, expected)


def test_weights_file_must_end_with_weights_safetensors(tmp_path):
    with pytest.raises(ConfigError, match=r"must end with \.weights\.safetensors.*Received: filepath="):
        _sequential().save_weights(tmp_path / "m.h5")


def test_load_weights_into_another_architecture_names_the_weight(tmp_path):
    _sequential().save_weights(tmp_path / "m.weights.safetensors")
    wider = cnnlab.Sequential([
        layers.Conv2D(8, 3, activation="relu", input_shape=(12, 12, 1)), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dropout(0.3), layers.Dense(5),
    ])
    with pytest.raises(ShapeError, match=r"weight 'conv2d/kernel' has shape \(3, 3, 1, 4\).*\(3, 3, 1, 8\)"):
        wider.load_weights(tmp_path / "m.weights.safetensors")


class PlainNet(cnnlab.Model):
    def __init__(self):
        super().__init__()
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(3)

    def call(self, x):
        return self.dense(self.flatten(x))


class ConfigurableNet(cnnlab.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(units)

    def call(self, x):
        return self.dense(self.flatten(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_model_weights_round_trip(tmp_path):
    model, other = PlainNet(), PlainNet()
    x = _x()
    model(x)
    model.save_weights(tmp_path / "net.weights.safetensors")
    other.build((None, 12, 12, 1))
    other.load_weights(tmp_path / "net.weights.safetensors")
    np.testing.assert_array_equal(_np(other(x)), _np(model(x)))


def test_full_save_of_subclassed_model_without_get_config_is_refused(tmp_path):
    model = PlainNet()
    model(_x())
    with pytest.raises(ConfigError, match=r"PlainNet is a subclassed model without get_config\(\)\. "
                                          r"Save its weights with save_weights\(\)"):
        model.save(tmp_path / "net.cnnlab")
    assert not (tmp_path / "net.cnnlab").exists()
    assert os.listdir(tmp_path) == []


def test_subclassed_model_with_get_config_loads_with_custom_objects(tmp_path):
    model = ConfigurableNet(units=4)
    x = _x()
    model(x)
    model.save(tmp_path / "net.cnnlab")
    with pytest.raises(FileFormatError, match=r"'ConfigurableNet'.*custom_objects=\{'ConfigurableNet'"):
        cnnlab.models.load_model(tmp_path / "net.cnnlab")
    loaded = cnnlab.models.load_model(tmp_path / "net.cnnlab", custom_objects={"ConfigurableNet": ConfigurableNet})
    assert isinstance(loaded, ConfigurableNet) and loaded.units == 4
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))


# ------------------------------------------------------------------ unsafe files


def _rewrite(path, out, replace=None, extra=None):
    """Copy the zip at ``path`` to ``out``, replacing some members' bytes and adding others."""
    replace, extra = replace or {}, extra or {}
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, replace.get(name, src.read(name)))
        for name, data in extra.items():
            dst.writestr(name, data)
    return out


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.cnnlab"
    _sequential().save(path)
    return path


@pytest.fixture
def no_system_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    yield calls
    assert calls == []


@pytest.mark.parametrize("class_name", ["os.system", "posix.system", "Unknown"])
def test_config_naming_a_function_or_unknown_class_is_refused(saved, tmp_path, no_system_calls, class_name):
    config = {"class_name": class_name, "config": {"name": "x", "command": "touch pwned"}}
    bad = _rewrite(saved, tmp_path / "bad.cnnlab", replace={"config.json": json.dumps(config)})
    with pytest.raises(FileFormatError, match=f"names the layer class '{class_name}', which is not a cnnlab layer"):
        cnnlab.models.load_model(bad)
    assert not (tmp_path / "pwned").exists()


def test_nested_layer_naming_a_function_is_refused(saved, tmp_path, no_system_calls):
    with zipfile.ZipFile(saved) as zf:
        config = json.loads(zf.read("config.json"))
    config["config"]["layers"][1]["class_name"] = "builtins.eval"
    bad = _rewrite(saved, tmp_path / "bad.cnnlab", replace={"config.json": json.dumps(config)})
    with pytest.raises(FileFormatError, match="'builtins.eval'"):
        cnnlab.models.load_model(bad)


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _pickled_boom() -> bytes:
    buffer = io.BytesIO()
    torch.save({"w": _Boom()}, buffer)  # a torch checkpoint whose unpickling would run os.system
    return buffer.getvalue()


PICKLED_BOOM = _pickled_boom()  # built before any test patches os.system


def test_weights_member_holding_a_pickle_is_refused(saved, tmp_path, no_system_calls):
    bad = _rewrite(saved, tmp_path / "bad.cnnlab", replace={"model.safetensors": PICKLED_BOOM})
    with pytest.raises(FileFormatError, match=r"bad\.cnnlab' holds no readable safetensors weights"):
        cnnlab.models.load_model(bad)


@pytest.mark.parametrize("member", ["data.pkl", "extra.txt", "../evil.json", "/etc/evil", "config.json/../x"])
def test_extra_or_path_traversing_member_is_refused(saved, tmp_path, member):
    bad = _rewrite(saved, tmp_path / "bad.cnnlab", extra={member: b"\x80\x04K\x01."})
    with pytest.raises(FileFormatError, match=r"bad\.cnnlab' holds an unexpected member.*refusing to load it"):
        cnnlab.models.load_model(bad)
    assert not (tmp_path.parent / "evil.json").exists()


# ------------------------------------------------------------------ broken files


def _corrupt(data: bytes) -> bytes:
    middle = bytearray(data)
    for i in range(len(data) // 3, len(data) // 3 + 64):
        middle[i] ^= 0xFF
    return bytes(middle)


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@pytest.mark.parametrize("make_bytes", [
    pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
    pytest.param(_corrupt, id="corrupt"),
    pytest.param(lambda data: b"", id="empty"),
    pytest.param(lambda data: PNG_HEADER, id="png"),
    pytest.param(lambda data: "a text file\n".encode(), id="text"),
])
def test_broken_or_foreign_file_raises_file_format_error_naming_it(saved, tmp_path, make_bytes):
    bad = tmp_path / "broken.cnnlab"
    bad.write_bytes(make_bytes(saved.read_bytes()))
    with pytest.raises(FileFormatError, match=r"broken\.cnnlab'"):
        cnnlab.models.load_model(bad)


def test_zip_without_config_is_incomplete(saved, tmp_path):
    bad = tmp_path / "partial.cnnlab"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("metadata.json", "{}")
    with pytest.raises(FileFormatError, match=r"partial\.cnnlab' is missing config\.json"):
        cnnlab.models.load_model(bad)


def test_directory_path_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match=f"'{tmp_path}' is a directory; give the path of a model file"):
        cnnlab.models.load_model(tmp_path)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No such model file: '.*nope\.cnnlab'") as info:
        cnnlab.models.load_model(tmp_path / "nope.cnnlab")
    assert isinstance(info.value, CnnlabError)


def test_unknown_extension_on_save_lists_the_formats(tmp_path):
    with pytest.raises(ConfigError, match=r"\.cnnlab"):
        _sequential().save(tmp_path / "m.pkl")


# ------------------------------------------------------------------ atomic writes


def test_failed_write_leaves_the_previous_file_intact(saved, monkeypatch):
    before = saved.read_bytes()
    real_atomic_write = native.atomic_write

    @contextlib.contextmanager
    def failing_half_way(path, *args, **kwargs):
        with real_atomic_write(path, *args, **kwargs) as fh:
            class HalfWriter:
                def write(self, data):
                    fh.write(data[: len(data) // 2])
                    raise OSError(errno.ENOSPC, "No space left on device")
            yield HalfWriter()

    monkeypatch.setattr(native, "atomic_write", failing_half_way)
    other = _functional()
    with pytest.raises(CheckpointError, match=r"good\.cnnlab.*the disk is full.*previous file.*unchanged"):
        other.save(saved)
    assert saved.read_bytes() == before
    assert sorted(os.listdir(saved.parent)) == ["good.cnnlab"]  # no temporary file left behind
    assert type(cnnlab.models.load_model(saved)) is cnnlab.Sequential


# ------------------------------------------------------------------ set_weights


def test_set_weights_with_wrong_count_lists_the_expected_layout():
    model = _sequential()
    with pytest.raises(ShapeError, match=r"set_weights expects a list of 4 arrays \(conv2d/kernel \(3, 3, 1, 4\), "
                                         r"conv2d/bias \(4,\), dense/kernel \(100, 5\), dense/bias \(5,\)\); got 3"):
        model.set_weights(model.get_weights()[:3])


def test_set_weights_with_wrong_shape_names_the_weight_and_layout():
    model = _sequential()
    weights = model.get_weights()
    weights[0] = weights[0].transpose(3, 2, 0, 1)  # PyTorch's (out, in, kh, kw) instead of Keras's layout
    with pytest.raises(ShapeError, match=r"'conv2d/kernel': expected shape \(3, 3, 1, 4\), got \(4, 1, 3, 3\)\. "
                                         r"Weights use Keras layouts \(conv kernel \(kh, kw, in, out\)"):
        model.set_weights(weights)


# ------------------------------------------------------------------ compiled but never trained (issue #15)
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "nadam", "rmsprop",
                                       cnnlab.optimizers.SGD(momentum=0.9), cnnlab.optimizers.Adam(amsgrad=True)],
                         ids=["adam", "sgd", "nadam", "rmsprop", "sgd-momentum", "adam-amsgrad"])
@pytest.mark.parametrize("suffix", [".cnnlab", ".keras", ".h5", ".weights.h5"])
def test_compiled_but_untrained_model_round_trips_and_trains(tmp_path, suffix, optimizer):
    model = _sequential()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    path = tmp_path / f"untrained{suffix}"
    if suffix == ".weights.h5":
        model.save_weights(path)
        loaded = _sequential()
        loaded.compile(optimizer=type(model.optimizer)(), loss="sparse_categorical_crossentropy")
        loaded.load_weights(path)
    else:
        model.save(path)
        loaded = cnnlab.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer) and loaded.optimizer.iterations == 0
    for got, expected in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, expected)
    loaded.fit(_x(), np.arange(4) % 5, epochs=1, verbose=0)  # the restored (fresh) state takes a step
    assert loaded.optimizer.iterations == 1


def test_trained_model_round_trips_optimizer_state_in_cnnlab_file(tmp_path):
    model = _sequential()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(_x(), np.arange(4) % 5, epochs=2, verbose=0)
    model.save(tmp_path / "trained.cnnlab")
    loaded = cnnlab.load_model(tmp_path / "trained.cnnlab")
    assert loaded.optimizer.iterations == 2
    for key, value in model.optimizer.state_dict().items():
        np.testing.assert_array_equal(loaded.optimizer.state_dict()[key].numpy(), value.numpy())


def test_weight_members_are_stored_uncompressed(tmp_path):
    model = _sequential()
    model.compile(optimizer="adam", loss="mse")
    model.fit(_x(), np.zeros((4, 5)), verbose=0)
    for suffix, weights in [(".cnnlab", ("model.safetensors", "optimizer.safetensors")), (".keras", ("model.weights.h5",))]:
        model.save(tmp_path / f"m{suffix}")
        with zipfile.ZipFile(tmp_path / f"m{suffix}") as zf:
            assert {info.filename for info in zf.infolist() if info.compress_type == zipfile.ZIP_STORED} == set(weights)


def test_streamed_safetensors_are_readable_by_the_safetensors_library(tmp_path):
    from safetensors.torch import load_file

    model = _with_batch_norm()
    model.save_weights(tmp_path / "w.weights.safetensors")
    tensors = load_file(tmp_path / "w.weights.safetensors")
    assert [tuple(t.shape) for _, t in sorted(tensors.items())] == [tuple(w.shape) for w in model.weights]
    for (_, got), expected in zip(sorted(tensors.items()), model.get_weights()):
        np.testing.assert_array_equal(got.numpy(), expected)


def test_weights_load_in_saved_order_past_ten_thousand_names(tmp_path):
    from cnnlab.io.native import _weight_order

    names = [f"{i:04d}:w" for i in (9999, 10000, 10001, 2)]
    assert sorted(names, key=_weight_order) == ["0002:w", "9999:w", "10000:w", "10001:w"]

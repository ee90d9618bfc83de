"""cnnlab.applications foundations: preprocess_input, decode_predictions, obtain_input_shape, weights and inputs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab.applications import _common, _files, imagenet_utils
from cnnlab.errors import ConfigError, DatasetNotFoundError, ShapeError

CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])
TORCH_MEAN = np.array([0.485, 0.456, 0.406])
TORCH_STD = np.array([0.229, 0.224, 0.225])


def reference_preprocess(x: np.ndarray, mode: str, channels_first: bool) -> np.ndarray:
    """ImageNet preprocessing written out with NumPy on a channels-last float64 copy, cast back at the end."""
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    y = np.moveaxis(x.astype(np.float64), -3 if channels_first else -1, -1)
    if mode == "tf":
        y = y / 127.5 - 1.0
    elif mode == "torch":
        y = (y / 255.0 - TORCH_MEAN) / TORCH_STD
    else:
        y = y[..., ::-1] - CAFFE_MEAN_BGR
    return np.moveaxis(y, -1, -3 if channels_first else -1).astype(dtype)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("batched", [True, False])
def test_preprocess_input_matches_numpy_reference(mode, data_format, batched):
    rng = np.random.default_rng(0)
    shape = (4, 5, 3) if data_format == "channels_last" else (3, 4, 5)
    x = rng.uniform(0, 255, ((2,) if batched else ()) + shape).astype("float32")
    expected = reference_preprocess(x, mode, data_format == "channels_first")
    got = imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    tensor = imagenet_utils.preprocess_input(torch.from_numpy(x.copy()), data_format=data_format, mode=mode)
    np.testing.assert_allclose(tensor.numpy(), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocess_input_converts_integer_images_to_float32(mode):
    x = np.arange(2 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 2, 3) * 10
    got = imagenet_utils.preprocess_input(x, mode=mode)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference_preprocess(x, mode, False), rtol=1e-5, atol=1e-4)
    tensor = imagenet_utils.preprocess_input(torch.from_numpy(x), mode=mode)
    assert tensor.dtype == torch.float32


def test_preprocess_input_keeps_float64_and_overwrites_float_arrays_in_place():
    x = np.full((1, 1, 1, 3), 255.0)
    got = imagenet_utils.preprocess_input(x, mode="tf")
    assert got.dtype == np.float64 and got is x  # as Keras: "written over the input data"
    np.testing.assert_array_equal(x, np.ones((1, 1, 1, 3)))


def test_each_module_preprocesses_with_its_keras_mode():
    x = np.full((1, 1, 1, 3), 255.0, dtype="float32")
    apps = cnnlab.applications
    modes = {apps.vgg16: "caffe", apps.vgg19: "caffe", apps.resnet: "caffe", apps.resnet50: "caffe",
             apps.resnet_v2: "tf", apps.inception_v3: "tf", apps.xception: "tf", apps.densenet: "torch"}
    for module, mode in modes.items():
        np.testing.assert_allclose(module.preprocess_input(x.copy()), reference_preprocess(x, mode, False),
                                   rtol=1e-6, err_msg=module.__name__)


def test_preprocess_input_rejects_unknown_mode_and_data_format():
    with pytest.raises(ConfigError, match=r"mode must be .*Received: mode='cafe'") as info:
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), mode="cafe")
    assert "Did you mean 'caffe'" in str(info.value)
    with pytest.raises(ConfigError, match="Received: data_format='channels_middle'"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), data_format="channels_middle")


@pytest.fixture
def class_index(tmp_path, monkeypatch):
    """A 1000-class index in a temporary KERAS_HOME, registered under the hash decode_predictions expects."""
    home = tmp_path / "keras-home"
    (home / "models").mkdir(parents=True)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = home / "models" / "imagenet_class_index.json"
    path.write_text(json.dumps(index))
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", hashlib.md5(path.read_bytes()).hexdigest())
    return index


def test_decode_predictions_returns_top_classes_best_first(class_index):
    preds = np.zeros((2, 1000), dtype="float32")
    preds[0, [7, 3, 999]] = [0.5, 0.3, 0.2]
    preds[1, [42]] = 1.0
    decoded = imagenet_utils.decode_predictions(preds, top=3)
    assert [r[:2] for r in decoded[0]] == [("n00000007", "class_7"), ("n00000003", "class_3"),
                                           ("n00000999", "class_999")]
    assert [float(r[2]) for r in decoded[0]] == pytest.approx([0.5, 0.3, 0.2])
    assert decoded[1][0] == ("n00000042", "class_42", pytest.approx(1.0))
    assert cnnlab.applications.resnet.decode_predictions(torch.from_numpy(preds), top=1)[1][0][0] == "n00000042"


def test_decode_predictions_rejects_non_imagenet_shapes(class_index):
    with pytest.raises(ShapeError, match=r"\(samples, 1000\).*Received: preds.shape=\(1000,\)"):
        imagenet_utils.decode_predictions(np.zeros(1000))
    with pytest.raises(ShapeError, match=r"Received: preds.shape=\(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_decode_predictions_offline_without_the_index_names_file_url_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(DatasetNotFoundError) as info:
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))
    message = str(info.value)
    assert "imagenet_class_index.json" in message and imagenet_utils.CLASS_INDEX_PATH in message
    assert str(tmp_path / "empty-home" / "models") in message


# Keras's obtain_input_shape rules, worked out from keras/src/applications/imagenet_utils.py.
@pytest.mark.parametrize("input_shape,data_format,require_flatten,weights,expected", [
    (None, "channels_last", True, None, (224, 224, 3)),
    (None, "channels_first", True, None, (3, 224, 224)),
    (None, "channels_last", False, None, (None, None, 3)),
    (None, "channels_first", False, "imagenet", (3, None, None)),
    ((100, 120, 3), "channels_last", False, "imagenet", (100, 120, 3)),
    ((100, 120, 1), "channels_last", True, None, (100, 120, 1)),
    ([224, 224, 3], "channels_last", True, "imagenet", (224, 224, 3)),
    ((None, None, 3), "channels_last", False, None, (None, None, 3)),
])
def test_obtain_input_shape_follows_keras_rules(input_shape, data_format, require_flatten, weights, expected):
    got = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32, data_format=data_format,
                                            require_flatten=require_flatten, weights=weights)
    assert tuple(got) == expected


@pytest.mark.parametrize("input_shape,require_flatten,weights,match", [
    ((100, 100, 3), True, "imagenet", r"must be \(224, 224, 3\)"),
    ((31, 64, 3), False, None, "at least 32x32"),
    ((64, 64, 1), False, "imagenet", "3 channels"),
    ((64, 64), False, None, "three integers"),
    ((None, 64, 3), True, None, "fully known"),
])
def test_obtain_input_shape_errors(input_shape, require_flatten, weights, match):
    with pytest.raises(ShapeError, match=match):
        imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                          data_format="channels_last", require_flatten=require_flatten,
                                          weights=weights)


def test_obtain_input_shape_warns_on_unusual_channel_counts():
    with pytest.warns(UserWarning, match="1 or 3 input channels"):
        imagenet_utils.obtain_input_shape((64, 64, 5), 224, 32, "channels_last", False, None)


def test_correct_pad_centres_strided_valid_convolutions():
    # even size 224: (3 // 2 - 1, 3 // 2) -> ((0, 1), (0, 1)); odd size: ((1, 1), (1, 1))
    assert imagenet_utils.correct_pad(cnnlab.Input((224, 224, 3)), 3) == ((0, 1), (0, 1))
    assert imagenet_utils.correct_pad(cnnlab.Input((225, 225, 3)), (3, 3)) == ((1, 1), (1, 1))
    assert imagenet_utils.correct_pad(cnnlab.Input((None, None, 3)), 5) == ((1, 2), (1, 2))


def test_validate_weights_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"Did you mean 'imagenet'\?.*Received: weights='imagenett'"):
        _common.validate_weights("imagenett", True, 1000, where="VGG16")
    with pytest.raises(ConfigError, match="No file exists at"):
        _common.validate_weights(str(tmp_path / "missing.h5"), True, 1000, where="VGG16")
    with pytest.raises(ConfigError, match="Received: weights=3"):
        _common.validate_weights(3, True, 1000, where="VGG16")
    with pytest.raises(ConfigError, match="classes must be 1000.*Received: classes=10"):
        _common.validate_weights("imagenet", True, 10, where="VGG16")
    _common.validate_weights("imagenet", False, 10, where="VGG16")  # no classifier: any classes
    (tmp_path / "w.h5").write_bytes(b"")
    _common.validate_weights(tmp_path / "w.h5", True, 10, where="VGG16")


def test_validate_pooling_and_classifier_activation_errors():
    with pytest.raises(ConfigError, match=r"Did you mean 'avg'\?.*Received: pooling='average'"):
        _common.validate_pooling("average", False, where="ResNet50")
    with pytest.raises(ConfigError, match="'softmax' or None.*Received: classifier_activation='relu'"):
        _common.validate_classifier_activation("relu", "imagenet", where="ResNet50")
    _common.validate_classifier_activation("relu", None, where="ResNet50")
    _common.validate_classifier_activation(None, "imagenet", where="ResNet50")


def test_fetch_keras_file_offline_names_file_url_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        _files.fetch_keras_file("w.h5", "https://example.com/w.h5", None, where="VGG16")
    message = str(info.value)
    assert message.startswith("VGG16: needs Keras's file 'w.h5'")
    assert "https://example.com/w.h5" in message and str(tmp_path / "models") in message


def test_fetch_keras_file_uses_a_cached_copy_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "w.h5").write_bytes(b"abc")
    digest = hashlib.md5(b"abc").hexdigest()
    path = _files.fetch_keras_file("w.h5", "https://example.com/w.h5", digest, where="VGG16")
    assert path == str(tmp_path / "models" / "w.h5")


def test_application_input_keeps_layers_before_a_symbolic_input_tensor():
    inputs = cnnlab.Input((32, 32, 3))
    scaled = cnnlab.layers.Rescaling(1 / 255)(inputs) if hasattr(cnnlab.layers, "Rescaling") else \
        cnnlab.layers.Activation("linear")(inputs)
    img_input, model_inputs = _common.application_input(scaled, (32, 32, 3))
    assert img_input is scaled and model_inputs is inputs
    img_input, model_inputs = _common.application_input(None, (8, 8, 3))
    assert img_input is model_inputs and img_input.shape == (None, 8, 8, 3)
    img_input, _ = _common.application_input(torch.zeros(1, 16, 16, 3), None)
    assert img_input.shape == (None, 16, 16, 3)


def test_preprocess_input_on_a_symbolic_tensor_becomes_part_of_the_model():
    inputs = cnnlab.Input((4, 4, 3))
    model = cnnlab.Model(inputs, imagenet_utils.preprocess_input(inputs, mode="torch"))
    x = np.random.default_rng(4).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), reference_preprocess(x, "torch", False), rtol=1e-5,
                               atol=1e-5)

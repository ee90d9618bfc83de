"""The classic architectures: Keras's parameter counts, layer names, shapes, weight loading and errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import cnnlab
from cnnlab import applications
from cnnlab.applications import _common
from cnnlab.errors import ConfigError, DatasetNotFoundError, ShapeError

# Keras 3.15's count_params() for weights=None at the default size (keras.io/api/applications lists the same).
KERAS_PARAMS = {
    "ResNet50": 25_636_712, "ResNet101": 44_707_176, "ResNet152": 60_419_944,
    "ResNet50V2": 25_613_800, "ResNet101V2": 44_675_560, "ResNet152V2": 60_380_648,
    "DenseNet121": 8_062_504, "DenseNet169": 14_307_880, "DenseNet201": 20_242_984,
    "InceptionV3": 23_851_784, "Xception": 22_910_480,
}
KERAS_PARAMS_SLOW = {"VGG16": 138_357_544, "VGG19": 143_667_240}

# name -> (smallest input, model name, last feature channels, layer names Keras gives)
ARCHITECTURES = {
    "VGG16": (32, "vgg16", 512, ["block1_conv1", "block3_conv3", "block5_pool"]),
    "VGG19": (32, "vgg19", 512, ["block3_conv4", "block5_conv4", "block5_pool"]),
    "ResNet50": (32, "resnet50", 2048, ["conv1_pad", "conv2_block1_0_conv", "conv5_block3_out"]),
    "ResNet101": (32, "resnet101", 2048, ["conv4_block23_out", "conv5_block3_out"]),
    "ResNet152": (32, "resnet152", 2048, ["conv3_block8_out", "conv4_block36_out"]),
    "ResNet50V2": (32, "resnet50v2", 2048, ["conv2_block1_preact_bn", "conv5_block3_out", "post_relu"]),
    "ResNet101V2": (32, "resnet101v2", 2048, ["conv4_block23_out", "post_bn"]),
    "ResNet152V2": (32, "resnet152v2", 2048, ["conv4_block36_out", "post_bn"]),
    "DenseNet121": (32, "densenet121", 1024, ["conv2_block6_concat", "pool4_pool", "conv5_block16_concat", "relu"]),
    "DenseNet169": (32, "densenet169", 1664, ["conv4_block32_concat", "conv5_block32_concat"]),
    "DenseNet201": (32, "densenet201", 1920, ["conv4_block48_concat", "conv5_block32_concat"]),
    "InceptionV3": (75, "inception_v3", 2048, ["mixed0", "mixed9_1", "mixed10"]),
    "Xception": (71, "xception", 2048, ["block1_conv1", "block13_pool", "block14_sepconv2_act"]),
}


@pytest.mark.parametrize("name", sorted(KERAS_PARAMS))
def test_parameter_count_matches_keras(name):
    model = getattr(applications, name)(weights=None)
    assert model.count_params() == KERAS_PARAMS[name]
    assert model.layers[-1].name == "predictions" and model.output_shape == (None, 1000)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(KERAS_PARAMS_SLOW))
def test_vgg_parameter_count_matches_keras(name):
    assert getattr(applications, name)(weights=None).count_params() == KERAS_PARAMS_SLOW[name]


def test_vgg16_classifier_adds_keras_dense_sizes():
    # fc1: 7*7*512 -> 4096, fc2: 4096 -> 4096, predictions: 4096 -> 1000, on top of the 14,714,688 conv weights
    base = applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    head = (7 * 7 * 512 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000
    assert base.count_params() + head == KERAS_PARAMS_SLOW["VGG16"]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_headless_model_names_shapes_and_pooling(name):
    size, model_name, channels, layer_names = ARCHITECTURES[name]
    builder = getattr(applications, name)
    model = builder(weights=None, include_top=False, input_shape=(size, size, 3))
    assert model.name == model_name
    names = [layer.name for layer in model.layers]
    for layer_name in layer_names:
        assert layer_name in names
    assert model.output_shape[-1] == channels and len(model.output_shape) == 4
    pooled = builder(weights=None, include_top=False, input_shape=(size, size, 3), pooling="max")
    assert pooled.output_shape == (None, channels)


def test_headless_variable_size_input_and_custom_classifier():
    model = applications.ResNet50(weights=None, include_top=False)
    assert model.input_shape == (None, None, None, 3)
    out = model.predict(np.zeros((1, 64, 96, 3), "float32"), verbose=0)
    assert out.shape == (1, 2, 3, 2048)
    clf = applications.DenseNet121(weights=None, input_shape=(32, 32, 3), classes=7, classifier_activation=None)
    assert clf.output_shape == (None, 7) and clf.layers[-2].name == "avg_pool"


def test_pooling_layers_take_keras_names():
    assert applications.ResNet50(weights=None, include_top=False, pooling="avg").layers[-1].name == "avg_pool"
    assert applications.DenseNet121(weights=None, include_top=False, pooling="max").layers[-1].name == "max_pool"
    assert applications.Xception(weights=None, include_top=False, pooling="avg").layers[-1].name == \
        "global_average_pooling2d"


def test_input_tensor_keeps_the_layers_before_it():
    inputs = cnnlab.Input((32, 32, 3))
    x = cnnlab.layers.Activation("linear", name="pre")(inputs)
    model = applications.VGG16(weights=None, include_top=False, input_tensor=x, pooling="avg")
    assert model.inputs[0] is inputs and model.layers[1].name == "pre"


def test_headless_pooled_model_matches_numpy_global_max_of_features():
    model = applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    pooled = applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="max")
    pooled.set_weights(model.get_weights())
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(pooled.predict(x, verbose=0), model.predict(x, verbose=0).max(axis=(1, 2)),
                               rtol=1e-6)


def _write_keras_legacy_h5(path, layer_weights):
    """Keras's legacy by-order layout (as in the published ImageNet files): layer_names, then weight_names."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name, _ in layer_weights]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for name, named_arrays in layer_weights:
            group = f.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{w}:0".encode() for w, _ in named_arrays]
            for w, value in named_arrays:
                group.create_dataset(f"{name}/{w}:0", data=value)


def test_legacy_h5_weights_load_by_layer_order(tmp_path):
    """A small DenseNet; the file's layer groups carry other names, so only Keras's by-order rule can match them."""
    model = applications.densenet.DenseNet([1, 1, 1, 1], weights=None, include_top=False, input_shape=(32, 32, 3))
    rng = np.random.default_rng(0)
    expected, layer_weights = [], []
    for i, layer in enumerate(l for l in model.layers if l.weights):
        trainable = [v for v in layer.weights if v.trainable] + [v for v in layer.weights if not v.trainable]
        arrays = [(v.name.split("/")[-1], rng.normal(size=tuple(v.shape)).astype("float32")) for v in trainable]
        layer_weights.append((f"saved_layer_{i}", arrays))
        expected.append((layer, [a for _, a in arrays]))
    path = tmp_path / "densenet_legacy.h5"
    _write_keras_legacy_h5(path, layer_weights)

    loaded = applications.densenet.DenseNet([1, 1, 1, 1], weights=str(path), include_top=False,
                                            input_shape=(32, 32, 3))
    by_name = {layer.name: layer for layer in loaded.layers}
    for layer, arrays in expected:
        weights = by_name[layer.name].weights
        ordered = [v for v in weights if v.trainable] + [v for v in weights if not v.trainable]
        for variable, array in zip(ordered, arrays):
            np.testing.assert_array_equal(np.asarray(variable.numpy()), array)


def test_weights_h5_file_saved_by_cnnlab_loads_through_weights_argument(tmp_path):
    source = applications.ResNet50V2(weights=None, input_shape=(32, 32, 3), classes=5)
    path = tmp_path / "resnet.weights.h5"
    source.save_weights(path)
    loaded = applications.ResNet50V2(weights=str(path), input_shape=(32, 32, 3), classes=5)
    x = np.random.default_rng(2).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), source.predict(x, verbose=0))


def test_imagenet_weights_use_keras_file_names_urls_and_hashes(monkeypatch):
    requests = []

    def record(fname, origin, file_hash, *, where):
        requests.append((fname, origin, file_hash, where))
        raise DatasetNotFoundError("recorded")

    monkeypatch.setattr(_common, "fetch_keras_file", record)
    for builder, kwargs in [(applications.ResNet50, {}), (applications.Xception, dict(include_top=False)),
                            (applications.DenseNet169, dict(include_top=False))]:
        with pytest.raises(DatasetNotFoundError):
            builder(weights="imagenet", **kwargs)
    assert requests == [
        ("resnet50_weights_tf_dim_ordering_tf_kernels.h5",
         "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
         "resnet50_weights_tf_dim_ordering_tf_kernels.h5", "2cb95161c43110f7111970584f804107", "ResNet50"),
        ("xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
         "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
         "xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "b0042744bf5b25fce3cb969f33bebb97", "Xception"),
        ("densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
         "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
         "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5", "b8c4d4c20dd625c148057b9ff1c1176b",
         "DenseNet"),
    ]


def test_imagenet_weights_offline_say_which_file_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        applications.InceptionV3(include_top=False, input_shape=(75, 75, 3))
    message = str(info.value)
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" in message
    assert str(tmp_path / "models") in message


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(weights="imagenett"), ConfigError, "Did you mean 'imagenet'"),
    (dict(weights="no/such/file.h5"), ConfigError, "No file exists at 'no/such/file.h5'"),
    (dict(weights="imagenet", classes=10), ConfigError, "classes must be 1000"),
    (dict(weights=None, include_top=False, input_shape=(31, 64, 3)), ShapeError, "at least 32x32"),
    (dict(weights=None, include_top=False, pooling="mean"), ConfigError, "Received: pooling='mean'"),
    (dict(weights="imagenet", input_shape=(64, 64, 3)), ShapeError, r"must be \(224, 224, 3\)"),
    (dict(weights=None, input_shape=(None, None, 3)), ShapeError, "fully known"),
])
def test_resnet_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        applications.ResNet50(**kwargs)


@pytest.mark.parametrize("name,size", [("InceptionV3", 74), ("Xception", 70), ("VGG19", 31), ("DenseNet121", 31)])
def test_inputs_below_the_minimum_size_are_refused(name, size):
    with pytest.raises(ShapeError, match="at least"):
        getattr(applications, name)(weights=None, include_top=False, input_shape=(size, size, 3))


def test_pretrained_classifier_activation_must_be_softmax_or_none(tmp_path):
    path = tmp_path / "w.weights.h5"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match="classifier_activation='relu'"):
        applications.DenseNet121(weights=str(path), input_shape=(32, 32, 3), classifier_activation="relu")


def test_densenet_imagenet_weights_exist_only_for_keras_depths():
    with pytest.raises(ConfigError, match=r"Received: blocks=\[1, 2, 3, 4\]"):
        applications.densenet.DenseNet([1, 2, 3, 4], include_top=False)


def test_applications_are_reachable_as_tf_keras_applications():
    import cnnlab.keras.applications as keras_apps
    from cnnlab.keras.applications.resnet50 import ResNet50

    assert keras_apps is applications and ResNet50 is applications.ResNet50
    assert applications.resnet50.preprocess_input is applications.resnet.preprocess_input

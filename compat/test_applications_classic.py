"""cnnlab.applications (VGG, ResNet, ResNetV2, DenseNet, InceptionV3, Xception) against real Keras 3.

Same summaries and parameter counts for ``weights=None``; same outputs when
cnnlab loads weight files written by Keras (legacy ``.h5`` by layer order, as
Keras's published ImageNet files are, and ``.weights.h5``).
"""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

import cnnlab  # noqa: E402
import cnnlab.inspect  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

MODELS = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2",
          "DenseNet121", "DenseNet169", "DenseNet201", "InceptionV3", "Xception"]
# Smallest inputs each architecture accepts (Keras's min_size), to keep the output checks quick.
MIN_SIZE = {"InceptionV3": 75, "Xception": 71}
OUTPUT_TOLERANCE = 1e-4


def normalise_names(text: str) -> str:
    """Blank out ``_<n>`` name counters, keeping the width so the table layout is compared as is."""
    return re.sub(r"(?<=[a-z0-9])_(\d+)\b", lambda m: "_" * len(m.group(0)), text)


def keras_summary(model) -> str:
    captured = []
    model.summary(print_fn=captured.append)
    return "".join(captured)


def build_pair(name, **kwargs):
    keras.backend.clear_session()
    reset_names()
    k_model = getattr(keras.applications, name)(**kwargs)
    c_model = getattr(cnnlab.applications, name)(**kwargs)
    return k_model, c_model


def _assert_same_summary(k_model, c_model):
    assert c_model.name == k_model.name
    assert c_model.count_params() == k_model.count_params()
    assert [l.name for l in c_model.layers if not re.search(r"_\d+$", l.name)] == \
        [l.name for l in k_model.layers if not re.search(r"_\d+$", l.name)]
    assert normalise_names(cnnlab.inspect.render_summary(c_model)) == normalise_names(keras_summary(k_model))


@pytest.mark.parametrize("name", MODELS)
def test_default_model_summary_matches_keras(name):
    _assert_same_summary(*build_pair(name, weights=None))


@pytest.mark.parametrize("name", MODELS)
def test_headless_avg_pooled_model_summary_matches_keras(name):
    size = max(96, MIN_SIZE.get(name, 32))
    _assert_same_summary(*build_pair(name, weights=None, include_top=False, pooling="avg",
                                     input_shape=(size, size + 16, 3)))


def _randomise(k_model, rng) -> None:
    """Random kernels plus non-trivial BN statistics, so inference-mode BN and every weight's place are tested."""
    for layer in k_model.layers:
        values = layer.get_weights()
        if not values:
            continue
        if type(layer).__name__ == "BatchNormalization":
            new = []
            for w, v in zip(layer.weights, values):
                low_high = (0.5, 2.0) if w.name in ("gamma", "moving_variance") else (-0.5, 0.5)
                new.append(rng.uniform(*low_high, v.shape).astype(v.dtype))
            layer.set_weights(new)
        else:
            layer.set_weights([v + rng.normal(0, 0.01, v.shape).astype(v.dtype) for v in values])


def _write_legacy_h5(k_model, path) -> None:
    """The layout of Keras's published ImageNet files: ``layer_names`` and per-layer ``weight_names``."""
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, k_model)


OUTPUT_CASES = {
    # VGG's classifier needs 224x224; the convolutional base is checked headless.
    "VGG16": dict(include_top=False, pooling="max", input_shape=(64, 64, 3)),
    "ResNet50": dict(classes=10, input_shape=(64, 64, 3)),
    "ResNet50V2": dict(classes=10, input_shape=(64, 64, 3)),
    "DenseNet121": dict(classes=10, input_shape=(64, 64, 3)),
    "InceptionV3": dict(classes=10, input_shape=(75, 75, 3)),
    "Xception": dict(classes=10, input_shape=(71, 71, 3)),
}


@pytest.mark.parametrize("suffix", [".h5", ".weights.h5", ".model.h5"])
@pytest.mark.parametrize("name", sorted(OUTPUT_CASES))
def test_outputs_match_keras_for_weights_written_by_keras(name, suffix, tmp_path):
    rng = np.random.default_rng(0)
    kwargs = OUTPUT_CASES[name]
    keras.backend.clear_session()
    k_model = getattr(keras.applications, name)(weights=None, **kwargs)
    _randomise(k_model, rng)
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".h5":
        _write_legacy_h5(k_model, path)
    elif suffix == ".model.h5":
        legacy_h5_format.save_model_to_hdf5(k_model, path)  # what model.save("x.h5") writes
    else:
        k_model.save_weights(path)
    reset_names()
    c_model = getattr(cnnlab.applications, name)(weights=str(path), **kwargs)
    x = rng.uniform(-1, 1, size=(2,) + kwargs["input_shape"]).astype("float32")
    expected = np.asarray(k_model(x, training=False))
    got = c_model.predict(x, verbose=0)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=OUTPUT_TOLERANCE, atol=OUTPUT_TOLERANCE * scale)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_preprocess_input_matches_keras(mode, data_format):
    rng = np.random.default_rng(3)
    shape = (2, 5, 4, 3) if data_format == "channels_last" else (2, 3, 5, 4)
    for x in (rng.uniform(0, 255, shape).astype("float32"), rng.integers(0, 256, shape).astype("uint8"),
              rng.uniform(0, 255, shape[1:]).astype("float64")):
        expected = keras.applications.imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
        got = cnnlab.applications.imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name,kwargs", [
    ("ResNet50", dict(weights=None, input_shape=(20, 20, 3), include_top=False)),
    ("InceptionV3", dict(weights=None, input_shape=(74, 74, 3), include_top=False)),
    ("Xception", dict(weights=None, input_shape=(70, 70, 3), include_top=False)),
    ("VGG16", dict(weights="imagenet", classes=10)),
    ("DenseNet121", dict(weights="imagenet", input_shape=(64, 64, 3))),
    ("ResNet50", dict(weights=None, input_shape=(64, 64))),
])
def test_argument_errors_where_keras_raises(name, kwargs):
    with pytest.raises(ValueError):
        getattr(keras.applications, name)(**kwargs)
    with pytest.raises(ValueError):
        getattr(cnnlab.applications, name)(**kwargs)

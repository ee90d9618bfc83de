"""Preprocessing and augmentation layers against real Keras 3: the deterministic parts must agree.

Random numbers differ between torch and TensorFlow, so augmentation is compared where it is
deterministic: inference (identity), and the warps with a degenerate factor range (a fixed rotation,
zoom or translation). Resizing, CenterCrop and Normalization must agree everywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_compat import keras_summary, normalise_names  # noqa: E402

TOLERANCE = 1e-5
RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 255, size=(3, 12, 10, 3)).astype("float32")


def _both(name, **kwargs):
    return getattr(keras.layers, name)(**kwargs), getattr(cnnlab.layers, name)(**kwargs)


def _run(layer, x, training):
    out = layer(x, training=training)
    return out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)


# --------------------------------------------------------------------------------------------- resizing
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"])
@pytest.mark.parametrize("size", [(5, 7), (20, 15), (12, 4)])
@pytest.mark.parametrize("antialias", [False, True])
def test_resizing_matches_keras(interpolation, size, antialias):
    k_layer, c_layer = _both("Resizing", height=size[0], width=size[1], interpolation=interpolation,
                             antialias=antialias)
    np.testing.assert_allclose(_run(c_layer, IMAGES, False), _run(k_layer, IMAGES, False), rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize("option", ["crop_to_aspect_ratio", "pad_to_aspect_ratio"])
@pytest.mark.parametrize("size", [(6, 6), (4, 9), (9, 3)])
def test_resizing_to_aspect_ratio_matches_keras(option, size):
    k_layer, c_layer = _both("Resizing", height=size[0], width=size[1], fill_value=7.0, **{option: True})
    np.testing.assert_allclose(_run(c_layer, IMAGES, False), _run(k_layer, IMAGES, False), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("size", [(6, 4), (12, 10), (15, 8), (3, 20)])
def test_center_crop_matches_keras(size):
    k_layer, c_layer = _both("CenterCrop", height=size[0], width=size[1])
    for x in (IMAGES, IMAGES[0]):
        np.testing.assert_allclose(_run(c_layer, x, False), _run(k_layer, x, False), rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------------------------------- normalization
@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
def test_normalization_adapt_matches_keras(axis):
    data = RNG.normal(3.0, 2.0, size=(20, 6, 5, 3)).astype("float32")
    k_layer, c_layer = _both("Normalization", axis=axis)
    k_layer.adapt(data)
    c_layer.adapt(data)
    for k_weight, c_weight in zip(k_layer.get_weights(), c_layer.get_weights()):
        np.testing.assert_allclose(c_weight, k_weight, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_run(c_layer, data, False), _run(k_layer, data, False), rtol=1e-4, atol=1e-4)


def test_normalization_adapt_on_batches_matches_keras():
    data = RNG.normal(-1.0, 3.0, size=(30, 4, 4, 2)).astype("float32")
    batches = [data[i:i + 7] for i in range(0, 30, 7)]
    k_layer, c_layer = _both("Normalization")
    k_layer.adapt(batches)
    c_layer.adapt(batches)
    for k_weight, c_weight in zip(k_layer.get_weights()[:2], c_layer.get_weights()[:2]):
        np.testing.assert_allclose(c_weight, k_weight, rtol=1e-5, atol=1e-5)


def test_normalization_with_fixed_stats_and_invert_matches_keras():
    k_layer, c_layer = _both("Normalization", mean=[1.0, 2.0, 3.0], variance=[4.0, 0.25, 9.0], invert=True)
    np.testing.assert_allclose(_run(c_layer, IMAGES, False), _run(k_layer, IMAGES, False), rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------------------------- augmentation
RANDOM_LAYERS = {
    "RandomFlip": {}, "RandomRotation": {"factor": 0.2}, "RandomZoom": {"height_factor": 0.3},
    "RandomTranslation": {"height_factor": 0.2, "width_factor": 0.2}, "RandomContrast": {"factor": 0.5},
    "RandomBrightness": {"factor": 0.3}, "RandAugment": {}, "MixUp": {}, "CutMix": {},
}


@pytest.mark.parametrize("name", sorted(RANDOM_LAYERS))
def test_random_layers_are_identity_at_inference_like_keras(name):
    k_layer, c_layer = _both(name, **RANDOM_LAYERS[name])
    np.testing.assert_allclose(_run(k_layer, IMAGES, False), IMAGES, rtol=1e-6)
    np.testing.assert_allclose(_run(c_layer, IMAGES, False), IMAGES, rtol=1e-6)


def _augments(framework, seed=5):
    """Which calls change the images: Keras resolves training as argument > outer call > call default."""
    x = RNG.uniform(size=(32, 4, 4, 1)).astype("float32")  # 32 images: none flipped has chance 2**-32
    layer = framework.layers.RandomFlip("horizontal", seed=seed)
    model = framework.Sequential([framework.layers.Input((4, 4, 1)), layer])
    outer = framework.Sequential([framework.layers.Input((4, 4, 1)), model])
    calls = {
        "model(x)": lambda: model(x), "layer(x)": lambda: layer(x), "outer(x)": lambda: outer(x),
        "model(x, training=None)": lambda: model(x, training=None),
        "model.predict(x)": lambda: model.predict(x, verbose=0),
        "model(x, training=False)": lambda: model(x, training=False),
        "model(x, training=True)": lambda: model(x, training=True),
        "outer(x, training=False)": lambda: outer(x, training=False),
    }
    return {name: not np.allclose(_numpy(call()), x) for name, call in calls.items()}


def _numpy(value):
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def test_augmentation_runs_on_the_same_calls_as_keras():
    want = _augments(keras)
    assert want["model(x)"] and want["layer(x)"] and not want["model.predict(x)"]  # the tutorial's premise
    assert _augments(cnnlab) == want


def test_layers_after_an_augmentation_in_a_model_call_match_keras():
    x = np.ones((8, 4, 4, 1), "float32")  # flipping ones changes nothing, dropping leaves zeros

    def dropped(framework):
        model = framework.Sequential([framework.layers.Input((4, 4, 1)), framework.layers.RandomFlip(seed=3),
                                      framework.layers.Dropout(0.5, seed=3)])
        return [bool((_numpy(out) == 0).any()) for out in (model(x), model(x, training=True))]

    assert dropped(cnnlab) == dropped(keras) == [False, True]


def test_a_custom_layer_declaring_training_true_matches_keras():
    x = np.ones((8, 16), "float32")

    def dropped(framework):
        class NoisyBlock(framework.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.dropout = framework.layers.Dropout(0.5, seed=4)

            def call(self, inputs, training=True):
                return self.dropout(inputs)

        block = NoisyBlock()
        return [bool((_numpy(out) == 0).any()) for out in (block(x), block(x, training=False))]

    assert dropped(cnnlab) == dropped(keras) == [True, False]


def test_fixed_warp_without_training_argument_matches_keras():
    name, kwargs = "RandomRotation", {"factor": (0.25, 0.25), "fill_mode": "constant"}
    k_layer, c_layer = _both(name, **kwargs)
    k_model = keras.Sequential([keras.layers.Input(IMAGES.shape[1:]), k_layer])
    c_model = cnnlab.Sequential([cnnlab.layers.Input(IMAGES.shape[1:]), c_layer])
    np.testing.assert_allclose(_numpy(c_model(IMAGES)), _numpy(k_model(IMAGES)), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(c_model.predict(IMAGES, verbose=0), IMAGES, rtol=1e-6)


FIXED_WARPS = {
    "rotation_90": ("RandomRotation", {"factor": (0.25, 0.25)}),
    "rotation_30": ("RandomRotation", {"factor": (1 / 12, 1 / 12)}),
    "zoom_out": ("RandomZoom", {"height_factor": (0.3, 0.3)}),
    "zoom_in_wide": ("RandomZoom", {"height_factor": (-0.25, -0.25), "width_factor": (0.2, 0.2)}),
    "translation": ("RandomTranslation", {"height_factor": (0.25, 0.25), "width_factor": (-0.3, -0.3)}),
    "translation_fraction": ("RandomTranslation", {"height_factor": (0.13, 0.13), "width_factor": (0.27, 0.27)}),
}


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest", "wrap"])
@pytest.mark.parametrize("warp", sorted(FIXED_WARPS))
def test_fixed_warp_matches_keras(warp, fill_mode, interpolation):
    name, kwargs = FIXED_WARPS[warp]
    k_layer, c_layer = _both(name, fill_mode=fill_mode, interpolation=interpolation, fill_value=5.0, **kwargs)
    for x in (IMAGES, IMAGES[0]):
        got, want = _run(c_layer, x, True), _run(k_layer, x, True)
        # A nearest tap exactly half-way between pixels may round either way in float32: allow a few.
        close = np.isclose(got, want, rtol=1e-4, atol=1e-2)
        assert close.mean() > (0.98 if interpolation == "nearest" else 0.999), f"{(~close).sum()} values differ"


def test_fixed_brightness_matches_keras():
    k_layer, c_layer = _both("RandomBrightness", factor=(0.1, 0.1))
    np.testing.assert_allclose(_run(c_layer, IMAGES, True), _run(k_layer, IMAGES, True), rtol=1e-5, atol=1e-3)


def test_random_crop_training_output_has_keras_shape_and_content():
    k_layer, c_layer = _both("RandomCrop", height=5, width=4)
    got = _run(c_layer, IMAGES, True)
    assert got.shape == _run(k_layer, IMAGES, True).shape
    windows = {IMAGES[:, i:i + 5, j:j + 4].tobytes() for i in range(8) for j in range(7)}
    assert got.tobytes() in windows


# ------------------------------------------------------------------------------- summaries and files
def _front_end(k):
    return k.Sequential([
        k.layers.Input((32, 30, 3)),
        k.layers.Resizing(28, 28, interpolation="nearest"),
        k.layers.RandomFlip("horizontal", seed=1),
        k.layers.RandomRotation(0.1, fill_mode="constant"),
        k.layers.RandomZoom(0.1, 0.2),
        k.layers.RandomTranslation(0.1, 0.1),
        k.layers.RandomContrast(0.2),
        k.layers.RandomBrightness(0.1),
        k.layers.RandomCrop(24, 24, seed=3),
        k.layers.CenterCrop(20, 20),
        k.layers.Normalization(),
        k.layers.Rescaling(0.5),
        k.layers.Conv2D(4, 3),
        k.layers.Flatten(),
        k.layers.Dense(3),
    ])


def _pair():
    keras.backend.clear_session()
    reset_names()
    k_model, c_model = _front_end(keras), _front_end(cnnlab)
    norm = [layer for layer in k_model.layers if type(layer).__name__ == "Normalization"][0]
    norm.adapt(RNG.normal(2.0, 3.0, size=(8, 20, 20, 3)).astype("float32"))
    c_model.set_weights(k_model.get_weights())
    return k_model, c_model


def test_preprocessing_model_summary_and_params_match_keras():
    k_model, c_model = _pair()
    assert c_model.count_params() == k_model.count_params()
    assert normalise_names(cnnlab.inspect.render_summary(c_model)) == normalise_names(keras_summary(k_model))


def _squares(n=2):
    return RNG.uniform(0, 255, size=(n, 32, 30, 3)).astype("float32")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_cnnlab_file_with_preprocessing_opens_in_keras(tmp_path, suffix):
    _, c_model = _pair()
    x = _squares()
    c_model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    k_norm = [layer for layer in loaded.layers if type(layer).__name__ == "Normalization"][0]
    c_norm = [layer for layer in c_model.layers if type(layer).__name__ == "Normalization"][0]
    np.testing.assert_allclose(k_norm.get_weights()[0], c_norm.get_weights()[0], rtol=1e-6)
    _check_configs(loaded, c_model)


# Keras 3.15 cannot write these layers to .h5 (its legacy writer deep-copies the layers' backend module).
@pytest.mark.parametrize("suffix", [".keras"])
def test_keras_file_with_preprocessing_opens_in_cnnlab(tmp_path, suffix):
    k_model, _ = _pair()
    k_model.save(tmp_path / f"m{suffix}")
    loaded = cnnlab.load_model(tmp_path / f"m{suffix}")
    x = _squares()
    # Keras 3.15's RandomCrop does not crop in inference; compare from the layer after it.
    start = [type(layer).__name__ for layer in k_model.layers].index("CenterCrop")
    y = RNG.uniform(0, 255, size=(2, 24, 24, 3)).astype("float32")
    want = y
    for layer in k_model.layers[start:]:
        want = layer(want, training=False)
    got = y
    for layer in loaded.layers[start:]:
        got = layer(got)
    np.testing.assert_allclose(got.detach().numpy(), np.asarray(want), rtol=TOLERANCE, atol=1e-4)
    assert loaded.predict(x, verbose=0).shape == (2, 3)
    _check_configs(k_model, loaded)


def _check_configs(k_model, c_model):
    skip = {"name", "dtype", "seed", "trainable"}
    for k_layer, c_layer in zip(k_model.layers, c_model.layers):
        if type(k_layer).__name__ in ("Conv2D", "Flatten", "Dense"):
            continue  # not this family's layers
        k_config, c_config = k_layer.get_config(), c_layer.get_config()
        for key, value in k_config.items():
            if key in skip:
                continue
            assert key in c_config, f"{type(k_layer).__name__} lacks {key}"
            k_value = list(value) if isinstance(value, tuple) else value
            assert c_config[key] == k_value, f"{type(k_layer).__name__}.{key}: {c_config[key]!r} vs {k_value!r}"


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area", "lanczos3"])
def test_resizing_uint8_images_stay_uint8_like_keras(interpolation):
    image = RNG.integers(0, 256, size=(2, 9, 7, 3)).astype("uint8")
    k_layer, c_layer = _both("Resizing", height=5, width=11, interpolation=interpolation)
    got, want = _run(c_layer, image, None), _run(k_layer, image, None)
    assert got.dtype == want.dtype == np.uint8
    # A float hair either side of .5 could round apart; none did on this data with any interpolation.
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1 and (got == want).mean() > 0.99

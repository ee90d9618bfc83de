"""cnnlab.applications' mobile and modern architectures against real Keras 3.

Same summary (names and counters normalised) and parameter count for
``weights=None``; same outputs for the same weights, written by Keras
(``.weights.h5`` and legacy ``.h5``) and loaded with ``weights=path``.
The largest variants (several hundred MB of weights each) are marked slow.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

SMALL = ["MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "EfficientNetB0", "EfficientNetB1",
         "EfficientNetB2", "EfficientNetB3", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2",
         "EfficientNetV2B3", "EfficientNetV2S", "ConvNeXtTiny", "ConvNeXtSmall"]
LARGE = ["EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "EfficientNetV2M",
         "EfficientNetV2L", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"]
VARIANTS = [
    ("MobileNet", {"alpha": 0.5, "depth_multiplier": 2, "dropout": 0.1, "input_shape": (96, 80, 3)}),
    ("MobileNetV2", {"alpha": 1.4, "input_shape": (64, 64, 3), "classes": 10}),
    ("MobileNetV2", {"alpha": 0.35, "include_top": False, "pooling": "max", "input_shape": (72, 96, 3)}),
    ("MobileNetV3Small", {"alpha": 0.75, "minimalistic": True, "include_preprocessing": False,
                          "input_shape": (64, 48, 3), "dropout_rate": 0.0}),
    ("MobileNetV3Large", {"alpha": 1.25, "include_top": False, "input_shape": (None, None, 3)}),
    ("EfficientNetV2B1", {"include_top": False, "input_shape": (64, 64, 1)}),
    ("ConvNeXtTiny", {"include_top": False, "include_preprocessing": False, "input_shape": (64, 64, 3),
                      "pooling": "max"}),
]
HEADLESS = {"include_top": False, "pooling": "avg", "input_shape": (64, 72, 3)}


def normalise_names(text: str) -> str:
    """Blank out ``_<n>`` name counters, keeping the width."""
    return re.sub(r"(?<=[a-z0-9])_(\d+)\b", lambda m: "_" * len(m.group(0)), text)


def summary_text(model) -> str:
    captured = []
    model.summary(print_fn=captured.append)
    return normalise_names("".join(captured))


def build_pair(fn: str, **kwargs):
    keras.backend.clear_session()
    reset_names()
    kwargs.setdefault("weights", None)
    return getattr(keras.applications, fn)(**kwargs), getattr(cnnlab.applications, fn)(**kwargs)


def check_same_architecture(fn: str, **kwargs) -> None:
    k_model, c_model = build_pair(fn, **kwargs)
    assert c_model.name == k_model.name
    assert c_model.count_params() == k_model.count_params()
    assert len(c_model.layers) == len(k_model.layers)  # x + 3 and the like are operations, not layers
    assert summary_text(c_model) == summary_text(k_model)


@pytest.mark.parametrize("fn", SMALL)
def test_default_model_equals_keras(fn):
    check_same_architecture(fn)


@pytest.mark.parametrize("fn", SMALL)
def test_headless_avg_pooled_model_equals_keras(fn):
    check_same_architecture(fn, **HEADLESS)


@pytest.mark.slow
@pytest.mark.parametrize("fn", LARGE)
def test_large_variants_equal_keras(fn):
    check_same_architecture(fn)
    check_same_architecture(fn, **HEADLESS)


@pytest.mark.parametrize(("fn", "kwargs"), VARIANTS, ids=[f"{fn}-{i}" for i, (fn, _) in enumerate(VARIANTS)])
def test_argument_variants_equal_keras(fn, kwargs):
    check_same_architecture(fn, **kwargs)


def _randomise(k_model, rng) -> None:
    """Non-trivial values for every weight (positive variances), so BN/Normalization inference is really tested."""
    for layer in k_model.layers:
        if layer.weights:
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in w.path
                               else rng.normal(0, 0.2, w.shape).astype(w.dtype) for w in layer.weights])


def _save_legacy_h5(k_model, path) -> None:
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, k_model)


OUTPUT_CASES = [
    ("MobileNetV2", {"input_shape": (64, 64, 3), "classes": 7}),
    ("MobileNetV3Small", {"input_shape": (64, 64, 3), "include_top": False, "pooling": "avg"}),
    ("EfficientNetB0", {"input_shape": (64, 64, 3), "include_top": False}),
    ("EfficientNetV2B0", {"input_shape": (64, 64, 3), "include_top": False, "pooling": "avg"}),
    ("ConvNeXtTiny", {"input_shape": (64, 64, 3), "classes": 5}),
]


@pytest.mark.parametrize(("fn", "kwargs"), OUTPUT_CASES, ids=[c[0] for c in OUTPUT_CASES])
@pytest.mark.parametrize("fmt", [".weights.h5", ".h5"])
def test_same_weights_give_keras_outputs(fn, kwargs, fmt, tmp_path):
    rng = np.random.default_rng(0)
    keras.backend.clear_session()
    k_model = getattr(keras.applications, fn)(weights=None, **kwargs)
    _randomise(k_model, rng)
    path = tmp_path / f"weights{fmt}"
    if fmt == ".h5":
        _save_legacy_h5(k_model, path)
    else:
        k_model.save_weights(path)
    c_model = getattr(cnnlab.applications, fn)(weights=str(path), **kwargs)
    x = rng.uniform(0, 255, (2,) + tuple(k_model.input_shape[1:])).astype("float32")
    expected = k_model.predict(x, verbose=0)
    np.testing.assert_allclose(c_model.predict(x, verbose=0), expected, atol=1e-4, rtol=1e-4)
    # training=True: BatchNormalization uses the batch statistics, deterministic; EfficientNet's residual
    # dropout ("drop connect") is random in training mode, so those two are compared in inference only.
    if fn.startswith("EfficientNet"):
        return
    k_train = np.asarray(k_model(x, training=True))
    c_train = c_model(x, training=True).numpy()
    np.testing.assert_allclose(c_train, k_train, atol=1e-4, rtol=1e-4)

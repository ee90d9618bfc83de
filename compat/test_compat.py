"""cnnlab against real Keras 3: same summaries, same parameter counts, same outputs for the same weights."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
import cnnlab.inspect  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

OUTPUT_TOLERANCE = 1e-5


def normalise_names(text: str) -> str:
    """Blank out ``_<n>`` name counters, keeping the width so the table layout is compared as is."""
    return re.sub(r"(?<=[a-z0-9])_(\d+)\b", lambda m: "_" * len(m.group(0)), text)


def keras_summary(model, **kwargs) -> str:
    captured = []
    model.summary(print_fn=captured.append, **kwargs)
    return "".join(captured)


def build_pair(builder):
    keras.backend.clear_session()
    reset_names()
    return builder(keras), builder(cnnlab)


def _randomise_bn_stats(k_model, rng) -> None:
    """Non-trivial moving statistics and affine weights, so inference-mode BN is really tested."""
    for layer in k_model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(size=beta.shape),
                               rng.normal(size=mean.shape), rng.uniform(0.5, 2.0, var.shape)])


def _input_shape(k_model) -> tuple:
    if type(k_model).__name__ == "Net":
        return (2, 12, 12, 1)
    return (3,) + tuple(k_model.inputs[0].shape[1:])


@pytest.mark.parametrize("name", sorted(models.COMPAT_MODELS))
def test_summary_matches_keras(name):
    k_model, c_model = build_pair(models.COMPAT_MODELS[name])
    assert normalise_names(cnnlab.inspect.render_summary(c_model)) == normalise_names(keras_summary(k_model))


@pytest.mark.parametrize("name", sorted(models.COMPAT_MODELS))
def test_parameter_counts_per_layer_match_keras(name):
    k_model, c_model = build_pair(models.COMPAT_MODELS[name])
    assert [l.count_params() for l in c_model.layers] == [l.count_params() for l in k_model.layers]
    assert [w.shape for w in c_model.get_weights()] == [w.shape for w in k_model.get_weights()]


@pytest.mark.parametrize("name", sorted(models.COMPAT_MODELS))
def test_outputs_match_keras_for_the_same_weights(name):
    rng = np.random.default_rng(0)
    k_model, c_model = build_pair(models.COMPAT_MODELS[name])
    _randomise_bn_stats(k_model, rng)
    c_model.set_weights(k_model.get_weights())
    x = rng.uniform(0, 255 if name == "conv_variants" else 1, size=_input_shape(k_model)).astype("float32")
    expected = np.asarray(k_model(x, training=False))
    got = c_model(x).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=OUTPUT_TOLERANCE, atol=OUTPUT_TOLERANCE)


def test_show_trainable_column_matches_keras():
    k_model, c_model = build_pair(models.batchnorm)
    assert normalise_names(cnnlab.inspect.render_summary(c_model, show_trainable=True)) == \
        normalise_names(keras_summary(k_model, show_trainable=True))


def test_optimizer_params_line_matches_keras():
    k_model, c_model = build_pair(models.functional_chain)
    x = np.random.default_rng(1).normal(size=(4, 12, 12, 1)).astype("float32")
    y = np.zeros((4, 3), "float32")
    for model in (k_model, c_model):
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
    assert normalise_names(cnnlab.inspect.render_summary(c_model)) == normalise_names(keras_summary(k_model))


def test_nested_model_shows_as_one_row_like_keras():
    keras.backend.clear_session()
    reset_names()

    def build(k):
        inner = models.functional_chain(k)
        inputs = k.layers.Input(shape=(12, 12, 1))
        return k.Model(inputs, k.layers.Dense(2)(inner(inputs)))

    assert normalise_names(cnnlab.inspect.render_summary(build(cnnlab))) == normalise_names(keras_summary(build(keras)))

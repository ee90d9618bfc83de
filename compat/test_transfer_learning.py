"""The Keras guide's transfer-learning steps, run with real Keras 3 and with cnnlab side by side.

Same base weights, same data, no shuffling and plain SGD, so both libraries take
the same steps: summaries (with the "Trainable" column) and their totals after
freezing, unfreezing the top blocks and unfreezing everything; BatchNormalization's
moving statistics (unchanged while frozen; moved identically when an unfrozen BN is
trained through ``base(x, training=False)``, which Keras 3's fit overrides); and
the weights fine-tuning changes.
"""

from __future__ import annotations

import re
import numpy as np
import pytest

keras = pytest.importorskip("keras")

import cnnlab  # noqa: E402
from cnnlab.layers.base import reset_names  # noqa: E402

SIZE = 32
TOP = "block_13_expand"


def normalise_names(text: str) -> str:
    """Blank out ``_<n>`` name counters, keeping the width."""
    return re.sub(r"(?<=[a-z0-9])_(\d+)\b", lambda m: "_" * len(m.group(0)), text)


def summary_text(model, **kwargs) -> str:
    captured = []
    model.summary(print_fn=captured.append, **kwargs)
    return normalise_names("".join(captured))


def totals(text: str) -> dict:
    return {k: int(v.replace(",", "")) for k, v in re.findall(r"(Total|Trainable|Non-trainable) params: ([\d,]+)", text)}


def guide_model(lib, base, classes=3):
    inputs = lib.Input((SIZE, SIZE, 3))
    x = base(inputs, training=False)
    x = lib.layers.GlobalAveragePooling2D()(x)
    return lib.Model(inputs, lib.layers.Dense(classes)(x))


def compile_sgd(lib, model, lr):
    model.compile(optimizer=lib.optimizers.SGD(lr), loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))


def unfreeze_top(lib, base, freeze_batch_norm):
    base.trainable = True
    start = [layer.name for layer in base.layers].index(TOP)
    for index, layer in enumerate(base.layers):
        if index < start or (freeze_batch_norm and isinstance(layer, lib.layers.BatchNormalization)):
            layer.trainable = False


@pytest.fixture()
def pair():
    """``(keras model, keras base), (cnnlab model, cnnlab base)`` with the same weights; base frozen."""
    keras.backend.clear_session()
    reset_names()
    keras.utils.set_random_seed(0)
    built = []
    for lib in (keras, cnnlab):
        base = lib.applications.MobileNetV2(alpha=0.35, include_top=False, weights=None,
                                            input_shape=(SIZE, SIZE, 3))
        base.trainable = False
        built.append((guide_model(lib, base), base))
    (k_model, k_base), (c_model, _) = built
    calibrate(k_base)
    c_model.set_weights(k_model.get_weights())
    return built


def calibrate(base):
    """Set every BN's moving statistics to those of a batch, as a trained base has them.

    A random base normalised with the initial statistics (0, 1) grows activations to ~1e4, every ReLU6
    saturates and no gradient reaches the base: nothing to compare.
    """
    norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    base.trainable = True  # a frozen BN ignores training=True
    for layer in norms:
        layer.momentum = 0.0
    base(data(32, seed=1)[0], training=True)
    for layer in norms:
        layer.momentum = 0.999
    base.trainable = False


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    # Positive, image-like inputs keep enough ReLU6 units alive in a random base for gradients to flow.
    return rng.uniform(0, 1, size=(n, SIZE, SIZE, 3)).astype("float32"), rng.integers(0, 3, n)


def fit_both(pair, lr, freeze_batch_norm=None, n=16):
    x, y = data(n)
    for lib, (model, base) in zip((keras, cnnlab), pair):
        if freeze_batch_norm is not None:
            unfreeze_top(lib, base, freeze_batch_norm)
        compile_sgd(lib, model, lr)
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)


def test_frozen_base_summary_and_totals_equal_keras(pair):
    (k_model, _), (c_model, _) = pair
    assert summary_text(c_model, show_trainable=True) == summary_text(k_model, show_trainable=True)
    assert totals(summary_text(c_model))["Trainable"] == 1280 * 3 + 3


@pytest.mark.parametrize("freeze_batch_norm", [True, False])
def test_unfrozen_top_blocks_summary_and_totals_equal_keras(pair, freeze_batch_norm):
    for lib, (_, base) in zip((keras, cnnlab), pair):
        unfreeze_top(lib, base, freeze_batch_norm)
    (k_model, k_base), (c_model, c_base) = pair
    assert summary_text(c_model, show_trainable=True) == summary_text(k_model, show_trainable=True)
    assert summary_text(c_base, show_trainable=True) == summary_text(k_base, show_trainable=True)
    assert len(c_model.trainable_weights) == len(k_model.trainable_weights)


def test_fully_unfrozen_totals_equal_keras(pair):
    for _, base in pair:
        base.trainable = True
    (k_model, _), (c_model, _) = pair
    assert totals(summary_text(c_model)) == totals(summary_text(k_model))


def test_fit_with_frozen_base_leaves_base_unchanged_and_head_equal_to_keras(pair):
    (k_model, k_base), (c_model, c_base) = pair
    before = [w.copy() for w in c_base.get_weights()]
    fit_both(pair, lr=0.1)
    for got, want in zip(c_base.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(k_base.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(c_model.layers[-1].get_weights(), k_model.layers[-1].get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # After fit, Keras adds the optimizer's variables to the totals; so does cnnlab.
    assert summary_text(c_model) == summary_text(k_model)


@pytest.mark.parametrize("freeze_batch_norm", [True, False])
def test_fine_tuning_changes_the_same_weights_as_keras(pair, freeze_batch_norm):
    """BN frozen: statistics fixed. BN unfrozen: fit's training=True wins over the base call's training=False
    in Keras 3.15, and the statistics move the same way in cnnlab."""
    (k_model, k_base), (c_model, c_base) = pair
    start = {layer.name: layer.get_weights()[2].copy() for layer in c_base.layers
             if isinstance(layer, cnnlab.layers.BatchNormalization)}
    # One step with BN unfrozen: a random base has near-constant channels whose batch statistics make the
    # gradients ill-conditioned, so a second step would compare rounding noise, not semantics.
    fit_both(pair, lr=0.05, freeze_batch_norm=freeze_batch_norm, n=16 if freeze_batch_norm else 8)
    for c_layer, k_layer in zip(c_base.layers, k_base.layers):
        pairs = list(zip(c_layer.get_weights(), k_layer.get_weights()))
        if isinstance(c_layer, cnnlab.layers.BatchNormalization) and not freeze_batch_norm:
            (c_mean, k_mean), (c_var, k_var) = pairs[2:]
            # Moving mean = 0.001 * batch mean, a sum of activations up to ~1e4 that nearly cancel: compare it
            # at 1e-3 of the batch's standard deviation (from the moving variance 0.999 + 0.001 * batch variance).
            batch_std = np.sqrt(np.maximum(k_var - 0.999, 0) / 0.001)
            np.testing.assert_array_less(np.abs(c_mean - k_mean), 1e-6 * batch_std + 1e-6, err_msg=c_layer.name)
            np.testing.assert_allclose(c_var, k_var, rtol=1e-4, err_msg=c_layer.name)
            pairs = pairs[:2]
        for got, want in pairs:
            # A random deep base has activations up to ~1e4: float32 rounding is compared to each array's scale.
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * float(np.abs(want).max()) + 1e-4,
                                       err_msg=c_layer.name)
    # A moving mean that differs from its calibrated value was updated by a training-mode call.
    k_moved = [not np.array_equal(layer.get_weights()[2], start[layer.name]) for layer in k_base.layers
               if isinstance(layer, keras.layers.BatchNormalization)]
    c_moved = [not np.array_equal(layer.get_weights()[2], start[layer.name]) for layer in c_base.layers
               if isinstance(layer, cnnlab.layers.BatchNormalization)]
    assert c_moved == k_moved
    assert any(c_moved) is (not freeze_batch_norm)


def _unfreeze_without_recompiling(lib, model, base, fit_first):
    """Compile with the base frozen, (fit,) unfreeze all but BN, fit again without compile(): did the base change?"""
    x, y = data()
    compile_sgd(lib, model, 0.05)
    if fit_first:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    unfreeze_top(lib, base, freeze_batch_norm=True)
    before = [w.copy() for w in base.get_weights()]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    return any(not np.array_equal(a, b) for a, b in zip(before, base.get_weights()))


@pytest.mark.parametrize("fit_first", [False, True])
def test_keras_fixes_the_trainable_set_at_the_first_fit_after_compile(pair, fit_first):
    """Keras 3.15: a trainable change before the first fit() after compile() counts; after it, not until the next
    compile(). Its warning for the second case is unreachable code in 3.15.1 (after a raise): nothing is said."""
    (k_model, k_base), _ = pair
    assert _unfreeze_without_recompiling(keras, k_model, k_base, fit_first) is not fit_first


def test_cnnlab_takes_a_trainable_change_made_before_the_first_fit(pair):
    _, (c_model, c_base) = pair
    assert _unfreeze_without_recompiling(cnnlab, c_model, c_base, fit_first=False)


def test_cnnlab_says_to_recompile_where_keras_silently_keeps_the_old_trainable_set(pair):
    """Keras 3.15 ignores a base unfrozen after the first fit() until compile() and says nothing (the test
    above); cnnlab stops before the step with the fix, so an unfrozen base never silently stays frozen."""
    _, (c_model, c_base) = pair
    with pytest.raises(cnnlab.errors.ConfigError, match=r"became trainable after the optimizer's first step.*"
                                                        r"Call model\.compile"):
        _unfreeze_without_recompiling(cnnlab, c_model, c_base, fit_first=True)
    c_model.compile(optimizer=cnnlab.optimizers.SGD(1e-3), loss="sparse_categorical_crossentropy")
    x, y = data()
    before = [w.copy() for w in c_base.get_weights()]
    c_model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # recompiled: the unfrozen layers train
    assert any(not np.array_equal(a, b) for a, b in zip(before, c_base.get_weights()))

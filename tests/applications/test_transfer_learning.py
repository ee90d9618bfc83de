"""Transfer learning as the Keras guide does it: freezing, BatchNormalization in inference mode, fine-tuning.

Small MobileNetV2 bases (alpha 0.35, 32x32) and a few batches keep these fast.
The same steps against real Keras live in compat/test_transfer_learning.py.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import cnnlab as keras
from cnnlab import layers

ROOT = Path(__file__).resolve().parents[2]
SIZE = 32
EPS = 1e-3  # Keras's BatchNormalization epsilon


def _example():
    spec = importlib.util.spec_from_file_location("transfer_learning_example", ROOT / "examples" / "transfer_learning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _guide_model(base, classes=3):
    inputs = keras.Input((SIZE, SIZE, 3))
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, layers.Dense(classes)(x))


def _compile(model, lr=1e-2):
    model.compile(optimizer=keras.optimizers.SGD(lr), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def _data(n=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, SIZE, SIZE, 3)).astype("float32"), rng.integers(0, classes, n)


def _totals(text):
    found = dict(re.findall(r"(Total|Trainable|Non-trainable) params: ([\d,]+)", text))
    return {k: int(v.replace(",", "")) for k, v in found.items()}


def _summary(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return "\n".join(lines)


def _trainable_size(layer):
    """Trainable values of a layer by its kind, from the weight shapes alone: BN's moving statistics never train."""
    weights = layer.get_weights()
    if isinstance(layer, layers.BatchNormalization):
        return weights[0].size + weights[1].size
    return sum(w.size for w in weights)


def _mobilenet():
    return keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))


def _calibrated_mobilenet():
    """A random base whose BN statistics are those of a batch, as a trained base has them: with the initial
    (0, 1) statistics activations grow to ~1e4, every ReLU6 saturates and no gradient reaches the base."""
    keras.utils.set_random_seed(0)
    base = _mobilenet()
    norms = [layer for layer in base.layers if isinstance(layer, layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0
    base(np.random.default_rng(1).uniform(0, 1, (16, SIZE, SIZE, 3)).astype("float32"), training=True)
    for layer in norms:
        layer.momentum = 0.999
    return base


def _moving_stats(model):
    return {layer.name: [w.copy() for w in layer.get_weights()[2:]]
            for layer in model.layers if isinstance(layer, layers.BatchNormalization)}


def test_frozen_base_counts_as_non_trainable_in_summary_and_shows_n():
    base = _mobilenet()
    base.trainable = False
    model = _guide_model(base)
    text = _summary(model, show_trainable=True)
    head = 1280 * 3 + 3
    assert _totals(text) == {"Total": base.count_params() + head, "Trainable": head,
                             "Non-trainable": base.count_params()}
    base_row = next(line for line in text.splitlines() if line.startswith(f"│ {base.name}"))
    assert base_row.rstrip("│ ").endswith("N")  # the nested model is one row, marked not trainable
    assert len(model.trainable_weights) == 2


def test_unfreezing_top_blocks_counts_only_their_weights_and_bn_statistics_stay_non_trainable():
    example = _example()
    base = _mobilenet()
    base.trainable = False
    model = _guide_model(base)
    start = example.unfreeze_top(base)
    expected = 1280 * 3 + 3 + sum(_trainable_size(layer) for layer in base.layers[start:]
                                  if not isinstance(layer, layers.BatchNormalization))
    text = _summary(model, show_trainable=True)
    assert _totals(text) == {"Total": model.count_params(), "Trainable": expected,
                             "Non-trainable": model.count_params() - expected}
    base_row = next(line for line in text.splitlines() if line.startswith(f"│ {base.name}"))
    assert base_row.rstrip("│ ").endswith("Y")


def test_whole_base_unfrozen_leaves_only_moving_statistics_non_trainable():
    base = _mobilenet()
    model = _guide_model(base)
    moving = sum(w.size for stats in _moving_stats(base).values() for w in stats)
    assert _totals(_summary(model))["Non-trainable"] == moving


def test_non_trainable_batch_norm_runs_in_inference_mode_even_when_training():
    rng = np.random.default_rng(1)
    bn = layers.BatchNormalization()
    x = rng.normal(3.0, 2.0, size=(16, 4, 4, 5)).astype("float32")
    bn.build(x.shape)
    gamma, beta = rng.uniform(0.5, 2, 5).astype("float32"), rng.normal(size=5).astype("float32")
    mean, var = rng.normal(size=5).astype("float32"), rng.uniform(0.5, 2, 5).astype("float32")
    bn.set_weights([gamma, beta, mean, var])
    bn.trainable = False
    out = np.asarray(bn(x, training=True))
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + EPS) * gamma + beta, rtol=1e-5, atol=1e-5)
    for got, want in zip(bn.get_weights(), [gamma, beta, mean, var]):
        np.testing.assert_array_equal(got, want)


def test_trainable_batch_norm_in_training_mode_moves_statistics_as_keras_does():
    rng = np.random.default_rng(2)
    bn = layers.BatchNormalization(momentum=0.9)
    x = rng.normal(3.0, 2.0, size=(16, 4, 4, 5)).astype("float32")
    bn.build(x.shape)
    bn(x, training=True)
    batch_mean, batch_var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased variance, as Keras
    np.testing.assert_allclose(bn.get_weights()[2], 0.9 * 0 + 0.1 * batch_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.get_weights()[3], 0.9 * 1 + 0.1 * batch_var, rtol=1e-5, atol=1e-6)


def _small_base(rng, bn_trainable):
    conv_in = keras.Input((SIZE, SIZE, 3))
    conv = layers.Conv2D(4, 3, use_bias=False, name="conv")
    bn = layers.BatchNormalization(name="bn")
    base = keras.Model(conv_in, layers.ReLU()(bn(conv(conv_in))), name="small_base")
    moving = [rng.normal(size=4).astype("float32"), rng.uniform(0.5, 2, 4).astype("float32")]
    bn.set_weights([np.ones(4, "float32"), np.zeros(4, "float32"), *moving])
    bn.trainable = bn_trainable
    inputs = keras.Input((SIZE, SIZE, 3))
    head = layers.Dense(3)
    model = keras.Model(inputs, head(layers.GlobalAveragePooling2D()(base(inputs, training=False))))
    _compile(model, lr=0.1)
    return model, conv, bn, head, moving


def test_fit_overrides_training_false_of_the_base_call_as_keras_3_does():
    """Keras 3.15 hands fit's training=True to every node, the nested base too: unfrozen BN moves its statistics."""
    model, _, bn, _, moving = _small_base(np.random.default_rng(3), bn_trainable=True)
    x, y = _data(16)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert not np.allclose(bn.get_weights()[2], moving[0])
    assert not np.allclose(np.asarray(model(x, training=True)), np.asarray(model(x, training=False)), atol=1e-4)


def test_frozen_batch_norm_stays_in_inference_mode_while_the_rest_of_the_base_trains():
    model, conv, bn, head, moving = _small_base(np.random.default_rng(3), bn_trainable=False)
    kernel_before = conv.get_weights()[0].copy()
    x, y = _data(16)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    gamma, beta, mean, var = bn.get_weights()
    np.testing.assert_array_equal(mean, moving[0])
    np.testing.assert_array_equal(var, moving[1])
    np.testing.assert_array_equal(gamma, np.ones(4, "float32"))
    kernel, (dense_kernel, dense_bias) = conv.get_weights()[0], head.get_weights()
    assert not np.array_equal(kernel, kernel_before)
    # A training-mode call applies the inference formula with the moving statistics.
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))  # (n, 30, 30, 3, 3, 3)
    z = np.einsum("nhwcij,ijcf->nhwf", windows, kernel)
    features = np.maximum((z - mean) / np.sqrt(var + EPS) * gamma + beta, 0).mean(axis=(1, 2))
    np.testing.assert_allclose(np.asarray(model(x, training=True)), features @ dense_kernel + dense_bias,
                               rtol=1e-4, atol=1e-4)


def test_moving_statistics_and_weights_of_frozen_base_unchanged_by_fit():
    base = _mobilenet()
    base.trainable = False
    model = _guide_model(base)
    before = [w.copy() for w in base.get_weights()]
    head_before = [w.copy() for w in model.layers[-1].get_weights()]
    _compile(model)
    model.fit(*_data(), batch_size=4, epochs=1, verbose=0)
    for got, want in zip(base.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(model.layers[-1].get_weights(), head_before))


def test_fine_tuning_changes_only_the_unfrozen_layers_and_never_batch_norm():
    example = _example()
    base = _calibrated_mobilenet()
    base.trainable = False
    model = _guide_model(base)
    _compile(model)
    x, y = _data()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in base.layers}
    start = example.unfreeze_top(base)
    _compile(model, lr=0.05)  # re-compile: the new trainable set takes effect
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    changed = {index for index, layer in enumerate(base.layers)
               if any(not np.array_equal(a, b) for a, b in zip(layer.get_weights(), before[layer.name]))}
    unfrozen = {index for index, layer in enumerate(base.layers)
                if index >= start and layer.weights and not isinstance(layer, layers.BatchNormalization)}
    assert changed == unfrozen


def test_example_runs_end_to_end_on_a_tiny_setting(tmp_path, capsys):
    example = _example()
    results = example.main(["--workdir", str(tmp_path), "--image-size", str(SIZE), "--limit", "6",
                            "--pretrain-epochs", "1", "--head-epochs", "1", "--fine-tune-epochs", "1",
                            "--batch-size", "8"])
    assert (tmp_path / "mobilenet_v2_digits04.weights.h5").is_file()
    assert sorted(p.name for p in (tmp_path / "images" / "target").iterdir()) == ["5", "6", "7", "8", "9"]
    assert len(list((tmp_path / "images" / "source" / "0").glob("*.png"))) == 6
    assert all(0.0 <= results[k] <= 1.0 for k in ("untrained_head", "head_only", "fine_tuned"))
    assert "after fine-tuning" in capsys.readouterr().out


def test_example_base_loads_the_saved_pretrained_weights(tmp_path):
    example = _example()
    source, _ = example.make_digit_folders(str(tmp_path / "images"), image_size=SIZE, limit=4)
    path = example.pretrain_base(source, str(tmp_path / "base.weights.h5"), image_size=SIZE, epochs=1, batch_size=8)
    model, base = example.build_model(path, SIZE, 5)
    saved = _mobilenet()
    saved.load_weights(path)
    for got, want in zip(base.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert not base.trainable and model.output_shape == (None, 5)
    bn = base.get_layer("bn_Conv1")
    assert bn.momentum == pytest.approx(0.999)  # the short pre-training's momentum is not kept


def test_unfreezing_after_the_first_fit_asks_for_compile_then_trains_the_new_set():
    import numpy as np

    import cnnlab
    from cnnlab import layers

    base = cnnlab.Sequential([layers.Input((4,)), layers.Dense(3, name="base_dense")], name="base")
    base.trainable = False
    model = cnnlab.Sequential([layers.Input((4,)), base, layers.Dense(2, name="head")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).random((16, 4), dtype=np.float32), np.arange(16) % 2
    model.fit(x, y, epochs=1, verbose=0)
    base.trainable = True
    with pytest.raises(cnnlab.errors.ConfigError, match=r"2 weights became trainable.*Call model\.compile"):
        model.fit(x, y, epochs=1, verbose=0)
    model.compile(optimizer=cnnlab.optimizers.SGD(1e-3), loss="sparse_categorical_crossentropy")
    before = base.get_weights()[0].copy()
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(before, base.get_weights()[0])

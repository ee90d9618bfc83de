"""Losses against NumPy implementations of the Keras 3 formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab import losses
from cnnlab.errors import ConfigError, ShapeError, UnknownNameError

EPS = 1e-7  # Keras backend epsilon
RNG = np.random.default_rng(1)
N, C = 6, 4
LOGITS = RNG.normal(size=(N, C)) * 2
LABELS = RNG.integers(0, C, size=N)
ONE_HOT = np.eye(C)[LABELS]
WEIGHTS = RNG.uniform(0.1, 2.0, size=N)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reduce(values, weights=None):
    """Keras sum_over_batch_size: sum of weighted per-sample losses / number of samples."""
    values = values if weights is None else values * weights
    return values.sum() / values.size


def np_categorical(y, probs, smoothing=0.0):
    y = y * (1 - smoothing) + smoothing / y.shape[-1]
    p = np.clip(probs / probs.sum(axis=-1, keepdims=True), EPS, 1 - EPS)
    return -(y * np.log(p)).sum(axis=-1)


def np_binary(y, p, smoothing=0.0):
    y = y * (1 - smoothing) + 0.5 * smoothing
    p = np.clip(p, EPS, 1 - EPS)
    return (-(y * np.log(p) + (1 - y) * np.log(1 - p))).mean(axis=-1)


def t(x, dtype=torch.float32):
    return torch.tensor(x, dtype=dtype)


def check(got, want):
    np.testing.assert_allclose(float(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("weights", [None, WEIGHTS])
@pytest.mark.parametrize("label_shape", [(N,), (N, 1)])
def test_sparse_categorical_crossentropy_both_ways(weights, label_shape):
    want = reduce(np_categorical(ONE_HOT, softmax(LOGITS)), weights)
    labels = t(LABELS.reshape(label_shape), torch.int64)
    sw = None if weights is None else t(weights)
    check(losses.SparseCategoricalCrossentropy()(labels, t(softmax(LOGITS)), sample_weight=sw), want)
    check(losses.SparseCategoricalCrossentropy(from_logits=True)(labels, t(LOGITS), sample_weight=sw), want)


def test_sparse_labels_may_be_float_or_uint8_arrays():
    want = reduce(np_categorical(ONE_HOT, softmax(LOGITS)))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    check(loss(LABELS.astype(np.float32), t(LOGITS)), want)
    check(loss(LABELS.astype(np.uint8), t(LOGITS)), want)


def test_probabilities_are_clipped_like_keras():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    # Label 1 on row 0 has probability 0 -> clipped to 1e-7 -> loss -log(1e-7) = 16.118;
    # row 1 is certain and right -> -log(1 - 1e-7) ~ 1e-7.  Mean over 2 samples.
    want = (-np.log(EPS) - np.log(1 - EPS)) / 2
    check(losses.SparseCategoricalCrossentropy()(t([1, 1], torch.int64), t(probs)), want)


def test_categorical_probabilities_are_normalised_first():
    unnormalised = softmax(LOGITS) * 3.0
    want = reduce(np_categorical(ONE_HOT, unnormalised))
    check(losses.CategoricalCrossentropy()(t(ONE_HOT), t(unnormalised)), want)


@pytest.mark.parametrize("weights", [None, WEIGHTS])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_categorical_crossentropy_both_ways(weights, smoothing):
    want = reduce(np_categorical(ONE_HOT, softmax(LOGITS), smoothing), weights)
    sw = None if weights is None else t(weights)
    prob_loss = losses.CategoricalCrossentropy(label_smoothing=smoothing)
    check(prob_loss(t(ONE_HOT), t(softmax(LOGITS)), sample_weight=sw), want)
    check(prob_loss.with_logits()(t(ONE_HOT), t(LOGITS), sample_weight=sw), want)


@pytest.mark.parametrize("weights", [None, WEIGHTS])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_binary_crossentropy_both_ways(weights, smoothing):
    logits = RNG.normal(size=(N, 1))
    y = RNG.integers(0, 2, size=(N, 1)).astype(float)
    want = reduce(np_binary(y, sigmoid(logits), smoothing), weights)
    sw = None if weights is None else t(weights)
    check(losses.BinaryCrossentropy(label_smoothing=smoothing)(t(y), t(sigmoid(logits)), sample_weight=sw), want)
    check(losses.BinaryCrossentropy(from_logits=True, label_smoothing=smoothing)(t(y), t(logits), sample_weight=sw),
          want)


def test_binary_labels_of_rank_one_match_predictions_of_shape_n_by_1():
    logits = RNG.normal(size=(N, 1))
    y = RNG.integers(0, 2, size=N).astype(float)
    want = reduce(np_binary(y[:, None], sigmoid(logits)))
    check(losses.binary_crossentropy(t(y), t(logits), from_logits=True).mean(), want)
    check(losses.BinaryCrossentropy(from_logits=True)(t(y), t(logits)), want)


def test_binary_multilabel_averages_over_the_last_axis():
    logits = RNG.normal(size=(N, 3))
    y = RNG.integers(0, 2, size=(N, 3)).astype(float)
    want = reduce(np_binary(y, sigmoid(logits)), WEIGHTS)
    check(losses.BinaryCrossentropy(from_logits=True)(t(y), t(logits), sample_weight=t(WEIGHTS)), want)


def test_with_logits_equals_probability_path_on_well_conditioned_inputs():
    for prob_loss, y, act in [
        (losses.SparseCategoricalCrossentropy(), t(LABELS, torch.int64), lambda z: torch.softmax(z, -1)),
        (losses.CategoricalCrossentropy(), t(ONE_HOT), lambda z: torch.softmax(z, -1)),
        (losses.BinaryCrossentropy(), t(ONE_HOT), torch.sigmoid),
    ]:
        z = t(LOGITS)
        np.testing.assert_allclose(float(prob_loss.with_logits()(y, z)), float(prob_loss(y, act(z))), rtol=1e-5)
        assert prob_loss.with_logits().from_logits and not prob_loss.from_logits
        logit_loss = prob_loss.with_logits()
        assert logit_loss.with_logits() is logit_loss


def test_logits_activation_and_label_kind_attributes():
    assert losses.SparseCategoricalCrossentropy().expects_sparse_labels
    assert not losses.SparseCategoricalCrossentropy().expects_one_hot
    assert losses.CategoricalCrossentropy().expects_one_hot
    assert losses.CategoricalCrossentropy().logits_activation == "softmax"
    assert losses.BinaryCrossentropy().logits_activation == "sigmoid"
    assert losses.MeanSquaredError().logits_activation is None
    mse = losses.MeanSquaredError()
    assert mse.with_logits() is mse


@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_regression_losses(weights):
    y, p = RNG.normal(size=(N, 3)), RNG.normal(size=(N, 3)) * 2
    sw = None if weights is None else t(weights)
    err = p - y
    check(losses.MeanSquaredError()(t(y), t(p), sample_weight=sw), reduce((err**2).mean(-1), weights))
    check(losses.MeanAbsoluteError()(t(y), t(p), sample_weight=sw), reduce(np.abs(err).mean(-1), weights))
    d = 1.5
    hub = np.where(np.abs(err) <= d, 0.5 * err**2, d * np.abs(err) - 0.5 * d**2).mean(-1)
    check(losses.Huber(delta=d)(t(y), t(p), sample_weight=sw), reduce(hub, weights))


def test_regression_targets_of_rank_one_against_n_by_1_predictions():
    y, p = RNG.normal(size=N), RNG.normal(size=(N, 1))
    check(losses.get("mse")(t(y), t(p)), ((p[:, 0] - y) ** 2).mean())


def test_function_aliases_return_per_sample_losses():
    assert losses.mse is losses.mean_squared_error and losses.mae is losses.mean_absolute_error
    values = losses.sparse_categorical_crossentropy(t(LABELS, torch.int64), t(LOGITS), from_logits=True)
    np.testing.assert_allclose(values.numpy(), np_categorical(ONE_HOT, softmax(LOGITS)), rtol=1e-5)
    assert losses.huber(t(ONE_HOT), t(ONE_HOT)).shape == (N,)


def test_sum_and_none_reductions():
    y, p = RNG.normal(size=(N, 2)), RNG.normal(size=(N, 2))
    per_sample = ((p - y) ** 2).mean(-1)
    check(losses.MeanSquaredError(reduction="sum")(t(y), t(p)), per_sample.sum())
    np.testing.assert_allclose(losses.MeanSquaredError(reduction=None)(t(y), t(p)).numpy(), per_sample, rtol=1e-5)


def test_get_accepts_names_instances_dicts_and_functions():
    assert isinstance(losses.get("SPARSE_categorical_crossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get(losses.categorical_crossentropy), losses.CategoricalCrossentropy)
    inst = losses.Huber()
    assert losses.get(inst) is inst
    custom = losses.get(lambda y, p: (y - p).abs().sum(dim=-1))
    check(custom(t([[1.0, 2.0]]), t([[0.0, 0.0]])), 3.0)
    assert losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}).from_logits


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'sparse_categorical_crossentropy'"):
        losses.get("sparse_categorical_crossentropi")


def test_one_hot_labels_for_a_sparse_loss_say_how_to_fix():
    with pytest.raises(ShapeError, match="categorical_crossentropy"):
        losses.SparseCategoricalCrossentropy()(t(ONE_HOT), t(softmax(LOGITS)))


def test_class_ids_for_a_categorical_loss_say_how_to_fix():
    with pytest.raises(ShapeError, match="sparse_categorical_crossentropy"):
        losses.CategoricalCrossentropy()(t(LABELS, torch.int64), t(softmax(LOGITS)))


def test_bad_arguments():
    with pytest.raises(ConfigError, match="reduction"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ConfigError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=2)


def test_config_round_trip():
    for loss in [losses.SparseCategoricalCrossentropy(from_logits=True), losses.Huber(delta=0.5),
                 losses.CategoricalCrossentropy(label_smoothing=0.1), losses.BinaryCrossentropy(),
                 losses.MeanSquaredError(), losses.MeanAbsoluteError(reduction="sum")]:
        assert losses.deserialize(losses.serialize(loss)) == loss
        assert type(loss).from_config(loss.get_config()) == loss
    with pytest.raises(UnknownNameError):
        losses.deserialize({"class_name": "builtins.eval", "config": {}})


def test_half_precision_predictions_are_computed_in_float32():
    value = losses.SparseCategoricalCrossentropy(from_logits=True)(t(LABELS, torch.int64),
                                                                    t(LOGITS).to(torch.bfloat16))
    assert value.dtype == torch.float32

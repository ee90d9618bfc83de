"""The regression, hinge and probabilistic losses: Keras formulas checked against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers, losses
from cnnlab.errors import UnknownNameError

EPS = 1e-7
RNG = np.random.default_rng(0)
Y_TRUE = RNG.random((6, 4)).astype(np.float32) + 0.05
Y_PRED = RNG.random((6, 4)).astype(np.float32) + 0.05
SIGNS = np.where(RNG.random((6, 4)) > 0.5, 1.0, -1.0).astype(np.float32)
BINARY = (SIGNS > 0).astype(np.float32)
ONE_HOT = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 6)]
SCORES = (RNG.standard_normal((6, 4)) * 2).astype(np.float32)


def _unit(x, axis=-1):
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), EPS)


def _hinge_margin(t, p):
    t = 2 * t - 1 if np.isin(t, (0, 1)).all() else t
    return np.maximum(1 - t * p, 0)


def _kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return (t * np.log(t / p)).sum(-1)


# name, Loss class, NumPy per-sample reference, y_true, y_pred
CASES = [
    ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError,
     lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1), Y_TRUE, Y_PRED),
    ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError,
     lambda t, p: ((np.log1p(np.maximum(p, EPS)) - np.log1p(np.maximum(t, EPS))) ** 2).mean(-1), Y_TRUE, Y_PRED),
    ("log_cosh", losses.LogCosh, lambda t, p: np.log(np.cosh(p - t)).mean(-1), Y_TRUE, SCORES),
    ("kl_divergence", losses.KLDivergence, _kld, ONE_HOT, Y_PRED / Y_PRED.sum(-1, keepdims=True)),
    ("poisson", losses.Poisson, lambda t, p: (p - t * np.log(p + EPS)).mean(-1), Y_TRUE, Y_PRED),
    ("cosine_similarity", losses.CosineSimilarity, lambda t, p: -(_unit(t) * _unit(p)).sum(-1), SCORES, Y_PRED),
    ("hinge", losses.Hinge, lambda t, p: _hinge_margin(t, p).mean(-1), SIGNS, SCORES),
    ("squared_hinge", losses.SquaredHinge, lambda t, p: (_hinge_margin(t, p) ** 2).mean(-1), SIGNS, SCORES),
    ("categorical_hinge", losses.CategoricalHinge,
     lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0), ONE_HOT, SCORES),
    ("huber", losses.Huber,
     lambda t, p: np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5).mean(-1), Y_TRUE, SCORES),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize("name, cls, reference, y_true, y_pred", CASES, ids=IDS)
def test_function_matches_numpy_per_sample(name, cls, reference, y_true, y_pred):
    values = getattr(losses, name)(torch.from_numpy(y_true), torch.from_numpy(y_pred))
    np.testing.assert_allclose(values.numpy(), reference(y_true.astype(np.float64), y_pred.astype(np.float64)),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, cls, reference, y_true, y_pred", CASES, ids=IDS)
def test_class_reduces_sum_over_batch_size_with_sample_weight(name, cls, reference, y_true, y_pred):
    weight = np.linspace(0.0, 2.0, len(y_true)).astype(np.float32)
    per_sample = reference(y_true.astype(np.float64), y_pred.astype(np.float64))
    np.testing.assert_allclose(float(cls()(y_true, y_pred)), per_sample.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(cls()(y_true, y_pred, sample_weight=weight)), (per_sample * weight).mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(float(cls(reduction="sum")(y_true, y_pred)), per_sample.sum(), rtol=1e-5)
    np.testing.assert_allclose(cls(reduction=None)(y_true, y_pred).numpy(), per_sample, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, cls, reference, y_true, y_pred", CASES, ids=IDS)
def test_name_and_class_name_give_the_class_and_config_round_trips(name, cls, reference, y_true, y_pred):
    assert type(losses.get(name)) is cls
    assert type(losses.get(cls.__name__)) is cls
    loss = cls(reduction="sum")
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == loss.get_config()


def test_keras_default_names_and_aliases():
    assert losses.MeanAbsolutePercentageError().name == "mean_absolute_percentage_error"
    assert losses.LogCosh().name == "log_cosh"
    assert losses.KLDivergence().name == "kl_divergence"
    assert type(losses.get("mape")) is losses.MeanAbsolutePercentageError
    assert type(losses.get("msle")) is losses.MeanSquaredLogarithmicError
    assert type(losses.get("kld")) is losses.KLDivergence
    assert losses.CosineSimilarity(axis=0).get_config()["axis"] == 0


def test_hinge_maps_binary_labels_but_keeps_other_labels():
    pred = torch.tensor([[0.3, -0.4]])
    np.testing.assert_allclose(losses.hinge(torch.tensor([[1.0, 0.0]]), pred).numpy(),
                               losses.hinge(torch.tensor([[1.0, -1.0]]), pred).numpy())
    # 0.5 is not binary, so no label is remapped: mean(max(1 - [0.15, 0], 0)) = (0.85 + 1) / 2.
    np.testing.assert_allclose(losses.hinge(torch.tensor([[0.5, 0.0]]), pred).numpy(), [0.925], rtol=1e-6)


def test_cosine_similarity_of_a_zero_vector_is_zero():
    assert float(losses.cosine_similarity(torch.zeros(1, 3), torch.ones(1, 3))) == 0.0


def test_log_cosh_does_not_overflow_for_large_errors():
    value = float(losses.log_cosh(torch.tensor([[0.0]]), torch.tensor([[1000.0]])))
    assert value == pytest.approx(1000.0 - np.log(2.0), rel=1e-6)


def test_function_forms_become_their_classes_in_compile():
    assert type(losses.get(losses.poisson)) is losses.Poisson


@pytest.mark.parametrize("loss", ["mape", "msle", "log_cosh", "poisson", "huber"])
def test_compile_and_fit_with_loss_names(loss):
    model = cnnlab.Sequential([layers.Input((3,)), layers.Dense(2, activation="softplus")])
    model.compile(optimizer="sgd", loss=loss)
    x = RNG.random((8, 3)).astype(np.float32)
    history = model.fit(x, x[:, :2] + 0.1, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_unknown_loss_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="log_cosh"):
        losses.get("log_coshh")

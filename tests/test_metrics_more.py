"""Regression, hinge, probabilistic and confusion-count metrics: Keras formulas checked against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab import layers, metrics
from cnnlab.errors import ConfigError, ShapeError

EPS = 1e-7
RNG = np.random.default_rng(1)
Y_TRUE = RNG.random((8, 3)).astype(np.float32) + 0.05
Y_PRED = RNG.random((8, 3)).astype(np.float32) + 0.05
SIGNS = np.where(RNG.random((8, 3)) > 0.5, 1.0, -1.0).astype(np.float32)
ONE_HOT = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 8)]
SCORES = RNG.standard_normal((8, 3)).astype(np.float32)
WEIGHT = np.linspace(0.5, 2.0, 8).astype(np.float32)


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), EPS)


def _margin(t, p):
    return np.maximum(1 - t * p, 0)


def _kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return (t * np.log(t / p)).sum(-1)


# class, its Keras default name, NumPy per-sample reference, y_true, y_pred
CASES = [
    (metrics.MeanAbsolutePercentageError, "mean_absolute_percentage_error",
     lambda t, p: 100 * np.abs((t - p) / np.abs(t)).mean(-1), Y_TRUE, Y_PRED),
    (metrics.MeanSquaredLogarithmicError, "mean_squared_logarithmic_error",
     lambda t, p: ((np.log1p(p) - np.log1p(t)) ** 2).mean(-1), Y_TRUE, Y_PRED),
    (metrics.CosineSimilarity, "cosine_similarity", lambda t, p: (_unit(t) * _unit(p)).sum(-1), SCORES, Y_PRED),
    (metrics.LogCoshError, "logcosh", lambda t, p: np.log(np.cosh(p - t)).mean(-1), Y_TRUE, SCORES),
    (metrics.KLDivergence, "kl_divergence", _kld, ONE_HOT, Y_PRED / Y_PRED.sum(-1, keepdims=True)),
    (metrics.Poisson, "poisson", lambda t, p: (p - t * np.log(p + EPS)).mean(-1), Y_TRUE, Y_PRED),
    (metrics.Hinge, "hinge", lambda t, p: _margin(t, p).mean(-1), SIGNS, SCORES),
    (metrics.SquaredHinge, "squared_hinge", lambda t, p: (_margin(t, p) ** 2).mean(-1), SIGNS, SCORES),
    (metrics.CategoricalHinge, "categorical_hinge",
     lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0), ONE_HOT, SCORES),
]
IDS = [case[0].__name__ for case in CASES]


@pytest.mark.parametrize("cls, name, reference, y_true, y_pred", CASES, ids=IDS)
def test_mean_of_the_numpy_formula_over_two_batches(cls, name, reference, y_true, y_pred):
    metric = cls()
    assert metric.name == name and isinstance(metric, metrics.MeanMetricWrapper)
    metric.update_state(y_true[:5], y_pred[:5])
    metric.update_state(y_true[5:], y_pred[5:])
    expected = reference(y_true.astype(np.float64), y_pred.astype(np.float64)).mean()
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5, atol=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


@pytest.mark.parametrize("cls, name, reference, y_true, y_pred", CASES[:4], ids=IDS[:4])
def test_sample_weight_gives_the_weighted_mean(cls, name, reference, y_true, y_pred):
    per_sample = reference(y_true.astype(np.float64), y_pred.astype(np.float64))
    value = cls()(y_true, y_pred, sample_weight=WEIGHT)
    np.testing.assert_allclose(float(value), (per_sample * WEIGHT).sum() / WEIGHT.sum(), rtol=1e-5)


@pytest.mark.parametrize("name", ["mean_absolute_percentage_error", "mean_squared_logarithmic_error", "hinge",
                                  "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "log_cosh",
                                  "cosine_similarity"])
def test_lowercase_function_forms(name):
    fn = getattr(metrics, name)
    values = fn(torch.from_numpy(Y_TRUE), torch.from_numpy(Y_PRED))
    assert values.shape == (8,)


def test_cosine_similarity_metric_is_the_negated_loss():
    y, p = torch.from_numpy(SCORES), torch.from_numpy(Y_PRED)
    np.testing.assert_allclose(metrics.cosine_similarity(y, p).numpy(), -cnnlab.losses.cosine_similarity(y, p).numpy())


def test_root_mean_squared_error_with_and_without_weights():
    metric = metrics.RootMeanSquaredError()
    assert metric.name == "root_mean_squared_error"
    metric.update_state(Y_TRUE[:3], Y_PRED[:3])
    metric.update_state(Y_TRUE[3:], Y_PRED[3:])
    np.testing.assert_allclose(float(metric.result()), np.sqrt(((Y_TRUE - Y_PRED) ** 2).mean()), rtol=1e-5)
    weighted = metrics.RootMeanSquaredError()(Y_TRUE, Y_PRED, sample_weight=WEIGHT)
    per_sample = ((Y_TRUE - Y_PRED) ** 2).mean(-1)
    np.testing.assert_allclose(float(weighted), np.sqrt((per_sample * WEIGHT).sum() / WEIGHT.sum()), rtol=1e-5)


LABELS = np.array([0, 1, 1, 0, 1, 0, 1, 1], dtype=np.float32)
PROBS = np.array([0.6, 0.7, 0.2, 0.1, 0.9, 0.4, 0.55, 0.3], dtype=np.float32)


@pytest.mark.parametrize("cls, label, predicted", [
    (metrics.TruePositives, 1, True), (metrics.FalsePositives, 0, True),
    (metrics.TrueNegatives, 0, False), (metrics.FalseNegatives, 1, False)])
def test_confusion_counts_with_thresholds_and_weights(cls, label, predicted):
    def count(threshold, weight):
        return (((LABELS == label) & ((PROBS > threshold) == predicted)) * weight).sum()

    ones = np.ones_like(LABELS)
    assert float(cls()(LABELS, PROBS)) == count(0.5, ones)
    several = cls(thresholds=[0.65, 0.25])(LABELS, PROBS, sample_weight=WEIGHT).numpy()
    np.testing.assert_allclose(several, [count(0.65, WEIGHT), count(0.25, WEIGHT)], rtol=1e-6)
    assert cls().name == cls.__name__.replace("Positives", "_positives").replace("Negatives", "_negatives").lower()


@pytest.mark.parametrize("name, cls", [
    ("mape", metrics.MeanAbsolutePercentageError),
    ("mean_absolute_percentage_error", metrics.MeanAbsolutePercentageError),
    ("msle", metrics.MeanSquaredLogarithmicError), ("root_mean_squared_error", metrics.RootMeanSquaredError),
    ("cosine_similarity", metrics.CosineSimilarity), ("log_cosh_error", metrics.LogCoshError),
    ("kl_divergence", metrics.KLDivergence), ("poisson", metrics.Poisson), ("hinge", metrics.Hinge),
    ("squared_hinge", metrics.SquaredHinge), ("categorical_hinge", metrics.CategoricalHinge),
    ("true_positives", metrics.TruePositives), ("false_negatives", metrics.FalseNegatives),
    ("RootMeanSquaredError", metrics.RootMeanSquaredError)])
def test_names_accepted_by_get_keep_the_given_name(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls and metric.name == name


def test_config_round_trip_of_the_new_metrics():
    for metric in (metrics.CosineSimilarity(axis=0), metrics.RootMeanSquaredError(name="rmse"),
                   metrics.TruePositives(thresholds=[0.2, 0.7]), metrics.LogCoshError()):
        again = metrics.deserialize(metrics.serialize(metric))
        assert type(again) is type(metric) and again.get_config() == metric.get_config()


def test_compile_with_the_string_names_logs_them():
    model = cnnlab.Sequential([layers.Input((3,)), layers.Dense(3, activation="softplus")])
    names = ["mape", "msle", "root_mean_squared_error", "cosine_similarity", "log_cosh_error", "poisson", "hinge"]
    model.compile(optimizer="sgd", loss="mse", metrics=names)
    history = model.fit(Y_TRUE, Y_PRED, epochs=1, verbose=0)
    assert set(names) <= set(history.history)
    logs = model.evaluate(Y_TRUE, Y_PRED, verbose=0, return_dict=True)
    expected_rmse = np.sqrt(((model.predict(Y_TRUE, verbose=0) - Y_PRED) ** 2).mean())
    np.testing.assert_allclose(logs["root_mean_squared_error"], expected_rmse, rtol=1e-4)


MULTI_TRUE = np.eye(3, dtype=np.float32)[[0, 1, 2, 1, 0, 2, 1, 1]]
MULTI_PRED = RNG.random((8, 3)).astype(np.float32)


def _fbeta_numpy(y_true, y_pred, beta, threshold, average, weight=None):
    pred = (y_pred > threshold) if threshold is not None else (y_pred >= y_pred.max(-1, keepdims=True))
    pred = pred.astype(np.float64)
    w = np.ones((len(y_true), 1)) if weight is None else weight.reshape(-1, 1)
    axis = None if average == "micro" else 0
    tp = (pred * y_true * w).sum(axis)
    fp = (pred * (1 - y_true) * w).sum(axis)
    fn = ((1 - pred) * y_true * w).sum(axis)
    precision, recall = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    score = (1 + beta**2) * precision * recall / (beta**2 * precision + recall + EPS)
    if average == "weighted":
        support = (y_true * w).sum(0)
        return (score * support / (support.sum() + EPS)).sum()
    return score if average is None else score.mean()


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("beta, threshold", [(1.0, None), (2.0, 0.5), (0.5, 0.3)])
def test_fbeta_score_matches_numpy(average, beta, threshold):
    metric = metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    metric.update_state(MULTI_TRUE[:3], MULTI_PRED[:3], sample_weight=WEIGHT[:3])
    metric.update_state(MULTI_TRUE[3:], MULTI_PRED[3:], sample_weight=WEIGHT[3:])
    expected = _fbeta_numpy(MULTI_TRUE, MULTI_PRED, beta, threshold, average, WEIGHT)
    np.testing.assert_allclose(metric.result().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_f1_score_is_fbeta_with_beta_one_and_has_no_beta_in_config():
    f1 = metrics.F1Score(average="macro")
    expected = _fbeta_numpy(MULTI_TRUE, MULTI_PRED, 1.0, None, "macro")
    np.testing.assert_allclose(float(f1(MULTI_TRUE, MULTI_PRED)), expected, rtol=1e-5)
    assert f1.name == "f1_score" and "beta" not in f1.get_config()
    assert type(metrics.get("f1_score")) is metrics.F1Score


@pytest.mark.parametrize("kwargs, match", [({"average": "mean"}, "average"), ({"beta": 1}, "beta"),
                                           ({"beta": -1.0}, "beta"), ({"threshold": 1.5}, "threshold")])
def test_fbeta_score_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        metrics.FBetaScore(**kwargs)


def test_fbeta_score_rejects_1d_inputs():
    with pytest.raises(ShapeError, match="2D"):
        metrics.F1Score()(np.array([1.0, 0.0]), np.array([0.4, 0.6]))


def _r2_numpy(y_true, y_pred, weight):
    w = weight.reshape(-1, 1) * np.ones_like(y_true)
    mean = (y_true * w).sum(0) / w.sum(0)
    total = (w * (y_true - mean) ** 2).sum(0)
    return 1 - (w * (y_true - y_pred) ** 2).sum(0) / total, total


@pytest.mark.parametrize("aggregation", [None, "uniform_average", "variance_weighted_average"])
def test_r2_score_matches_numpy_with_weights(aggregation):
    metric = metrics.R2Score(class_aggregation=aggregation)
    metric.update_state(Y_TRUE[:5], Y_PRED[:5], sample_weight=WEIGHT[:5])
    metric.update_state(Y_TRUE[5:], Y_PRED[5:], sample_weight=WEIGHT[5:])
    raw, total = _r2_numpy(Y_TRUE.astype(np.float64), Y_PRED.astype(np.float64), WEIGHT.astype(np.float64))
    expected = {None: raw, "uniform_average": raw.mean(),
                "variance_weighted_average": (raw * total).sum() / total.sum()}
    np.testing.assert_allclose(metric.result().numpy(), expected[aggregation], rtol=1e-4, atol=1e-5)


def test_adjusted_r2_score_and_its_fallback():
    raw, _ = _r2_numpy(Y_TRUE.astype(np.float64), Y_PRED.astype(np.float64), np.ones(8))
    n = Y_TRUE.size
    adjusted = metrics.R2Score(num_regressors=2)(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(float(adjusted), 1 - (1 - raw.mean()) * (n - 1) / (n - 2 - 1), rtol=1e-4)
    with pytest.warns(UserWarning, match="num_regressors"):
        fallback = metrics.R2Score(num_regressors=n)(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(float(fallback), raw.mean(), rtol=1e-4)


@pytest.mark.parametrize("kwargs, match", [({"class_aggregation": "mean"}, "class_aggregation"),
                                           ({"num_regressors": -1}, "num_regressors")])
def test_r2_score_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        metrics.R2Score(**kwargs)


def test_r2_score_rejects_1d_inputs():
    with pytest.raises(ShapeError, match="reshape"):
        metrics.R2Score()(np.array([1.0, 2.0]), np.array([1.0, 2.5]))

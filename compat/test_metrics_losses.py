"""cnnlab's regression, hinge, probabilistic and confusion metrics and losses against real Keras 3."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from cnnlab import losses, metrics  # noqa: E402

TOLERANCE = 1e-5
RNG = np.random.default_rng(3)
POSITIVE_TRUE = (RNG.random((6, 4)) + 0.05).astype("float32")
POSITIVE_PRED = (RNG.random((6, 4)) + 0.05).astype("float32")
PROBS = POSITIVE_PRED / POSITIVE_PRED.sum(-1, keepdims=True)
SCORES = RNG.standard_normal((6, 4)).astype("float32")
BINARY = (RNG.random((6, 4)) > 0.5).astype("float32")
SIGNS = 2 * BINARY - 1
ONE_HOT = np.eye(4, dtype="float32")[RNG.integers(0, 4, 6)]
WEIGHT = np.linspace(0.2, 1.8, 6).astype("float32")

# class name, y_true, y_pred: each is checked as a metric and, when Keras has it, as a loss.
CASES = [
    ("MeanAbsolutePercentageError", POSITIVE_TRUE, POSITIVE_PRED),
    ("MeanSquaredLogarithmicError", POSITIVE_TRUE, SCORES),
    ("CosineSimilarity", SCORES, POSITIVE_PRED),
    ("KLDivergence", ONE_HOT, PROBS),
    ("Poisson", POSITIVE_TRUE, POSITIVE_PRED),
    ("Hinge", BINARY, SCORES),
    ("Hinge", SIGNS, SCORES),
    ("SquaredHinge", BINARY, SCORES),
    ("CategoricalHinge", ONE_HOT, SCORES),
]
METRIC_ONLY = [("RootMeanSquaredError", POSITIVE_TRUE, SCORES), ("LogCoshError", POSITIVE_TRUE, SCORES)]
LOSS_ONLY = [("LogCosh", POSITIVE_TRUE, SCORES), ("Huber", POSITIVE_TRUE, 2 * SCORES)]


def _close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("name, y_true, y_pred", CASES + METRIC_ONLY)
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_equals_keras_over_two_batches(name, y_true, y_pred, weighted):
    ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
    assert ours.name == theirs.name
    for part in (slice(0, 4), slice(4, None)):
        weight = WEIGHT[part] if weighted else None
        ours.update_state(y_true[part], y_pred[part], sample_weight=weight)
        theirs.update_state(y_true[part], y_pred[part], sample_weight=weight)
    _close(ours.result(), theirs.result())


@pytest.mark.parametrize("name, y_true, y_pred", CASES + LOSS_ONLY)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
def test_loss_equals_keras(name, y_true, y_pred, reduction):
    ours, theirs = getattr(losses, name)(reduction=reduction), getattr(keras.losses, name)(reduction=reduction)
    assert ours.name == theirs.name
    _close(ours(y_true, y_pred), theirs(y_true, y_pred))
    _close(ours(y_true, y_pred, sample_weight=WEIGHT), theirs(y_true, y_pred, sample_weight=WEIGHT))


@pytest.mark.parametrize("name", ["mean_absolute_percentage_error", "mean_squared_logarithmic_error", "log_cosh",
                                  "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
                                  "cosine_similarity"])
def test_loss_functions_equal_keras_per_sample(name):
    y_true, y_pred = (ONE_HOT, PROBS) if name == "kl_divergence" else (POSITIVE_TRUE, SCORES)
    _close(getattr(losses, name)(y_true, y_pred), getattr(keras.losses, name)(y_true, y_pred))


def test_cosine_similarity_metric_function_equals_keras():
    from keras.src.metrics.regression_metrics import cosine_similarity  # not exported under keras.metrics

    _close(metrics.cosine_similarity(SCORES, POSITIVE_PRED), cosine_similarity(SCORES, POSITIVE_PRED))


@pytest.mark.parametrize("name", ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"])
@pytest.mark.parametrize("thresholds", [None, 0.3, [0.7, 0.1, 0.5]])
def test_confusion_counts_equal_keras(name, thresholds):
    labels, probs = BINARY.reshape(-1), (POSITIVE_PRED / 1.05).reshape(-1)
    weight = np.tile(WEIGHT, 4)
    ours, theirs = getattr(metrics, name)(thresholds=thresholds), getattr(keras.metrics, name)(thresholds=thresholds)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras numbers repeated default names
    _close(ours(labels, probs, sample_weight=weight), theirs(labels, probs, sample_weight=weight))


@pytest.mark.parametrize("name", ["mape", "mean_absolute_percentage_error", "msle", "root_mean_squared_error",
                                  "cosine_similarity", "log_cosh_error", "kl_divergence", "poisson", "hinge",
                                  "squared_hinge", "categorical_hinge", "true_positives", "false_negatives"])
def test_metric_names_resolve_to_the_same_class_as_keras(name):
    assert type(metrics.get(name)).__name__ == type(keras.metrics.get(name)).__name__


@pytest.mark.parametrize("name", ["mape", "msle", "kld", "log_cosh", "poisson", "hinge", "squared_hinge",
                                  "categorical_hinge", "cosine_similarity", "huber", "kl_divergence"])
def test_loss_names_compute_the_same_as_keras(name):
    y_true, y_pred = (ONE_HOT, PROBS) if name in ("kld", "kl_divergence") else (POSITIVE_TRUE, SCORES)
    theirs = keras.losses.get(name)
    _close(losses.get(name)(y_true, y_pred), np.mean(np.asarray(theirs(y_true, y_pred))))


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("cls, kwargs", [("F1Score", {}), ("F1Score", {"threshold": 0.4}),
                                         ("FBetaScore", {"beta": 2.0, "threshold": 0.3})])
def test_f_scores_equal_keras(cls, kwargs, average):
    ours = getattr(metrics, cls)(average=average, **kwargs)
    theirs = getattr(keras.metrics, cls)(average=average, **kwargs)
    for part in (slice(0, 4), slice(4, None)):
        ours.update_state(ONE_HOT[part], PROBS[part], sample_weight=WEIGHT[part])
        theirs.update_state(ONE_HOT[part], PROBS[part], sample_weight=WEIGHT[part])
    _close(ours.result(), theirs.result())
    # Keras reports dtype "float32" for dtype=None; cnnlab's metrics keep None, as its other metrics do.
    assert {k: v for k, v in ours.get_config().items() if k != "dtype"} == {
        k: v for k, v in theirs.get_config().items() if k != "dtype"}


@pytest.mark.parametrize("kwargs", [{}, {"class_aggregation": None}, {"class_aggregation": "variance_weighted_average"},
                                    {"num_regressors": 3}])
def test_r2_score_equals_keras(kwargs):
    ours, theirs = metrics.R2Score(**kwargs), keras.metrics.R2Score(**kwargs)
    for part in (slice(0, 4), slice(4, None)):
        ours.update_state(POSITIVE_TRUE[part], SCORES[part], sample_weight=WEIGHT[part])
        theirs.update_state(POSITIVE_TRUE[part], SCORES[part], sample_weight=WEIGHT[part])
    _close(ours.result(), theirs.result())


@pytest.mark.parametrize("name", ["MeanAbsolutePercentageError", "CosineSimilarity", "KLDivergence", "Hinge",
                                  "CategoricalHinge", "LogCosh", "Poisson"])
def test_loss_config_loads_in_keras_and_back(name):
    ours = getattr(losses, name)(reduction="sum")
    theirs = keras.losses.deserialize(losses.serialize(ours))
    assert type(theirs).__name__ == name and theirs.reduction == "sum"
    again = losses.deserialize(keras.losses.serialize(theirs))
    assert type(again) is type(ours) and again.reduction == "sum"

"""Metrics against NumPy references and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from cnnlab import losses, metrics
from cnnlab.errors import ConfigError, UnknownNameError

RNG = np.random.default_rng(2)
N, C = 40, 5
SCORES = RNG.normal(size=(N, C))
LABELS = RNG.integers(0, C, size=N)
ONE_HOT = np.eye(C)[LABELS]
WEIGHTS = RNG.uniform(0.0, 2.0, size=N)


def t(x, dtype=torch.float32):
    return torch.tensor(x, dtype=dtype)


def value(metric):
    result = metric.result()
    assert isinstance(result, torch.Tensor)
    return result.numpy()


def weighted_mean(hits, weights=None):
    weights = np.ones(len(hits)) if weights is None else weights
    return (hits * weights).sum() / weights.sum()


def np_top_k_hits(scores, labels, k):
    # a label is in the top k when fewer than k classes score strictly higher (TF in_top_k ties)
    target = scores[np.arange(len(labels)), labels]
    return ((scores > target[:, None]).sum(axis=1) < k).astype(float)


@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_sparse_and_categorical_accuracy(weights):
    want = weighted_mean((SCORES.argmax(1) == LABELS).astype(float), weights)
    sw = None if weights is None else t(weights)
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(t(LABELS, torch.int64), t(SCORES), sample_weight=sw)
    np.testing.assert_allclose(value(m), want, rtol=1e-6)
    m = metrics.CategoricalAccuracy()
    m.update_state(t(ONE_HOT), t(SCORES), sample_weight=sw)
    np.testing.assert_allclose(value(m), want, rtol=1e-6)


def test_sparse_accuracy_accepts_labels_of_shape_n_by_1_as_floats():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(t(LABELS.reshape(-1, 1).astype(float)), t(SCORES))
    np.testing.assert_allclose(value(m), (SCORES.argmax(1) == LABELS).mean(), rtol=1e-6)


def test_multi_batch_accumulation_equals_one_shot():
    one = metrics.SparseCategoricalAccuracy()
    one.update_state(t(LABELS, torch.int64), t(SCORES), sample_weight=t(WEIGHTS))
    many = metrics.SparseCategoricalAccuracy()
    for s in (slice(0, 7), slice(7, 30), slice(30, N)):
        many.update_state(t(LABELS[s], torch.int64), t(SCORES[s]), sample_weight=t(WEIGHTS[s]))
    np.testing.assert_allclose(value(many), value(one), rtol=1e-6)
    many.reset_state()
    assert float(many.result()) == 0.0


@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_binary_accuracy_thresholds_strictly(weights):
    probs = RNG.uniform(size=(N, 1))
    probs[0, 0] = 0.5  # exactly at the threshold -> predicted 0
    y = RNG.integers(0, 2, size=(N, 1)).astype(float)
    y[0, 0] = 0.0
    want = weighted_mean(((probs[:, 0] > 0.5) == y[:, 0]).astype(float), weights)
    m = metrics.BinaryAccuracy()
    m.update_state(t(y[:, 0]), t(probs), sample_weight=None if weights is None else t(weights))
    np.testing.assert_allclose(value(m), want, rtol=1e-6)


def test_accuracy_compares_exactly():
    m = metrics.Accuracy()
    m.update_state(t([1, 2, 3, 4]), t([1, 2, 0, 4]))
    assert float(m.result()) == pytest.approx(0.75)


@pytest.mark.parametrize("k", [1, 3])
def test_top_k_accuracies(k):
    want = np_top_k_hits(SCORES, LABELS, k).mean()
    sparse = metrics.SparseTopKCategoricalAccuracy(k=k)
    sparse.update_state(t(LABELS, torch.int64), t(SCORES))
    dense = metrics.TopKCategoricalAccuracy(k=k)
    dense.update_state(t(ONE_HOT), t(SCORES))
    np.testing.assert_allclose([value(sparse), value(dense)], [want, want], rtol=1e-6)


def test_top_k_counts_ties_at_the_boundary_as_hits():
    m = metrics.SparseTopKCategoricalAccuracy(k=1)
    m.update_state(t([1]), t([[0.5, 0.5, 0.0]]))
    assert float(m.result()) == 1.0


def test_mean_weights_by_batch_size_for_the_loss():
    m = metrics.Mean()
    m.update_state(t(2.0), sample_weight=3)
    m.update_state(t(4.0), sample_weight=1)
    # (2*3 + 4*1) / (3 + 1)
    assert float(m.result()) == pytest.approx(2.5)


@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_precision_and_recall(weights):
    probs = RNG.uniform(size=N)
    y = RNG.integers(0, 2, size=N)
    w = np.ones(N) if weights is None else weights
    pred = probs > 0.5
    tp, fp, fn = (w * (pred & (y == 1))).sum(), (w * (pred & (y == 0))).sum(), (w * (~pred & (y == 1))).sum()
    sw = None if weights is None else t(weights)
    p, r = metrics.Precision(), metrics.Recall()
    for m in (p, r):
        m.update_state(t(y), t(probs), sample_weight=sw)
    np.testing.assert_allclose([value(p), value(r)], [tp / (tp + fp), tp / (tp + fn)], rtol=1e-5)


def test_precision_with_several_thresholds_keeps_their_order():
    probs, y = np.array([0.1, 0.4, 0.6, 0.9]), np.array([0, 1, 0, 1])
    m = metrics.Precision(thresholds=[0.5, 0.0])
    m.update_state(t(y), t(probs))
    # threshold 0.5: predicted {0.6, 0.9}, one right -> 0.5; threshold 0.0: all predicted, two right -> 0.5
    # threshold list order is kept in the result
    np.testing.assert_allclose(value(m), [0.5, 0.5])
    m = metrics.Recall(thresholds=[0.95, 0.3])
    m.update_state(t(y), t(probs))
    np.testing.assert_allclose(value(m), [0.0, 1.0])


def test_auc_matches_sklearn_and_accumulates_over_batches():
    y = RNG.integers(0, 2, size=600)
    probs = np.clip(0.35 * y + 0.65 * RNG.uniform(size=600), 0, 1)
    m = metrics.AUC()
    for s in (slice(0, 100), slice(100, 450), slice(450, 600)):
        m.update_state(t(y[s]), t(probs[s].reshape(-1, 1)))
    assert abs(float(m.result()) - roc_auc_score(y, probs)) < 1e-2


def test_auc_from_logits_and_sample_weight():
    y = RNG.integers(0, 2, size=300)
    logits = 2 * y - 1 + RNG.normal(size=300) * 1.5
    w = RNG.uniform(0.5, 1.5, size=300)
    m = metrics.AUC(from_logits=True)
    m.update_state(t(y), t(logits), sample_weight=t(w))
    assert abs(float(m.result()) - roc_auc_score(y, 1 / (1 + np.exp(-logits)), sample_weight=w)) < 1e-2


def test_regression_mean_metrics():
    y, p = RNG.normal(size=(N, 2)), RNG.normal(size=(N, 2))
    mse, mae = metrics.get("mse"), metrics.get("mae")
    mse.update_state(t(y), t(p))
    mae.update_state(t(y), t(p))
    np.testing.assert_allclose([value(mse), value(mae)], [((y - p) ** 2).mean(), np.abs(y - p).mean()], rtol=1e-5)
    assert (mse.name, mae.name) == ("mse", "mae")


@pytest.mark.parametrize("loss, expected", [
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    (losses.CategoricalCrossentropy(from_logits=True), metrics.CategoricalAccuracy),
    ("binary_crossentropy", metrics.BinaryAccuracy),
    (losses.binary_crossentropy, metrics.BinaryAccuracy),
])
def test_accuracy_is_resolved_by_the_loss_and_keeps_its_name(loss, expected):
    m = metrics.get("accuracy", loss=loss)
    assert type(m) is expected and m.name == "accuracy"
    assert metrics.get("acc", loss=loss).name == "acc"


@pytest.mark.parametrize("y_true_shape, y_pred_shape, expected", [
    ((8,), (8, 10), metrics.SparseCategoricalAccuracy),
    ((8, 1), (8, 10), metrics.SparseCategoricalAccuracy),
    ((8, 10), (8, 10), metrics.CategoricalAccuracy),
    ((8, 1), (8, 1), metrics.BinaryAccuracy),
])
def test_accuracy_for_a_plain_loss_is_chosen_by_shapes(y_true_shape, y_pred_shape, expected):
    assert type(metrics.resolve_accuracy(lambda a, b: a, y_true_shape, y_pred_shape)) is expected


def test_auto_accuracy_resolves_at_first_update():
    m = metrics.get("accuracy", loss=lambda y, p: (y - p).mean())
    m.update_state(t(ONE_HOT), t(SCORES))
    assert type(m.resolved) is metrics.CategoricalAccuracy
    np.testing.assert_allclose(value(m), (SCORES.argmax(1) == LABELS).mean(), rtol=1e-6)


def test_custom_metric_subclass_and_device_move():
    class Count(metrics.Metric):
        def __init__(self, name="count"):
            super().__init__(name=name)
            self.n = self.add_variable(shape=(), name="n")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n += y_true.shape[0]

        def result(self):
            return self.n

    m = Count()
    m.update_state(t([1, 2]), t([1, 2]))
    m.to("cpu")
    m.update_state(t([1]), t([1]))
    assert float(m.result()) == 3.0 and len(m.variables) == 1
    m.reset_state()
    assert float(m.result()) == 0.0


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'precision'"):
        metrics.get("precison")


def test_bad_arguments():
    with pytest.raises(ConfigError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ConfigError, match="k"):
        metrics.TopKCategoricalAccuracy(k=0)


def test_config_round_trip():
    for m in [metrics.BinaryAccuracy(threshold=0.3), metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"),
              metrics.Precision(thresholds=[0.2, 0.7]), metrics.Recall(class_id=1), metrics.AUC(num_thresholds=50),
              metrics.Mean(name="loss"), metrics.SparseCategoricalAccuracy(name="accuracy")]:
        again = metrics.deserialize(metrics.serialize(m))
        assert type(again) is type(m) and again.get_config() == m.get_config()
    with pytest.raises(UnknownNameError):
        metrics.deserialize({"class_name": "subprocess.Popen", "config": {}})

import math
import warnings

import pytest

from cnnlab.callbacks import LearningRateScheduler, ReduceLROnPlateau
from cnnlab.errors import ArgumentTypeError, ConfigError


def test_scheduler_sets_rate_at_each_epoch_begin_and_logs_it(model, fit):
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.5

    history = fit(model, [LearningRateScheduler(schedule)], [{"loss": 1.0}] * 4)
    # lr starts at 0.01: kept for epochs 0-1, halved at 2 and again at 3.
    assert seen == [(0, 0.01), (1, 0.01), (2, 0.01), (3, 0.005)]
    assert model.optimizer.learning_rate == pytest.approx(0.0025)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])


def test_scheduler_accepts_one_argument_schedule(model, fit):
    fit(model, [LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))], [{"loss": 1.0}] * 3)
    assert model.optimizer.learning_rate == pytest.approx(0.1 / 3)


def test_scheduler_does_not_hide_type_errors_inside_two_argument_schedule(model, fit):
    def broken(epoch, lr):
        return lr + "x"

    with pytest.raises(TypeError, match="unsupported operand"):
        fit(model, [LearningRateScheduler(broken)], [{"loss": 1.0}])


def test_scheduler_verbose_message(model, fit, capsys):
    fit(model, [LearningRateScheduler(lambda e, lr: 0.5, verbose=1)], [{"loss": 1.0}])
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.5." in capsys.readouterr().out


def test_scheduler_rejects_non_number_output(model, fit):
    with pytest.raises(ConfigError, match=r"must be a float learning rate.*epoch 0.*Received: None"):
        fit(model, [LearningRateScheduler(lambda e, lr: None)], [{"loss": 1.0}])


def test_scheduler_needs_a_function():
    with pytest.raises(ArgumentTypeError, match="Received: schedule=0.1"):
        LearningRateScheduler(0.1)


def test_reduce_on_plateau_with_patience_and_cooldown(model, fit, capsys):
    reduce = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_delta=0.0, verbose=1)
    losses = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    history = fit(model, [reduce], [{"val_loss": v} for v in losses])
    # Keras trace (patience 1, cooldown 2), lr logged before any reduction that epoch:
    # e0 best 1.0                        lr 0.01
    # e1 no gain, wait 1 >= 1 -> reduce  lr 0.01 -> 0.005, cooldown 2
    # e2 cooldown 2 -> 1, wait 0; no gain but in cooldown, nothing
    # e3 cooldown 1 -> 0, wait 0; no gain, not in cooldown: wait 1 -> reduce to 0.0025, cooldown 2
    # e4 cooldown -> 1 ; e5 cooldown -> 0, wait 1 -> reduce to 0.00125 ; e6 cooldown -> 1
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.00125])
    assert model.optimizer.learning_rate == pytest.approx(0.00125)
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.005." in capsys.readouterr().out


def test_reduce_on_plateau_waits_patience_epochs_and_resets_on_improvement(model, fit):
    reduce = ReduceLROnPlateau(factor=0.1, patience=2)
    # e0 best 1.0; e1 wait 1; e2 0.5 improves by > 1e-4, wait 0; e3 wait 1; e4 wait 2 -> reduce.
    fit(model, [reduce], [{"val_loss": v} for v in (1.0, 1.0, 0.5, 0.5, 0.5)])
    assert model.optimizer.learning_rate == pytest.approx(0.001)


def test_reduce_on_plateau_min_delta_counts_small_gains_as_plateau(model, fit):
    reduce = ReduceLROnPlateau(factor=0.1, patience=1, min_delta=0.01)
    # 0.995 is only 0.005 better than 1.0 -> no improvement -> reduce at e1.
    fit(model, [reduce], [{"val_loss": v} for v in (1.0, 0.995)])
    assert model.optimizer.learning_rate == pytest.approx(0.001)


def test_reduce_on_plateau_stops_at_min_lr(model, fit):
    reduce = ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.0005)
    fit(model, [reduce], [{"val_loss": 1.0}] * 5)
    # 0.01 -> 0.001 -> max(0.0001, 0.0005) = 0.0005, then no further change.
    assert model.optimizer.learning_rate == pytest.approx(0.0005)


def test_reduce_on_plateau_max_mode_for_accuracy(model, fit):
    reduce = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    fit(model, [reduce], [{"val_accuracy": a} for a in (0.5, 0.6, 0.7)])
    assert model.optimizer.learning_rate == pytest.approx(0.01)


def test_reduce_on_plateau_missing_monitor_warns(model, fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, [ReduceLROnPlateau(patience=0)], [{"loss": 1.0}] * 3)
    assert len(caught) == 1
    assert "Learning rate reduction is conditioned on metric `val_loss`" in str(caught[0].message)
    assert model.optimizer.learning_rate == 0.01


@pytest.mark.parametrize("factor", [1.0, 2.5])
def test_reduce_on_plateau_factor_at_least_one_is_config_error(factor):
    with pytest.raises(ConfigError, match=f"factor >= 1.0.*Received: factor={factor}"):
        ReduceLROnPlateau(factor=factor)


def test_learning_rate_is_a_float_in_logs(model, fit):
    history = fit(model, [ReduceLROnPlateau()], [{"val_loss": 1.0}])
    assert isinstance(history.history["learning_rate"][0], float)
    assert not math.isnan(history.history["learning_rate"][0])

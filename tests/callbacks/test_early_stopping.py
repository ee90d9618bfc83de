import warnings

import numpy as np
import pytest

from cnnlab.callbacks import EarlyStopping
from cnnlab.errors import ConfigError


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


def test_patience_two_stops_at_fourth_epoch_and_restores_second(model, fit, capsys):
    # Keras 3 trace, patience=2 (wait grows first, resets on improvement):
    # e0 0.50 best, wait 0 | e1 0.40 best, wait 0 | e2 0.45 wait 1 |
    # e3 0.46 wait 2 >= 2 -> stop at epoch index 3; best epoch index 1.
    stop = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = fit(model, [stop], val_losses(0.5, 0.4, 0.45, 0.46, 0.3))
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3
    assert stop.best_epoch == 1
    assert stop.best == 0.4
    # The fake model's weights hold the index of the epoch that produced them.
    assert all(np.all(w == 1.0) for w in model.get_weights())
    out = capsys.readouterr().out
    assert "Epoch 4: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_restores_best_weights_even_when_not_stopped_early(model, fit):
    stop = EarlyStopping(patience=5, restore_best_weights=True)
    fit(model, [stop], val_losses(0.5, 0.3, 0.4))
    assert stop.stopped_epoch == 0
    assert all(np.all(w == 1.0) for w in model.get_weights())


def test_without_restore_keeps_last_weights(model, fit):
    fit(model, [EarlyStopping(patience=0)], val_losses(0.5, 0.6, 0.7))
    # patience 0: e1 does not improve, wait 1 >= 0 -> stop at e1; weights from e1.
    assert all(np.all(w == 1.0) for w in model.get_weights())


def test_patience_zero_never_stops_at_epoch_zero(model, fit):
    history = fit(model, [EarlyStopping(patience=0)], val_losses(0.5, 0.4, 0.3))
    assert history.epoch == [0, 1, 2]


def test_min_delta_small_gain_is_not_improvement(model, fit):
    stop = EarlyStopping(patience=1, min_delta=0.05)
    # 0.48 is only 0.02 better than 0.5 -> wait 1 >= 1 at e1 -> stop.
    history = fit(model, [stop], val_losses(0.5, 0.48, 0.2))
    assert history.epoch == [0, 1]
    assert stop.best == 0.5


def test_auto_mode_maximises_accuracy(model, fit):
    stop = EarlyStopping(monitor="val_accuracy", patience=1)
    logs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.6, 0.9)]
    history = fit(model, [stop], logs)
    # e2 0.6 < best 0.7 -> wait 1 >= 1 -> stop at e2.
    assert history.epoch == [0, 1, 2]
    assert stop.best == 0.7


def test_baseline_not_beaten_stops_after_patience(model, fit):
    stop = EarlyStopping(patience=2, baseline=0.3, restore_best_weights=True)
    # Keras 3 trace: wait resets only when the value also beats the baseline.
    # e0 0.50 best, wait 1 (not < 0.3) | e1 0.40 best, wait 2 (return before the
    # stop check) | e2 0.45 no gain, wait 3 >= 2 -> stop; best epoch index 1.
    history = fit(model, [stop], val_losses(0.5, 0.4, 0.45, 0.2))
    assert history.epoch == [0, 1, 2]
    assert stop.best_epoch == 1
    assert all(np.all(w == 1.0) for w in model.get_weights())


def test_start_from_epoch_ignores_warm_up(model, fit):
    stop = EarlyStopping(patience=0, start_from_epoch=2)
    history = fit(model, [stop], val_losses(0.1, 0.9, 0.8, 0.85))
    # Epochs 0-1 are ignored; e2 0.8 is the first best; e3 does not improve -> stop.
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3


def test_missing_monitor_warns_once_and_never_stops(model, fit):
    stop = EarlyStopping(monitor="val_los", patience=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(model, [stop], val_losses(0.5, 0.6, 0.7))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "Early stopping conditioned on metric `val_los` which is not available" in messages[0]
    assert "Did you mean 'val_loss'?" in messages[0]
    assert history.epoch == [0, 1, 2]


def test_reused_instance_resets_between_fits(make_model, fit):
    stop = EarlyStopping(patience=1)
    fit(make_model(), [stop], val_losses(0.5, 0.6))
    assert stop.stopped_epoch == 1
    history = fit(make_model(), [stop], val_losses(0.9, 0.8, 0.7))
    assert history.epoch == [0, 1, 2]
    assert stop.stopped_epoch == 0


def test_unknown_mode_is_config_error():
    with pytest.raises(ConfigError, match=r"mode must be one of .*Did you mean 'max'.*Received: mode='maxx'"):
        EarlyStopping(mode="maxx")


def test_negative_patience_is_config_error():
    with pytest.raises(ConfigError, match="Received: patience=-1"):
        EarlyStopping(patience=-1)

import io
import math

import pytest
import torch

from cnnlab.callbacks import CallbackList, CSVLogger, ProgbarLogger, TerminateOnNaN
from cnnlab.errors import CheckpointError

# ---------------------------------------------------------------- CSVLogger


def test_csv_has_epoch_then_sorted_keys(model, fit, tmp_path):
    path = tmp_path / "log.csv"
    fit(model, [CSVLogger(path)], [{"val_loss": 0.5, "loss": 0.75, "accuracy": 0.25}, {"val_loss": 0.25, "loss": 0.5, "accuracy": 0.5}])
    assert path.read_text() == "epoch,accuracy,loss,val_loss\n0,0.25,0.75,0.5\n1,0.5,0.5,0.25\n"


def test_csv_without_validation_still_has_val_columns(model, fit, tmp_path):
    path = tmp_path / "log.csv"
    fit(model, [CSVLogger(path)], [{"loss": 0.5}])
    assert path.read_text() == "epoch,loss,val_loss\n0,0.5,NA\n"


def test_csv_rows_are_on_disk_before_training_ends(model, tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path, separator=";")
    cbs = CallbackList([logger], model=model)
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.25})
    # No on_train_end: as after a crash.
    assert path.read_text() == "epoch;loss;val_loss\n0;0.5;0.25\n"


def test_csv_append_adds_rows_without_second_header(model, fit, tmp_path):
    path = tmp_path / "log.csv"
    fit(model, [CSVLogger(path)], [{"loss": 0.5, "val_loss": 0.25}])
    fit(model, [CSVLogger(path, append=True)], [{"loss": 0.375, "val_loss": 0.125}])
    assert path.read_text() == "epoch,loss,val_loss\n0,0.5,0.25\n0,0.375,0.125\n"


def test_csv_append_to_missing_file_writes_header(model, fit, tmp_path):
    path = tmp_path / "new.csv"
    fit(model, [CSVLogger(path, append=True)], [{"loss": 0.5, "val_loss": 0.25}])
    assert path.read_text().startswith("epoch,loss,val_loss\n")


def test_csv_overwrite_replaces_old_file(model, fit, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old\n")
    fit(model, [CSVLogger(path)], [{"loss": 0.5, "val_loss": 0.25}])
    assert "old" not in path.read_text()


def test_csv_in_missing_directory_is_checkpoint_error(model, fit, tmp_path):
    with pytest.raises(CheckpointError, match="its directory does not exist"):
        fit(model, [CSVLogger(tmp_path / "nope" / "log.csv")], [{"loss": 0.5}])


# ---------------------------------------------------------------- TerminateOnNaN


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_terminate_on_nan_stops_at_the_bad_batch(model, fit, capsys, bad):
    history = fit(model, [TerminateOnNaN()], [{"loss": 1.0}] * 3, steps=4,
                  batch_loss=lambda e, b: bad if (e, b) == (1, 2) else 0.5)
    assert model.stop_training is True
    assert history.epoch == [0, 1]
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_ignores_finite_losses(model, fit):
    history = fit(model, [TerminateOnNaN()], [{"loss": 1.0}] * 2)
    assert history.epoch == [0, 1]


def test_terminate_on_nan_raise_error(model, fit):
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        fit(model, [TerminateOnNaN(raise_error=True)], [{"loss": 1.0}], batch_loss=lambda e, b: math.nan)


# ---------------------------------------------------------------- ProgbarLogger


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def run_fit_with_progbar(verbose, epochs=2, steps=3, step_seconds=0.004, live=False):
    stream = io.StringIO()
    stream.isatty = lambda: live
    clock = FakeClock()
    progbar = ProgbarLogger(stream=stream, clock=clock)
    cbs = CallbackList([progbar], epochs=epochs, steps=steps, verbose=verbose)
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            clock.now += step_seconds
            cbs.on_train_batch_end(batch, {"loss": torch.tensor(0.5), "accuracy": torch.tensor(0.75)})
        # Validation inside fit must stay silent.
        cbs.on_test_begin()
        cbs.on_test_batch_end(0, {"loss": torch.tensor(9.0)})
        cbs.on_test_end({"loss": 9.0})
        cbs.on_epoch_end(epoch, {"accuracy": 0.8148, "loss": 0.5226, "val_accuracy": 0.8823, "val_loss": 0.3283})
    cbs.on_train_end()
    return stream.getvalue()


def test_progbar_verbose_1_not_a_tty_prints_epoch_headers_and_final_lines():
    out = run_fit_with_progbar(verbose=1)
    # 3 steps of 4 ms: 12 ms in all; the first step is left out of the per-step
    # estimate: (12 - 4) ms / 2 steps = 4ms/step.
    line = "3/3 ━━━━━━━━━━━━━━━━━━━━ 0s 4ms/step - accuracy: 0.8148 - loss: 0.5226 - val_accuracy: 0.8823 - val_loss: 0.3283"
    assert out == f"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n"


def test_progbar_verbose_2_prints_one_line_per_epoch():
    out = run_fit_with_progbar(verbose=2, epochs=1, steps=1500, step_seconds=0.008)
    # 1500 steps of 8 ms = 12 s.
    assert out == ("1500/1500 - 12s - 8ms/step - accuracy: 0.8148 - loss: 0.5226 - val_accuracy: 0.8823"
                   " - val_loss: 0.3283\n")


def test_progbar_verbose_0_prints_nothing():
    assert run_fit_with_progbar(verbose=0) == ""


def test_progbar_live_redraws_in_place_and_ends_with_newline():
    out = run_fit_with_progbar(verbose=1, epochs=1, steps=3, step_seconds=0.2, live=True)
    assert out.count("\r") >= 3
    # Elapsed 3 x 0.2 s = 0.6 s, printed rounded as "1s" like Keras.
    assert out.endswith("\x1b[1m1s\x1b[0m 200ms/step - accuracy: 0.8148 - loss: 0.5226 - val_accuracy: 0.8823 - val_loss: 0.3283\n")
    assert "Epoch" not in out  # a single epoch has no header, as in Keras


def drive_evaluate(steps, logs_per_step, final_logs, verbose=1):
    stream = io.StringIO()
    clock = FakeClock()
    cbs = CallbackList([ProgbarLogger(stream=stream, clock=clock)], add_history=False,
                       epochs=1, steps=steps, verbose=verbose)
    cbs.on_test_begin()
    for batch in range(logs_per_step):
        clock.now += 0.002
        cbs.on_test_batch_end(batch, {"accuracy": torch.tensor(0.5), "loss": torch.tensor(1.0)})
    cbs.on_test_end(final_logs)
    return stream.getvalue()


def test_progbar_shows_evaluate():
    out = drive_evaluate(steps=313, logs_per_step=313, final_logs={"accuracy": 0.9, "loss": 0.25})
    assert out == "313/313 ━━━━━━━━━━━━━━━━━━━━ 1s 2ms/step - accuracy: 0.9000 - loss: 0.2500\n"


def test_progbar_unknown_steps_learns_the_count_at_the_end():
    out = drive_evaluate(steps=None, logs_per_step=7, final_logs={"accuracy": 0.5, "loss": 0.25})
    assert out == "7/7 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.5000 - loss: 0.2500\n"


def test_progbar_shows_predict():
    stream = io.StringIO()
    clock = FakeClock()
    cbs = CallbackList([ProgbarLogger(stream=stream, clock=clock)], add_history=False, epochs=1, steps=4, verbose=1)
    cbs.on_predict_begin()
    for batch in range(4):
        clock.now += 0.0005
        cbs.on_predict_batch_end(batch, {"outputs": torch.zeros(8, 10)})
    cbs.on_predict_end()
    assert stream.getvalue() == "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 500us/step\n"


def test_progbar_run_stopped_mid_epoch_shows_steps_done():
    stream = io.StringIO()
    cbs = CallbackList([ProgbarLogger(stream=stream, clock=FakeClock())], add_history=False,
                       epochs=1, steps=10, verbose=1)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    for batch in range(4):
        cbs.on_train_batch_end(batch, {"loss": torch.tensor(0.5)})
    cbs.on_epoch_end(0, {"loss": 0.5})
    # The count is right-aligned to the target's width; 4/10 of 20 characters done.
    assert stream.getvalue().startswith(" 4/10 ━━━━━━━━────────────")

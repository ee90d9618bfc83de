import io

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.training import progress
from cnnlab.training.progress import Progbar, format_duration, format_time_per_unit, format_value, logs_to_floats


class FakeClock:
    def __init__(self, start=50.0):
        self.now = start

    def __call__(self):
        return self.now


class CountingValue:
    """A log value that counts how often it is read as a float (a device sync for a GPU tensor)."""

    reads = 0

    def __init__(self, value):
        self.value = value

    def __float__(self):
        CountingValue.reads += 1
        return self.value


def make_bar(target, live=True, verbose=1):
    stream, clock = io.StringIO(), FakeClock()
    return Progbar(target, verbose=verbose, stream=stream, clock=clock, live=live), stream, clock


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.4, "2s/step"), (1.0, "1s/step"), (0.0, "0s/step"), (0.0084, "8ms/step"), (0.001, "1ms/step"),
     (0.00035, "350us/step")],
)
def test_time_per_step_unit_is_s_ms_or_us(seconds, text):
    assert format_time_per_unit(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    # 187 s = 3 min 7 s; 3723 s = 1 h 2 min 3 s; exactly 60 s still counts as seconds (Keras uses > 60).
    [(42.7, "42s"), (60, "60s"), (187, "3:07"), (3723, "1:02:03")],
)
def test_eta_format(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("value", "text"), [(0.52261, "0.5226"), (0.0005, "5.0000e-04"), (-0.25, "-0.2500"), ("x", "x")])
def test_metric_value_format(value, text):
    assert format_value(value) == text


def test_running_bar_shows_eta_then_final_shows_elapsed():
    bar, stream, clock = make_bar(100)
    for step in range(1, 11):
        clock.now += 0.25  # binary-exact steps keep the arithmetic below exact
        bar.update(step, {"loss": 0.5})
    # Step 1 is left out of the estimate: (2.5 - 0.25) s / 9 steps = 0.25 s/step;
    # ETA = 90 remaining steps x 0.25 s = 22.5 s, shown truncated as "22s".
    last = stream.getvalue().split("\r")[-1]
    assert last == ("\x1b[1m 10/100\x1b[0m \x1b[32m━━\x1b[0m\x1b[37m" + "━" * 18 + "\x1b[0m"
                    " \x1b[1m22s\x1b[0m 250ms/step - loss: 0.5000")
    clock.now += 22.5
    bar.update(100, {"loss": 0.25})
    final = stream.getvalue().split("\r")[-1]
    # Elapsed 25 s; per step (25 - 0.25) / 99 = 0.25 s.
    assert final.endswith(" \x1b[1m25s\x1b[0m 250ms/step - loss: 0.2500\n")


@pytest.mark.parametrize(
    ("steps_done", "eta"),
    # 15 s per step over 1000 steps: 999 left -> 14985 s = 4 h 9 min 45 s;
    # 10 left -> 150 s = 2 min 30 s; 2 left -> 30 s.
    [(1, "4:09:45"), (990, "2:30"), (998, "30s")],
)
def test_eta_switches_to_minutes_and_hours(steps_done, eta):
    bar, stream, clock = make_bar(1000)
    clock.now += 15.0 * steps_done
    bar.update(steps_done, {"loss": 0.5})
    assert f" \x1b[1m{eta}\x1b[0m 15s/step" in stream.getvalue()


def test_redraws_are_throttled_and_values_read_only_when_drawn():
    CountingValue.reads = 0
    bar, stream, clock = make_bar(1000)
    for step in range(1, 51):  # 50 updates within 0.05 s of fake time
        clock.now += 0.001
        bar.update(step, {"loss": CountingValue(0.5)})
    assert CountingValue.reads == 1  # only the first update drew
    assert stream.getvalue().count("\r") == 1
    clock.now += 0.2
    bar.update(51, {"loss": CountingValue(0.4)})
    assert CountingValue.reads == 2
    bar.update(1000, {"loss": CountingValue(0.3)})  # the final update always draws
    assert CountingValue.reads == 3
    assert stream.getvalue().endswith("loss: 0.3000\n")


def test_tensor_logs_are_converted_once_per_draw(monkeypatch):
    calls = []
    real = progress.logs_to_floats
    monkeypatch.setattr(progress, "logs_to_floats", lambda values: calls.append(1) or real(values))
    bar, stream, clock = make_bar(200)
    for step in range(1, 200):
        clock.now += 0.0001  # 199 steps in 0.02 s
        bar.update(step, {"loss": torch.tensor(0.5), "accuracy": torch.tensor(0.75)})
    bar.update(200, {"loss": 0.5, "accuracy": 0.75})
    assert len(calls) == 2  # the first step and the final one


def test_not_live_prints_nothing_until_the_final_line():
    CountingValue.reads = 0
    bar, stream, clock = make_bar(5, live=False)
    for step in range(1, 5):
        clock.now += 1.0
        bar.update(step, {"loss": CountingValue(0.5)})
    assert stream.getvalue() == ""
    assert CountingValue.reads == 0
    clock.now += 1.0
    bar.update(5, {"loss": 0.5})
    # 5 s elapsed; (5 - 1) s / 4 steps = 1 s/step.
    assert stream.getvalue() == "5/5 ━━━━━━━━━━━━━━━━━━━━ 5s 1s/step - loss: 0.5000\n"


def test_verbose_2_writes_only_the_summary_line():
    bar, stream, clock = make_bar(4, verbose=2)
    for step in range(1, 5):
        clock.now += 0.25
        bar.update(step, {"loss": 0.5})
    # 1 s elapsed, 250 ms per step.
    assert stream.getvalue() == "4/4 - 1s - 250ms/step - loss: 0.5000\n"


def test_shorter_line_is_padded_to_erase_the_longer_one():
    bar, stream, clock = make_bar(None)
    bar.update(1, {"loss": 123456.0})
    clock.now += 1.0
    bar.update(2, {"loss": 0.5})
    first, second = stream.getvalue().split("\r")[1:]
    assert len(progress._strip_styles(second)) == len(progress._strip_styles(first))
    # "123456.0000" is 5 characters longer than "0.5000"; the rest has the same width.
    assert second.endswith("loss: 0.5000" + " " * 5)


def test_unknown_target_shows_count_so_far():
    bar, stream, clock = make_bar(None)
    clock.now += 0.2
    bar.update(5, {"loss": 0.5})
    # 0.2 s / 5 steps = 40 ms per step; elapsed 0.2 s prints as "0s".
    assert stream.getvalue() == "\r      5/Unknown \x1b[1m0s\x1b[0m 40ms/step - loss: 0.5000"


def test_new_names_are_appended_sorted_after_those_shown():
    bar, stream, clock = make_bar(2, live=False)
    bar.update(1, {"loss": 0.5, "accuracy": 0.5})
    bar.update(2, {"val_loss": 0.25, "loss": 0.5, "accuracy": 0.5, "learning_rate": 0.01}, finalize=True)
    assert stream.getvalue().endswith("- accuracy: 0.5000 - loss: 0.5000 - learning_rate: 0.0100 - val_loss: 0.2500\n")


def test_logs_to_floats_handles_tensors_numbers_and_text():
    values = {"loss": torch.tensor(0.5), "per_class": torch.tensor([0.25, 0.75]), "lr": 0.01, "note": "warm-up"}
    assert logs_to_floats(values) == {"loss": 0.5, "per_class": 0.5, "lr": 0.01, "note": "warm-up"}


def test_bad_verbose_is_config_error():
    with pytest.raises(ConfigError, match="Received: verbose=3"):
        Progbar(10, verbose=3)

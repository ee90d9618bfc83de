"""The thread governor: fewer threads while other processes take cores, all of them back when they stop."""

import pytest
import torch

from cnnlab.training.threads import CHECK_EVERY_S, ThreadGovernor


class FakeMachine:
    """CPU-second counters the test drives: ``run(seconds, own_cores, other_cores)``."""

    def __init__(self):
        self.now, self.total, self.own = 0.0, 0.0, 0.0

    def read(self):
        return self.total, self.own

    def clock(self):
        return self.now

    def run(self, seconds, own_cores, other_cores):
        self.now += seconds
        self.own += own_cores * seconds
        self.total += (own_cores + other_cores) * seconds


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_gives_a_core_away_while_another_process_uses_it_and_takes_it_back_after(two_threads):
    machine = FakeMachine()
    governor = ThreadGovernor(machine.read, machine.clock)
    governor.start()
    machine.run(0.5, 2.0, 0.0)
    governor.tick()  # not due yet: nothing read, nothing changed
    assert torch.get_num_threads() == 2
    machine.run(CHECK_EVERY_S, 1.0, 1.0)  # a CPU-bound process took a core
    governor.tick()
    assert torch.get_num_threads() == 1
    machine.run(CHECK_EVERY_S, 1.0, 1.0)  # still there
    governor.tick()
    assert torch.get_num_threads() == 1
    machine.run(CHECK_EVERY_S, 1.0, 0.1)  # gone
    governor.tick()
    assert torch.get_num_threads() == 2
    machine.run(CHECK_EVERY_S, 1.0, 0.9)
    governor.tick()
    governor.stop()  # the end of fit gives the user's count back
    assert torch.get_num_threads() == 2


def test_light_background_use_changes_nothing(two_threads):
    machine = FakeMachine()
    governor = ThreadGovernor(machine.read, machine.clock)
    governor.start()
    for _ in range(5):
        machine.run(CHECK_EVERY_S, 2.0, 0.3)
        governor.tick()
        assert torch.get_num_threads() == 2


def test_one_thread_and_deterministic_mode_are_left_alone(two_threads):
    machine = FakeMachine()
    governor = ThreadGovernor(machine.read, machine.clock)
    torch.use_deterministic_algorithms(True)
    try:
        governor.start()
        machine.run(CHECK_EVERY_S, 1.0, 1.0)
        governor.tick()
        assert torch.get_num_threads() == 2  # a run asked to repeat bit for bit keeps its thread count
    finally:
        torch.use_deterministic_algorithms(False)
    torch.set_num_threads(1)
    governor.start()
    machine.run(CHECK_EVERY_S, 1.0, 1.0)
    governor.tick()
    assert torch.get_num_threads() == 1


def test_it_can_be_turned_off(monkeypatch, two_threads):
    monkeypatch.setenv("CNNLAB_ADAPTIVE_THREADS", "0")
    machine = FakeMachine()
    governor = ThreadGovernor(machine.read, machine.clock)
    governor.start()
    machine.run(CHECK_EVERY_S, 1.0, 1.0)
    governor.tick()
    assert torch.get_num_threads() == 2


def test_the_real_reader_sees_this_process_at_work():
    from cnnlab.training.threads import _read_cpu_seconds

    first = _read_cpu_seconds()
    sum(i * i for i in range(2_000_000))
    second = _read_cpu_seconds()
    assert second[1] > first[1] and second[0] >= first[0]


def test_a_fit_right_after_a_busy_one_starts_on_the_threads_it_ended_with(two_threads):
    machine = FakeMachine()
    governor = ThreadGovernor(machine.read, machine.clock)
    governor.start()
    machine.run(CHECK_EVERY_S, 1.0, 1.0)
    governor.tick()
    governor.stop()
    assert torch.get_num_threads() == 2  # between fits the user's count is back
    machine.run(1.0, 0.0, 1.0)
    governor.start()
    assert torch.get_num_threads() == 1  # the next epoch-long fit does not stall a second on a busy core
    governor.stop()
    machine.run(60.0, 0.0, 0.0)
    governor.start()
    assert torch.get_num_threads() == 2  # long after: starts from the user's count again
    governor.stop()

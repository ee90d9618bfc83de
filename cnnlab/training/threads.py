"""Training threads that give way when other processes want the cores (learners train next to browsers).

torch's OpenMP threads wait for each other at every parallel region. When another process takes one of
the cores, the thread that lost it stalls every region, and a step gets several times slower: on a 2-core
machine with one CPU-bound process running, the main job's CNN went from 16 to 111 ms per step with 2
threads, and ran at 28 ms with 1 (bench/busy_probe.py). So while ``fit`` runs, a
governor looks at the machine about once a second: when other processes use a core's worth of CPU, it
trains on the cores left; when they stop, it takes its threads back.

``CNNLAB_ADAPTIVE_THREADS=0`` turns it off (threads stay as torch has them).
"""

from __future__ import annotations

import math
import os
import time

import torch

CHECK_EVERY_S = 1.0  # how often the machine is looked at; a step only compares the clock in between
FIRST_CHECK_S = 0.2  # the first look comes sooner, so a short fit() does not spend its time on a stalled thread
REMEMBER_S = 10.0  # a fit() starting this soon after the last one ended begins with the count that one had
BUSY_CORES = 0.6  # other processes using this much of a core count as taking it
ENV = "CNNLAB_ADAPTIVE_THREADS"


def _read_cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds all processes used, CPU seconds this process used), or None where /proc is not there."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()[1:]
        ticks = os.sysconf("SC_CLK_TCK")
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
        busy = (user + nice + system + irq + softirq + steal) / ticks
    except (OSError, ValueError):
        return None
    times = os.times()
    return busy, times.user + times.system


class ThreadGovernor:
    """Lowers torch's thread count while other processes use the cores, and restores it when they stop.

    Args:
        reader: returns ``(all processes' CPU seconds, this process's CPU seconds)``; /proc by default.
        clock: monotonic seconds.
    """

    def __init__(self, reader=_read_cpu_seconds, clock=time.monotonic) -> None:
        self._read = reader
        self._clock = clock
        self.enabled = os.environ.get(ENV, "1") != "0" and reader() is not None
        self.wanted = torch.get_num_threads()  # what the user (or torch) set: the most the governor uses
        self._next = 0.0
        self._last = None
        self._ended: tuple[float, int] | None = None  # (when the last loop ended, the count it had then)

    def start(self) -> None:
        """Begin a loop: remember the threads asked for, and take a first reading.

        Nothing changes with one thread, or when torch's deterministic mode is on: another thread count
        changes the rounding of some kernels, and a run asked to repeat bit for bit must keep its count.
        """
        if not self.enabled or torch.get_num_threads() == 1 or torch.are_deterministic_algorithms_enabled():
            return
        self.wanted = torch.get_num_threads()  # the user's choice: a loop that lowered it gave it back at stop()
        self._last = (self._clock(), *self._read())
        self._next = self._last[0] + FIRST_CHECK_S
        if self._ended is not None and self._last[0] - self._ended[0] < REMEMBER_S and self._ended[1] < self.wanted:
            torch.set_num_threads(self._ended[1])  # the machine was busy a moment ago: start where we were

    def tick(self) -> None:
        """Called every step: costs one clock read until a check is due."""
        if self._last is not None and self._clock() >= self._next:
            self._check()

    def stop(self) -> None:
        """End of the loop: give the threads back."""
        if self._last is None:
            return
        self._ended = (self._clock(), torch.get_num_threads())
        if torch.get_num_threads() != self.wanted:
            torch.set_num_threads(self.wanted)
        self._last = None

    def _check(self) -> None:
        now, total, own = self._clock(), *self._read()
        then, total0, own0 = self._last
        self._last, self._next = (now, total, own), now + CHECK_EVERY_S
        elapsed = now - then
        if elapsed <= 0:
            return
        others = max(0.0, (total - total0) - (own - own0)) / elapsed  # cores used by other processes
        free = max(1, self.wanted - math.floor(others + 1 - BUSY_CORES))
        if free != torch.get_num_threads():
            torch.set_num_threads(free)


GOVERNOR = ThreadGovernor()

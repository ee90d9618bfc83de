"""The Keras-style progress bar printed by ``fit``, ``evaluate`` and ``predict``.

    1500/1500 ━━━━━━━━━━━━━━━━━━━━ 12s 8ms/step - accuracy: 0.8148 - loss: 0.5226

Values arrive as 0-d tensors that may live on a GPU; turning them into
floats forces the host to wait for the device. The bar therefore keeps only a
reference to the latest values and converts them when it actually draws: at
most once per ``interval`` seconds of wall time, and at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

import torch

from cnnlab.errors import ConfigError

BAR_WIDTH = 20  # characters of bar, keras.utils.Progbar's default `width`
# Keras redraws every 0.05 s; each redraw here may cost a device sync, so
# redraw at most ten times a second, which still looks live.
REDRAW_INTERVAL = 0.1
BAR_CHAR = "━"  # the heavy horizontal line Keras 3 draws its bar with
# ANSI styles used by Keras 3's bar: bold count and time, green done, grey to do.
_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
# On a plain stream (no colours) the part still to do needs its own glyph.
PLAIN_TODO_CHAR = "─"
_NOT_READ = object()  # a name seen in the logs whose value has not been drawn yet


def logs_to_floats(values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert log values to Python floats with one device sync per device.

    Tensors are stacked and read together (``tolist``) instead of one
    ``float()`` each; a tensor with several elements is shown as its mean.
    Values that are not numbers (e.g. strings) are kept as they are.

    Args:
        values: name → 0-d tensor, NumPy scalar, float, or other.

    Returns:
        name → float (or the original value when it is not a number).
    """
    out: dict[str, Any] = {}
    by_device: dict[torch.device, list[tuple[str, torch.Tensor]]] = {}
    for name, value in values.items():
        if isinstance(value, torch.Tensor):
            by_device.setdefault(value.device, []).append((name, value))
            continue
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            out[name] = value
    for items in by_device.values():
        stacked = torch.stack([t.detach().float().mean() for _, t in items])
        for (name, _), number in zip(items, stacked.tolist()):
            out[name] = number
    return {name: out[name] for name in values}


def format_duration(seconds: float) -> str:
    """Format an ETA the Keras way: ``42s``, ``3:07`` or ``1:02:03``."""
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_time_per_unit(seconds: float, unit_name: str = "step") -> str:
    """Format a per-step time the Keras way: ``2s/step``, ``8ms/step``, ``350us/step``.

    Whole seconds from 1 s up (and for 0), milliseconds from 1 ms, else microseconds.
    """
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def format_value(value: Any) -> str:
    """Four decimals, or scientific notation for tiny values, as Keras prints metrics."""
    if not isinstance(value, float):
        return str(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _stream_is_live(stream: TextIO) -> bool:
    """True where ``\\r`` redraws a line in place: a terminal or a notebook."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules


class Progbar:
    """A live progress bar with ETA, time per step and the latest metric values.

    Values are displayed as given (the trainer's logs already hold running
    means), so nothing is averaged here and nothing is read between draws.

    Args:
        target: total number of steps, or None when unknown (a generator).
        width: characters of bar.
        verbose: 1 = live bar, 2 = one line at the end, 0 = silent.
        interval: minimum seconds between two redraws.
        unit_name: what a step is called in ``8ms/step``.
        stream: where to write; ``sys.stdout`` (looked up at each write) if None.
        clock: a function returning seconds; ``time.monotonic`` if None.
        live: redraw in place with ``\\r``; if None, only when ``stream`` is a
            terminal or a notebook. When False, verbose 1 prints only the
            final line (log files and CI stay readable).

    Example:
        >>> bar = Progbar(target=3, live=False)
        >>> for step in range(1, 4):
        ...     bar.update(step, {"loss": 0.5})  # doctest: +ELLIPSIS
        3/3 ━━━━━━━━━━━━━━━━━━━━ 0s ...s/step - loss: 0.5000
    """

    def __init__(
        self,
        target: int | None,
        width: int = BAR_WIDTH,
        verbose: int = 1,
        interval: float = REDRAW_INTERVAL,
        unit_name: str = "step",
        stream: TextIO | None = None,
        clock: Callable[[], float] | None = None,
        live: bool | None = None,
    ) -> None:
        if verbose not in (0, 1, 2):
            raise ConfigError(f"Progbar verbose must be 0, 1 or 2. Received: verbose={verbose!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._stream = stream
        self._clock = clock or time.monotonic
        # Decided once: isatty() is a system call, too slow to repeat every step.
        self._live = _stream_is_live(self.stream) if live is None else live
        self._start = self._clock()
        self._time_after_first_step: float | None = None
        self._last_draw: float | None = None
        self._pending: Mapping[str, Any] = {}
        self._values: dict[str, Any] = {}
        self._prev_width = 0

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    @property
    def live(self) -> bool:
        return self._live

    def update(
        self, current: int, values: Mapping[str, Any] | Iterable | None = None, finalize: bool | None = None
    ) -> None:
        """Record step ``current`` (counted from 1) and redraw if it is time.

        Args:
            current: the number of steps done.
            values: the latest name → value mapping (or ``(name, value)`` pairs).
                Kept by reference; read only when the bar draws.
            finalize: this is the last update; defaults to ``current >= target``.
        """
        now = self._clock()
        per_step = self._time_per_step(current, now)
        if values:
            self._pending = values if isinstance(values, Mapping) else dict(values)
            if not self._values.keys() >= self._pending.keys():
                self._register_names(self._pending)
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0 or (self.verbose == 2 and not finalize):
            return
        if not finalize and (not self.live or (self._last_draw is not None and now - self._last_draw < self.interval)):
            return
        self._last_draw = now
        self._read_pending()
        if self.verbose == 1:
            self._draw_bar(current, now, per_step, finalize)
        else:
            self._draw_summary(current, now, per_step)

    def _time_per_step(self, current: int, now: float) -> float:
        """Seconds per step, leaving out the first (slow, warm-up) step once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_step = (now - self._time_after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_step

    def _register_names(self, values: Mapping[str, Any]) -> None:
        """Fix the display order without reading values: new names join sorted, after known ones.

        This is Keras's order, whose logs arrive sorted: the batch metrics
        first, then what only the epoch end brings (``val_*``, ``learning_rate``).
        """
        for name in sorted(values):
            self._values.setdefault(name, _NOT_READ)

    def _read_pending(self) -> None:
        if self._pending:
            self._values.update(logs_to_floats(self._pending))
            self._pending = {}

    def _metrics_text(self) -> str:
        return "".join(
            f" - {name}: {format_value(value)}" for name, value in self._values.items() if value is not _NOT_READ
        )

    def _draw_bar(self, current: int, now: float, per_step: float, finalize: bool) -> None:
        live = self.live
        parts = self._count_and_bar(current, color=live)
        if self.target and not finalize:
            clock_text = format_duration(per_step * (self.target - current))
        else:
            clock_text = f"{now - self._start:.0f}s"
        parts.append(f" {_BOLD}{clock_text}{_RESET}" if live else f" {clock_text}")
        parts.append(f" {format_time_per_unit(per_step, self.unit_name)}{self._metrics_text()}")
        line = "".join(parts)
        width = len(_strip_styles(line))
        if live:
            padding = " " * max(0, self._prev_width - width)
            self.stream.write(f"\r{line}{padding}" + ("\n" if finalize else ""))
        else:
            self.stream.write(f"{line}\n")
        self.stream.flush()
        self._prev_width = width

    def _count_and_bar(self, current: int, color: bool) -> list[str]:
        if not self.target:
            return [f"{current:7d}/Unknown"]
        count = f"{current:{len(str(self.target))}d}/{self.target}"
        done = min(self.width, int(self.width * current / self.target))
        todo = self.width - done
        if color:
            bar = (f"{_GREEN}{BAR_CHAR * done}{_RESET}" if done else "") + f"{_GREY}{BAR_CHAR * todo}{_RESET}"
            return [f"{_BOLD}{count}{_RESET} ", bar]
        return [f"{count} ", BAR_CHAR * done + PLAIN_TODO_CHAR * todo]

    def _draw_summary(self, current: int, now: float, per_step: float) -> None:
        """verbose=2: ``1500/1500 - 12s - 8ms/step - loss: 0.5226``."""
        if not self.target:
            return
        count = f"{current:{len(str(self.target))}d}/{self.target}"
        line = f"{count} - {now - self._start:.0f}s - {format_time_per_unit(per_step, self.unit_name)}"
        self.stream.write(f"{line}{self._metrics_text()}\n")
        self.stream.flush()


def _strip_styles(text: str) -> str:
    for code in (_BOLD, _GREEN, _GREY, _RESET):
        text = text.replace(code, "")
    return text

"""Shared by the robustness tests: check one bad-input case and record what was tried.

Every case is checked the same way — the exact error class, a message that
names the place (layer, argument or file) and a message that suggests a fix —
and recorded, so that ``scripts/robustness_report.py`` can list the matrix
from what the tests really ran.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

# A fix is either an instruction (these verbs cover the messages cnnlab writes) or the
# accepted values spelt out: "Did you mean 'relu'?", "Valid names: ...", "must be a
# positive int", "e.g. kernel_size=3".
FIX = re.compile(
    r"did you mean|valid (names|arguments|choices|values)|must (be|have|hold|end|use)|\be\.g\.|"
    r"\b(use|pass|add|call|check|set|remove|install|reshape|convert|give|choose|put|resize|re-save|build|create|"
    r"free|clean|drop|wrap|map|compile|divide|delete|transpose|run|rename|change|make|load|list|see|start|"
    r"provide|scale|cast|save)\b",
    re.IGNORECASE,
)

RECORDS: list[dict[str, Any]] = []  # written to JSON by conftest.py when CNNLAB_ROBUSTNESS_JSON is set


def record(kind: str, **fields: Any) -> None:
    """Note one thing the suite tried: a bad input, a kill point, fuzz inputs or a memory bound."""
    RECORDS.append({"kind": kind, **fields})


@dataclass(frozen=True)
class Bad:
    """One user mistake: ``call(tmp_path)`` must raise exactly ``error`` with ``where`` in the message."""

    entry: str
    mistake: str
    call: Callable[[Any], Any]
    error: type[BaseException]
    where: str  # a regex that must match the message: the layer, argument or file it names

    @property
    def id(self) -> str:
        return f"{self.entry}: {self.mistake}"


def cases(*items: Bad) -> pytest.MarkDecorator:
    """Parametrise a test over ``items``, one test id per mistake."""
    return pytest.mark.parametrize("case", items, ids=[item.id for item in items])


def check_bad(case: Bad, tmp_path) -> str:
    """Run the case; assert class, place and fix; record it. Returns the message."""
    with pytest.raises(BaseException) as info:
        case.call(tmp_path)
    err = info.value
    message = str(err)
    assert type(err) is case.error, f"expected {case.error.__name__}, got {type(err).__name__}: {message}"
    assert re.search(case.where, message), f"message does not name {case.where!r}: {message}"
    assert FIX.search(message), f"message suggests no fix: {message}"
    record("bad_input", entry=case.entry, mistake=case.mistake, error=type(err).__name__,
           message=" ".join(message.split())[:300])
    return message


def check_accepted(entry: str, mistake: str, call: Callable[[], Any]) -> Any:
    """An input that looks odd but that Keras accepts: it must work, and is recorded as accepted."""
    result = call()
    record("accepted_input", entry=entry, mistake=mistake)
    return result


# ------------------------------------------------------------------------------------------ hostile files (round 2)
HOSTILE_SECONDS = 1.0  # every hostile case is refused (or handled) within this...
HOSTILE_MIB = 256  # ...and this much memory above what the process held before it


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False where Linux does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _snapshot(paths) -> dict:
    """Size, mtime and bytes of every file under ``paths``: a case must change none of them."""
    import os

    state = {}
    for root in paths:
        root = os.fspath(root)
        walk = [(root, [], [""])] if os.path.isfile(root) else os.walk(root)
        for folder, _, files in walk:
            for name in files:
                path = os.path.join(folder, name) if name else folder
                try:
                    with open(path, "rb") as fh:
                        state[path] = (os.path.getmtime(path), fh.read())
                except OSError:
                    state[path] = None
    return state


def check_hostile(family: str, case: str, call: Callable[[], Any], error: type[BaseException] | None,
                  where: str | None = None, watch: tuple = (), seconds: float = HOSTILE_SECONDS,
                  mib: float = HOSTILE_MIB) -> BaseException | None:
    """A hostile file or fault (trust round 2): ``call()`` must raise exactly ``error`` (None: handled, no error)
    whose message matches ``where`` (the file and the place in it), within ``seconds`` and ``mib`` of memory
    (peak RSS growth, which counts torch's and h5py's allocations too), changing no file under ``watch``.
    Recorded for the robustness report's per-family table. Returns the error (None when handled)."""
    import time

    before = _snapshot(watch)
    rss_before = _proc_status_kib("VmRSS")
    measured = _reset_peak_rss()
    start = time.perf_counter()
    caught = None
    try:
        call()
    except BaseException as err:  # noqa: BLE001  the class is asserted below
        caught = err
    elapsed = time.perf_counter() - start
    growth = (_proc_status_kib("VmHWM") - rss_before) / 1024 if measured else None
    if error is None:
        assert caught is None, f"{family} / {case}: expected it to be handled, got {type(caught).__name__}: {caught}"
    else:
        assert caught is not None, f"{family} / {case}: expected {error.__name__}, nothing was raised"
        message = str(caught)
        assert type(caught) is error, f"{family} / {case}: expected {error.__name__}, got " \
                                      f"{type(caught).__name__}: {message}"
        if where is not None:
            assert re.search(where, message), f"{family} / {case}: message does not name {where!r}: {message}"
    assert elapsed < seconds, f"{family} / {case}: took {elapsed:.2f} s (bound {seconds} s)"
    assert growth is None or growth < mib, f"{family} / {case}: peak memory grew {growth:.0f} MiB (bound {mib})"
    assert _snapshot(watch) == before, f"{family} / {case}: a watched file changed"
    record("hostile", family=family, case=case, error=None if caught is None else type(caught).__name__,
           seconds=round(elapsed, 3), peak_mib=None if growth is None else round(max(growth, 0.0), 1),
           message="" if caught is None else " ".join(str(caught).split())[:200])
    return caught

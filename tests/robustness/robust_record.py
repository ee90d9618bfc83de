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

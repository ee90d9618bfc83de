"""Every code cell of the five study notes in /work/shared/seeds, run as the notes' readers run them.

One test per cell (``000-cell04`` is note 000's fifth cell, counting every cell the note holds). A note's
cells share one namespace and run in order (runner.py: the only edits are the import table of notes.py and
``epochs=N`` capped at ``EPOCHS_CAP`` for speed; the data is small offline MNIST / Fashion-MNIST files,
conftest.py). A cell must run without error unless EXPECTED says otherwise:

- ``not_code``: not a cell the author ran (an API signature quoted in prose, a pasted output, a cell the
  note's export cut off); not run, and pinned by a test that checks each is what the table says.
- ``tf1``: TF1 graph code; cnnlab refuses it with ``GraphModeError`` whose message names the eager line to
  write instead (``match``). Not counted as runnable.
- ``gpu``: needs a real GPU; on a CPU machine the cell fails as it does with TensorFlow. Not runnable here.
- ``note_error``: the note's own code is wrong (a placeholder name, a syntax error, a typo), so it fails in
  TensorFlow too; cnnlab must fail the same way (``raises`` / ``match``). Not counted as runnable.
- ``gap``: should run, and fails because cnnlab lacks something: a strict xfail naming what. An expected
  error that cnnlab does not raise yet carries a ``gap`` reason the same way.

The terminal summary prints "N of M runnable cells run" per note (the porting issue's baseline: 55 of the
83 cells ran with only the import changed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from cnnlab.errors import GraphModeError

from . import conftest
from .notes import IMPORT_SUBSTITUTIONS, all_notes, ported
from .runner import EPOCHS_CAP, NotebookSession, runnable_code


@dataclass(frozen=True)
class Expect:
    kind: str
    reason: str
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None
    match: str | None = None
    check: Callable[[dict], None] | None = None  # reads the namespace after the cell: the values it computed
    gap: str | None = None  # what cnnlab lacks for the expected behaviour: a strict xfail


def _not_code(reason):
    return Expect("not_code", reason)


def _tf1(reason, match, raises=None, check=None):
    return Expect("tf1", reason, raises or GraphModeError, match, check)


def _conv_outputs(expected_channels):
    """The eager lines before ``.eval()`` ran: ``conv2d`` holds TF's result (worked out below the table)."""
    def check(namespace):
        got = np.asarray(namespace["conv2d"])
        assert got.shape == (1, *np.shape(expected_channels[0]), len(expected_channels)), got.shape
        for channel, expected in enumerate(expected_channels):
            np.testing.assert_array_equal(got[0, :, :, channel], expected)
    return check


# Note 004's toy image is 1..9 in a 3x3 grid; a 2x2 kernel of ones sums each 2x2 window. VALID: 1+2+4+5=12,
# 2+3+5+6=16, 4+5+7+8=24, 5+6+8+9=28. SAME pads one zero row/column at the bottom/right (TF's rule), so the
# last column sums 3+6=9, 6+9=15 and the last row 7+8=15, 8+9=17, 9. Weights (1, 10, -1) scale that map.
_VALID_SUMS = [[12, 16], [24, 28]]
_SAME_SUMS = np.array([[12, 16, 9], [24, 28, 15], [15, 17, 9]])


def _note_error(reason, raises, match):
    return Expect("note_error", reason, raises, match)


def _gap(reason):
    return Expect("gap", reason)


EXPECTED: dict[tuple[str, int], Expect] = {
    # ---- note 000: Conv2D / pooling; Sequential vs functional, MNIST
    ("000", 1): _not_code("the Conv2D signature quoted from the API docs in prose (`filters`, `**kwargs` are names)"),
    ("000", 2): _not_code("the MaxPooling2D signature quoted from the API docs in prose (`**kwargs`)"),
    ("000", 18): _not_code("the note's export cut this cell after its first word (`class `)"),
    # ---- note 001: Fashion-MNIST CNN end to end
    ("001", 10): Expect("gpu", "checks for a real GPU and raises the note's own SystemError without one, as TF does "
                        "on a CPU machine", SystemError, "GPU device not found"),
    # ---- note 003: Hands-On Computer Vision with TF2, chapters 2-3
    ("003", 2): _note_error("the note's `model.fit(...` misses its closing ')'", SyntaxError, r"never closed"),
    ("003", 5): _note_error("`make_model()` and `compile([...])` are placeholders the note defines nowhere "
                            "(MirroredStrategy() and its scope() must work before that)", NameError, "make_model"),
    ("003", 6): _note_error("the model fitted is the functional one of cell 4, never compiled (the compile of "
                            "cell 2 did not run: syntax error); TF raises 'You must call compile()' too",
                            RuntimeError, r"compile"),
    ("003", 7): _note_error("the note misspells `step` as `stpe`: TypeError in TF", TypeError, "stpe"),
    ("003", 9): _note_error("`N`, `k`, `s` are placeholders in a prose snippet", NameError, "'N'"),
    ("003", 10): _note_error("the MaxPool2D / AveragePooling2D signatures quoted with `**kwargs`", NameError,
                             "kwargs"),
    ("003", 11): _note_error("`units` is a placeholder in a prose snippet", NameError, "units"),
    ("003", 18): _note_error("`optimizers` is never imported in the note", NameError, "optimizers"),
    # ---- note 004: convolution by hand with TF1 sessions
    ("004", 1): _tf1("tf.InteractiveSession() is TF1 graph mode", r"eager"),
    ("004", 2): _not_code("an output the author pasted (`(1, 3, 3, 1)`)"),
    ("004", 3): _tf1("`conv2d.eval()` is TF1 graph mode", r"\.numpy\(\)", check=_conv_outputs([_VALID_SUMS])),
    ("004", 4): _tf1("`conv2d.eval()` is TF1 graph mode", r"\.numpy\(\)", check=_conv_outputs([_SAME_SUMS])),
    ("004", 5): _tf1("`conv2d.eval()` is TF1 graph mode", r"\.numpy\(\)",
                     check=_conv_outputs([_SAME_SUMS, 10 * _SAME_SUMS, -_SAME_SUMS])),
    ("004", 6): _tf1("`pool.eval()` is TF1 graph mode", r"\.numpy\(\)",
                     check=lambda ns: np.testing.assert_array_equal(np.asarray(ns["pool"]), [[[[4.0]]]])),
    ("004", 7): _tf1("tensorflow.examples.tutorials.mnist is a TF1 module (removed in TF 2.0) that downloads "
                     "MNIST; TF 2 raises ModuleNotFoundError", r"examples", raises=(ImportError, GraphModeError)),
    ("004", 8): _tf1("`mnist` would come from the TF1 module of cell 7: NameError, as in TF 2", r"mnist",
                     raises=NameError),
    ("004", 9): _tf1("tf.InteractiveSession() is TF1 graph mode", r"eager"),
    ("004", 10): _tf1("`sess` would be the TF1 session refused in cell 9: NameError, as in TF 2", r"sess",
                      raises=NameError),
}

RUNS = Expect("runs", "")
STATEMENT_MODE = {"004": {1, 3, 4, 5, 6, 9, 10}}
NOTES = all_notes()


def _runnable(note: str) -> list[int]:
    return [cell.index for cell in NOTES[note]
            if EXPECTED.get((note, cell.index), RUNS).kind in ("runs", "gap")]


def _params():
    for note, cells in NOTES.items():
        for cell in cells:
            expect = EXPECTED.get((note, cell.index), RUNS)
            marks = []
            if expect.kind == "not_code":
                continue  # see test_the_cells_that_are_not_code_are_what_the_table_says
            if expect.kind == "gap" or expect.gap:
                marks.append(pytest.mark.xfail(strict=True, reason=expect.gap or expect.reason))
            yield pytest.param(note, cell.index, expect, id=cell.id, marks=marks)


@pytest.fixture(scope="module")
def sessions(seed_environment):
    found = {}
    for note, cells in NOTES.items():
        found[note] = NotebookSession(cells, STATEMENT_MODE.get(note, set()), GraphModeError)
        conftest.SESSIONS[note] = (found[note], _runnable(note))
    return found


@pytest.mark.parametrize("note, index, expect", list(_params()))
def test_cell(sessions, note, index, expect):
    outcome = sessions[note].run_through(index)
    if expect.kind in ("runs", "gap"):
        if outcome.errors:
            raise outcome.errors[0]
        return
    assert outcome.errors, f"expected {expect.raises} ({expect.reason}); the cell ran"
    first = outcome.errors[0]
    if not isinstance(first, expect.raises):
        raise AssertionError(f"expected {expect.raises} ({expect.reason}); got {type(first).__name__}") from first
    if expect.match:
        assert re.search(expect.match, str(first)), (expect.match, str(first))
    if expect.check:
        expect.check(sessions[note].namespace)


# ---------------------------------------------------------------- the runner's own rules


NOT_CODE_TEXT = {("000", 1): r"Conv2D\(.*\*\*kwargs", ("000", 2): r"MaxPooling2D\(.*\*\*kwargs",
                 ("000", 18): r"^\s*$", ("004", 2): r"^\s*\(1, 3, 3, 1\)\s*$"}


def test_the_cells_that_are_not_code_are_what_the_table_says():
    listed = {key for key, expect in EXPECTED.items() if expect.kind == "not_code"}
    assert listed == set(NOT_CODE_TEXT)
    for (note, index), pattern in NOT_CODE_TEXT.items():  # cell 18: nothing of the cut cell parses as code
        source = NOTES[note][index].source
        assert re.search(pattern, source, flags=re.S), (note, index, source[:200])


def test_the_five_notes_hold_83_cells_as_the_issue_counted():
    assert {note: len(cells) for note, cells in NOTES.items()} == {"000": 19, "001": 25, "002": 9, "003": 19,
                                                                  "004": 11}


def test_jupyter_text_cells_stop_before_echoed_outputs_and_markdown():
    cells = NOTES["000"]
    assert cells[6].source == "x_train.shape\n"  # its output "(60000, 28, 28)" and the next heading are not code
    assert cells[14].source == "seq_model.evaluate(x_test, y_test)\n"
    assert NOTES["002"][1].source == "cnn_param(28, 3, 0, 1)\n"  # "26.0" is the echo


def test_only_imports_change():
    source = ("import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras.layers import Dense\n"
              "x = tf.keras.layers.Dense(3)  # tensorflow stays in comments and code\n")
    assert ported(source) == ("import cnnlab as tf\nfrom cnnlab import keras\nfrom cnnlab.keras.layers import Dense\n"
                              "x = tf.keras.layers.Dense(3)  # tensorflow stays in comments and code\n")
    assert len(IMPORT_SUBSTITUTIONS) == 3


def test_training_cells_are_capped_at_a_few_epochs():
    cell = NOTES["003"][17]
    assert "epochs=80" in cell.source
    assert f"epochs={EPOCHS_CAP}," in runnable_code(cell)
    assert "epochs=1," in runnable_code(type(cell)("x", 0, "code", "fit(x, epochs=1, y)\n", 1))

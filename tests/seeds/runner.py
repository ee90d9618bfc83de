"""Running a note's cells in order in one namespace, as a Jupyter kernel would.

What the runner does besides executing the cell's code (each is what a notebook does, or keeps the suite
fast and offline; none changes what the cell's code means):

- **Imports**: the cell's code goes through :func:`notes.ported` (the import table in ``notes.py``); no other
  edit is made to it, except
- **Epochs**: ``epochs=N`` with N above :data:`EPOCHS_CAP` becomes ``epochs=EPOCHS_CAP`` (test runs only; the
  notes train for 5 to 80 epochs on 60,000 images, the fixture data has 512).
- **Display**: when a cell ends in an expression, its value is ``repr``-ed, as a notebook displays it.
- **Magics**: IPython line magics are handled by the runner as IPython would (``%matplotlib inline``: figures
  go to the Agg backend, which the runner uses anyway). Any other magic is an error.
- **Figures**: matplotlib uses the Agg backend and ``plt.show`` does nothing; figures are closed after each cell.
- **TF1 cells** (``statement_mode``): each top-level statement runs on its own; a statement refused with
  ``GraphModeError`` is recorded and the cell goes on, so later cells see the values the note defines after
  it (note 004 builds its toy image on the line after ``tf.InteractiveSession()``). Any other error ends
  the cell, as in a notebook.

A cell that raises leaves the namespace as far as it got, and later cells run on, as when a reader keeps
running a notebook after an error.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from cnnlab.layers.base import reset_names  # noqa: E402

from .notes import Cell, ported  # noqa: E402

EPOCHS_CAP = 2
_EPOCHS = re.compile(r"\bepochs(\s*)=(\s*)(\d+)")
_MAGICS = {"%matplotlib inline": None}


def _cap_epochs(code: str) -> str:
    def cap(match: re.Match) -> str:
        return f"epochs{match.group(1)}={match.group(2)}{min(int(match.group(3)), EPOCHS_CAP)}"

    return _EPOCHS.sub(cap, code)


def _handle_magics(code: str) -> str:
    lines = []
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("%"):
            if stripped not in _MAGICS:
                raise NotImplementedError(f"the seed runner does not know the IPython magic {stripped!r}")
            lines.append("")  # keep line numbers of tracebacks those of the note's cell
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def runnable_code(cell: Cell) -> str:
    """The code the runner executes for ``cell``: imports changed, epochs capped, magics handled."""
    return _handle_magics(_cap_epochs(ported(cell.source)))


@dataclass
class CellOutcome:
    """What running a cell did: the errors it raised (the first ends the cell unless it was a TF1 refusal)."""

    errors: list[BaseException] = field(default_factory=list)
    displayed: str | None = None

    @property
    def ran(self) -> bool:
        return not self.errors


class NotebookSession:
    """One note's namespace; cells run once each, in order, on demand."""

    def __init__(self, cells: list[Cell], statement_mode_cells: set[int], graph_mode_error: type[BaseException]):
        self.cells = cells
        self.namespace: dict = {"__name__": "__main__"}
        self.outcomes: dict[int, CellOutcome] = {}
        self._statement_mode_cells = statement_mode_cells
        self._graph_mode_error = graph_mode_error

    def run_through(self, index: int) -> CellOutcome:
        """Run every cell not yet run up to ``index``; return cell ``index``'s outcome."""
        if not self.outcomes:
            reset_names()  # a fresh kernel: conv2d, conv2d_1, ... as the note's summaries show
        for cell in self.cells[: index + 1]:
            if cell.index not in self.outcomes:
                self.outcomes[cell.index] = self._run(cell)
        return self.outcomes[index]

    def _run(self, cell: Cell) -> CellOutcome:
        outcome = CellOutcome()
        if cell.kind != "code":
            return outcome
        try:
            tree = ast.parse(runnable_code(cell), filename=f"<note {cell.id}>")
        except SyntaxError as err:
            outcome.errors.append(err)
            return outcome
        filename = f"<note {cell.id}>"
        if cell.index in self._statement_mode_cells:
            statements = [ast.Module(body=[stmt], type_ignores=[]) for stmt in tree.body]
        else:
            statements = [tree]
        try:
            for number, module in enumerate(statements):
                is_last = number == len(statements) - 1
                try:
                    outcome.displayed = self._exec(module, filename, display=is_last)
                except self._graph_mode_error as err:
                    if cell.index not in self._statement_mode_cells:
                        raise
                    outcome.errors.append(err)
        except Exception as err:  # noqa: BLE001  (the test reads the error; a notebook shows it and goes on)
            outcome.errors.append(err)
        finally:
            plt.close("all")
        return outcome

    def _exec(self, module: ast.Module, filename: str, display: bool) -> str | None:
        body = module.body
        last_value = None
        if display and body and isinstance(body[-1], ast.Expr):
            exec(compile(ast.Module(body=body[:-1], type_ignores=[]), filename, "exec"), self.namespace)
            value = eval(compile(ast.Expression(body=body[-1].value), filename, "eval"), self.namespace)
            last_value = None if value is None else repr(value)
        else:
            exec(compile(module, filename, "exec"), self.namespace)
        return last_value

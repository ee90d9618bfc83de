"""Reading the code cells out of the study notes in ``/work/shared/seeds``, and turning them into cnnlab code.

The notes come in two export formats, and a note uses one of them for its cells:

- **Jupyter text** (notes 000, 002): a cell starts at a line ``In [7]:`` (or ``In [None]:``) and its code runs
  to the first of: the next ``In [..]:`` line, or the cell's output / the next markdown text. Outputs and
  markdown are not delimited, so the code is the longest run of blank-line-separated paragraphs that still
  parses as Python, less trailing paragraphs that are only a literal (an echoed value such as
  ``(60000, 28, 28)`` or ``26.0``) or only comments (a markdown heading such as ``# MNIST``).
- **Markdown** (notes 001, 003, 004): every fenced block is a cell, in order. Blocks fenced as ``python``
  (at any indentation: note 003 nests them in list items, and is dedented) are code; a plain fence holds an
  output the author pasted.

In a Jupyter-text note, the ``python`` fences inside markdown are API signatures quoted from the docs (not
cells the author ran); they are kept as cells of kind ``"signature"`` so the cell count matches the count
the porting issue used (83 cells over the five notes).
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

SEEDS_DIR = Path("/work/shared/seeds")

_JUPYTER_PROMPT = re.compile(r"^In \[(\d+| |None)\]:\s*$")
_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")

# The only edits made to a cell's code: the imports the porting promise names, as literal text replacements.
# ``from tensorflow.`` covers ``from tensorflow.keras.layers import Dense`` and also a TF1-only module such as
# ``from tensorflow.examples.tutorials.mnist import input_data`` (note 004), which then fails as it does in TF 2.
IMPORT_SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    ("import tensorflow as tf", "import cnnlab as tf"),
    ("from tensorflow import keras", "from cnnlab import keras"),
    ("from tensorflow.", "from cnnlab."),
)


@dataclass(frozen=True)
class Cell:
    """One cell of a note: its position (0-based, over all cells of the note), kind, and the note's text."""

    note: str
    index: int
    kind: str  # "code", "output" (a pasted output block) or "signature" (an API signature quoted in prose)
    source: str
    line: int  # 1-based line of the note where the cell starts

    @property
    def id(self) -> str:
        return f"{self.note}-cell{self.index:02d}"


def ported(source: str) -> str:
    """The cell's code with the import lines changed to cnnlab, and nothing else."""
    for old, new in IMPORT_SUBSTITUTIONS:
        source = source.replace(old, new)
    return source


def _parses(code: str) -> bool:
    try:
        ast.parse(_without_magics(code))
    except SyntaxError:
        return False
    return True


def _without_magics(code: str) -> str:
    # IPython line magics (``%matplotlib inline``) are not Python; the runner handles them (see runner.py).
    return "\n".join("" if line.lstrip().startswith("%") else line for line in code.splitlines())


def _is_echo(paragraph: str) -> bool:
    """An echoed value or a markdown heading: a paragraph that is only a literal or only comments."""
    code_lines = [line for line in paragraph.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not code_lines:
        return True
    try:
        ast.literal_eval(paragraph.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _jupyter_code(block: list[str]) -> str:
    paragraphs, current = [], []
    for line in block:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    # A statement may hold blank lines (a long Sequential([...]) list), so a prefix can fail to parse and a
    # longer one parse again: take the longest prefix that parses.
    keep = 0
    for count in range(1, len(paragraphs) + 1):
        if _parses("\n\n".join(paragraphs[:count])):
            keep = count
    code = paragraphs[:keep]
    while len(code) > 1 and _is_echo(code[-1]):
        code.pop()
    return "\n\n".join(code) + "\n" if code else ""


def _fenced_blocks(lines: list[str]):
    """(start line index, language, dedented text) of every fenced block."""
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, language = match.group(1), match.group(2)
        end = index + 1
        while end < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[end]) \
                and not re.match(r"^\s*```\s*$", lines[end]):
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[index + 1:end]]
        yield index, language, _dedent_code("\n".join(body)).strip("\n") + "\n"
        index = end + 1


def _dedent_code(text: str) -> str:
    """Remove the indentation the statements share; comment lines do not count, as Python ignores theirs.

    Note 003 nests a snippet in a list item with its comments less indented than its statements; a reader
    copying it into a cell removes the statements' common indent, and so does this.
    """
    lines = text.splitlines()
    statement_indents = [len(line) - len(line.lstrip()) for line in lines
                         if line.strip() and not line.lstrip().startswith("#")]
    if not statement_indents:
        return textwrap.dedent(text)
    shared = min(statement_indents)
    return "\n".join(line[min(shared, len(line) - len(line.lstrip())):] for line in lines)


def read_cells(path: Path) -> list[Cell]:
    """Every cell of a note, in order."""
    note = path.name.split("_")[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    prompts = [i for i, line in enumerate(lines) if _JUPYTER_PROMPT.match(line)]
    found: list[tuple[int, str, str]] = []
    if prompts:
        for i, start in enumerate(prompts):
            stop = prompts[i + 1] if i + 1 < len(prompts) else len(lines)
            found.append((start, "code", _jupyter_code(lines[start + 1:stop])))
        for start, language, text in _fenced_blocks(lines):
            found.append((start, "signature" if language == "python" else "output", text))
    else:
        for start, language, text in _fenced_blocks(lines):
            found.append((start, "code" if language == "python" else "output", text))
    found.sort()
    return [Cell(note, index, kind, text, start + 1) for index, (start, kind, text) in enumerate(found)]


def all_notes() -> dict[str, list[Cell]]:
    """The cells of every note, keyed by the note's number (``"000"`` ...)."""
    notes = {}
    for path in sorted(SEEDS_DIR.glob("[0-9][0-9][0-9]_*.txt")):
        cells = read_cells(path)
        notes[cells[0].note if cells else path.name[:3]] = cells
    return notes

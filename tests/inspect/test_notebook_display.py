"""In a Jupyter notebook, an inspect figure returned as the cell's value is shown once, not twice."""

import importlib.util

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
if importlib.util.find_spec("ipykernel") is None:  # not imported: an imported ipykernel makes cnnlab
    pytest.skip("ipykernel is not installed", allow_module_level=True)  # think it runs in a notebook

SETUP = """
%matplotlib inline
import cnnlab
history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.8]}
"""


def _run_cells(*sources):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook.cells


def _images(cell) -> int:
    return sum("image/png" in out.get("data", {}) for out in cell.outputs)


@pytest.mark.slow
def test_returned_figure_shows_once_in_a_notebook():
    cells = _run_cells(
        SETUP,
        "cnnlab.inspect.plot_history(history)",  # the cell's value is the figure
        "cnnlab.inspect.plot_history(history);",  # value suppressed: still shown once
        "import matplotlib.pyplot as plt\nfig = cnnlab.inspect.plot_history(history)\nplt.close(fig)\nfig",
    )
    assert [_images(c) for c in cells[1:]] == [1, 1, 1]

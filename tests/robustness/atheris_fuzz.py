"""Coverage-guided fuzzing of the IDX and model-file readers (``make fuzz-long``; needs ``pip install atheris``).

Any exception other than a CnnlabError is a finding and stops the run.
"""

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import cnnlab
    from cnnlab.data.idx import read_idx
    from cnnlab.errors import CnnlabError

FOLDER = tempfile.mkdtemp(prefix="cnnlab-atheris-")


def one_input(data: bytes) -> None:
    reader, body = (read_idx, "x.idx") if data[:1] == b"\x00" else (cnnlab.load_model, "x.cnnlab")
    path = os.path.join(FOLDER, body)
    with open(path, "wb") as fh:
        fh.write(data)
    try:
        reader(path)
    except CnnlabError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()

"""Bad command lines of the ``cnnlab`` command: exit status 2 for usage, 1 for a failure, one clear line."""

from __future__ import annotations

import struct
import zlib

import pytest
from robust_record import FIX, record

import cnnlab
from cnnlab import layers
from cnnlab.cli.main import main

USAGE, FAILURE = 2, 1


def _png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


@pytest.fixture
def files(tmp_path):
    """A trained-model file, a folder without one, a huge-declared PNG and a text file named .png."""
    model = cnnlab.Sequential([layers.Input((8, 8, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "m.cnnlab")
    (tmp_path / "empty-run").mkdir()
    (tmp_path / "bomb.png").write_bytes(_png(100_000, 100_000))
    (tmp_path / "notes.png").write_text("not an image")
    return tmp_path


CASES = [
    ("unknown verb", ["trian"], USAGE, "trian"),
    ("train without --model", ["train"], USAGE, "--model"),
    ("train --epochs 0", ["train", "--model", "lenet5", "--epochs", "0"], USAGE, "epochs|0"),
    ("train --batch-size -4", ["train", "--model", "lenet5", "--batch-size", "-4"], USAGE, "-4"),
    ("train --val-split 1.5", ["train", "--model", "lenet5", "--val-split", "1.5"], USAGE, "1.5"),
    ("train a misspelt zoo model", ["train", "--model", "lenet", "--data", "digits", "--out", "{t}/r"], FAILURE,
     "lenet"),
    ("train an unknown dataset", ["train", "--model", "lenet5", "--data", "mnist2", "--out", "{t}/r2"], FAILURE,
     "mnist2"),
    ("train into a file as --out", ["train", "--model", "lenet5", "--data", "digits", "--out", "{t}/m.cnnlab"],
     FAILURE, "m.cnnlab"),
    ("predict a missing model", ["predict", "{t}/gone.cnnlab", "{t}/bomb.png"], FAILURE, "gone.cnnlab"),
    ("predict a folder without a model", ["predict", "{t}/empty-run", "{t}/bomb.png"], FAILURE, "empty-run"),
    ("predict an untrained zoo name", ["predict", "lenet5", "{t}/bomb.png"], FAILURE, "lenet5"),
    ("predict a missing image", ["predict", "{t}/m.cnnlab", "{t}/gone.png"], FAILURE, "gone.png"),
    ("predict a text file named .png", ["predict", "{t}/m.cnnlab", "{t}/notes.png"], FAILURE, "notes.png"),
    ("predict a PNG declaring 100000x100000", ["predict", "{t}/m.cnnlab", "{t}/bomb.png"], FAILURE, "bomb.png"),
    ("predict --top-k 0", ["predict", "{t}/m.cnnlab", "{t}/bomb.png", "--top-k", "0"], USAGE, "top-k|0"),
    ("summary of an unknown model", ["summary", "resnet9000"], FAILURE, "resnet9000"),
    ("summary --input-shape 28,28", ["summary", "lenet5", "--input-shape", "28,x"], USAGE, "28,x"),
    ("evaluate a missing model", ["evaluate", "{t}/gone.cnnlab", "--data", "digits"], FAILURE, "gone.cnnlab"),
]


@pytest.mark.parametrize("mistake, argv, status, where", CASES, ids=[row[0] for row in CASES])
def test_bad_command_line_exits_with_one_clear_line(mistake, argv, status, where, files, capsys):
    import re

    code = main([arg.format(t=files) for arg in argv])
    err = capsys.readouterr().err
    assert code == status, err
    lines = [line for line in err.splitlines() if line.startswith("cnnlab: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert re.search(where, lines[0]), lines[0]
    assert FIX.search(lines[0]) or "--help" in lines[0], lines[0]
    record("bad_input", entry="cnnlab command", mistake=mistake, error=f"exit {code}", message=lines[0][:300])

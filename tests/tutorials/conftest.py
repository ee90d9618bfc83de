"""Shared pieces for the tutorial ports: small local stand-ins for the tutorials' datasets, and summary parsing.

Each module in this folder is an official Keras 3 guide, keras.io vision example or tensorflow.org
tutorial ported as a test: the code is the tutorial's with the imports changed to cnnlab, epochs and
data cut down so it runs in seconds on one CPU thread, and downloads replaced by local data:

- MNIST / Fashion-MNIST -> ``mnist_like``: scikit-learn's 8x8 digits, each pixel a 3x3 block (24x24)
  and padded by 2 to 28x28, uint8 0..255, so shapes and dtypes are those of ``load_data()``.
- CIFAR-10 -> ``cifar_like``: random uint8 (n, 32, 32, 3) images with (n, 1) labels, as CIFAR's are.
- Kaggle Cats vs Dogs -> ``pet_images``: a generated ``PetImages/{Cat,Dog}`` folder of JPEG files.

Summaries are compared row by row (layer, output shape, params) and by their totals, with what the
tutorial prints: the table's column widths follow the terminal of whoever rendered the page, so the
cell text is what is pinned, not the padding.
"""

from __future__ import annotations

import numpy as np
import pytest

# Digits are 8x8; x3 gives 24x24 and 2 pixels of border on each side give MNIST's 28x28, with the digit
# centred in the frame as MNIST's are.
DIGIT_UPSCALE = 3
DIGIT_BORDER = 2


def _digits_as_mnist(images: np.ndarray) -> np.ndarray:
    big = np.kron(images, np.ones((1, DIGIT_UPSCALE, DIGIT_UPSCALE), dtype=images.dtype))
    border = ((0, 0), (DIGIT_BORDER, DIGIT_BORDER), (DIGIT_BORDER, DIGIT_BORDER))
    return np.pad(big, border).astype(np.uint8)


@pytest.fixture
def mnist_like():
    """``load_data()``-shaped MNIST stand-in: ``(x_train, y_train), (x_test, y_test)``, uint8 28x28."""
    from cnnlab.datasets import digits

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    return (_digits_as_mnist(x_train), y_train.astype(np.uint8)), (_digits_as_mnist(x_test), y_test.astype(np.uint8))


@pytest.fixture
def cifar_like():
    """``load_data()``-shaped CIFAR-10 stand-in: 256 train and 64 test random uint8 32x32x3 images."""
    rng = np.random.default_rng(0)

    def split(n):
        return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, size=(n, 1), dtype=np.uint8)

    return split(256), split(64)


def _draw_pet(kind: str, index: int, size: int, rng) -> "PIL.Image.Image":
    from PIL import Image, ImageDraw

    # Cats: a bright disc on a dark ground; dogs: a dark square on a bright ground. Easy to tell apart,
    # so a few epochs are enough for the loss to fall.
    background = (30, 30, 30) if kind == "Cat" else (220, 220, 220)
    image = Image.new("RGB", (size + index % 7, size - index % 5), background)
    draw = ImageDraw.Draw(image)
    x, y = rng.integers(0, size // 3, size=2)
    box = (int(x), int(y), int(x) + size // 2, int(y) + size // 2)
    if kind == "Cat":
        draw.ellipse(box, fill=(250, 200, 40))
    else:
        draw.rectangle(box, fill=(20, 60, 160))
    return image


@pytest.fixture
def pet_images(tmp_path, monkeypatch):
    """A small ``PetImages`` folder like the Cats vs Dogs archive, and the working directory set beside it.

    Two classes of 12 JPEG files each, of slightly different sizes (the loader resizes them), named
    like the archive's (``Cat/0.jpg``); plus one PNG per class, which the example's JFIF filter deletes,
    as it deletes the archive's non-JFIF files. ``Cat/6779.jpg`` exists for the inference step.
    """
    rng = np.random.default_rng(1337)
    root = tmp_path / "PetImages"
    for kind in ("Cat", "Dog"):
        folder = root / kind
        folder.mkdir(parents=True)
        for index in range(12):
            _draw_pet(kind, index, 64, rng).save(folder / f"{index}.jpg", format="JPEG", quality=90)
        _draw_pet(kind, 99, 64, rng).save(folder / "not_jfif.png", format="PNG")
    _draw_pet("Cat", 3, 64, rng).save(root / "Cat" / "6779.jpg", format="JPEG", quality=90)
    monkeypatch.chdir(tmp_path)
    return root


@pytest.fixture
def in_tmp_dir(tmp_path, monkeypatch):
    """Run in an empty temporary folder, as the tutorials write files to the current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def summary_text(model, **kwargs) -> str:
    """What ``model.summary()`` prints, captured through ``print_fn`` as a tutorial reader would see it."""
    captured = []
    model.summary(print_fn=lambda line, *args, **kw: captured.append(line), **kwargs)
    return "\n".join(captured)


def summary_rows(text: str) -> list[tuple[str, ...]]:
    """The table cells of a printed summary, one tuple per layer; wrapped cell lines are joined with a space."""
    rows, current = [], None
    for line in text.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
            if current is None:
                current = cells
            else:
                current = [f"{a} {b}".strip() for a, b in zip(current, cells)]
        elif line.startswith(("├", "└")) and current is not None:
            rows.append(tuple(current))
            current = None
    return rows


def summary_totals(text: str) -> list[str]:
    """The totals lines without their byte sizes, e.g. ``['Total params: 11,680', ...]``."""
    totals = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("Total params:", "Trainable params:", "Non-trainable params:", "Optimizer params:")):
            totals.append(stripped.split(" (")[0])
    return totals


def assert_summary(model, title: str, rows: list[tuple[str, ...]], totals: list[str], connected=None,
                   **kwargs) -> None:
    """The summary shows the tutorial's title line, rows and totals.

    ``connected``, for functional models with branches, lists each row's "Connected to" cell; the table
    may cut that last column at the terminal's width (ending it with "…"), so a cell matches when it is
    the start of the expected text.
    """
    text = summary_text(model, **kwargs)
    assert text.splitlines()[0].strip() == title, text
    found = summary_rows(text)
    if connected is None:
        assert found == rows, text
    else:
        assert [row[:3] for row in found] == rows, text
        cells = [row[3] if len(row) > 3 else "" for row in found]
        assert len(cells) == len(connected), text
        for cell, expected in zip(cells, connected):
            assert cell and expected.startswith(cell.rstrip("…").rstrip()), (cell, expected, text)
    assert summary_totals(text) == totals, text

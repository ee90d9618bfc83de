"""Shared plumbing of the inspect figures: backend choice, saving, images, model inputs.

Every plotting function of :mod:`cnnlab.inspect` returns a matplotlib
``Figure`` made with pyplot (so ``plt.show()`` works in scripts) and takes
``save_path=None`` to also write it as a PNG.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, NotBuiltError, ShapeError
from cnnlab.layers.base import Layer
from cnnlab.layers.conv import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D

# Convolutions whose outputs are (height, width, channels) maps and whose kernels are 2-D pictures.
IMAGE_CONV_LAYERS = (Conv2D, SeparableConv2D, DepthwiseConv2D, Conv2DTranspose)
SAVE_DPI = 110  # dense enough to read tick labels, small enough to embed in an HTML report
# Text properties for the user's words (class, layer and metric names): drawn as written. A class folder named
# "$x$" would otherwise go to matplotlib's mathtext (or LaTeX with usetex) and may fail to draw at all.
LITERAL = {"parse_math": False, "usetex": False}


def _pyplot():
    """pyplot, imported on first use (it is slow to import); Agg when there is no display."""
    # With no display (a server, CI, a container) pyplot's GUI backends cannot open a window; Agg still renders.
    if (sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
            and "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules
            and "ipykernel" not in sys.modules):
        import matplotlib

        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def new_figure(width: float, height: float):
    """A pyplot figure of ``width`` x ``height`` inches with a constrained layout (no clipped labels)."""
    return _pyplot().figure(figsize=(width, height), layout="constrained")


def finish(fig, save_path):
    """Write ``fig`` as a PNG to ``save_path`` when one is given; return the figure."""
    if save_path is not None:
        from cnnlab.io.atomic import atomic_write

        with atomic_write(os.fspath(save_path)) as f:
            fig.savefig(f, format="png", dpi=SAVE_DPI)
    fig._ipython_display_ = _display_once(fig)
    return fig


def figure_png(fig) -> bytes:
    """The figure rendered as PNG bytes."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=SAVE_DPI)
    return buffer.getvalue()


def _display_once(fig):
    """How a notebook shows the figure: once, as PNG, whether it is the cell's value, pyplot's inline backend
    shows it at the end of the cell, or both (without this it appeared twice)."""

    def display() -> None:
        from IPython.display import Image
        from IPython.display import display as ipython_display

        ipython_display(Image(data=figure_png(fig)))
        _pyplot().close(fig)  # shown: the inline backend's end-of-cell pass must not show it again

    return display


def grid_shape(count: int, max_cols: int = 8) -> tuple[int, int]:
    """Rows and columns of a near-square grid holding ``count`` panels."""
    cols = min(max_cols, max(1, int(np.ceil(np.sqrt(count)))))
    return int(np.ceil(count / cols)), cols


def as_display_image(image: np.ndarray, data_format: str = "channels_last") -> tuple[np.ndarray, str | None]:
    """An image ready for ``imshow`` and its colour map: grayscale for one channel, RGB scaled to [0, 1]."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3 and data_format == "channels_first":
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[-1] not in (3, 4):
        img = img.mean(axis=-1)  # several non-RGB channels: show their mean
    if img.ndim == 3:
        low, high = img.min(), img.max()
        return (img - low) / (high - low) if high > low else np.zeros_like(img), None
    return img, "gray"


def model_input_rank(model) -> int | None:
    """Rank (with batch axis) of the model's input, when it is known."""
    try:
        return len(model.inputs[0].shape)
    except Exception:  # a subclassed model has no symbolic inputs: use the shape it was built or called with
        shape = getattr(model, "_build_shape", None)
        if isinstance(shape, tuple):
            return len(shape)
        last = getattr(model, "_last_shapes", None)
        if last and isinstance(last[0], tuple):
            return len(last[0])
    return None


def as_batch(model, x, where: str) -> tuple[torch.Tensor, bool]:
    """``x`` as a float batch tensor on the model's device, and whether a batch axis was added.

    One image ``(height, width, channels)`` (or ``(height, width)`` for a one-channel model) becomes a batch of one.
    """
    if isinstance(x, torch.Tensor):
        arr = x.detach().cpu().numpy()
    else:
        try:
            arr = np.asarray(x)
        except Exception as err:
            raise ArgumentTypeError(f"{where}: x must be an array of images. Received: x of type "
                                    f"{type(x).__name__}") from err
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ArgumentTypeError(f"{where}: x must be a numeric array of images. Received: x with dtype {arr.dtype}")
    rank = model_input_rank(model)
    added = False
    if rank is not None and arr.ndim == rank - 1:
        arr, added = arr[None], True
    elif rank == 4 and arr.ndim == 2:
        arr, added = arr[None, ..., None], True
    if rank is not None and arr.ndim != rank:
        raise ShapeError(f"{where}: model '{model.name}' takes inputs of rank {rank} (with the batch axis); x has "
                         f"shape {arr.shape}. Pass one image (without the batch axis) or a batch. "
                         f"Received: x.shape={arr.shape}")
    device = model._device() if hasattr(model, "_device") else torch.device("cpu")
    return torch.as_tensor(arr, dtype=torch.float32, device=device), added


def find_layer(model, layer, where: str):
    """The layer named ``layer`` (searched in nested models too), ``model.layers[layer]``, or ``layer`` itself."""
    if isinstance(layer, Layer):
        if not any(sub is layer for sub in model.modules()):
            raise ConfigError(f"{where}: layer '{layer.name}' is not part of model '{model.name}'. Pass one of "
                              f"its layers. Received: layer={layer.name!r}")
        return layer
    if isinstance(layer, bool) or not isinstance(layer, (int, str)):
        raise ArgumentTypeError(f"{where}: layer must be a layer name, an index into model.layers or a layer "
                                f"object. Received: layer of type {type(layer).__name__}")
    if isinstance(layer, int):
        return model.get_layer(index=layer)
    for sub in model.modules():
        if isinstance(sub, Layer) and sub is not model and sub.name == layer:
            return sub
    return model.get_layer(name=layer)  # raises with a did-you-mean


def require_built(model, where: str) -> None:
    if not getattr(model, "built", True):
        raise NotBuiltError(f"{where}: model '{model.name}' has not been built. Call it once on data or call "
                            "model.build(input_shape) first.")


def class_label(index: int, class_names) -> str:
    """``class_names[index]`` when names are given, else the index as text."""
    if class_names is not None and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)


def to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)

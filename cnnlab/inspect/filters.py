"""Weights as pictures: histograms of every weight, and the kernels of a conv layer as a grid."""

from __future__ import annotations

import numpy as np

from cnnlab.errors import ArgumentTypeError, ConfigError, NotBuiltError
from cnnlab.inspect.figures import LITERAL, finish, grid_shape, new_figure
from cnnlab.layers.conv import Conv2DTranspose, SeparableConv2D

FILTER_CMAP = "RdBu_r"  # diverging: red positive, blue negative, white zero


def plot_weights_histogram(layer_or_model, bins: int = 50, save_path=None):
    """Histogram of each weight tensor (kernels, biases, BatchNorm statistics) of a layer or model.

    Args:
        layer_or_model: a built layer or model.
        bins: histogram bins.
        save_path: also write the figure there as a PNG.

    Returns:
        A Figure with one axes per weight, titled with its path (e.g. ``conv2d/kernel``).

    Example:
        >>> fig = plot_weights_histogram(model.layers[0])  # doctest: +SKIP
    """
    weights = getattr(layer_or_model, "weights", None)
    if weights is None:
        raise ArgumentTypeError(f"plot_weights_histogram takes a layer or a model. Received: "
                                f"{type(layer_or_model).__name__}")
    if not weights:
        raise NotBuiltError(f"plot_weights_histogram: '{layer_or_model.name}' has no weights (not built yet, or a "
                            "layer without weights). Build the model, or pass a Conv2D/Dense/BatchNormalization "
                            "layer.")
    rows, cols = grid_shape(len(weights), max_cols=4)
    fig = new_figure(3.6 * cols, 2.8 * rows)
    for i, var in enumerate(weights):
        values = var.numpy().ravel()
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.hist(values, bins=bins, color="#4c72b0")
        ax.set_title(f"{var.path}  {tuple(var.shape)}", fontsize=9, **LITERAL)
        ax.set_xlabel("value")
        ax.set_ylabel("count")
        ax.text(0.98, 0.95, f"mean {values.mean():.3g}\nstd {values.std():.3g}", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)
    return finish(fig, save_path)


def conv_kernels(layer) -> np.ndarray:
    """The spatial kernels of a 2-D conv layer as ``(kh, kw, in, n)``: ``n`` kernels per input channel.

    Conv2D's kernel is already in that layout. Conv2DTranspose stores ``(kh, kw, filters, in)`` (Keras's
    layout) and is swapped; DepthwiseConv2D's ``(kh, kw, in, depth_multiplier)`` and SeparableConv2D's
    depthwise kernel are the ``depth_multiplier`` kernels of each input channel (the separable 1x1 step
    has no spatial picture).
    """
    name = getattr(layer, "name", type(layer).__name__)
    if isinstance(layer, SeparableConv2D):
        kernel = getattr(layer, "depthwise_kernel", None)
    else:
        kernel = getattr(layer, "kernel", None)
    if kernel is None or getattr(kernel, "dim", lambda: 0)() != 4:
        raise ConfigError(f"plot_filters: layer '{name}' ({type(layer).__name__}) has no 4-D convolution kernel. "
                          f"Pass a built 2-D convolution layer (Conv2D, SeparableConv2D, DepthwiseConv2D, "
                          f"Conv2DTranspose), e.g. model.layers[0]. Received: layer={name!r}")
    values = kernel.detach().cpu().numpy()
    return values.transpose(0, 1, 3, 2) if isinstance(layer, Conv2DTranspose) else values


def plot_filters(layer, input_channel: int = 0, max_filters: int = 64, save_path=None):
    """Show the kernels of a conv layer for one input channel, on a shared colour scale.

    Zero is white, positive weights red and negative blue, with the same scale
    for every kernel so their strengths compare.

    Args:
        layer: a built 2-D convolution: Conv2D, Conv2DTranspose, or DepthwiseConv2D/SeparableConv2D
            (their ``depth_multiplier`` kernels per input channel).
        input_channel: which input channel's slice of each kernel to show.
        max_filters: show at most this many filters (the first ones).
        save_path: also write the figure there as a PNG.

    Returns:
        A Figure with one image axes per filter (titled ``#i``) and a colorbar.

    Example:
        >>> fig = plot_filters(model.layers[0])  # doctest: +SKIP
    """
    kernel = conv_kernels(layer)
    channels, filters = kernel.shape[2], kernel.shape[3]
    if isinstance(input_channel, bool) or not isinstance(input_channel, (int, np.integer)) or \
            not 0 <= input_channel < channels:
        raise ConfigError(f"plot_filters: input_channel must be an int in [0, {channels}) for layer "
                          f"'{layer.name}' ({channels} input channels). Received: input_channel={input_channel!r}")
    if isinstance(max_filters, bool) or not isinstance(max_filters, (int, np.integer)) or max_filters < 1:
        raise ConfigError(f"plot_filters: max_filters must be a positive int. Received: max_filters={max_filters!r}")
    count = min(filters, max_filters)
    shown = kernel[:, :, input_channel, :count]
    limit = float(np.abs(shown).max()) or 1.0
    rows, cols = grid_shape(count, max_cols=8)
    fig = new_figure(1.25 * cols + 1.0, 1.3 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= count:
            ax.set_axis_off()
            continue
        image = ax.imshow(shown[:, :, i], cmap=FILTER_CMAP, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(f"#{i}", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    more = f" (first {count} of {filters})" if count < filters else ""
    fig.suptitle(f"{layer.name}: {filters} filters {kernel.shape[0]}x{kernel.shape[1]}, input channel "
                 f"{input_channel}{more}", fontsize=10, **LITERAL)
    return finish(fig, save_path)

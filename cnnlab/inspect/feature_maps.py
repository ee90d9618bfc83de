"""Feature maps: what any layer of any model outputs for an image, read with a forward hook."""

from __future__ import annotations

import numpy as np
import torch

from cnnlab.errors import ConfigError
from cnnlab.inspect.figures import LITERAL, as_batch, as_display_image, find_layer, finish, grid_shape, new_figure, require_built
from cnnlab.inspect.tracing import forward_hooks, tensors_in


def layer_output(model, batch: torch.Tensor, layer) -> torch.Tensor:
    """Output of ``layer``'s first call while ``model`` runs on ``batch`` in inference mode."""
    seen: list[torch.Tensor] = []

    def keep(_layer, args, output):
        if not seen:
            seen.append(tensors_in(output)[0])

    with torch.no_grad(), forward_hooks([layer], keep):
        model(batch, training=False)
    if not seen:
        raise ConfigError(f"feature_maps: layer '{layer.name}' was not called when model '{model.name}' ran on x, "
                          f"so it has no output to show. Pick a layer the model's call() uses. "
                          f"Received: layer={layer.name!r}")
    return seen[0]


def feature_maps(model, x, layer) -> np.ndarray:
    """The output of ``layer`` when ``model`` runs on ``x`` (inference mode), for any model.

    Equal to ``Model(model.input, layer.output).predict(x)`` for Sequential and
    functional models; subclassed models work too (a forward hook reads the
    layer's output).

    Args:
        model: a built model.
        x: one image ``(height, width, channels)`` or a batch.
        layer: a layer name (nested layers too), an index into ``model.layers`` or the layer object.

    Returns:
        A NumPy array: ``(batch, height, width, channels)`` for a conv layer; without the batch axis when
        ``x`` is one image.

    Example:
        >>> maps = feature_maps(model, x_test[0], "conv2d")  # doctest: +SKIP
        >>> maps.shape  # doctest: +SKIP
        (26, 26, 32)
    """
    require_built(model, "feature_maps")
    target = find_layer(model, layer, "feature_maps")
    batch, added = as_batch(model, x, "feature_maps")
    out = layer_output(model, batch, target).cpu().numpy()
    return out[0] if added else out


def plot_feature_maps(model, x, layer, max_maps: int = 32, save_path=None):
    """Show the channels of ``layer``'s output for one image as a grid, with the input image first.

    Args:
        model: a built model.
        x: one image, or a batch (the first image is shown).
        layer: a layer name, index or object (see :func:`feature_maps`).
        max_maps: show at most this many channels.
        save_path: also write the figure there as a PNG.

    Returns:
        A Figure: the input, then one axes per channel (titled ``#i``), each with its own colour scale.

    Example:
        >>> fig = plot_feature_maps(model, x_test[0], "conv2d")  # doctest: +SKIP
    """
    require_built(model, "plot_feature_maps")
    target = find_layer(model, layer, "plot_feature_maps")
    batch, _ = as_batch(model, x, "plot_feature_maps")
    maps = layer_output(model, batch[:1], target).cpu().numpy()[0]
    if maps.ndim != 3:
        raise ConfigError(f"plot_feature_maps: layer '{target.name}' outputs shape {maps.shape} per image, not "
                          "(height, width, channels) maps. Pick a conv or pooling layer; use feature_maps() for "
                          f"the raw values. Received: layer={target.name!r}")
    if getattr(target, "data_format", "channels_last") == "channels_first":
        maps = np.moveaxis(maps, 0, -1)
    count = min(maps.shape[-1], max_maps)
    rows, cols = grid_shape(count + 1, max_cols=8)
    fig = new_figure(1.5 * cols, 1.6 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    image, cmap = as_display_image(batch[0].cpu().numpy())
    axes.flat[0].imshow(image, cmap=cmap)
    axes.flat[0].set_title("input", fontsize=8)
    for i in range(count):
        axes.flat[i + 1].imshow(maps[..., i], cmap="viridis")
        axes.flat[i + 1].set_title(f"#{i}", fontsize=8)
    more = f", first {count} of {maps.shape[-1]}" if count < maps.shape[-1] else ""
    fig.suptitle(f"{target.name} ({type(target).__name__}) output {maps.shape[0]}x{maps.shape[1]}x"
                 f"{maps.shape[2]}{more}", fontsize=10, **LITERAL)
    return finish(fig, save_path)

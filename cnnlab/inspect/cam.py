"""Where a model looks: Grad-CAM heatmaps and saliency maps, with overlay plots.

Grad-CAM (Selvaraju et al., 2017) weights each channel of a conv layer's output
by the mean gradient of the class score over that channel, sums the weighted
channels, keeps the positive part and scales it up to the input size. The
class score is taken before softmax/sigmoid, as in the paper: after softmax
the gradient of a confident class vanishes.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.inspect.figures import (IMAGE_CONV_LAYERS, LITERAL, as_batch, as_display_image, class_label, find_layer, finish,
                                    new_figure, require_built)
from cnnlab.inspect.tracing import forward_hooks, last_called_leaf, tensors_in
from cnnlab.layers.logits import emitting_logits, logit_activation, output_layer

@contextlib.contextmanager
def scores_before_activation(model, batch: torch.Tensor):
    """While the block runs, an output layer ending in softmax/sigmoid returns its logits instead."""
    layer = output_layer(model)
    if layer is None or not hasattr(layer, "_emit_logits"):
        layer = last_called_leaf(model, batch[:1])
    if logit_activation(layer) is None:
        yield
        return
    with emitting_logits(layer):
        yield


def _first(output) -> torch.Tensor:
    return tensors_in(output)[0]


def _class_indices(scores: torch.Tensor, class_index, where: str) -> torch.Tensor:
    count = scores.shape[-1]
    if class_index is None:
        return scores.argmax(dim=-1)
    indices = np.broadcast_to(np.asarray(class_index), (scores.shape[0],))
    if not np.issubdtype(indices.dtype, np.integer) or indices.min() < 0 or indices.max() >= count:
        raise ConfigError(f"{where}: class_index must be an int (or one int per image) in [0, {count}) for a model "
                          f"with {count} outputs. Received: class_index={class_index!r}")
    return torch.as_tensor(indices.copy(), device=scores.device)


def _picked(scores: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    if scores.dim() != 2:
        raise ShapeError(f"Grad-CAM and saliency need a model with (batch, classes) outputs; this one outputs "
                         f"shape {tuple(scores.shape)}.")
    return scores[torch.arange(scores.shape[0], device=scores.device), indices].sum()


def grad_cam(model, x, class_index=None, layer=None) -> np.ndarray:
    """Grad-CAM heatmap: the image regions that raise the score of ``class_index``.

    Args:
        model: a built Sequential, functional or subclassed classifier.
        x: one image ``(height, width, channels)`` or a batch.
        class_index: class to explain (one int, or one per image); default: the predicted class.
        layer: conv layer to read (name, index or object); default: the last 2-D convolution the model
            calls (Conv2D, SeparableConv2D, DepthwiseConv2D or Conv2DTranspose).

    Returns:
        Heatmaps in [0, 1] at the input resolution: ``(batch, height, width)``, or ``(height, width)`` for
        one image.

    Example:
        >>> heat = grad_cam(model, x_test[0])  # doctest: +SKIP
    """
    require_built(model, "grad_cam")
    batch, added = as_batch(model, x, "grad_cam")
    target = find_layer(model, layer, "grad_cam") if layer is not None else None
    watched = [target] if target is not None else [m for m in model.modules() if isinstance(m, IMAGE_CONV_LAYERS)]
    if not watched:
        raise ConfigError(f"grad_cam: model '{model.name}' has no 2-D convolution layer to read (Conv2D, "
                          "SeparableConv2D, DepthwiseConv2D, Conv2DTranspose). Pass layer= naming a layer with "
                          "(height, width, channels) outputs.")
    seen: list[tuple] = []
    batch = batch.detach().requires_grad_(True)  # keeps a graph even when every weight is frozen
    with torch.enable_grad(), scores_before_activation(model, batch), \
            forward_hooks(watched, lambda l, args, out: seen.append((l, _first(out)))):
        scores = _first(model(batch, training=False))
    if not seen:
        raise ConfigError(f"grad_cam: no watched conv layer was called when model '{model.name}' ran on x.")
    used, maps = seen[0] if target is not None else seen[-1]
    if maps.dim() != 4:
        raise ConfigError(f"grad_cam: layer '{used.name}' outputs shape {tuple(maps.shape)}; Grad-CAM needs "
                          "(batch, height, width, channels) maps. Pick a conv or pooling layer. "
                          f"Received: layer={used.name!r}")
    grads = torch.autograd.grad(_picked(scores, _class_indices(scores, class_index, "grad_cam")), maps)[0]
    channels_last = getattr(used, "data_format", "channels_last") == "channels_last"
    space, channel = ((1, 2), -1) if channels_last else ((2, 3), 1)
    weights = grads.mean(dim=space, keepdim=True)
    cam = F.relu((weights * maps).sum(dim=channel)).detach()
    size = tuple(batch.shape[1:3]) if channels_last else tuple(batch.shape[2:4])
    cam = F.interpolate(cam[:, None], size=size, mode="bilinear", align_corners=False)[:, 0].clamp_min(0)
    peak = cam.amax(dim=(1, 2), keepdim=True)
    cam = torch.where(peak > 0, cam / peak.clamp_min(1e-12), torch.zeros_like(cam)).cpu().numpy()
    return cam[0] if added else cam


def saliency(model, x, class_index=None) -> np.ndarray:
    """Saliency map: ``|d score / d input|``, the largest over the colour channels.

    Args:
        model: a built classifier.
        x: one image or a batch.
        class_index: class to explain (one int or one per image); default: the predicted class.

    Returns:
        ``(batch, height, width)`` non-negative gradients (``(height, width)`` for one image), not rescaled.

    Example:
        >>> s = saliency(model, x_test[:4])  # doctest: +SKIP
    """
    require_built(model, "saliency")
    batch, added = as_batch(model, x, "saliency")
    batch = batch.detach().requires_grad_(True)
    with torch.enable_grad(), scores_before_activation(model, batch):
        scores = _first(model(batch, training=False))
        grads = torch.autograd.grad(_picked(scores, _class_indices(scores, class_index, "saliency")), batch)[0]
    values = grads.abs()
    values = values.amax(dim=-1) if values.dim() == 4 else values
    out = values.cpu().numpy()
    return out[0] if added else out


def _predictions(model, batch):
    with torch.no_grad():
        return _first(model(batch, training=False)).cpu().numpy()


def _overlay_figure(model, x, maps_fn, title: str, cmap: str, class_names, alpha: float, max_images: int,
                    save_path):
    batch, _ = as_batch(model, x, title)
    batch = batch[:max_images]
    heat = maps_fn(batch)
    probs = _predictions(model, batch)
    count = batch.shape[0]
    fig = new_figure(1.9 * count + 0.9, 4.4)
    axes = fig.subplots(2, count, squeeze=False)
    shown = None
    for i in range(count):
        image, gray = as_display_image(batch[i].cpu().numpy())
        predicted = int(probs[i].argmax())
        top, bottom = axes[0, i], axes[1, i]
        top.imshow(image, cmap=gray)
        top.set_title(f"pred {class_label(predicted, class_names)}\n({probs[i][predicted]:.0%})", fontsize=8, **LITERAL)
        bottom.imshow(image, cmap=gray)
        shown = bottom.imshow(heat[i], cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=9)
    axes[1, 0].set_ylabel(title, fontsize=9)
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.9, label="importance")
    return finish(fig, save_path)


def plot_grad_cam(model, x, class_index=None, layer=None, class_names=None, alpha: float = 0.45,
                  max_images: int = 8, save_path=None):
    """Show images (top row) and their Grad-CAM heatmaps over them (bottom row), titled with the prediction.

    Args:
        model, x, class_index, layer: as :func:`grad_cam`.
        class_names: names for the class indices in titles.
        alpha: opacity of the heatmap.
        max_images: show at most this many images of ``x``.
        save_path: also write the figure there as a PNG.

    Returns:
        A Figure with two rows of image axes and a colorbar.

    Example:
        >>> fig = plot_grad_cam(model, x_test[:6], class_names=names)  # doctest: +SKIP
    """
    shown = class_index if class_index is None or np.ndim(class_index) == 0 else np.asarray(class_index)[:max_images]

    def maps(batch):
        return grad_cam(model, batch, class_index=shown, layer=layer)

    return _overlay_figure(model, x, maps, "Grad-CAM", "jet", class_names, alpha, max_images, save_path)


def plot_saliency(model, x, class_index=None, class_names=None, max_images: int = 8, save_path=None):
    """Show images and their saliency maps (scaled to [0, 1] per image) over them; arguments as above."""
    shown = class_index if class_index is None or np.ndim(class_index) == 0 else np.asarray(class_index)[:max_images]

    def maps(batch):
        values = saliency(model, batch, class_index=shown)
        peak = values.reshape(len(values), -1).max(axis=1)[:, None, None]
        return np.divide(values, peak, out=np.zeros_like(values), where=peak > 0)

    return _overlay_figure(model, x, maps, "saliency", "hot", class_names, 0.6, max_images, save_path)

"""Augmentation that mixes the images of a batch (and their labels): MixUp and CutMix.

Pass ``{"images": x, "labels": y}`` (labels one-hot or soft) to mix the labels with the same weights;
a plain image batch gives mixed images only.
"""

from __future__ import annotations

import torch

from cnnlab.errors import ConfigError
from cnnlab.layers.preprocessing import _base


def _mix_labels(labels, params):
    order, weight = params["order"], params["weight"].to(labels.dtype).reshape(-1, 1)
    return weight * labels + (1.0 - weight) * labels[order]


class MixUp(_base.RandomImageLayer):
    """Blend each image with another of the batch in training, Keras's ``MixUp``.

    ``x = w * x + (1 - w) * x[perm]`` with ``w ~ Beta(alpha, alpha)`` per image; labels in a dict input
    are mixed the same way.

    Args:
        alpha: the Beta distribution's parameter (default 0.2).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: int for reproducible mixing.

    Shape:
        Input: ``(N, H, W, C)``, or ``{"images": ..., "labels": (N, classes)}``; the output has the same shape.

    Example:
        >>> out = MixUp()({"images": x, "labels": y_one_hot}, training=True)
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.alpha = _base.number(alpha, "alpha", self._owner())
        if self.alpha <= 0:
            raise ConfigError(f"{self._owner()}: alpha must be positive. Received: alpha={alpha!r}")

    def random_params(self, images):
        n = images.shape[0]
        return {"order": self.permutation(n, images.device), "weight": self.beta((n,), self.alpha, images.device)}

    def transform_images(self, images, params):
        weight = params["weight"].reshape(-1, 1, 1, 1)
        return weight * images + (1.0 - weight) * images[params["order"]]

    def transform_labels(self, labels, params):
        return _mix_labels(labels, params)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class CutMix(_base.RandomImageLayer):
    """Paste a random box from another image of the batch into each image in training, Keras's ``CutMix``.

    Per batch ``alpha ~ U(factor)``; per image ``w ~ Beta(alpha, alpha)`` and a box covering about
    ``1 - w`` of the area; labels in a dict input are mixed by the true box area.

    Args:
        factor: a number or pair in ``[0, 1]`` for the range of ``alpha`` (default 1.0).
        seed: int for reproducible boxes.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Shape:
        Input: ``(N, H, W, C)``, or ``{"images": ..., "labels": (N, classes)}``; the output has the same shape.

    Example:
        >>> out = CutMix()({"images": x, "labels": y_one_hot}, training=True)
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _base.factor_range(factor, "factor", self._owner(), (0.0, 1.0), keras_base=True)

    def random_params(self, images):
        n, _, height, width = images.shape
        device = images.device
        alpha = float(self.uniform((), *self.factor, "cpu")) + 1e-6
        ratio = torch.sqrt(1.0 - self.beta((n,), alpha, device))
        x0, x1 = self._bounds(ratio, width, device)
        y0, y1 = self._bounds(ratio, height, device)
        xs = torch.arange(width, device=device, dtype=torch.float32).view(1, 1, 1, width)
        ys = torch.arange(height, device=device, dtype=torch.float32).view(1, 1, height, 1)
        box = lambda v: v.view(-1, 1, 1, 1)  # noqa: E731
        mask = (xs >= box(x0)) & (xs < box(x1)) & (ys >= box(y0)) & (ys < box(y1))
        weight = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        return {"order": self.permutation(n, device), "mask": mask, "weight": weight}

    def _bounds(self, ratio, size, device):
        length = ratio * size
        start = self.uniform(ratio.shape, 0.0, 1.0, device) * (size - length)
        return start, start + length

    def transform_images(self, images, params):
        return torch.where(params["mask"], images[params["order"]], images)

    def transform_labels(self, labels, params):
        return _mix_labels(labels, params)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}

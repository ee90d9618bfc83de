"""Axis bookkeeping shared by the 1-D/2-D/3-D pooling and reshaping layers (Keras's data formats)."""

from __future__ import annotations

import torch

AXIS_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def layout(rank: int, data_format: str = "channels_last") -> str:
    """The input layout a layer of ``rank`` spatial axes expects, for error messages."""
    names = ", ".join(AXIS_NAMES[rank])
    channels = "features" if rank == 1 else "channels"
    if data_format == "channels_first":
        return f"(batch, {channels}, {names})"
    return f"(batch, {names}, {channels})"


def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """Positions of the spatial axes in a batched shape."""
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def spatial_sizes(shape, rank: int, data_format: str) -> tuple:
    return tuple(shape[i] for i in spatial_axes(rank, data_format))


def with_spatial(shape, sizes, data_format: str) -> tuple:
    """``shape`` with its spatial sizes replaced by ``sizes`` (batch and channel axes kept)."""
    shape = tuple(shape)
    if data_format == "channels_last":
        return (shape[0], *sizes, *shape[1 + len(sizes):])
    return (*shape[:2], *sizes)


def to_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    """A channels-first view of ``x`` (torch's kernels want channels on axis 1); no copy."""
    # An explicit permute, not movedim(-1, 1): torch's ONNX export writes a wrong perm for movedim.
    if data_format != "channels_last":
        return x
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def from_channels_first(y: torch.Tensor, data_format: str) -> torch.Tensor:
    if data_format != "channels_last":
        return y
    return y.permute(0, *range(2, y.dim()), 1)

"""Keras 3's math ops on torch: ``top_k``, ``in_top_k``, ``logsumexp``, segment reductions, ``erf``, FFTs.

Example:
    >>> from cnnlab import ops
    >>> values, indices = ops.top_k([1.0, 3.0, 2.0], k=2)
    >>> values.tolist(), indices.tolist()
    ([3.0, 2.0], [1, 2])
"""

from __future__ import annotations

from typing import Any

import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.ops._convert import axis_tuple, convert_to_tensor, export, int_result, tensors, to_float


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002 - Keras's name
    """The ``k`` largest values along the last axis and their int32 indices."""
    t = convert_to_tensor(x)
    if not 1 <= int(k) <= t.shape[-1]:
        raise ConfigError(f"top_k: k must be between 1 and the last axis size {t.shape[-1]}. Received: k={k}")
    values, indices = torch.topk(t, int(k), dim=-1, sorted=True)
    return values, int_result(indices)


def in_top_k(targets: Any, predictions: Any, k: int) -> torch.Tensor:
    """True where the target class is among the ``k`` highest predictions (ties count as in, as in TF)."""
    labels, scores = tensors(targets, predictions)
    if labels.dim() != 1 or scores.dim() != 2 or labels.shape[0] != scores.shape[0]:
        raise ShapeError(f"in_top_k: targets must be (batch,) and predictions (batch, classes). "
                         f"Received: targets.shape={tuple(labels.shape)}, predictions.shape={tuple(scores.shape)}")
    target_scores = scores.gather(1, labels.long().unsqueeze(1))
    better = (scores > target_scores).sum(1)
    return (better < k) & torch.isfinite(target_scores.squeeze(1))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    t = to_float(x)
    dims = axis_tuple(axis) or tuple(range(t.dim()))
    return torch.logsumexp(t, dim=dims, keepdim=keepdims)


def _segment(data: Any, segment_ids: Any, num_segments: int | None, reduce: str) -> torch.Tensor:
    values, ids = tensors(data, segment_ids)
    ids = ids.long()
    n = int(ids.max()) + 1 if num_segments is None else int(num_segments)
    shape = (n,) + tuple(values.shape[1:])
    fill = {"sum": 0, "prod": 1, "amax": float("-inf"), "amin": float("inf")}[reduce]
    work = values if values.is_floating_point() else values.to(torch.float64)
    out = torch.full(shape, fill, dtype=work.dtype, device=values.device)
    keep = (ids >= 0) & (ids < n)
    index = ids[keep].reshape((-1,) + (1,) * (values.dim() - 1)).expand((-1,) + shape[1:])
    out = out.scatter_reduce(0, index, work[keep], reduce, include_self=True)
    if reduce in ("amax", "amin"):  # TF leaves empty segments at the dtype's lowest/highest value
        info = torch.finfo(values.dtype) if values.is_floating_point() else torch.iinfo(values.dtype)
        out = torch.nan_to_num(out, posinf=float(info.max), neginf=float(info.min))
    return out.to(values.dtype)


def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Sum of the rows of ``data`` sharing each segment id."""
    return _segment(data, segment_ids, num_segments, "sum")


def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Maximum of the rows of ``data`` sharing each segment id."""
    return _segment(data, segment_ids, num_segments, "amax")


def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Minimum of the rows of ``data`` sharing each segment id."""
    return _segment(data, segment_ids, num_segments, "amin")


def segment_prod(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Product of the rows of ``data`` sharing each segment id."""
    return _segment(data, segment_ids, num_segments, "prod")


def erf(x: Any) -> torch.Tensor:
    """The error function."""
    return torch.erf(to_float(x))


def erfc(x: Any) -> torch.Tensor:
    """``1 - erf(x)``."""
    return torch.erfc(to_float(x))


def erfinv(x: Any) -> torch.Tensor:
    """The inverse error function."""
    return torch.erfinv(to_float(x))


def rsqrt(x: Any) -> torch.Tensor:
    """``1 / sqrt(x)``."""
    return torch.rsqrt(to_float(x))


def logdet(x: Any) -> torch.Tensor:
    """Log-determinant of (batched) square matrices."""
    return torch.logdet(to_float(x))


def cdist(x: Any, y: Any) -> torch.Tensor:
    """Euclidean distances between the rows of ``x`` and ``y``."""
    a, b = (to_float(v) for v in tensors(x, y))
    return torch.cdist(a, b)


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> torch.Tensor:
    """Frames of ``sequence_length`` every ``sequence_stride`` steps along the last axis."""
    return convert_to_tensor(x).unfold(-1, int(sequence_length), int(sequence_stride))


def _complex_pair(x: Any) -> torch.Tensor:
    real, imag = tensors(*x)
    return torch.complex(to_float(real), to_float(imag).to(to_float(real).dtype))


def _split(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return c.real.contiguous(), c.imag.contiguous()


def fft(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """FFT over the last axis of ``x = (real, imag)``; returns ``(real, imag)``."""
    return _split(torch.fft.fft(_complex_pair(x)))


def fft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """2-D FFT over the last two axes of ``(real, imag)``."""
    return _split(torch.fft.fft2(_complex_pair(x)))


def ifft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse 2-D FFT over the last two axes of ``(real, imag)``."""
    return _split(torch.fft.ifft2(_complex_pair(x)))


def rfft(x: Any, fft_length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Real-input FFT over the last axis; returns ``(real, imag)``."""
    return _split(torch.fft.rfft(to_float(x), n=fft_length))


def irfft(x: Any, fft_length: int | None = None) -> torch.Tensor:
    """Inverse of :func:`rfft` from ``(real, imag)``."""
    return torch.fft.irfft(_complex_pair(x), n=fft_length)


def view_as_complex(x: Any) -> torch.Tensor:
    """A complex tensor from a real one whose last axis is (real, imag)."""
    return torch.view_as_complex(to_float(x).contiguous())


def view_as_real(x: Any) -> torch.Tensor:
    """A real tensor with a last axis (real, imag) from a complex one."""
    return torch.view_as_real(convert_to_tensor(x))


__all__ = [
    "cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "logdet",
    "logsumexp", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod", "segment_sum", "top_k",
    "view_as_complex", "view_as_real",
]
export(globals(), __all__)

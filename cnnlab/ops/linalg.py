"""Keras 3's linear-algebra ops on torch (``keras.ops.norm``, ``inv``, ``solve``, ``svd``, ...)."""

from __future__ import annotations

from typing import Any

import torch

from cnnlab.ops._convert import axis_tuple, choice_arg, export, tensors, to_float


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A002
    """Vector norm (one axis, or the flattened tensor) or matrix norm (two axes), like ``numpy.linalg.norm``."""
    t = to_float(x)
    axes = axis_tuple(axis)
    if axes is None and ord is not None:
        axes = tuple(range(t.dim()))[-2:] if t.dim() == 2 else (0,)
    if axes is not None and len(axes) == 2:
        return torch.linalg.matrix_norm(t, ord="fro" if ord is None else ord, dim=axes, keepdim=keepdims)
    if axes is None:
        out = torch.linalg.vector_norm(t.reshape(-1), 2)
        return out.reshape((1,) * t.dim()) if keepdims else out
    return torch.linalg.vector_norm(t, 2 if ord is None else ord, dim=axes, keepdim=keepdims)


def inv(x: Any) -> torch.Tensor:
    """Inverse of (batched) square matrices."""
    return torch.linalg.inv(to_float(x))


def det(x: Any) -> torch.Tensor:
    """Determinant of (batched) square matrices."""
    return torch.linalg.det(to_float(x))


def solve(a: Any, b: Any) -> torch.Tensor:
    """``x`` with ``a @ x = b``."""
    a_t, b_t = (to_float(v) for v in tensors(a, b))
    return torch.linalg.solve(a_t, b_t.to(a_t.dtype))


def solve_triangular(a: Any, b: Any, lower: bool = False) -> torch.Tensor:
    """``x`` with ``a @ x = b`` for triangular ``a``."""
    a_t, b_t = (to_float(v) for v in tensors(a, b))
    vector = b_t.dim() == a_t.dim() - 1
    out = torch.linalg.solve_triangular(a_t, (b_t.unsqueeze(-1) if vector else b_t).to(a_t.dtype), upper=not lower)
    return out.squeeze(-1) if vector else out


def cholesky(x: Any, upper: bool = False) -> torch.Tensor:
    """Cholesky factor (lower by default) of symmetric positive-definite matrices."""
    return torch.linalg.cholesky(to_float(x), upper=upper)


def cholesky_inverse(x: Any, upper: bool = False) -> torch.Tensor:
    """Inverse of ``L @ L.T`` from its Cholesky factor ``x``."""
    return torch.cholesky_inverse(to_float(x), upper=upper)


def qr(x: Any, mode: str = "reduced") -> tuple[torch.Tensor, torch.Tensor]:
    """QR decomposition; ``mode`` 'reduced' or 'complete'."""
    choice_arg(mode, ("reduced", "complete"), "qr", "mode")
    return tuple(torch.linalg.qr(to_float(x), mode=mode))


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition ``(u, s, vh)``, or just ``s`` when ``compute_uv`` is False."""
    t = to_float(x)
    if not compute_uv:
        return torch.linalg.svdvals(t)
    return tuple(torch.linalg.svd(t, full_matrices=full_matrices))


def eig(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and eigenvectors of general square matrices (complex)."""
    return tuple(torch.linalg.eig(to_float(x)))


def eigh(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices."""
    return tuple(torch.linalg.eigh(to_float(x)))


def lstsq(a: Any, b: Any, rcond: float | None = None) -> torch.Tensor:
    """Least-squares solution of ``a @ x = b``."""
    a_t, b_t = (to_float(v) for v in tensors(a, b))
    vector = b_t.dim() == 1
    out = torch.linalg.lstsq(a_t, (b_t.unsqueeze(-1) if vector else b_t).to(a_t.dtype), rcond=rcond,
                             driver="gelsd").solution
    return out.squeeze(-1) if vector else out


def lu_factor(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """LU factorisation ``(lu, pivots)``; pivots are 0-based as in SciPy and Keras."""
    lu, pivots = torch.linalg.lu_factor(to_float(x))
    return lu, (pivots - 1).to(torch.int32)


def matrix_rank(x: Any, tol: float | None = None) -> torch.Tensor:
    """Numerical rank (int32)."""
    return torch.linalg.matrix_rank(to_float(x), atol=tol).to(torch.int32)


def pinv(x: Any, rcond: float | None = None) -> torch.Tensor:
    """Moore-Penrose pseudo-inverse."""
    t = to_float(x)
    return torch.linalg.pinv(t) if rcond is None else torch.linalg.pinv(t, rtol=rcond)


__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "lstsq", "lu_factor", "matrix_rank", "norm",
           "pinv", "qr", "solve", "solve_triangular", "svd"]
export(globals(), __all__)

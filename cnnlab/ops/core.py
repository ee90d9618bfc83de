"""Keras 3's core ops on torch: ``shape``, ``cast``, ``convert_to_tensor``, ``scatter``, ``slice``, control flow.

Control flow runs eagerly in Python (torch has no graph mode to stage it in),
with Keras's argument names, so code written for ``keras.ops`` runs unchanged.

Example:
    >>> from cnnlab import ops
    >>> ops.shape(ops.zeros((2, 3)))
    (2, 3)
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.ops._convert import (
    convert_to_tensor, export, standardize_dtype, tensors, torch_dtype,
)


def shape(x: Any) -> tuple[int, ...]:
    """The shape as a tuple of Python ints."""
    if isinstance(x, (torch.Tensor, np.ndarray)):
        return tuple(int(s) for s in x.shape)
    if hasattr(x, "shape") and isinstance(x.shape, tuple):  # KerasTensor: keeps None for the batch
        return x.shape
    return tuple(convert_to_tensor(x).shape)


def dtype(x: Any) -> str:
    """Keras's name of the dtype of ``x``, e.g. ``'float32'``."""
    value = x.dtype if isinstance(x, (torch.Tensor, np.ndarray)) else convert_to_tensor(x).dtype
    return standardize_dtype(value, "dtype", "x")


def cast(x: Any, dtype: Any) -> torch.Tensor:
    """``x`` converted to ``dtype`` (a Keras name such as ``'int32'``); floats truncate towards zero."""
    return convert_to_tensor(x).to(torch_dtype(dtype, "cast"))


def saturate_cast(x: Any, dtype: Any) -> torch.Tensor:
    """Like :func:`cast`, clipping first to the target dtype's range so values never wrap around."""
    target = torch_dtype(dtype, "saturate_cast")
    t = convert_to_tensor(x)
    if target != torch.bool and not target.is_complex:
        info = torch.finfo(target) if target.is_floating_point else torch.iinfo(target)
        low, high = (float(info.min), float(info.max)) if t.is_floating_point() else (info.min, info.max)
        if t.dtype != torch.bool:
            t = torch.clamp(t.double() if not target.is_floating_point and t.is_floating_point() else t, low, high)
    return t.to(target)


def convert_to_numpy(x: Any) -> np.ndarray:
    """A NumPy array of ``x`` (detached and moved to the CPU)."""
    if isinstance(x, np.ndarray):
        return x
    t = convert_to_tensor(x)
    return (t.float() if t.dtype == torch.bfloat16 else t).detach().cpu().numpy()


def is_tensor(x: Any) -> bool:
    """True for torch tensors (what this backend's ops return)."""
    return isinstance(x, torch.Tensor)


def stop_gradient(variable: Any) -> torch.Tensor:
    """The same values, with no gradient flowing back through them."""
    return convert_to_tensor(variable).detach()


def _index_columns(indices: torch.Tensor, rank: int, op: str) -> tuple[torch.Tensor, ...]:
    if indices.dim() < 1 or indices.shape[-1] > rank:
        raise ShapeError(
            f"{op}: indices must have shape (..., k) with k <= the target's rank {rank}. "
            f"Received: indices.shape={tuple(indices.shape)}"
        )
    return tuple(indices.long().unbind(-1))


def scatter(indices: Any, values: Any, shape: Any) -> torch.Tensor:
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (duplicates add up, as in TF)."""
    idx, vals = tensors(indices, values)
    out = torch.zeros(tuple(int(s) for s in shape), dtype=vals.dtype, device=vals.device)
    return out.index_put_(_index_columns(idx, out.dim(), "scatter"), vals, accumulate=True)


def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: str | None = None) -> torch.Tensor:
    """A copy of ``inputs`` with ``updates`` written at ``indices``; ``reduction`` 'add'/'max'/'min'/'mul' combines."""
    t, idx, upd = tensors(inputs, indices, updates)
    cols = _index_columns(idx, t.dim(), "scatter_update")
    out = t.clone()
    upd = upd.to(t.dtype)
    if reduction is None:
        return out.index_put_(cols, upd)
    if reduction == "add":
        return out.index_put_(cols, upd, accumulate=True)
    reduce = {"max": "amax", "min": "amin", "mul": "prod"}.get(reduction)
    if reduce is None:
        raise ConfigError("scatter_update: argument 'reduction' must be None, 'add', 'max', 'min' or 'mul'. "
                          f"Received: reduction={reduction!r}")
    lead, tail = t.shape[: len(cols)], tuple(t.shape[len(cols):])
    flat = torch.zeros_like(cols[0])
    for col, size in zip(cols, lead):
        flat = flat * size + col
    src = upd.reshape((-1,) + tail)
    index = flat.reshape((-1,) + (1,) * len(tail)).expand_as(src)
    return out.reshape((-1,) + tail).scatter_reduce(0, index, src, reduce).reshape(t.shape)


def slice(inputs: Any, start_indices: Any, shape: Any) -> torch.Tensor:  # noqa: A001 - Keras's name
    """The block of ``shape`` starting at ``start_indices``."""
    t = convert_to_tensor(inputs)
    starts = [int(s) for s in convert_to_tensor(start_indices).reshape(-1).tolist()]
    sizes = [int(s) for s in shape]
    if len(starts) != t.dim() or len(sizes) != t.dim():
        raise ShapeError(f"slice: start_indices and shape need one entry per axis of the input ({t.dim()}). "
                         f"Received: start_indices={starts}, shape={sizes}")
    return t[tuple(builtins.slice(s, s + n) for s, n in zip(starts, sizes))]


def slice_update(inputs: Any, start_indices: Any, updates: Any) -> torch.Tensor:
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    t, upd = tensors(inputs, updates)
    starts = [int(s) for s in convert_to_tensor(start_indices).reshape(-1).tolist()]
    out = t.clone()
    out[tuple(builtins.slice(s, s + n) for s, n in zip(starts, upd.shape))] = upd.to(t.dtype)
    return out


def cond(pred: Any, true_fn: Callable, false_fn: Callable) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``."""
    return true_fn() if bool(convert_to_tensor(pred)) else false_fn()


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """``branches[index](*operands)``, with ``index`` clamped to the valid range as Keras does."""
    i = builtins.min(builtins.max(int(convert_to_tensor(index)), 0), len(branches) - 1)
    return branches[i](*operands)


def while_loop(cond: Callable, body: Callable, loop_vars: Any, maximum_iterations: int | None = None) -> Any:
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; returns the final ``loop_vars``."""
    is_tuple = isinstance(loop_vars, (list, tuple))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(cond(*state)):
        result = body(*state)
        state = tuple(result) if is_tuple else (result,)
        steps += 1
    return state if is_tuple else state[0]


def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def map(f: Callable, xs: Any) -> Any:  # noqa: A001 - Keras's name
    """``f`` applied to each slice along the first axis, results stacked."""
    t = convert_to_tensor(xs) if not isinstance(xs, (list, tuple, dict)) else xs
    outputs = [f(item) for item in (t if isinstance(t, torch.Tensor) else _unstack_tree(t))]
    return _stack_tree(outputs)


def _unstack_tree(xs: Any) -> list[Any]:
    if isinstance(xs, dict):
        keys = list(xs)
        columns = [convert_to_tensor(xs[k]) for k in keys]
        return [dict(zip(keys, row)) for row in zip(*columns)]
    columns = [convert_to_tensor(v) for v in xs]
    return [type(xs)(row) for row in zip(*columns)]


def _stack_tree(outputs: list[Any]) -> Any:
    first = outputs[0]
    if isinstance(first, dict):
        return {k: _stack_tree([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_stack_tree([o[i] for o in outputs]) for i in range(len(first)))
    return torch.stack([convert_to_tensor(o) for o in outputs])


def vectorized_map(function: Callable, elements: Any) -> Any:
    """``function`` over the first axis of ``elements`` via ``torch.vmap`` (falls back to :func:`map`)."""
    try:
        return torch.vmap(function)(convert_to_tensor(elements) if not isinstance(elements, (list, tuple, dict))
                                    else elements)
    except (RuntimeError, ValueError):
        return map(function, elements)


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None, reverse: bool = False,
         unroll: int = 1) -> tuple[Any, Any]:
    """``carry, y = f(carry, x)`` over ``xs``; returns the final carry and the stacked ``y``."""
    items = list(convert_to_tensor(xs)) if xs is not None and not isinstance(xs, (list, tuple, dict)) else (
        _unstack_tree(xs) if xs is not None else [None] * int(length))
    if reverse:
        items = items[::-1]
    carry, ys = init, []
    for item in items:
        carry, y = f(carry, item)
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    return carry, (_stack_tree(ys) if ys and ys[0] is not None else None)


def associative_scan(f: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> torch.Tensor:
    """Inclusive prefix combination of ``elems`` along ``axis`` with an associative ``f``."""
    t = torch.movedim(convert_to_tensor(elems), axis, 0)
    if reverse:
        t = torch.flip(t, (0,))
    out = [t[0]]
    for item in t[1:]:
        out.append(f(out[-1], item))
    result = torch.stack(out)
    return torch.movedim(torch.flip(result, (0,)) if reverse else result, 0, axis)


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[torch.Tensor]:
    """The slices of ``x`` along ``axis``, as a list."""
    t = convert_to_tensor(x)
    if num is not None and num != t.shape[axis]:
        raise ShapeError(f"unstack: num={num} does not match axis {axis} of size {t.shape[axis]}. "
                         f"Received: num={num}, x.shape={tuple(t.shape)}")
    return list(torch.unbind(t, dim=axis))


def custom_gradient(f: Callable) -> Callable:
    """Decorate ``f(*args)`` returning ``(output, grad_fn)``; ``grad_fn(upstream)`` gives the input gradients."""

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            with torch.enable_grad():
                output, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            return output.detach() if isinstance(output, torch.Tensor) else output

        @staticmethod
        def backward(ctx, *upstream):
            grads = ctx.grad_fn(*upstream)
            return tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)

    def wrapper(*args):
        return _Function.apply(*[convert_to_tensor(a) for a in args])

    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    return wrapper


__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
    "fori_loop", "is_tensor", "map", "saturate_cast", "scan", "scatter", "scatter_update", "shape", "slice",
    "slice_update", "stop_gradient", "switch", "unstack", "vectorized_map", "while_loop",
]
export(globals(), __all__, keep=("associative_scan", "cond", "custom_gradient", "fori_loop", "map", "scan",
                                  "switch", "vectorized_map", "while_loop"))

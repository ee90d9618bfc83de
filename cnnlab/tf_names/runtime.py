"""``tf.function``, ``tf.print``, ``tf.TensorSpec`` and ``tf.executing_eagerly``: TF2's runtime names, eager.

cnnlab runs everything eagerly on torch, so ``@tf.function`` runs the Python function as written (its
``input_signature`` is checked); ``jit_compile=True`` hands it to ``torch.compile``, which compiles on the
first call.

Example:
    >>> import cnnlab as tf
    >>> @tf.function
    ... def double(x):
    ...     return 2 * x
    >>> double(tf.constant(3)).item()
    6
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cnnlab.data._structure import TensorSpec
from cnnlab.errors import ArgumentTypeError, ShapeError
from cnnlab.tf_names._args import check_arguments

tf_api = check_arguments("tf")


def _check_signature(fn: Callable, signature: list[TensorSpec], args: tuple) -> None:
    where = f"tf.function {getattr(fn, '__qualname__', fn)!r}"
    values = args[1:] if len(args) == len(signature) + 1 and not hasattr(args[0], "shape") else args
    if len(values) != len(signature):
        raise ArgumentTypeError(f"{where}: its input_signature lists {len(signature)} arguments but it was called "
                                f"with {len(values)}. Received: {len(values)} positional arguments")
    for i, (spec, value) in enumerate(zip(signature, values)):
        got = tuple(getattr(value, "shape", np.shape(value)))
        if isinstance(spec, TensorSpec) and not spec.has_shape_of(got):  # values of other dtypes are converted
            raise ShapeError(f"{where}: argument {i} has shape {got}, which does not match its input_signature "
                             f"shape {spec.shape}. Received: shape {got}")


@tf_api
def function(func: Callable | None = None, input_signature: Any = None, autograph: bool = True,
             jit_compile: bool | None = None, reduce_retracing: bool = False, experimental_implements: Any = None,
             experimental_autograph_options: Any = None, experimental_attributes: Any = None,
             experimental_relax_shapes: Any = None, experimental_compile: Any = None,
             experimental_follow_type_hints: Any = None) -> Callable:
    """Decorator with ``tf.function``'s arguments; the function runs eagerly (torch has no graph to trace into).

    Args:
        func: the function (when used as ``@function`` without parentheses).
        input_signature: a list of :class:`TensorSpec`; calls with other shapes raise ``ShapeError``.
        jit_compile: True hands the function to ``torch.compile`` (compiled on its first call; on a CPU with
            few cores that can be slower than eager, so it is off by default).
        autograph, reduce_retracing, experimental_*: accepted; Python control flow already runs as written.

    Example:
        >>> @function(reduce_retracing=True)
        ... def step(x):
        ...     return x + 1
    """
    if func is None:
        return lambda f: function(f, input_signature=input_signature, jit_compile=jit_compile,
                                  experimental_compile=experimental_compile)
    if not callable(func):
        raise ArgumentTypeError(f"tf.function: decorate a function or method. Received: func={func!r}")
    compile_it = bool(jit_compile or experimental_compile)
    compiled: list[Callable] = []
    signature = None if input_signature is None else list(input_signature)

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if signature is not None:
            _check_signature(func, signature, args)
        if not compile_it:
            return func(*args, **kwargs)
        if not compiled:
            compiled.append(torch.compile(func))
        return compiled[0](*args, **kwargs)

    run.python_function = func
    run.input_signature = signature
    return run


@tf_api
def executing_eagerly() -> bool:
    """True: cnnlab always runs eagerly, as TF2 does by default."""
    return True


# --------------------------------------------------------------------------- tf.print


def _format_number(value: Any, dtype: np.dtype) -> str:
    if dtype == np.bool_:
        return "1" if value else "0"
    if dtype.kind == "f":
        # TF prints float32 with 9 significant digits and float64 with 17 (round-trip precision).
        return f"{float(value):.{17 if dtype == np.float64 else 9}g}"
    return str(value)


def _format_array(array: np.ndarray, summarize: int, indent: int = 0) -> str:
    if array.ndim == 0:
        return _format_number(array.item(), array.dtype)
    n = array.shape[0]
    cut = 0 <= summarize < n and n > 2 * summarize
    rows = list(range(summarize)) + [-1] + list(range(n - summarize, n)) if cut else list(range(n))
    if array.ndim == 1:
        items = ["..." if i < 0 else _format_number(array[i], array.dtype) for i in rows]
        return "[" + " ".join(items) + "]"
    parts = ["..." if i < 0 else _format_array(array[i], summarize, indent + 1) for i in rows]
    return "[" + ("\n" + " " * (indent + 1)).join(parts) + "]"


def _format_value(value: Any, summarize: int) -> str:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()
        return _format_array(tensor.numpy(), summarize)
    if isinstance(value, np.ndarray):
        return _format_array(value, summarize)
    inner = getattr(value, "value", None)
    if isinstance(inner, torch.Tensor):  # a cnnlab.Variable
        return _format_value(inner, summarize)
    if isinstance(value, (list, tuple)):
        body = ", ".join(_format_value(v, summarize) for v in value)
        return f"[{body}]" if isinstance(value, list) else f"({body}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_format_value(v, summarize)}" for k, v in value.items()) + "}"
    return str(value)


@tf_api
def print(*inputs: Any, output_stream: Any = None, summarize: int = 3, sep: str = " ", end: str = "\n",  # noqa: A001
          name: str | None = None) -> None:
    """Print values as ``tf.print``: tensors as their values (``[1 2 3]``), to stderr by default.

    Args:
        inputs: tensors, arrays, numbers, strings, or lists/dicts of them.
        output_stream: ``sys.stderr`` (TF's default), ``sys.stdout``, a file object, or ``"file://path"``.
        summarize: elements kept at each end of each axis (-1: all of them).
        sep, end: as in Python's ``print``.
    """
    text = sep.join(_format_value(v, int(summarize)) for v in inputs) + end
    stream = sys.stderr if output_stream is None else output_stream
    if isinstance(stream, str):
        if not stream.startswith("file://"):
            raise ArgumentTypeError("tf.print: output_stream must be sys.stdout, sys.stderr, a file object or "
                                    f"'file://<path>'. Received: output_stream={output_stream!r}")
        with open(stream[len("file://"):], "a", encoding="utf-8") as handle:
            handle.write(text)
        return
    stream.write(text)


__all__ = ["TensorSpec", "executing_eagerly", "function", "print"]

"""What every facade function shares: the argument check, namespaces with a did-you-mean, and TF's conversions.

``check_arguments`` gives a misspelt keyword (``tf.summary.scalar("loss", 1.0, stpe=3)``) an error naming the
right one, and turns torch's errors inside a facade function into cnnlab errors that name the TF function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
import torch

from cnnlab.eager import EagerTensor, hand_out
from cnnlab.errors import ArgumentTypeError, CnnlabError, ConfigError, ShapeError, did_you_mean

_F = TypeVar("_F", bound=Callable[..., Any])
_TORCH_ERRORS = (RuntimeError, IndexError, ValueError)


def _short(value: Any) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"<{type(value).__name__} shape={tuple(value.shape)} dtype={value.dtype}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _received(args: tuple, kwargs: dict) -> str:
    return ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])


def check_arguments(prefix: str) -> Callable[[_F], _F]:
    """Decorate a public function so misspelt keywords get a did-you-mean and torch errors name the function.

    Args:
        prefix: how the user reaches the function, e.g. ``"tf.nn"`` (the message says ``tf.nn.conv2d()``).

    Example:
        >>> @check_arguments("tf.summary")
        ... def scalar(name, data, step=None): ...
        >>> scalar("loss", 1.0, stpe=3)  # doctest: +SKIP
        ArgumentTypeError: tf.summary.scalar() got an unexpected keyword argument 'stpe'. Did you mean 'step'? ...
    """

    def decorate(fn: _F) -> _F:
        signature = inspect.signature(fn)
        params = signature.parameters.values()
        open_keywords = any(p.kind is p.VAR_KEYWORD for p in params)
        allowed = frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        where = f"{prefix}.{fn.__name__}" if prefix else fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if kwargs and not open_keywords and not allowed.issuperset(kwargs):
                key = next(k for k in kwargs if k not in allowed)
                raise ArgumentTypeError(
                    f"{where}() got an unexpected keyword argument '{key}'.{did_you_mean(key, allowed)} "
                    f"Valid arguments: {', '.join(sorted(allowed))}. Received: {key}={_short(kwargs[key])}")
            try:
                result = fn(*args, **kwargs)
                if type(result) is torch.Tensor and any(result is a for a in args):
                    return result.as_subclass(EagerTensor)  # the user's own tensor object keeps its type
                return hand_out(result)  # TF values: .numpy() always, eval() says what to write instead
            except CnnlabError:
                raise
            except TypeError as err:
                try:
                    signature.bind(*args, **kwargs)
                except TypeError as bad_call:
                    raise ArgumentTypeError(f"{where}(): {bad_call}. Signature: {where}{signature}. "
                                            f"Received: {_received(args, kwargs)}") from err
                raise ArgumentTypeError(f"{where}: {err}. Received: {_received(args, kwargs)}") from err
            except _TORCH_ERRORS as err:
                message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                kind = ShapeError if any(w in message.lower() for w in ("size", "shape", "dimension", "dim ")) \
                    else ConfigError
                raise kind(f"{where}: {message}. Check the shapes, axes and dtypes of the arguments. "
                           f"Received: {_received(args, kwargs)}") from err

        return wrapper  # type: ignore[return-value]

    return decorate


class Namespace:
    """A read-only bag of public names (``tf.nn``, ``tf.image``...) whose misspellings get a did-you-mean.

    Args:
        path: the name the user types, e.g. ``"tf.nn"``.
        members: the public names and their values.
    """

    def __init__(self, path: str, members: dict[str, Any]) -> None:
        self.__dict__.update(members)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_names", tuple(sorted(members)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        hint = did_you_mean(name, self._names) or f" Available: {', '.join(self._names)}."
        raise AttributeError(f"'{self._path}' has no attribute '{name}'.{hint}")

    def __dir__(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"<cnnlab facade namespace {self._path}>"


def namespace(path: str, module: Any, extra: dict[str, Any] | None = None,
              names: Iterable[str] | None = None) -> Namespace:
    """A :class:`Namespace` of ``names`` (default ``module.__all__``) from ``module``, plus ``extra``."""
    members = {name: getattr(module, name) for name in (module.__all__ if names is None else names)}
    members.update(extra or {})
    return Namespace(path, members)


# --------------------------------------------------------------------------- tensors, TF's way


def _on_default_device(t: torch.Tensor) -> torch.Tensor:
    """New tensors follow ``tf.device`` (torch's default device), as TF places new constants."""
    device = torch.get_default_device()
    return t if t.device == device or device.type == "cpu" else t.to(device)


def _python_kind(value: Any) -> type | None:
    """bool, int or float for nested Python numbers (TF types them bool/int32/float32), else None."""
    kinds: set[type] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (bool, int, float)) and not isinstance(item, np.generic):
            kinds.add(bool if isinstance(item, bool) else type(item))
        elif isinstance(item, torch.Tensor) and item.dim() == 0:
            kinds.add(float if item.is_floating_point() else int)
        else:
            return None
    return float if float in kinds or not kinds else int if int in kinds else bool


def to_tensor(value: Any, where: str, arg: str = "value") -> torch.Tensor:
    """``value`` as a torch tensor with TF's dtypes: Python floats float32, ints int32 (int64 if too large).

    Tensors (and Variables: their tensor, so gradients flow) pass through unchanged; NumPy arrays keep
    their dtype, as ``tf.convert_to_tensor`` does.
    """
    if isinstance(value, torch.Tensor):
        return value
    inner = getattr(value, "value", None)
    if isinstance(inner, torch.Tensor):
        return inner
    kind = _python_kind(value)
    if kind is not None:
        if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
            return torch.stack([to_tensor(v, where, arg) for v in value])
        dtype = {bool: torch.bool, int: torch.int32, float: torch.float32}[kind]
        try:
            return _on_default_device(torch.tensor(value, dtype=dtype))
        except RuntimeError:  # an int beyond int32: TF makes it int64
            return _on_default_device(torch.tensor(value, dtype=torch.int64))
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "USV":
        raise ArgumentTypeError(
            f"{where}: cannot make a tensor from {type(value).__name__} values (NumPy dtype {array.dtype}). "
            "cnnlab tensors are torch tensors, which hold numbers only (there is no tf.string): keep text in "
            f"Python lists or NumPy arrays. Received: {arg}={_short(value)}")
    if not array.flags.writeable or array.dtype.byteorder == ">" or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("="), copy=True))
    return _on_default_device(torch.from_numpy(array))


def to_float_tensor(value: Any, where: str, arg: str = "x") -> torch.Tensor:
    """:func:`to_tensor`, with integers and bools as float32 (for the ops TF defines on floats only)."""
    t = to_tensor(value, where, arg)
    return t if t.is_floating_point() or t.is_complex() else t.to(torch.float32)


def axes(axis: Any) -> tuple[int, ...] | None:
    """TF's ``axis`` (None, an int, a list, or a tensor of ints) as a tuple."""
    if axis is None:
        return None
    if isinstance(axis, torch.Tensor):
        axis = axis.tolist()
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return (int(axis),)


def int_list(value: Any, where: str, arg: str) -> list[int]:
    """A shape or a list of sizes given as a list, tuple, ``torch.Size``, int tensor or NumPy array."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    try:
        return [-1 if v is None else int(v) for v in value]
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{where}: {arg} must be a list of ints such as [2, 3]. "
                                f"Received: {arg}={_short(value)}") from None

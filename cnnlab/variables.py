"""Variables the Keras way: ``cnnlab.Variable`` and the tensors ``add_weight`` returns.

Two faces of one idea, for two jobs:

- :class:`WeightParameter` / :class:`StateTensor` are what ``Layer.add_weight``
  and ``Metric.add_variable`` return, and what ``layer.weights`` lists (the
  same objects, so ``layer.weights == [layer.w, layer.b]`` holds as in Keras):
  real torch tensors (a ``nn.Parameter``
  for a trainable weight), so every torch op, ``ops`` function and ``tf``
  facade call computes with them at full speed, with Keras's variable methods
  added (``assign``, ``assign_add``, ``assign_sub``, ``numpy()``, ``value``,
  ``trainable``). Their ``__torch_function__`` is torch's disabled one, as on
  ``nn.Parameter``: an op on them costs what it costs on a plain tensor. Their
  ``dtype`` stays a ``torch.dtype``, because torch's own Python code (optimizer
  state loading, ``torch.compile``, ONNX export) reads it.
  ``isinstance(w, keras.Variable)`` holds for them.
- :class:`Variable` is ``keras.Variable``: what ``cnnlab.Variable(2.0)``
  creates (and what a layer uses inside to track its weights). It holds such a tensor, reports ``dtype``
  as Keras's string (``"float32"``), and computes with tensors through
  ``__torch_function__`` and the arithmetic operators.

Example:
    >>> import cnnlab
    >>> v = cnnlab.Variable(2.0)
    >>> v.assign_add(1.0)
    >>> float(v * 2), v.dtype
    (6.0, 'float32')
"""

from __future__ import annotations

import abc
import itertools
import operator
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnlab import initializers as initializers_mod
from cnnlab.errors import ArgumentTypeError, ConfigError, ShapeError

_AUTO_NAMES = itertools.count()


def dtype_name(dtype: torch.dtype) -> str:
    """Keras's name of a torch dtype: ``torch.float32`` -> ``"float32"``."""
    return str(dtype).replace("torch.", "")


def to_torch_dtype(dtype: Any, default: torch.dtype = torch.float32) -> torch.dtype:
    """A torch dtype from a Keras name (``"float32"``), a torch or NumPy dtype, or None (``default``)."""
    if dtype is None:
        return default
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    except TypeError:
        name = None
    resolved = getattr(torch, name, None) if name else None
    if not isinstance(resolved, torch.dtype):
        raise ConfigError(f"unknown dtype; use a name such as 'float32' or 'int32'. Received: dtype={dtype!r}")
    return resolved


def _as_tensor(value: Any, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, Variable):
        value = value.value
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(np.asarray(value))
    if value.dtype != like.dtype or value.device != like.device:
        value = value.to(dtype=like.dtype, device=like.device)
    return value


def _check_same_shape(value: torch.Tensor, target: torch.Tensor, what: str, where: str) -> None:
    if tuple(value.shape) != tuple(target.shape):
        raise ShapeError(
            f"Cannot {what} weight '{where}': expected shape {tuple(target.shape)}, got {tuple(value.shape)}. "
            "Weights use Keras layouts (conv kernel (kh, kw, in, out), dense kernel (in, out)). "
            f"Received: value with shape {tuple(value.shape)}"
        )


class _KerasVariableMethods:
    """Keras variable methods for the tensor subclasses below (they work in place, outside autograd)."""

    _keras_name: str = "variable"
    _keras_path: str | None = None
    # Set by Layer.add_weight: the fit loop adds the penalty, the optimizer applies the constraint.
    regularizer = None
    constraint = None

    def assign(self, value: Any):
        """Set the values (same shape, or a scalar broadcast); returns the variable."""
        new = _as_tensor(value, self)
        _check_same_shape(new, self, "assign to", self.path)
        with torch.no_grad():
            self.copy_(new)
        return self

    def assign_add(self, delta: Any):
        """Add ``delta`` in place; returns the variable."""
        with torch.no_grad():
            self.add_(_as_tensor(delta, self))
        return self

    def assign_sub(self, delta: Any):
        """Subtract ``delta`` in place; returns the variable."""
        with torch.no_grad():
            self.sub_(_as_tensor(delta, self))
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array (a copy, detached from autograd)."""
        return self.detach().cpu().numpy().copy()

    @property
    def value(self) -> torch.Tensor:
        """The tensor itself (Keras's ``variable.value``; ``.grad`` holds its gradient after backward)."""
        return self

    @property
    def name(self) -> str:
        return self._keras_name

    @property
    def path(self) -> str:
        return self._keras_path or self._keras_name

    @property
    def trainable(self) -> bool:
        return isinstance(self, nn.Parameter) and self.requires_grad

    @trainable.setter
    def trainable(self, value: bool) -> None:
        if not isinstance(self, nn.Parameter):
            if value:
                raise ConfigError(f"variable '{self.path}' was created with trainable=False and holds no gradient; "
                                  "create it with trainable=True to train it. Received: trainable=True")
            return
        self.requires_grad_(bool(value))

    def __repr__(self) -> str:
        return (f"<Variable path={self.path}, shape={tuple(self.shape)}, dtype={dtype_name(self.dtype)}, "
                f"value={self.numpy()}>")

    def _set_keras_identity(self, name: str, path: str | None):
        self._keras_name = name
        self._keras_path = path
        return self


class WeightParameter(_KerasVariableMethods, nn.Parameter):
    """A trainable weight: an ``nn.Parameter`` with Keras's variable methods."""

    def __new__(cls, data: torch.Tensor | None = None, requires_grad: bool = True):
        return super().__new__(cls, data, requires_grad)


class StateTensor(_KerasVariableMethods, torch.Tensor):
    """A non-trainable weight or a metric's state: a tensor (a module buffer) with Keras's variable methods."""

    __torch_function__ = torch._C._disabled_torch_function_impl

    @staticmethod
    def __new__(cls, data: torch.Tensor):
        return torch.Tensor._make_subclass(cls, data, False)

    def __deepcopy__(self, memo):
        result = StateTensor(self.detach().clone())
        result.__dict__.update(self.__dict__)
        memo[id(self)] = result
        return result


def make_weight(value: torch.Tensor, trainable: bool, name: str, path: str | None = None) -> torch.Tensor:
    """``value`` as a :class:`WeightParameter` (trainable floats) or a :class:`StateTensor`."""
    if trainable and value.dtype.is_floating_point:
        return WeightParameter(value, requires_grad=True)._set_keras_identity(name, path)
    return StateTensor(value)._set_keras_identity(name, path)


def _unwrap(value: Any) -> Any:
    if isinstance(value, Variable):
        return value.value
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


class Variable(metaclass=abc.ABCMeta):
    """A Keras variable (``keras.Variable``): a named tensor that training or your code updates in place.

    ``layer.weights`` lists them; create a standalone one with an initial value or an initializer and a shape.
    It computes with tensors like a tensor does (``v * x``, ``torch.matmul(x, v)``, ``ops.sum(v)``).

    Args:
        initializer: the initial value (number, array, tensor) or an initializer (name, object or callable
            ``f(shape, dtype)``) used with ``shape``.
        shape: the shape, needed with an initializer.
        dtype: e.g. ``"float32"`` (default: float32 for float values and initializers, the value's for others).
        trainable: whether gradients flow to it (float variables only).
        name: its name (default ``variable``, ``variable_1``, ...).
        autocast, aggregation, synchronization: accepted for Keras compatibility; they change nothing here.

    Example:
        >>> v = Variable(initializer="ones", shape=(2,), name="w")
        >>> v.assign_sub([0.5, 0.5]).numpy()
        array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, initializer: Any = None, shape=None, dtype=None, trainable: bool = True, autocast: bool = True,
                 aggregation: str = "none", synchronization: str = "auto", name: str | None = None, *,
                 initial_value: Any = None):
        if initial_value is not None:
            if initializer is not None:
                raise ArgumentTypeError("Variable(): pass the initial value once, as initializer= (Keras 3) or "
                                        "initial_value= (tf.Variable). Received: both")
            initializer = initial_value
        if initializer is None:
            raise ArgumentTypeError("Variable(): give an initial value or an initializer with a shape, e.g. "
                                    "Variable(0.0) or Variable(initializer='zeros', shape=(3,)). Received: initializer=None")
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ConfigError(f"Variable(): name must be a string without '/'. Received: name={name!r}")
        self._name = name or _auto_name()
        value = _initial_value(initializer, shape, dtype, self._name)
        self._regularizer = None
        self._constraint = None
        self._layer = None
        self._trainable = bool(trainable) and value.dtype.is_floating_point
        self._tensor = make_weight(value, self._trainable, self._name)

    # ------------------------------------------------------------------ identity
    @property
    def value(self) -> torch.Tensor:
        """The tensor (an ``nn.Parameter`` when trainable); ``value.grad`` is its gradient after backward."""
        return self._tensor

    @property
    def name(self) -> str:
        return self._name

    @property
    def path(self) -> str:
        return f"{self._layer.name}/{self._name}" if self._layer is not None else self._name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def ndim(self) -> int:
        return self.value.dim()

    @property
    def dtype(self) -> str:
        return dtype_name(self.value.dtype)

    @property
    def regularizer(self):
        return self._regularizer

    @regularizer.setter
    def regularizer(self, value) -> None:
        from cnnlab import regularizers

        self._regularizer = regularizers.get(value)

    @property
    def constraint(self):
        return self._constraint

    @constraint.setter
    def constraint(self, value) -> None:
        from cnnlab import constraints

        self._constraint = constraints.get(value)
        self.value.constraint = self._constraint

    @property
    def trainable(self) -> bool:
        if self._layer is None:
            return self._trainable
        return self._trainable and self._layer.trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        tensor = self.value
        if value and not isinstance(tensor, nn.Parameter):
            raise ConfigError(f"variable '{self.path}' was created with trainable=False; create it trainable to train "
                              "it. Received: trainable=True")
        self._trainable = value
        if isinstance(tensor, nn.Parameter):
            tensor.requires_grad_(self.trainable)

    # ------------------------------------------------------------------ values
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (a copy)."""
        return self.value.detach().cpu().numpy().copy()

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def assign(self, value: Any) -> Variable:
        """Set the values, checking the shape (Keras layout); returns the variable."""
        target = self.value
        new = _as_tensor(value, target)
        _check_same_shape(new, target, "assign to", self.path)
        with torch.no_grad():
            target.copy_(new)
        return self

    def assign_add(self, delta: Any) -> Variable:
        """Add ``delta`` in place; returns the variable."""
        target = self.value
        with torch.no_grad():
            target.add_(_as_tensor(delta, target))
        return self

    def assign_sub(self, delta: Any) -> Variable:
        """Subtract ``delta`` in place; returns the variable."""
        target = self.value
        with torch.no_grad():
            target.sub_(_as_tensor(delta, target))
        return self

    # -------------------------------------------------------------- computing
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_unwrap(args), **_unwrap(kwargs or {}))

    def __getitem__(self, index):
        return self.value[_unwrap(index)]

    def __len__(self) -> int:
        return len(self.value)

    def __float__(self) -> float:
        return float(self.value.detach())

    def __int__(self) -> int:
        return int(self.value.detach())

    def __bool__(self) -> bool:
        return bool(self.value.detach())

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value={self.numpy()}>"


# What add_weight returns is what layer.weights lists, so it is a keras.Variable too (isinstance holds).
Variable.register(WeightParameter)
Variable.register(StateTensor)


def _binary(op):
    def method(self, other):
        return op(self.value, _unwrap(other))

    return method


def _reflected(op):
    def method(self, other):
        return op(_unwrap(other), self.value)

    return method


for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("pow", operator.pow), ("matmul", operator.matmul), ("and", operator.and_),
                   ("or", operator.or_), ("xor", operator.xor)):
    setattr(Variable, f"__{_name}__", _binary(_op))
    setattr(Variable, f"__r{_name}__", _reflected(_op))
for _name, _op in (("lt", operator.lt), ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge)):
    setattr(Variable, f"__{_name}__", _binary(_op))
for _name, _op in (("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs), ("invert", operator.invert)):
    setattr(Variable, f"__{_name}__", (lambda op: lambda self: op(self.value))(_op))


def _auto_name() -> str:
    count = next(_AUTO_NAMES)
    return "variable" if count == 0 else f"variable_{count}"


def _initial_value(initializer: Any, shape, dtype, name: str) -> torch.Tensor:
    """The first value of a standalone Variable: a given value, or an initializer run for ``shape``."""
    is_initializer = isinstance(initializer, (str, initializers_mod.Initializer, dict)) or (
        callable(initializer) and not isinstance(initializer, (torch.Tensor, np.ndarray)))
    if is_initializer:
        if shape is None:
            raise ShapeError(f"Variable '{name}': an initializer needs a shape, e.g. "
                             f"Variable(initializer={initializer!r}, shape=(3,)). Received: shape=None")
        init = initializers_mod.get(initializer, where=f"Variable '{name}' argument initializer")
        torch_dtype = to_torch_dtype(dtype)
        return initializers_mod.initialize(init, tuple(int(d) for d in shape), torch_dtype)
    if isinstance(initializer, Variable):
        initializer = initializer.value
    value = initializer.detach().clone() if isinstance(initializer, torch.Tensor) else torch.as_tensor(
        np.asarray(initializer))
    if dtype is not None:
        value = value.to(to_torch_dtype(dtype))
    elif value.dtype == torch.float64:
        value = value.to(torch.float32)  # Python floats and float64 arrays become Keras's floatx
    elif value.dtype == torch.int64 and not isinstance(initializer, torch.Tensor):
        value = value.to(torch.int32)  # Keras: a Python int makes an int32 variable
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ShapeError(f"Variable '{name}': the initial value has shape {tuple(value.shape)}, but shape="
                         f"{tuple(shape)} was given. Received: shape={tuple(shape)}")
    return value

"""Symbolic tensors and graph nodes of the functional API.

``Input(shape=...)`` returns a :class:`KerasTensor`: a placeholder that has a
shape (with ``None`` for the batch axis) but no values. Calling a layer on one
records a :class:`Node` and returns new KerasTensors, so
``Model(inputs, outputs)`` can later walk the graph from outputs back to
inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


class DTypeName(str):
    """A dtype as Keras names it (``"float32"``) that also equals the torch dtype (``torch.float32``)."""

    def __eq__(self, other) -> bool:
        if isinstance(other, torch.dtype):
            other = str(other).replace("torch.", "")
        return str.__eq__(self, other)

    def __ne__(self, other) -> bool:
        return not self == other

    __hash__ = str.__hash__

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, str(self))


# Operators on symbolic tensors record graph operations (Keras 3: ``x + 1`` is an ``Add`` node). The builder
# lives above this module (cnnlab.models.op_nodes), which registers it when cnnlab is imported.
_OPERATOR_BUILDER: list = []


def set_operator_builder(builder) -> None:
    """Register ``builder(function, call_args, config=None)``, which records an operation and returns its output."""
    _OPERATOR_BUILDER[:] = [builder]


def _operate(function: str, call_args: tuple, config: dict | None = None):
    if not _OPERATOR_BUILDER:
        return NotImplemented
    return _OPERATOR_BUILDER[0](function, call_args, config)


def _binary(function: str):
    """``(a.__op__, a.__rop__)`` recording ``ops.<function>``."""
    return (lambda self, other: _operate(function, (self, other)),
            lambda self, other: _operate(function, (other, self)))


class KerasTensor:
    """A symbolic tensor: a shape and dtype, produced by a layer in a graph.

    Python operators on it (``+ - * / // % ** @``, unary ``-``, ``abs``, ``< <= > >=``, ``& | ^ ~``,
    ``x[...]``) record graph operations named as Keras names them (``add``, ``get_item``, ...).

    Args:
        shape: full shape including the batch axis, e.g. ``(None, 28, 28, 1)``.
        dtype: dtype of the values it stands for (a Keras name or a torch dtype); ``.dtype`` reads as
            Keras's string, ``"float32"``.
        node: the node that produced it (``None`` for a free tensor).
        index: which output of that node it is.
    """

    def __init__(self, shape: tuple, dtype: torch.dtype | str = torch.float32, node: Node | None = None,
                 index: int = 0, name: str | None = None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = DTypeName(str(dtype).replace("torch.", ""))
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def sparse(self) -> bool:
        return False

    @property
    def ragged(self) -> bool:
        return False

    def __repr__(self) -> str:
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse=False, ragged=False, "
                f"name={self.name}>")

    __array_ufunc__ = None  # numpy defers to the reflected operators: np.float32(2) * x records a Multiply

    __add__, __radd__ = _binary("add")
    __sub__, __rsub__ = _binary("subtract")
    __mul__, __rmul__ = _binary("multiply")
    __matmul__, __rmatmul__ = _binary("matmul")
    __truediv__, __rtruediv__ = _binary("true_divide")
    __floordiv__, __rfloordiv__ = _binary("floor_divide")
    __mod__, __rmod__ = _binary("mod")
    __pow__, __rpow__ = _binary("power")
    __and__, __rand__ = _binary("logical_and")
    __or__, __ror__ = _binary("logical_or")
    __xor__, __rxor__ = _binary("logical_xor")
    # Keras also maps != to NotEqual; cnnlab keeps identity comparisons (== and !=) for graph bookkeeping.
    __lt__ = _binary("less")[0]
    __le__ = _binary("less_equal")[0]
    __gt__ = _binary("greater")[0]
    __ge__ = _binary("greater_equal")[0]

    def __neg__(self):
        return _operate("negative", (self,))

    def __abs__(self):
        return _operate("absolute", (self,))

    def __invert__(self):
        return _operate("logical_not", (self,))

    def __round__(self, ndigits=None):
        return _operate("round", (self,), {"decimals": ndigits or 0})

    def __getitem__(self, key):
        return _operate("get_item", (self, key))

    def reshape(self, newshape):
        return _operate("reshape", (self,), {"newshape": newshape})

    def squeeze(self, axis=None):
        return _operate("squeeze", (self,), {"axis": axis})

    def __iter__(self):
        raise TypeError("A symbolic tensor cannot be iterated: it stands for a batch whose size is not known yet. "
                        "Index it (x[:, 0]) or use ops.unstack(x, num, axis) instead.")

    def __len__(self):
        raise TypeError("A symbolic tensor has no length: it stands for a batch whose size is not known yet.")

    def __array__(self, *args, **kwargs):
        from cnnlab.errors import ArgumentTypeError

        raise ArgumentTypeError(
            f"{self!r} is symbolic (a placeholder in a functional model) and has no values. "
            "Build a Model from it and call the model on data: cnnlab.Model(inputs, outputs)(x)."
        )


@dataclass(eq=False)
class Node:
    """One call of a layer on symbolic inputs.

    ``call_args`` and ``call_kwargs`` are the call's arguments as written, with KerasTensors where tensors were
    passed (Keras 3 takes any call signature: every tensor argument, positional or keyword, is a graph input);
    ``inputs`` lists those tensors in order, positional ones first.
    """

    layer: Any
    inputs: list[KerasTensor]
    outputs: list[KerasTensor] = field(default_factory=list)
    call_kwargs: dict = field(default_factory=dict)
    input_structure: Any = None  # the first positional argument (a tensor or a list of them)
    call_args: tuple = ()

    def __post_init__(self):
        if not self.call_args:
            self.call_args = (self.input_structure,)

    @property
    def parent_nodes(self) -> list[Node]:
        return [t.node for t in self.inputs if t.node is not None]

    @property
    def single_input_call(self) -> bool:
        """True when the call was ``layer(inputs, **options)``: one positional argument, no tensor keywords."""
        return len(self.call_args) == 1 and not any(is_symbolic(v) for v in self.call_kwargs.values())

    def fill_in(self, values: dict[int, Any]) -> tuple[tuple, dict]:
        """The call's ``(args, kwargs)`` with each KerasTensor replaced by ``values[id(tensor)]``."""

        def fill(structure):
            return map_tensors(structure, lambda t: values[id(t)])

        return fill(self.call_args), {k: fill(v) for k, v in self.call_kwargs.items()}


def symbolic_leaves(structure) -> list[KerasTensor]:
    """The KerasTensors in a nested structure of call arguments, in order (other values skipped)."""
    return [leaf for leaf in flatten(structure) if isinstance(leaf, KerasTensor)]


def map_tensors(structure, fn):
    """``structure`` with every KerasTensor leaf replaced by ``fn(tensor)``; lists, tuples, dicts kept."""
    if isinstance(structure, KerasTensor):
        return fn(structure)
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_tensors(x, fn) for x in structure)
    if isinstance(structure, dict):
        return {k: map_tensors(v, fn) for k, v in structure.items()}
    return structure


def flatten(structure) -> list:
    """Flatten nested lists/tuples/dicts into a list of leaves (dicts by sorted key)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    return [structure]


def pack_like(structure, leaves: list):
    """Inverse of :func:`flatten`: rebuild ``structure`` with ``leaves`` in order."""
    it = iter(leaves)

    def rebuild(s):
        if isinstance(s, (list, tuple)):
            return type(s)(rebuild(x) for x in s)
        if isinstance(s, dict):
            return {k: rebuild(s[k]) for k in sorted(s)}
        return next(it)

    return rebuild(structure)


def is_symbolic(structure) -> bool:
    if isinstance(structure, torch.Tensor):  # the eager call's common case, without flattening
        return False
    return any(isinstance(leaf, KerasTensor) for leaf in flatten(structure))

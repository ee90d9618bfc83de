"""Operations on symbolic tensors: ``x * 0.5 + y`` or ``ops.mean(x, axis=1)`` inside a functional model.

As in Keras 3, an operator or a ``cnnlab.ops`` function applied to a KerasTensor records a graph node whose
"layer" is an :class:`Operation`: a weightless step with Keras's class name (``Add``, ``Multiply``, ``Mean``),
an automatic name (``add``, ``add_1``, ...) and a config of the op's non-tensor arguments. The summary lists it
(``add (Add)``); ``model.layers`` does not (it holds layers only); model configs write it as Keras does::

    {"module": "keras.src.ops.numpy", "class_name": "Mean", "registered_name": "Mean", "name": "mean",
     "config": {"name": "mean", "axis": -1, "keepdims": true}, "inbound_nodes": [...]}

Loading runs no code from the file: the class must be one of :data:`~cnnlab.models._op_table.KERAS_OPS`
(the allow-list of cnnlab.ops functions), its config keys that op's parameters, and every argument a JSON
value, a slice, ``...`` or a tensor of the graph.

This module installs itself when cnnlab is imported: it wraps the listed functions in the ``cnnlab.ops``
namespaces (a wrapper that only looks for symbolic arguments) and gives :mod:`cnnlab.layers.node` the
builder its operators call.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any

import torch

from cnnlab.errors import ConfigError, FileFormatError
from cnnlab.layers.base import to_snake_case, unique_name
from cnnlab.layers.node import DTypeName, KerasTensor, Node, flatten, map_tensors, pack_like, set_operator_builder
from cnnlab.models._op_table import ALIASES, KERAS_OPS

KERAS_OPS_MODULE = "keras.src.ops."  # Keras 3 writes each operation's module as keras.src.ops.<numpy|nn|...>
_JSON_SCALARS = (bool, int, float, str, type(None))
_PROBE_SIZES = (2, 3)  # sizes given to unknown axes when probing an op: axes that follow them come out None
_RAW_FUNCTIONS: dict[str, Any] = {}  # function name -> the cnnlab.ops function before wrapping
_CLASSES: dict[str, type] = {}


class Operation:
    """A weightless step of a functional graph: one ``cnnlab.ops`` function with its non-tensor arguments.

    Created by operators and ``cnnlab.ops`` calls on symbolic tensors, never by hand. Each Keras op class has
    its own subclass (``Add``, ``Mean``), so the summary's type column reads as Keras's.

    Args:
        function: the ``cnnlab.ops`` function name (``"mean"``).
        config: its non-tensor arguments (``{"axis": -1, "keepdims": True}``).
        name: the node's name (default: the snake_case class name with a counter, ``mean``, ``mean_1``).
    """

    function: str = ""
    built = True
    trainable = True
    weights: list = []
    trainable_weights: list = []
    non_trainable_weights: list = []
    _last_shapes = None

    def __init__(self, config: dict | None = None, name: str | None = None):
        self.config = dict(config or {})
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._inbound_nodes: list[Node] = []

    def __repr__(self) -> str:
        return f"<Operation name={self.name}>"

    def count_params(self) -> int:
        return 0

    @property
    def keras_module(self) -> str:
        return KERAS_OPS_MODULE + KERAS_OPS[self.function][0]

    def compute(self, *args):
        """The op on real tensors: ``function(*args, **config)``."""
        call_params = KERAS_OPS[self.function][2]
        return _RAW_FUNCTIONS[self.function](**dict(zip(call_params, args)), **self.config)

    def __call__(self, *args):
        if any(isinstance(leaf, KerasTensor) for leaf in flatten(list(args))):
            return self.symbolic_call(*args)
        return self.compute(*args)

    def symbolic_call(self, *args):
        """Record a node for ``args`` (tensors and constants) and return its symbolic output(s)."""
        shapes, dtypes, structure = self._output_specs(args)
        node = Node(self, [t for t in flatten(list(args)) if isinstance(t, KerasTensor)], input_structure=args[0],
                    call_args=tuple(args))
        node.outputs = [KerasTensor(s, d, node=node, index=i, name=self.name)
                        for i, (s, d) in enumerate(zip(shapes, dtypes))]
        self._inbound_nodes.append(node)
        return node.outputs[0] if structure is None else pack_like(structure, node.outputs)

    def _output_specs(self, args) -> tuple[list, list, Any]:
        """Output shapes (None where an input's unknown axis shows through), dtypes and list structure.

        The op runs on zeros twice, unknown axes given two different sizes: an output axis whose size changes
        with them is unknown too. Exact for the shape-following ops graphs use; no per-op shape rules to drift.
        """
        probes = []
        for size in _PROBE_SIZES:
            concrete = map_tensors(list(args), lambda t, size=size: torch.zeros(
                [size if d is None else d for d in t.shape], dtype=t.dtype.torch_dtype))
            try:
                with torch.no_grad():
                    probes.append(self.compute(*concrete))
            except Exception as err:
                shown = ", ".join(repr(a.shape) if isinstance(a, KerasTensor) else repr(a) for a in args)
                raise type(err)(f"ops.{self.function} on symbolic tensors ({shown}) failed: {err}") from err
        first, second = probes
        structure = None if isinstance(first, torch.Tensor) else first
        outs_a, outs_b = flatten(first), flatten(second)
        shapes = [tuple(a if a == b else None for a, b in zip(x.shape, y.shape)) for x, y in zip(outs_a, outs_b)]
        dtypes = [DTypeName(str(x.dtype).replace("torch.", "")) for x in outs_a]
        return shapes, dtypes, structure

    def get_config(self) -> dict:
        config = {"name": self.name}
        for key, value in self.config.items():
            config[key] = _json_value(value, f"{self.function} argument {key}")
        return config


def operation_class(function: str) -> type:
    """The :class:`Operation` subclass Keras names for a ``cnnlab.ops`` function (``"add"`` -> ``Add``)."""
    if function not in _CLASSES:
        class_name = KERAS_OPS[function][1]
        _CLASSES[function] = type(class_name, (Operation,), {"function": function, "__module__": __name__,
                                                              "__doc__": f"``ops.{function}`` as a graph step."})
    return _CLASSES[function]


def _json_value(value, where: str):
    """A config value as JSON: tuples as lists, dtypes by Keras name."""
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, (list, tuple)):
        return [_json_value(v, where) for v in value]
    if isinstance(value, _JSON_SCALARS):
        return value
    raise ConfigError(f"Saving a functional model: the {where} is {type(value).__name__}, which a model config "
                      f"cannot hold (numbers, strings, None and lists of them only). Pass a plain Python value. "
                      f"Received: {value!r:.100}")


# ------------------------------------------------------------------------------ building
def _apply(function: str, call_args: tuple, config: dict) -> Any:
    return operation_class(function)(config).symbolic_call(*call_args)


def _has_symbolic(args, kwargs) -> bool:
    for value in (*args, *kwargs.values()):
        if type(value) is KerasTensor:
            return True
        if type(value) in (list, tuple) and any(type(v) is KerasTensor for v in value):
            return True
    return False


def _symbolic_aware(fn, function: str):
    """``fn`` that records an operation instead of computing when any argument is symbolic."""
    signature = inspect.signature(fn)
    _, _, call_params, config_params = KERAS_OPS[function]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _has_symbolic(args, kwargs):
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = bound.arguments
        return _apply(function, tuple(values[p] for p in call_params), {p: values[p] for p in config_params})

    wrapper.__cnnlab_symbolic__ = function
    return wrapper


def _install() -> None:
    """Wrap every listed function in the loaded ``cnnlab.ops`` modules and hand node.py its builder."""
    import cnnlab.ops as ops_package  # noqa: F401  loads the namespaces wrapped below

    modules = [m for name, m in list(sys.modules.items()) if name == "cnnlab.ops" or name.startswith("cnnlab.ops.")]
    for name in [*KERAS_OPS, *ALIASES]:
        function = ALIASES.get(name, name)
        fn = getattr(ops_package, name, None)
        if fn is None or function not in KERAS_OPS or hasattr(fn, "__cnnlab_symbolic__"):
            continue
        if name == function:
            _RAW_FUNCTIONS[function] = fn
        wrapped = _symbolic_aware(fn, function)
        for module in modules:
            if getattr(module, name, None) is fn:
                setattr(module, name, wrapped)
    set_operator_builder(lambda function, call_args, config=None: _apply(function, call_args, config or {}))


_install()


# --------------------------------------------------------------------------- config I/O
def is_operation_entry(entry) -> bool:
    """Whether a model config's layer entry is an operation (Keras writes its module as keras.src.ops.*)."""
    return isinstance(entry, dict) and str(entry.get("module") or "").startswith(KERAS_OPS_MODULE)


def operation_entry(op: Operation, inbound_nodes: list) -> dict:
    """The config entry Keras 3 writes for an operation node."""
    class_name = type(op).__name__
    return {"module": op.keras_module, "class_name": class_name, "registered_name": class_name, "name": op.name,
            "config": op.get_config(), "inbound_nodes": inbound_nodes}


_BY_CLASS = {(KERAS_OPS_MODULE + module, class_name): function
             for function, (module, class_name, _, _) in KERAS_OPS.items()}


def operation_from_config(entry: dict) -> Operation:
    """Rebuild an operation from its config entry, checked against the allow-list.

    Raises:
        FileFormatError: an op cnnlab does not list, an unknown argument or a value that is not JSON data.
    """
    module, class_name = entry.get("module"), entry.get("class_name")
    config = dict(entry.get("config") or {})
    name = config.pop("name", None) or entry.get("name")
    function = _BY_CLASS.get((module, class_name))
    if function is None or function not in _RAW_FUNCTIONS:
        raise FileFormatError(f"Model config: operation {name!r} is {module}.{class_name}, which is not among the "
                              "ops cnnlab can rebuild (cnnlab.models._op_table). Rebuild the model without it, or "
                              f"wrap it in a layer. Received: class_name={class_name!r}")
    allowed = KERAS_OPS[function][3]
    unknown = [key for key in config if key not in allowed]
    if unknown:
        raise FileFormatError(f"Model config: operation {name!r} ({class_name}) has the argument {unknown[0]!r}, "
                              f"which ops.{function} does not take (it takes {list(allowed)}). The file is corrupt "
                              f"or from a newer Keras. Received: {unknown[0]}={config[unknown[0]]!r:.100}")
    for key, value in config.items():
        _check_json(value, f"operation {name!r} argument {key!r}")
    return operation_class(function)(config, name=name)


def _check_json(value, where: str) -> None:
    if isinstance(value, list):
        for item in value:
            _check_json(item, where)
    elif not isinstance(value, _JSON_SCALARS):
        raise FileFormatError(f"Model config: {where} must be JSON data (numbers, strings, null, lists); got "
                              f"{type(value).__name__}. Received: {value!r:.100}")


def encode_argument(value, tensor_ref):
    """A call argument in Keras's config form: tensors via ``tensor_ref``, slices and ``...`` as Keras marks them."""
    if isinstance(value, KerasTensor):
        return tensor_ref(value)
    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {"start": encode_argument(value.start, tensor_ref),
                                                      "stop": encode_argument(value.stop, tensor_ref),
                                                      "step": encode_argument(value.step, tensor_ref)}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, (list, tuple)):
        return [encode_argument(v, tensor_ref) for v in value]
    return _json_value(value, "operation argument")


def decode_argument(value, where: str):
    """Inverse of :func:`encode_argument` for constants (tensor entries are left for the graph to resolve)."""
    if isinstance(value, dict):
        kind = value.get("class_name")
        if kind == "__ellipsis__":
            return Ellipsis
        if kind == "__slice__":
            parts = value.get("config") or {}
            return slice(*(decode_argument(parts.get(k), where) for k in ("start", "stop", "step")))
        if kind == "__keras_tensor__":
            return value
        raise FileFormatError(f"Model config: {where} holds an object of class {kind!r}; operation arguments may "
                              f"only be tensors, slices, ... and JSON values. Received: {value!r:.100}")
    if isinstance(value, list):
        return [decode_argument(v, where) for v in value]
    _check_json(value, where)
    return value


def decoded_call_arguments(op: Operation, args: list) -> list:
    """A saved call's arguments for ``op``; GetItem's index list becomes the tuple it was (as Keras reads it)."""
    decoded = [decode_argument(a, f"a call of operation {op.name!r}") for a in args]
    if op.function == "get_item" and len(decoded) == 2 and isinstance(decoded[1], list):
        decoded[1] = tuple(decoded[1])
    return decoded

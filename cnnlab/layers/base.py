"""The base of every layer and model: :class:`Layer` and :class:`Variable`.

A layer has four parts, in this order (as in Keras):

- ``__init__``: store and validate the arguments (a bad argument fails here,
  where the user wrote it);
- ``build(input_shape)``: create weights with :meth:`Layer.add_weight` once the
  input shape is known;
- ``call(inputs)``: compute on torch tensors;
- ``compute_output_shape(input_shape)`` and ``get_config()``.

Every layer is a :class:`torch.nn.Module`. Weights are stored in Keras layouts
(conv kernel ``(kh, kw, in, out)``, dense kernel ``(in, out)``), so
``get_weights``, ``set_weights`` and saved files line up with Keras models.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import weakref
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnlab import initializers as initializers_mod
from cnnlab import regularizers as regularizers_mod
from cnnlab import constraints as constraints_mod
from cnnlab.eager import EagerTensor, hand_out, plain, plain_outputs  # noqa: F401  EagerTensor, plain_outputs: re-exported
from cnnlab.errors import ArgumentTypeError, ConfigError, NotBuiltError, ShapeError, did_you_mean
from cnnlab.layers.node import KerasTensor, Node, flatten, is_symbolic, map_tensors, pack_like, symbolic_leaves
from cnnlab.metrics import Metric
from cnnlab.variables import StateTensor, Variable as KerasVariable, WeightParameter, make_weight, to_torch_dtype

_NAME_COUNTS: dict[str, int] = defaultdict(int)
_BASE_KWARGS = ("name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size", "input_dim")


def to_snake_case(name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d`` (Keras's rule)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """Per-process counter like Keras: ``conv2d``, ``conv2d_1``, ``conv2d_2``, ..."""
    count = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if count == 0 else f"{base}_{count}"


def reset_names() -> None:
    """Restart the automatic name counters (Keras's ``clear_session`` does this)."""
    _NAME_COUNTS.clear()


class Variable(KerasVariable):
    """A weight of a layer, seen the Keras way: what ``layer.weights`` lists.

    It reads the tensor the layer registered under ``attr`` (a ``nn.Parameter``
    when trainable, a buffer otherwise) each time, so it follows the layer
    through ``model.to(device)``; ``name`` is the Keras name (``kernel``).
    """

    def __init__(self, layer: Layer, attr: str, regularizer=None, constraint=None, trainable: bool = True,
                 name: str | None = None):
        self._layer = layer
        self._attr = attr
        self._name = name or attr
        self._regularizer = regularizer
        self._constraint = constraint
        self._trainable = trainable
        self._tensor = None

    @property
    def value(self) -> torch.Tensor:
        layer, attr = self._layer, self._attr
        found = layer._parameters.get(attr)
        if found is None:
            found = layer._buffers.get(attr)
        return found if found is not None else getattr(layer, attr)


def _exposed(var: Variable):
    """What ``layer.weights`` lists for ``var``: the tensor ``add_weight`` returned (so ``weights == [w, b]``
    holds by identity, as in Keras), or the wrapper itself for weights held elsewhere (a wrapped torch module's)."""
    tensor = var.value
    return tensor if type(var) is Variable and isinstance(tensor, _WEIGHT_TYPES) else var


def _mirror_on_tensor(var: Variable, tensor: torch.Tensor) -> torch.Tensor:
    """Copy the wrapper's regularizer and constraint onto the tensor users see (the optimizer reads the constraint,
    ``layer.losses`` and the fit loop the regularizer)."""
    if var.regularizer is not None:
        tensor.regularizer = var.regularizer
    if var.constraint is not None:
        tensor.constraint = var.constraint  # the optimizer applies it after each update, as Keras's does
    return tensor


class InputSpec:
    """What a layer accepts: a rank and, once built, fixed sizes on some axes."""

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None, axes: dict[int, int] | None = None,
                 layout: str | None = None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.axes = axes or {}
        self.layout = layout


# add_weight's positional arguments: Keras 3's, or cnnlab's older order with the name first.
_KERAS_WEIGHT_ARGS = ("shape", "initializer", "dtype")
_LEGACY_WEIGHT_ARGS = ("name", "shape", "initializer", "regularizer", "trainable", "constraint", "dtype")
_WEIGHT_KEYWORDS = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint",
                    "aggregation", "synchronization", "overwrite_with_gradient", "name")


def _weight_shape(shape, where: str) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0
                               for d in dims):
        raise ShapeError(f"{where}: shape must be a tuple of known, non-negative ints (no None), e.g. (3, 3, 1, 32). "
                         f"Received: shape={shape!r}")
    return tuple(int(d) for d in dims)


_WEIGHT_TYPES = (WeightParameter, StateTensor)

_TRAINING_CONTEXT: list[bool] = []
# How deep the eager layer calls of this process are nested: depth 0 is the call a user (or the trainer) made.
_CALL_DEPTH = [0]
# Layers holding add_loss() values; the next outermost call clears its own. Empty for most models, so the
# check costs nothing.
_LOSS_HOLDERS: weakref.WeakSet = weakref.WeakSet()
# How many metrics were ever set as layer attributes: while 0, model.metrics need not look for them.
_METRIC_ATTRIBUTES = [0]
# >0 while a layer runs on dummy data to learn shapes: what it adds with add_loss then is not a real loss.
_SHAPE_PROBE = [0]
# Bytes of weights layers may still create while a model is rebuilt from a file (None: no limit). A file
# cannot make cnnlab allocate more than the weights it holds: a config naming units=10**12 fails cleanly.
_WEIGHT_BUDGET: list[int] = []


@contextlib.contextmanager
def weight_budget(nbytes: int):
    """Refuse weights beyond ``nbytes`` in total while the block runs (used when loading files)."""
    _WEIGHT_BUDGET.append(int(nbytes))
    try:
        yield
    finally:
        _WEIGHT_BUDGET.pop()


class _LayerMeta(type(nn.Module)):
    """Checks constructor keywords so a misspelt one gets a did-you-mean."""

    def __call__(cls, *args, **kwargs):
        allowed = _init_keywords(cls)
        if allowed is not None:
            unknown = [k for k in kwargs if k not in allowed]
            if unknown:
                key = unknown[0]
                raise ArgumentTypeError(
                    f"{cls.__name__}() got an unexpected keyword argument '{key}'."
                    f"{did_you_mean(key, sorted(allowed))} Valid arguments: {', '.join(sorted(allowed))}. "
                    f"Received: {key}={kwargs[key]!r}"
                )
        try:
            inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        except TypeError as err:
            raise ArgumentTypeError(f"{cls.__name__}(): {err}. See help(cnnlab.layers.{cls.__name__}).") from None
        return super().__call__(*args, **kwargs)


_KEYWORD_CACHE: dict[type, frozenset | None] = {}


def _init_keywords(cls) -> frozenset | None:
    """The keywords ``cls(...)`` accepts, or None when it takes arbitrary ``**kwargs``."""
    if cls in _KEYWORD_CACHE:
        return _KEYWORD_CACHE[cls]
    names: set[str] = set()
    open_ended = False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass in (nn.Module, object):
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
        if klass.__module__.split(".")[0] != "cnnlab":
            open_ended = True  # a user class passing **kwargs on: accept what it accepts
            break
    names.discard("self")
    result = None if open_ended else frozenset(names | set(_BASE_KWARGS))
    _KEYWORD_CACHE[cls] = result
    return result


class Layer(nn.Module, metaclass=_LayerMeta):
    """Base class of all layers (and of models).

    Args:
        name: unique name; by default the snake_case class name with a counter.
        trainable: whether the weights are updated by training.
        dtype: compute dtype (only ``"float32"`` is supported for now).
        input_shape: shape of one sample, e.g. ``(28, 28, 1)``; lets a
            ``Sequential`` model build at once.
    """

    input_spec: InputSpec | None = None
    # Layers whose call takes a list of tensors (merges, models); for the others a Python list is array data.
    _takes_several_inputs = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None:
            cls.build = _marking_built(build)

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype=None, input_shape=None,
                 batch_input_shape=None, batch_size=None, input_dim=None, **kwargs):
        super().__init__()
        if kwargs:  # reached only by classes that pass **kwargs on without declaring them
            key = next(iter(kwargs))
            raise ArgumentTypeError(
                f"{type(self).__name__}() got an unexpected keyword argument '{key}'. Received: {key}={kwargs[key]!r}"
            )
        # Keras refuses only '/' (a path separator in weight files); '.' is allowed (mobilenet_1.00_224).
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ConfigError(
                f"{type(self).__name__}: name must be a non-empty string without '/'. Received: name={name!r}"
            )
        self.name = name or unique_name(self._default_name())
        self._trainable = bool(trainable)
        if dtype not in (None, "float32", torch.float32):
            raise ConfigError(f"{self.name}: only dtype='float32' is supported. Received: dtype={dtype!r}")
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        else:
            self._batch_input_shape = None
        self.built = False
        self._variables: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self._losses: list[torch.Tensor] = []
        self._last_shapes: tuple | None = None
        self.activity_regularizer = None
        self.train(False)  # Keras semantics: inference unless fit() (or training=True) says otherwise

    @classmethod
    def _default_name(cls) -> str:
        return to_snake_case(cls.__name__)

    # ------------------------------------------------------------------ weights
    def add_weight(self, *args, **kwargs) -> torch.Tensor:
        """Create a weight in Keras layout, register it on this module and return it.

        Keras 3's signature: ``add_weight(shape=None, initializer=None, dtype=None, *, trainable=True,
        regularizer=None, constraint=None, name=None, autocast=True, aggregation="none")`` (``shape``,
        ``initializer`` and ``dtype`` may be positional). cnnlab's older form with the name first,
        ``add_weight("kernel", shape, initializer, regularizer, trainable, constraint, dtype)``, works too.

        Args:
            shape: the weight's shape in Keras layout (default ``()``, a scalar).
            initializer: name, object or callable; default ``glorot_uniform`` for floats, ``zeros`` otherwise.
            dtype: e.g. ``"float32"`` (the default) or ``"int64"``.
            trainable: whether training updates it (a ``nn.Parameter``) or not (a buffer).
            regularizer: its penalty is added to the loss (``layer.losses``).
            constraint: applied after each optimizer update.
            name: Keras name (default ``variable``, ``variable_1``, ... within the layer).
            autocast, aggregation, synchronization: accepted for Keras compatibility; inert here.

        Returns:
            The tensor ``call`` computes with (see :mod:`cnnlab.variables`): it also answers Keras's
            ``assign``, ``assign_add``, ``assign_sub``, ``numpy()``, ``value`` and ``trainable``.

        Example:
            >>> self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
        """
        order = _LEGACY_WEIGHT_ARGS if args and isinstance(args[0], str) else _KERAS_WEIGHT_ARGS
        where = f"{type(self).__name__} '{self.name}'.add_weight()"
        if len(args) > len(order):
            raise ArgumentTypeError(f"{where} takes at most {len(order)} positional arguments ({', '.join(order)}); "
                                    f"pass the others by keyword. Received: {len(args)} positional arguments")
        for key in kwargs:
            if key not in _WEIGHT_KEYWORDS:
                raise ArgumentTypeError(f"{where} got an unexpected keyword argument '{key}'."
                                        f"{did_you_mean(key, _WEIGHT_KEYWORDS)} Received: {key}={kwargs[key]!r}")
        for key, value in zip(order, args):
            if key in kwargs:
                raise ArgumentTypeError(f"{where}: {key} was passed both positionally and as a keyword. "
                                        f"Received: {key}={value!r} and {key}={kwargs[key]!r}")
            kwargs[key] = value
        return self._create_weight(**kwargs)

    def _create_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                       constraint=None, name=None, autocast=True, aggregation="none", synchronization="auto",
                       overwrite_with_gradient=False) -> torch.Tensor:
        where = f"{type(self).__name__} '{self.name}'.add_weight()"
        if overwrite_with_gradient:
            raise ConfigError(f"{where}: overwrite_with_gradient (float8 training) is not supported by cnnlab. "
                              "Received: overwrite_with_gradient=True")
        shape = _weight_shape(shape, where)
        torch_dtype = to_torch_dtype(dtype)
        if initializer is None:
            initializer = "glorot_uniform" if torch_dtype.is_floating_point else "zeros"
        if name is None:
            name = self._auto_weight_name()
        elif not isinstance(name, str) or not name or "/" in name:
            raise ConfigError(f"{where}: name must be a non-empty string without '/'. Received: name={name!r}")
        if _WEIGHT_BUDGET:
            nbytes = int(np.prod(shape, dtype=np.float64)) * torch_dtype.itemsize
            if nbytes > _WEIGHT_BUDGET[-1]:
                from cnnlab.errors import FileFormatError

                raise FileFormatError(
                    f"the config asks layer '{self.name}' for a {name} of shape "
                    f"{shape}, more than the weights the file holds. The file is corrupt or crafted; "
                    "re-save the model from its source."
                )
            _WEIGHT_BUDGET[-1] -= nbytes
        init = initializers_mod.get(initializer, where=f"{where} argument initializer")
        value = initializers_mod.initialize(init, shape, torch_dtype).to(self._device())
        trainable = bool(trainable) and torch_dtype.is_floating_point
        tensor = make_weight(value, trainable, name, path=f"{self.name}/{name}")
        attr = self._weight_attr(name)
        if trainable:
            tensor.requires_grad_(self._trainable)
            self.register_parameter(attr, tensor)
        else:
            self.register_buffer(attr, tensor)
        var = Variable(self, attr, regularizers_mod.get(regularizer), constraints_mod.get(constraint), trainable,
                       name=name)
        _mirror_on_tensor(var, tensor)
        self._variables.append(var)
        return tensor

    def _auto_weight_name(self) -> str:
        taken = {v.name for v in self._variables}
        count = 0
        while (candidate := "variable" if count == 0 else f"variable_{count}") in taken:
            count += 1
        return candidate

    def _weight_attr(self, name: str) -> str:
        """The module attribute a weight named ``name`` is registered under: the name itself when it is free."""
        if name.isidentifier() and not hasattr(self, name):
            return name
        base = re.sub(r"\W", "_", name)
        count = 1
        while hasattr(self, attr := f"_weight_{base}_{count}"):
            count += 1
        return attr

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, _WEIGHT_TYPES) and self._adopt_weight(name, value):
            return
        if isinstance(value, Metric):  # Keras tracks metric attributes: model.metrics lists them
            self.__dict__.setdefault("_metric_attributes", set()).add(name)
            _METRIC_ATTRIBUTES[0] += 1
        if name == "activation" and (value is None or isinstance(value, str)) \
                and callable(self.__dict__.get("activation")):
            # A layer that computes with self.activation(x): `layer.activation = None` means linear (Grad-CAM).
            from cnnlab import activations

            value = activations.get(value, where=f"{type(self).__name__} '{self.name}' attribute activation")
        super().__setattr__(name, value)

    def __getattr__(self, name: str):
        if name in _GRAPH_ATTRIBUTES:
            # The property raised NoSymbolicTensorError (an AttributeError, so hasattr() is False as in Keras);
            # Python then lands here: raise that error again rather than nn.Module's bare "no attribute".
            getattr(type(self), name).fget(self)
        return nn.Module.__getattr__(self, name)

    def _adopt_weight(self, name: str, tensor: torch.Tensor) -> bool:
        """``self.w = self.add_weight(...)``: register the weight under ``w`` (once), so it follows ``.to()``."""
        for var in self.__dict__.get("_variables", ()):
            if type(var) is Variable and var._attr != name and var.value is tensor:
                table = self._parameters if var._attr in self._parameters else self._buffers
                del table[var._attr]
                self.__dict__.pop(name, None)
                table[name] = tensor
                var._attr = name
                return True
        return False

    def _apply(self, fn, recurse: bool = True):
        result = super()._apply(fn, recurse)
        for var in self._variables:  # torch moves buffers as plain tensors: keep Keras's methods on them
            if var._attr in self._buffers:
                tensor = self._buffers[var._attr]
                if tensor is not None and not isinstance(tensor, StateTensor):
                    tensor = StateTensor(tensor)._set_keras_identity(var.name, var.path)
                    self._buffers[var._attr] = _mirror_on_tensor(var, tensor)
        return result

    def _device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    def _sublayers(self) -> list[Layer]:
        """Direct sub-layers, in the order they were set."""
        found = []
        for module in self.children():
            if isinstance(module, Layer):
                found.append(module)
            elif isinstance(module, nn.ModuleList):
                found.extend(m for m in module if isinstance(m, Layer))
        return found

    @property
    def weights(self) -> list:
        """All weights of this layer and its sub-layers (Keras order): the very objects ``add_weight`` returned."""
        return [_exposed(v) for v in self._unique_variables()]

    def _unique_variables(self) -> list[Variable]:
        seen, result = set(), []
        for var in self._all_variables():
            if id(var) not in seen:
                seen.add(id(var))
                result.append(var)
        return result

    def _all_variables(self):
        yield from self._variables
        for layer in self._sublayers():
            yield from layer._unique_variables()

    @property
    def trainable_weights(self) -> list:
        return [_exposed(v) for v in self._unique_variables() if v.trainable]

    @property
    def non_trainable_weights(self) -> list:
        return [_exposed(v) for v in self._unique_variables() if not v.trainable]

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for var in self._variables:
            if isinstance(var.value, nn.Parameter):
                var.value.requires_grad_(var.trainable)
        for layer in self._sublayers():
            layer.trainable = value

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in Keras order and layout."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Set all weights from a list of arrays (the order of :meth:`get_weights`)."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': set_weights expects a list of {len(own)} arrays "
                f"({', '.join(f'{v.path} {tuple(v.shape)}' for v in own) or 'this layer has no weights'}); "
                f"got {len(weights)}. Pass the list from get_weights() of the same architecture."
            )
        for var, value in zip(own, weights):
            var.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise NotBuiltError(
                f"{type(self).__name__} '{self.name}' is not built yet, so it has no weights to count. "
                "Call it on data once, or call build(input_shape)."
            )
        return int(sum(np.prod(v.shape, dtype=np.int64) for v in self.weights))

    @property
    def losses(self) -> list[torch.Tensor]:
        """Scalar losses to add to the training loss: ``add_loss`` values of the last call (this layer's, then its
        sub-layers'), then the weight regularisation penalties (Keras's order)."""
        result = list(self._losses)
        for layer in self._all_sublayers():
            result.extend(layer._losses)
        result.extend(v.regularizer(v.value) for v in self.weights if v.regularizer is not None)
        return result

    def add_loss(self, loss) -> None:
        """Add a scalar loss (a tensor, or a list of them) from ``call``; ``fit`` adds it to the training loss.

        The losses of a call replace those of the previous one: the outermost layer or model call clears them.

        Example:
            >>> def call(self, inputs):
            ...     self.add_loss(1e-2 * torch.sum(inputs))
            ...     return inputs
        """
        if _SHAPE_PROBE[0]:
            return
        for value in flatten(loss):
            if isinstance(value, KerasVariable):
                value = value.value
            if not isinstance(value, torch.Tensor):
                raise ArgumentTypeError(
                    f"{type(self).__name__} '{self.name}'.add_loss() takes a tensor computed in call() (or build()), "
                    f"e.g. self.add_loss(1e-2 * ops.sum(x)). Received: {type(value).__name__} {value!r:.80}"
                )
            self._losses.append(value)
        _LOSS_HOLDERS.add(self)

    def _clear_losses(self) -> None:
        for layer in (self, *self._all_sublayers()):
            if layer._losses:
                layer._losses = []
                _LOSS_HOLDERS.discard(layer)

    def _all_sublayers(self) -> list[Layer]:
        result = []
        for layer in self._sublayers():
            result.append(layer)
            result.extend(layer._all_sublayers())
        return result

    # ----------------------------------------------------------------- building
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included)."""
        self.built = True

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            self._check_input_shape(input_shape)
            self.build(input_shape)
            self.built = True

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; by default found by running ``call`` once on zeros."""
        several = isinstance(input_shape, list)
        unknown = any(d is None for s in (input_shape if several else [input_shape]) for d in tuple(s)[1:])
        if unknown:
            raise NotImplementedError(f"{type(self).__name__} cannot infer its output shape from {input_shape}.")
        with torch.no_grad(), _training_context(False), shape_probe():
            if several:
                dummy = [torch.zeros((1,) + tuple(s[1:]), device=self._device()) for s in input_shape]
            else:
                dummy = torch.zeros((1,) + tuple(input_shape[1:]), device=self._device())
            out = self._call_with_training(dummy, False)
        if isinstance(out, (list, tuple)):
            return [(None,) + tuple(o.shape[1:]) for o in out]
        return (None,) + tuple(out.shape[1:])

    # ------------------------------------------------------------------ calling
    def forward(self, inputs, *args, training: bool | None = None, **kwargs):
        if is_symbolic(inputs):
            return self._symbolic_call(inputs, *args, training=training, **kwargs)
        depth = _CALL_DEPTH[0]
        if not depth and _LOSS_HOLDERS:
            self._clear_losses()
        _CALL_DEPTH[0] = depth + 1
        try:
            # Handed-out tensors (dataset elements, tf values, earlier outputs) run the layers as plain tensors:
            # a tensor subclass would dispatch every op of the forward pass through Python.
            inputs = self._convert_inputs(plain(inputs) if not depth else inputs)
            shape = _shape_of(inputs, keep_batch=True)
            if not self.built:
                self._maybe_build(shape)
            elif self.input_spec is not None:
                self._check_input_shape(shape)
            if training is None and not _TRAINING_CONTEXT and not self.training and _declares_training_true(type(self)):
                # Keras 3 order: argument > outer call > the call signature's default. The augmentation layers
                # declare training=True, so layer(x) and model(x) augment while predict/evaluate (False) do not.
                training = True
            if training is None:
                training = _TRAINING_CONTEXT[-1] if _TRAINING_CONTEXT else self.training
                outputs = self._call_with_training(inputs, training, *args, **kwargs)
            else:
                with _training_context(bool(training)):
                    outputs = self._call_with_training(inputs, bool(training), *args, **kwargs)
            if self.activity_regularizer is not None:
                self.add_loss(self.activity_regularizer(outputs) / outputs.shape[0])
            self.__dict__["_last_shapes"] = (shape, _shape_of(outputs, keep_batch=True))
        finally:
            _CALL_DEPTH[0] = depth
        return hand_out(outputs, only_when_needed=True) if not depth else outputs

    def _call_with_training(self, inputs, training: bool, *args, **kwargs):
        if _accepts_training(type(self)):
            return self.call(inputs, *args, training=training, **kwargs)
        return self.call(inputs, *args, **kwargs)

    def call(self, inputs, *args, **kwargs):
        """Compute the layer's output; layers override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(self, inputs).")

    def _convert_inputs(self, inputs):
        if isinstance(inputs, torch.Tensor):
            return inputs if inputs.dtype == torch.float32 else _to_float(inputs, self)
        if isinstance(inputs, (list, tuple)):
            if not self._takes_several_inputs and not any(isinstance(x, torch.Tensor) for x in inputs):
                return _to_float(to_tensor(inputs, self), self)  # nested lists of numbers are one array
            return type(inputs)(self._convert_inputs(x) for x in inputs)
        if isinstance(inputs, dict):
            return {k: self._convert_inputs(v) for k, v in inputs.items()}
        return _to_float(to_tensor(inputs, self), self)

    def _symbolic_call(self, inputs, *args, training=None, **kwargs):
        if args or is_symbolic(kwargs):
            return self._symbolic_call_with_arguments((inputs, *args), kwargs, training)
        flat = flatten(inputs)
        shape = pack_like(inputs, [t.shape for t in flat])
        if isinstance(shape, tuple) and len(flat) > 1:
            shape = list(shape)
        if not self.built:
            self._maybe_build(shape)
        else:
            self._check_input_shape(shape)
        out_shape = self.compute_output_shape(shape)
        node = Node(self, flat, call_kwargs=dict(kwargs, training=training), input_structure=inputs)
        if isinstance(out_shape, list):
            node.outputs = [KerasTensor(s, node=node, index=i, name=self.name) for i, s in enumerate(out_shape)]
            result = list(node.outputs)
        else:
            node.outputs = [KerasTensor(out_shape, node=node, index=0, name=self.name)]
            result = node.outputs[0]
        self._inbound_nodes.append(node)
        self._last_shapes = (shape, out_shape)
        return result

    def _symbolic_call_with_arguments(self, args: tuple, kwargs: dict, training) -> KerasTensor:
        """A symbolic call with several tensor arguments, e.g. ``layer(targets, logits)``.

        As in Keras 3, ``build`` and an overridden ``compute_output_shape`` get the first argument's shape;
        otherwise the output shape comes from running ``call`` once on zeros.
        """
        first = flatten(args[0])
        shape = pack_like(args[0], [t.shape for t in first])
        if not self.built:
            self._maybe_build(shape)
        else:
            self._check_input_shape(shape)
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            out_shape = self.compute_output_shape(shape)
        else:
            probe_args = map_tensors((args, kwargs), lambda t: _probe_zeros(self, t))
            with torch.no_grad(), _training_context(False), shape_probe():
                out = self._call_with_training(probe_args[0][0], False, *probe_args[0][1:], **probe_args[1])
            out_shape = pack_like(out, [(None,) + tuple(o.shape[1:]) for o in flatten(out)])
        node = Node(self, symbolic_leaves((args, kwargs)), call_kwargs=dict(kwargs, training=training),
                    input_structure=args[0], call_args=args)
        several = isinstance(out_shape, list)
        node.outputs = [KerasTensor(s, node=node, index=i, name=self.name)
                        for i, s in enumerate(out_shape if several else [out_shape])]
        self._inbound_nodes.append(node)
        self._last_shapes = (shape, out_shape)
        return list(node.outputs) if several else node.outputs[0]

    def _check_input_shape(self, shape) -> None:
        spec = self.input_spec
        if spec is None or not isinstance(shape, tuple):
            return
        check_shape(self, spec, shape)

    # ---------------------------------------------------------- graph properties
    def _first_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            from cnnlab.errors import NoSymbolicTensorError  # an AttributeError too, as Keras's

            raise NoSymbolicTensorError(
                f"Layer '{self.name}' has never been called on a symbolic input, so it has no {what}. "
                "Give the model an input shape (input_shape=... on the first layer, or an Input) to connect it."
            )
        return self._inbound_nodes[0]

    @property
    def input(self):
        node = self._first_node("input")
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    @property
    def output(self):
        node = self._first_node("output")
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    @property
    def input_shape(self):
        return _shape_of_symbolic(self.input)

    @property
    def output_shape(self):
        return _shape_of_symbolic(self.output)

    # ------------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32"}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"

    def __repr__(self) -> str:
        if not list(self.children()):  # leaf layers print on one line, like Keras; models as torch trees
            return f"<{type(self).__name__} name={self.name}, built={self.built}>"
        return super().__repr__()


_GRAPH_ATTRIBUTES = frozenset({"input", "output", "inputs", "outputs", "input_shape", "output_shape"})


def _marking_built(build):
    """Wrap a subclass's ``build`` so that a direct ``layer.build(shape)`` marks the layer built (as in Keras).

    Without it, ``build`` then ``set_weights`` then a call would build again and replace the weights.
    """

    @functools.wraps(build)
    def wrapped(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        return result

    return wrapped


@contextlib.contextmanager
def shape_probe():
    """Run layers on dummy data to learn shapes: ``add_loss`` records nothing meanwhile."""
    _SHAPE_PROBE[0] += 1
    try:
        yield
    finally:
        _SHAPE_PROBE[0] -= 1


def metric_attributes(layer: Layer) -> list:
    """The metrics set as attributes of ``layer`` (``self.loss_tracker = metrics.Mean(name="loss")``)."""
    if not _METRIC_ATTRIBUTES[0]:
        return []
    state = layer.__dict__
    return [state[name] for name in state.get("_metric_attributes", ()) if isinstance(state.get(name), Metric)]


def metric_attribute_count() -> int:
    return _METRIC_ATTRIBUTES[0]


def has_added_losses() -> bool:
    """Whether some layer holds ``add_loss`` values (cheap: the trainer asks at every step)."""
    return bool(_LOSS_HOLDERS)


@contextlib.contextmanager
def _training_context(training: bool):
    _TRAINING_CONTEXT.append(training)
    try:
        yield
    finally:
        _TRAINING_CONTEXT.pop()


_ACCEPTS_TRAINING: dict[type, bool] = {}


def _accepts_training(cls) -> bool:
    if cls not in _ACCEPTS_TRAINING:
        params = inspect.signature(cls.call).parameters
        _ACCEPTS_TRAINING[cls] = "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    return _ACCEPTS_TRAINING[cls]


_DECLARES_TRAINING_TRUE: dict[type, bool] = {}


def _declares_training_true(cls) -> bool:
    if cls not in _DECLARES_TRAINING_TRUE:
        param = inspect.signature(cls.call).parameters.get("training")
        _DECLARES_TRAINING_TRUE[cls] = param is not None and param.default is True
    return _DECLARES_TRAINING_TRUE[cls]


def to_tensor(value, layer: Layer | None = None) -> torch.Tensor:
    """Turn a NumPy array, list or number into a tensor on the layer's device."""
    if isinstance(value, torch.Tensor):
        return value
    device = layer._device() if layer is not None else torch.device("cpu")
    try:
        array = np.asarray(value)
    except Exception as err:  # ragged lists and the like
        raise ArgumentTypeError(
            f"{_where(layer)}cannot turn the input into an array ({str(err).rstrip('.')}): nested lists must have "
            "rows of equal length. Pass a NumPy array or a torch tensor of one shape."
        ) from err
    if array.dtype.kind not in "biuf":
        raise ArgumentTypeError(
            f"{_where(layer)}expects numeric input (a float or integer array); got dtype {array.dtype}. "
            "Convert it first, e.g. x.astype('float32'). "
            f"Received: input of dtype {array.dtype} and shape {array.shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def _to_float(tensor: torch.Tensor, layer: Layer) -> torch.Tensor:
    if tensor.dtype.is_floating_point and tensor.dtype != torch.float64:
        return tensor  # float16/bfloat16 under mixed precision stay as they are
    return tensor.to(torch.float32)


def _where(layer: Layer | None) -> str:
    return f"{type(layer).__name__} '{layer.name}' " if layer is not None else ""


def _probe_zeros(layer: Layer, tensor: KerasTensor) -> torch.Tensor:
    """Zeros standing for ``tensor`` (batch of one) when a symbolic call runs ``call`` to learn its output shape."""
    if any(d is None for d in tensor.shape[1:]):
        raise NotImplementedError(f"{type(layer).__name__} cannot infer its output shape from {tensor.shape}: "
                                  "define compute_output_shape(input_shape).")
    return torch.zeros((1,) + tuple(tensor.shape[1:]), dtype=tensor.dtype.torch_dtype, device=layer._device())


def _shape_of(value, keep_batch: bool = False):
    if isinstance(value, torch.Tensor):
        return tuple(value.shape) if keep_batch else (None,) + tuple(value.shape[1:])
    if isinstance(value, (list, tuple)):
        return [_shape_of(v, keep_batch) for v in value]
    if isinstance(value, dict):
        return {k: _shape_of(v, keep_batch) for k, v in value.items()}
    return None


def _shape_of_symbolic(value):
    if isinstance(value, list):
        return [v.shape for v in value]
    return value.shape


_LAYOUT_HINTS = {
    4: "(batch, height, width, channels)",
    3: "(batch, steps, features)",
    2: "(batch, features)",
}


def check_shape(layer: Layer, spec: InputSpec, shape: tuple) -> None:
    """Raise a ShapeError that says what the layer expects and how to fix the input."""
    kind = f"{type(layer).__name__} '{layer.name}'"
    ndim = len(shape)
    shown = tuple(shape)
    if spec.ndim is not None and ndim != spec.ndim:
        layout = spec.layout or _LAYOUT_HINTS.get(spec.ndim, "")
        fix = _rank_fix(spec.ndim, shape)
        raise ShapeError(
            f"{kind} expects {spec.ndim}-D input {layout}; got shape {shown}.{fix}".rstrip()
        )
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        raise ShapeError(
            f"{kind} expects input of at least {spec.min_ndim} dimensions (batch first); got shape {shown}. "
            "Add the batch axis: x[None] for a single sample."
        )
    for axis, size in spec.axes.items():
        got = shape[axis]
        if got is not None and size is not None and got != size:
            where = "channels" if axis == -1 and ndim == 4 else f"axis {axis}"
            fix = ""
            if axis == -1 and ndim == 4 and shape[1] == size:
                fix = (" The data looks channels-first (batch, channels, height, width): "
                       "use x.transpose(0, 2, 3, 1) or pass data_format='channels_first'.")
            raise ShapeError(
                f"{kind} was built for inputs with {size} on {where} (last axis), but got shape {shown}."
                f"{fix or ' Feed inputs of the shape the layer was built with, or use a new layer.'}"
            )


def _rank_fix(expected: int, shape: tuple) -> str:
    dims = tuple(d for d in shape)
    if expected == 4 and len(dims) == 3:
        return " Add a channel axis: x.reshape(x.shape + (1,)) (or x[..., None])."
    if expected == 4 and len(dims) == 2:
        return (" This looks like a flat batch of features. Reshape images to (batch, height, width, channels), "
                "or put a Reshape layer first.")
    if expected == 2 and len(dims) > 2:
        return " Add a Flatten() layer before it."
    if len(dims) == expected - 1:
        return " Is the batch axis missing? Use x[None] for a single sample."
    if len(dims) > expected:
        # Most often the batch size was written into Input(shape=...), which excludes the batch axis.
        return (f" Remove the {len(dims) - expected} extra axes: Input(shape=...) and input_shape exclude the "
                "batch axis.")
    return f" Reshape the data to {expected} dimensions."

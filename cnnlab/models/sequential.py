"""``Sequential``: a plain stack of layers, each feeding the next."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.errors import ArgumentTypeError, CnnlabError, ConfigError, ShapeError
from cnnlab.layers.base import Layer, _rank_fix
from cnnlab.layers.core import InputLayer
from cnnlab.layers.node import KerasTensor
from cnnlab.layers.serialization import layer_from_config, layer_to_config, register_model_class
from cnnlab.models._fusion import bn_chain_shape, fold_batch_norm, relu_then_max_pool, run_folded
from cnnlab.models.functional import adjust_input_rank
from cnnlab.models.model import Model
from cnnlab.models.trace import explain_shape_error


@register_model_class
class Sequential(Model):
    """A linear stack of layers.

    Give the input shape with ``input_shape=`` on the first layer or an
    ``Input(shape=...)`` first, and the model is built at once (so ``summary()``
    works before training); otherwise it is built on its first call.

    Args:
        layers: optional list of layers.
        name: model name (default ``sequential``, ``sequential_1``, ...).

    Example:
        >>> model = Sequential([
        ...     layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
        ...     layers.MaxPooling2D(2),
        ...     layers.Flatten(),
        ...     layers.Dense(10, activation="softmax"),
        ... ])
    """

    _takes_several_inputs = False  # one input: a nested Python list is array data

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._stack: list[Layer] = []
        self._layer_names: set[str] = set()  # beside the stack, so add() checks a name in O(1)
        self._input_layer: InputLayer | None = None
        self._graph_output: KerasTensor | None = None
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                raise ArgumentTypeError(
                    f"Sequential: layers must be a list of layers, e.g. Sequential([Dense(10)]). Received: "
                    f"layers of type {type(layers).__name__}"
                )
            for layer in layers:
                self.add(layer)

    @classmethod
    def _default_name(cls) -> str:
        return "sequential"

    def add(self, layer) -> None:
        """Append a layer (or an ``Input(...)`` tensor as the first entry)."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ConfigError(f"Sequential '{self.name}': an Input can only be the first entry.")
            self._start_graph(layer)
            return
        if not isinstance(layer, Layer):
            hint = (" Wrap a PyTorch module with cnnlab.layers.TorchModule(module)."
                    if isinstance(layer, nn.Module) else "")
            raise ArgumentTypeError(
                f"Sequential '{self.name}'.add() takes a cnnlab layer; got {type(layer).__name__}.{hint} "
                f"Received: {layer!r}"
            )
        if layer.name in self._layer_names:
            raise ConfigError(f"Sequential '{self.name}': a layer named '{layer.name}' is already in the model; "
                              "layer names must be unique. Give it another name=.")
        self._stack.append(layer)
        self._layer_names.add(layer.name)
        key = layer.name.replace(".", "_")  # torch refuses '.' in submodule keys; Keras allows it in names
        while key in self._modules:
            key += "_"
        self.add_module(key, layer)
        if self._input_layer is None and len(self._stack) == 1 and _known_input_shape(layer) is not None:
            self._start_graph(InputLayer(batch_shape=_known_input_shape(layer)))
        elif self._graph_output is not None:
            self._graph_output = self._connect(layer, self._graph_output)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ConfigError(f"Sequential '{self.name}' has no layers to pop. Add a layer first: model.add(layer).")
        layer = self._stack.pop()
        self._layer_names.discard(layer.name)
        delattr(self, next(key for key, module in self._modules.items() if module is layer))
        if self._graph_output is not None:
            # The popped layer's call in this graph read the new last output; reuse it so that
            # the remaining layers' .output stay in this model's graph.
            self._graph_output = self._graph_output.node.inputs[0]
        return layer

    def _start_graph(self, input_layer: InputLayer) -> None:
        self._input_layer = input_layer
        self._graph_output = input_layer.output
        for layer in self._stack:
            self._graph_output = self._connect(layer, self._graph_output)
        self.built = True

    def _connect(self, layer: Layer, tensor: KerasTensor) -> KerasTensor:
        try:
            return layer(tensor)
        except ShapeError as err:
            raise explain_shape_error(self, layer, tensor.shape, err) from err

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    @property
    def inputs(self):
        if self._input_layer is None:
            raise self._no_input()
        return [self._input_layer.output]

    @property
    def outputs(self):
        if self._graph_output is None:
            raise self._no_input()
        return [self._graph_output]

    def _no_input(self):
        from cnnlab.errors import NotBuiltError

        return NotBuiltError(
            f"Sequential '{self.name}' does not know its input shape yet. Pass input_shape=... to the first layer, "
            "start with layers.Input(shape=...), call model.build((None, *shape)), or call the model on data once."
        )

    def build(self, input_shape=None) -> None:
        if input_shape is None:
            if self._input_layer is None:
                raise self._no_input()
            return
        if self._input_layer is None:  # Keras keeps the batch size it is given (summary shows (7, ...))
            self._start_graph(InputLayer(batch_shape=tuple(input_shape)))

    def _maybe_build(self, input_shape) -> None:
        if isinstance(input_shape, tuple) and self._input_layer is None and self._stack:
            self._start_graph(InputLayer(batch_shape=tuple(input_shape)))  # the first call's batch, as Keras
        self.built = True

    def _check_input_shape(self, shape) -> None:
        if self._input_layer is not None and isinstance(shape, tuple):
            want = self._input_layer.batch_shape
            if len(shape) != len(want) or any(w is not None and g != w for w, g in zip(want[1:], shape[1:])):
                first = self._stack[0] if self._stack else None
                fix = _rank_fix(len(want), shape) if len(shape) != len(want) else ""
                if not fix and len(want) == 4 and len(shape) == 4 and shape[1] == want[3]:
                    fix = (" The data looks channels-first (batch, channels, height, width): "
                           "use x.transpose(0, 2, 3, 1).")
                raise ShapeError(
                    f"Sequential '{self.name}' expects input shape {want}"
                    f"{f' (first layer: {first.name})' if first else ''}; got {tuple(shape)}."
                    f"{fix or ' Reshape the data to match, or build the model for this shape.'}"
                )

    def call(self, inputs, training=None):
        x, stack, i = inputs, self._stack, 0
        if self._input_layer is not None and isinstance(x, torch.Tensor) \
                and x.dim() != len(self._input_layer.batch_shape):
            x = adjust_input_rank(x, self._input_layer.batch_shape)
            if x is None:  # not Keras's one-axis leniency: let the first layer explain the shape
                x = inputs
        while i < len(stack):
            layer = stack[i]
            if i + 1 < len(stack) and bn_chain_shape(layer, stack[i + 1], None):
                act = stack[i + 2] if i + 2 < len(stack) and bn_chain_shape(layer, stack[i + 1], stack[i + 2]) \
                    else None
                post = fold_batch_norm(layer, stack[i + 1], act, x)
                if post is not None:  # one convolution for conv -> BatchNormalization (-> activation)
                    x = run_folded(layer, stack[i + 1], x, post)
                    i += 3 if act is not None and post != ("none", []) else 2
                    continue
            if i + 1 < len(stack) and relu_then_max_pool(layer, stack[i + 1], x):
                # Same numbers, less memory traffic: see cnnlab.models._fusion.
                state = layer.__dict__  # a plain flag, set directly: this runs at every call
                state["_defer_activation"] = True
                try:
                    x = self._run(layer, x)
                finally:
                    state["_defer_activation"] = False
                x = layer.activation(self._run(stack[i + 1], x))
                i += 2
                continue
            x = self._run(layer, x)
            i += 1
        return x

    def _plain_stack(self):
        """The layers, when this model's call is just them in order (what ``fit``'s direct step can run), else
        None (a subclass may call them otherwise)."""
        return list(self._stack) if type(self) is Sequential else None

    def _run(self, layer, x):
        try:
            return layer(x)
        except ShapeError as err:
            raise explain_shape_error(self, layer, tuple(x.shape), err) from err

    def compute_output_shape(self, input_shape):
        if self._graph_output is not None and tuple(input_shape[1:]) == tuple(self._input_layer.batch_shape[1:]):
            return self._graph_output.shape
        return super().compute_output_shape(input_shape)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "layers": [layer_to_config(l) for l in self._stack]}
        if self._input_layer is not None:
            config["build_input_shape"] = list(self._input_layer.batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        if config.get("build_input_shape"):
            model.add(InputLayer(batch_shape=tuple(config["build_input_shape"])))
        for entry in config["layers"]:
            model.add(layer_from_config(entry, custom_objects))
        return model


def _known_input_shape(layer: Layer):
    """The batch input shape a first layer declares: ``input_shape=`` or, for a model, its single Input."""
    if layer._batch_input_shape is not None:
        return layer._batch_input_shape
    if isinstance(layer, Model):
        try:
            inputs = layer.inputs
        except CnnlabError:  # a subclassed model, or a Sequential that has no input shape yet
            return None
        return inputs[0].shape if len(inputs) == 1 else None
    return None

"""The ``Model`` class: a layer made of layers, with Keras's model API.

``Model`` serves the three ways to build a model:

- ``Model(inputs, outputs)`` returns a functional model (see ``functional.py``);
- ``Sequential([...])`` is a subclass (see ``sequential.py``);
- ``class Net(Model)`` with layers set in ``__init__`` and a ``call(self, x)``
  is a subclassed model, built on its first call.

Training methods (``compile``, ``fit``, ...) come from
:class:`cnnlab.training.trainer.Trainer`.
"""

from __future__ import annotations

import inspect

import torch

from cnnlab.errors import ConfigError, NoSymbolicTensorError, NotBuiltError, did_you_mean
from cnnlab.layers.base import Layer, _training_context, shape_probe, to_snake_case
from cnnlab.layers.node import KerasTensor, flatten
from cnnlab.layers.serialization import model_class, register_model_class
from cnnlab.training.trainer import Trainer


@register_model_class
class Model(Trainer, Layer):
    """A model: layers plus training, evaluation, prediction, summary and saving.

    Example (subclassed):
        >>> class Net(Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = layers.Conv2D(32, 3, activation="relu")
        ...         self.flat = layers.Flatten()
        ...         self.out = layers.Dense(10, activation="softmax")
        ...     def call(self, x):
        ...         return self.out(self.flat(self.conv(x)))
    """

    _takes_several_inputs = True

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            functional = model_class("Functional")
            return functional.__new__(functional)
        return super().__new__(cls)

    def __init__(self, *args, name=None, trainable=True, inputs=None, outputs=None, **kwargs):
        # inputs/outputs are named here so that Model(inputs=..., outputs=...) passes the keyword check;
        # __new__ has already turned that call into a Functional model.
        if inputs is not None or outputs is not None:
            kwargs = {**kwargs, "inputs": inputs, "outputs": outputs}
        if _functional_arguments(args, kwargs):
            # class CustomModel(Model) built as CustomModel(inputs, outputs): a functional graph that keeps the
            # subclass's methods (train_step, test_step, ...), as Keras 3 does.
            self.__class__ = _functional_subclass(type(self))
            model_class("Functional").__init__(self, *args, name=name, trainable=trainable, **kwargs)
            return
        if args or kwargs:
            key = next(iter(kwargs), None)
            hint = did_you_mean(key, ["inputs", "outputs", "name", "trainable"]) if key else ""
            raise ConfigError(
                f"{type(self).__name__}: unexpected arguments to Model.__init__.{hint} Use Model(inputs, outputs, "
                "name=...) for a functional model, or subclass Model and call super().__init__(). "
                f"Received: args={args!r}, kwargs={sorted(kwargs)!r}"
            )
        Layer.__init__(self, name=name, trainable=trainable)
        Trainer.__init__(self)

    @classmethod
    def _default_name(cls) -> str:
        from cnnlab.layers.base import to_snake_case

        return to_snake_case(cls.__name__)

    # ------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """The model's layers, in order."""
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """Return a layer by ``name`` or by ``index`` in :attr:`layers`."""
        layers = self.layers
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ConfigError(f"get_layer: index must be an int in [{-len(layers)}, {len(layers)}); the model "
                                  f"'{self.name}' has {len(layers)} layers. Received: index={index!r}")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in layers]
        raise ConfigError(f"No layer named {name!r} in model '{self.name}'.{did_you_mean(str(name), names)} "
                          f"Layers: {', '.join(names)}. Received: name={name!r}")

    def build(self, input_shape) -> None:
        """Build a subclassed model for inputs of ``input_shape`` by running it once on zeros."""
        if isinstance(input_shape, list) and input_shape and not isinstance(input_shape[0], (tuple, list)):
            input_shape = tuple(input_shape)
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        dummies = [torch.zeros((1,) + tuple(1 if d is None else d for d in tuple(s)[1:]), device=self._device())
                   for s in shapes]
        with torch.no_grad(), _training_context(False), shape_probe():
            self.call(dummies if isinstance(input_shape, list) else dummies[0])
        self.built = True
        self._build_shape = input_shape

    def _maybe_build(self, input_shape) -> None:
        # A subclassed model builds its layers during its first real call.
        self.built = True
        self._build_shape = input_shape

    def _not_graph(self, what: str):
        return NoSymbolicTensorError(
            f"Model '{self.name}' is a subclassed model, so it has no symbolic {what}. Use a Sequential or "
            "functional model to read layer outputs with Model(model.input, layer.output), or "
            "cnnlab.inspect.feature_maps(model, x, layer), which works for every model."
        )

    @property
    def inputs(self):
        raise self._not_graph("inputs")

    @property
    def outputs(self):
        raise self._not_graph("outputs")

    @property
    def input(self):
        inputs = self.inputs
        return inputs[0] if len(inputs) == 1 else inputs

    @property
    def output(self):
        outputs = self.outputs
        return outputs[0] if len(outputs) == 1 else outputs

    def count_params(self) -> int:
        if not self.built:
            raise NotBuiltError(
                f"Model '{self.name}' is not built yet, so it has no weights. Call it once on data "
                f"(model(x)) or call model.build(input_shape), e.g. model.build((None, 28, 28, 1))."
            )
        return super().count_params()

    # -------------------------------------------------------------- summary
    def summary(self, line_length: int | None = None, positions=None, print_fn=None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range=None, detail: bool = False, batch_size: int = 1):
        """Print the Keras summary table (layer, output shape, params, totals).

        Args:
            detail: add per-layer kernel/stride/padding, the output-size
                arithmetic, receptive field, MACs and activation memory.
            batch_size: batch size used for the memory totals of ``detail``.
            print_fn: function that receives the text (default ``print``).
        """
        from cnnlab.inspect.summary import render_summary

        import sys

        text = render_summary(self, line_length=line_length, show_trainable=show_trainable, detail=detail,
                              batch_size=batch_size, color=print_fn is None and sys.stdout.isatty())
        (print_fn or (lambda s: print(s, end="")))(text)

    # ------------------------------------------------------------ save/load
    def save(self, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
        """Save architecture, weights and optimizer state (``.cnnlab``; format chosen by extension)."""
        from cnnlab.io import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Save the weights only (``.weights.safetensors``)."""
        from cnnlab.io import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch: bool = False) -> None:
        """Load weights written by :meth:`save_weights` or :meth:`save` into this architecture."""
        from cnnlab.io import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def export(self, filepath, format: str = "onnx", opset: int = 17):
        """Write the model for inference in other runtimes (ONNX): ``model.export("model.onnx")``."""
        from cnnlab.io import export_onnx

        if format != "onnx":
            raise ConfigError(f"export: only format='onnx' is supported. Received: format={format!r}")
        return export_onnx(self, filepath, opset=opset)

    def to_json(self, **kwargs) -> str:
        """The architecture (no weights) as Keras's JSON; ``models.model_from_json`` rebuilds it.

        Args:
            **kwargs: passed to ``json.dumps`` (e.g. ``indent=2``).
        """
        import json

        from cnnlab._serialization import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild a model from :meth:`get_config`: a graph config becomes a functional model of this class
        (a subclass built as ``CustomModel(inputs, outputs)`` too); a subclassed model gets ``cls(**config)``."""
        Functional = model_class("Functional")
        graph_keys = ("layers", "input_layers", "output_layers")
        params = inspect.signature(cls.__init__).parameters.values()
        takes_graph = cls in (Model, Functional) or issubclass(cls, Functional) or (
            any(p.kind is p.VAR_POSITIONAL for p in params) and any(p.kind is p.VAR_KEYWORD for p in params))
        if isinstance(config, dict) and all(k in config for k in graph_keys) and takes_graph:
            return Functional.from_config.__func__(cls, config, custom_objects)
        try:
            return cls(**config)
        except TypeError as err:
            raise ConfigError(
                f"{cls.__name__}.from_config could not rebuild the model from its config ({err}). A subclassed "
                "model needs get_config() returning its constructor arguments (and from_config(config) for "
                f"arguments that are objects). Received: config keys {sorted(config)}"
            ) from err

    def get_config(self):
        base = {"name": self.name, "trainable": self.trainable}
        if type(self).get_config is Model.get_config and type(self).__module__.split(".")[0] != "cnnlab":
            raise NotImplementedError(
                f"{type(self).__name__} is a subclassed model without get_config(). Save its weights with "
                "save_weights(), or define get_config() returning its constructor arguments and pass the class "
                "in custom_objects when loading."
            )
        return base


def _functional_arguments(args: tuple, kwargs: dict) -> bool:
    """Whether ``Model.__init__`` got a graph: ``(inputs, outputs)`` of symbolic tensors (Keras's rule)."""
    if len(args) == 2:
        candidates = args
    elif len(args) == 1 and "outputs" in kwargs:
        candidates = (args[0], kwargs["outputs"])
    elif "inputs" in kwargs and "outputs" in kwargs:
        candidates = (kwargs["inputs"], kwargs["outputs"])
    else:
        return False
    return all(isinstance(t, KerasTensor) for t in flatten(list(candidates)))


_FUNCTIONAL_SUBCLASSES: dict[type, type] = {}


def _functional_subclass(cls: type) -> type:
    """``cls`` with the functional graph machinery under it: same name, same methods, ``Functional`` bases.

    ``_user_class`` names ``cls`` so that files record the user's class (see ``serialization.user_class``).
    """
    Functional = model_class("Functional")
    if issubclass(cls, Functional):
        return cls
    if cls not in _FUNCTIONAL_SUBCLASSES:
        namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__,
                     "_default_name": classmethod(lambda _: to_snake_case(cls.__name__)), "_user_class": cls}
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls)(cls.__name__, (cls, Functional), namespace)
    return _FUNCTIONAL_SUBCLASSES[cls]

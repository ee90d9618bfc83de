"""``Lambda``: a Python function used as a layer, saved by name and never by code.

Keras stores a Lambda's function as marshalled bytecode, which runs whatever
the file holds. cnnlab writes only the function's name (Keras's
``{"class_name": "function", "config": name}`` form, so Keras can read the
file too) and, when loading, takes the function from the ``custom_objects``
the user passes, nowhere else. An anonymous ``lambda`` has no name to record,
so it cannot be reloaded: saving warns, loading says how to fix it.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ArgumentTypeError, ConfigError, FileFormatError, ShapeError
from cnnlab.layers.base import Layer, _training_context
from cnnlab.layers.node import flatten

ANONYMOUS = "<lambda>"
# Sizes given to the batch axis and unknown axes in the two dry runs that find the output shape: an output
# axis that changes between the runs follows an unknown input axis and becomes None.
_DRY_RUN_SIZES = (2, 3)


class Lambda(Layer):
    """Wrap a function of tensors as a layer (for Sequential and functional models).

    The function gets torch tensors (a list of them for a list input) and returns a tensor or a list of
    tensors; cnnlab.ops and torch functions work. The output shape is found by running the function on a
    small dummy input, unless ``output_shape`` gives it.

    Saving records the function's name only. To load the model, pass the function:
    ``load_model(path, custom_objects={"my_fn": my_fn})``. A ``lambda`` has no name, so a model using one
    cannot be reloaded: define the function with ``def`` instead.

    Args:
        function: the function; its first argument is the input. It may take ``training`` (and ``mask``,
            always None in cnnlab) as keyword arguments.
        output_shape: the output shape without the batch axis (a tuple, or a list of tuples for several
            outputs), or a function of the full input shape returning the full output shape.
        mask: accepted for Keras compatibility; cnnlab has no masking, so it is stored and not applied.
        arguments: a dict of extra keyword arguments for the function.

    Shape:
        Input: whatever the function takes. Output: what it returns.

    Example:
        >>> def double(x):
        ...     return x * 2
        >>> Lambda(double)(np.ones((2, 3))).shape
        torch.Size([2, 3])
    """

    _takes_several_inputs = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"Lambda '{self.name}'"
        if not callable(function):
            raise ArgumentTypeError(f"{owner}: function must be callable, e.g. Lambda(my_fn) with def my_fn(x): ... "
                                    f"Received: function={function!r:.80}")
        if arguments is not None and not isinstance(arguments, dict):
            raise ConfigError(f"{owner}: arguments must be a dict of keyword arguments for the function, e.g. "
                              f"arguments={{'factor': 2}}. Received: arguments={arguments!r:.80}")
        self.function = function
        self._output_shape = _check_output_shape(output_shape, owner)
        self.mask = mask
        self.arguments = dict(arguments or {})
        params = _parameter_names(function)
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params
        self._warned_unsavable = False

    def call(self, inputs, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = None
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return self._dry_run_shape(input_shape)
        if callable(self._output_shape):
            return _as_shape(self._output_shape(input_shape))
        batch = flatten(input_shape)[0] if input_shape else None
        if isinstance(self._output_shape, list):
            return [(batch,) + shape for shape in self._output_shape]
        return (batch,) + self._output_shape

    def _dry_run_shape(self, input_shape):
        runs = []
        for size in _DRY_RUN_SIZES:
            dummy = _dummy_inputs(input_shape, size, self._device())
            try:
                with torch.no_grad(), _training_context(False):
                    out = self._call_with_training(dummy, False)
            except Exception as err:
                raise ShapeError(
                    f"Lambda '{self.name}': running the function {_function_name(self.function)!r} on a dummy input "
                    f"of shape {_shapes_of(dummy)} to find its output shape failed ({type(err).__name__}: {err}). "
                    "Check that the function works on that shape, or pass output_shape=(...) (without the batch "
                    f"axis). Received: input_shape={input_shape}"
                ) from err
            runs.append(_shapes_of(out, self))
        first, second = runs
        if isinstance(first, list):
            return [_merge_runs(a, b) for a, b in zip(first, second)]
        return _merge_runs(first, second)

    # ------------------------------------------------------------------- config
    def get_config(self):
        config = {**super().get_config(), "function": self._function_config(self.function, "function")}
        if self._output_shape is not None:
            config["output_shape"] = (self._function_config(self._output_shape, "output_shape")
                                      if callable(self._output_shape) else _shape_to_config(self._output_shape))
        if self.mask is not None:
            config["mask"] = self._function_config(self.mask, "mask") if callable(self.mask) else \
                _value_to_config(self.mask)
        config["arguments"] = {key: _value_to_config(value) for key, value in self.arguments.items()}
        return config

    def _function_config(self, fn, what: str) -> dict:
        name = _function_name(fn)
        if name == ANONYMOUS and not self._warned_unsavable:
            self._warned_unsavable = True
            warnings.warn(
                f"Lambda '{self.name}': its {what} is an anonymous lambda, which cannot be saved: cnnlab records "
                "functions by name only (never their code), so a saved model cannot be loaded again. Define the "
                "function with def and pass it when loading: load_model(path, custom_objects={'my_fn': my_fn}).",
                UserWarning, stacklevel=_user_stacklevel(),
            )
        return {"module": getattr(fn, "__module__", None), "class_name": "function", "config": name,
                "registered_name": name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> Lambda:
        """Rebuild the layer; the function comes from ``custom_objects`` only, never from the config's content."""
        config = dict(config)
        layer_name = config.get("name") or "lambda"
        config["function"] = _resolve_function(config.get("function"), custom_objects, layer_name, "function")
        for optional in ("output_shape", "mask"):
            spec = config.get(optional)
            if isinstance(spec, dict) and spec.get("class_name") == "__numpy__":
                config[optional] = _value_from_config(spec)
            elif _is_function_spec(spec):
                try:
                    config[optional] = _resolve_function(spec, custom_objects, layer_name, optional)
                except FileFormatError:
                    # Neither changes what the layer computes: drop it (the shape is then found by a dry run).
                    warnings.warn(f"Lambda '{layer_name}': its {optional} function cannot be loaded from the "
                                  f"file, so it is left out.", UserWarning, stacklevel=2)
                    config.pop(optional)
            elif optional == "output_shape" and isinstance(spec, list):
                config[optional] = _shape_from_config(spec)
        config["arguments"] = {key: _value_from_config(value)
                               for key, value in (config.get("arguments") or {}).items()}
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, function={_function_name(self.function)}"


def _user_stacklevel() -> int:
    """The stacklevel of the first caller outside cnnlab (get_config runs deep inside model.save)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


# ---------------------------------------------------------------------- shapes
def _check_output_shape(value, owner: str):
    if value is None or callable(value):
        return value
    try:
        if isinstance(value, list) and value and all(isinstance(s, (list, tuple)) for s in value):
            return [_as_shape(s) for s in value]
        return _as_shape(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{owner}: output_shape is the output shape without the batch axis, e.g. (7, 7, 32), a list of such "
            f"shapes, or a function of the input shape. Received: output_shape={value!r}"
        ) from None


def _as_shape(value) -> tuple:
    if isinstance(value, list) and value and all(isinstance(s, (list, tuple)) for s in value):
        return [_as_shape(s) for s in value]
    return tuple(None if d is None else int(d) for d in value)


def _shape_to_config(shape):
    return [list(s) for s in shape] if isinstance(shape, list) else list(shape)


def _shape_from_config(value: list):
    return [tuple(s) for s in value] if value and all(isinstance(s, list) for s in value) else tuple(value)


def _dummy_inputs(input_shape, size: int, device):
    if isinstance(input_shape, (list, tuple)) and input_shape and isinstance(input_shape[0], (list, tuple)):
        return [_dummy_inputs(s, size, device) for s in input_shape]
    if isinstance(input_shape, dict):
        return {k: _dummy_inputs(s, size, device) for k, s in input_shape.items()}
    dims = [size if d is None or i == 0 else int(d) for i, d in enumerate(input_shape)]
    return torch.ones(dims, device=device)


def _shapes_of(value, layer: Lambda | None = None):
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return [tuple(v.shape) for v in value]
    if isinstance(value, list):
        return [_shapes_of(v, layer) for v in value]
    where = f"Lambda '{layer.name}'" if layer is not None else "Lambda"
    raise ShapeError(f"{where}: the function must return a tensor or a list of tensors. "
                     f"Received: a {type(value).__name__}")


def _merge_runs(first: tuple, second: tuple) -> tuple:
    if len(first) != len(second):  # the rank follows the input's sizes: nothing is known
        return (None,) * len(first)
    return tuple(a if a == b else None for a, b in zip(first, second))


# ------------------------------------------------------------------- functions
def _parameter_names(fn) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # some builtins have no signature
        return set()


def _function_name(fn) -> str:
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) and name.isidentifier() else ANONYMOUS


def _is_function_spec(spec) -> bool:
    return isinstance(spec, (str, dict)) or callable(spec)


def _resolve_function(spec, custom_objects: dict | None, layer_name: str, what: str):
    """The callable a saved ``spec`` names, taken from ``custom_objects`` only."""
    if callable(spec) and not isinstance(spec, (str, dict)):
        return spec  # an in-memory config that already holds the function
    objects = custom_objects or {}
    where = f"Lambda '{layer_name}'"
    load = f"load_model(path, custom_objects={{'{layer_name}': my_fn}})"
    # A function passed under the layer's name stands in for one the file cannot give (a lambda's bytecode).
    by_layer = objects.get(layer_name) if what == "function" and callable(objects.get(layer_name)) else None
    if isinstance(spec, dict) and spec.get("class_name") == "__lambda__":
        if by_layer is not None:
            return by_layer
        raise FileFormatError(
            f"layer {layer_name!r} is a Lambda layer whose {what} is a Python lambda stored as marshalled bytecode "
            f"(as Keras writes it); cnnlab never runs code read from a file. Define the function with def and pass it under the layer's name: {load}. "
            f"Received: {what}=<Keras __lambda__ bytecode>"
        )
    name = spec.get("config") if isinstance(spec, dict) else spec
    if not isinstance(name, str) or (isinstance(spec, dict) and spec.get("class_name") != "function"):
        raise FileFormatError(f"{where}: cannot read the saved {what} (expected a function name). "
                              f"Received: {what}={spec!r:.200}")
    registered = spec.get("registered_name") if isinstance(spec, dict) else None
    for key in (name, registered):
        if key and key != ANONYMOUS and callable(objects.get(key)):
            return objects[key]
    if by_layer is not None:
        return by_layer
    if name == ANONYMOUS:
        raise FileFormatError(
            f"{where}: its {what} was an anonymous lambda, so the file holds no function to load (cnnlab saves "
            f"functions by name, never their code). Define the function with def and pass it: {load} for this file; "
            f"saved again, it reloads by its own name. Received: {what}='<lambda>'"
        )
    module = spec.get("module") if isinstance(spec, dict) else None
    origin = f" (from module {module!r})" if module else ""
    raise FileFormatError(
        f"{where} calls the function {name!r}{origin}, which the file names but does not hold: cnnlab never imports "
        f"or runs code read from a file. Pass the function when loading: "
        f"load_model(path, custom_objects={{'{name}': {name if name.isidentifier() else 'my_fn'}}}). "
        f"Received: {what}={name!r}"
    )


# ---------------------------------------------------------------------- values
def _value_to_config(value):
    """JSON form of an ``arguments`` value; arrays use Keras's ``__numpy__`` form."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_value_to_config(v) for v in value]
    if isinstance(value, dict):
        return {k: _value_to_config(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(f"Lambda: cannot save the argument value {value!r:.80} of type {type(value).__name__}; "
                      "arguments must be numbers, strings, lists, dicts or arrays.")


def _value_from_config(value):
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        inner = value.get("config") or {}
        dtype = np.dtype(inner.get("dtype", "float32"))
        if dtype.kind not in "biuf":
            raise FileFormatError(f"Lambda: an argument array has the unsupported dtype {dtype}. "
                                  f"Received: dtype={inner.get('dtype')!r}")
        return np.asarray(inner.get("value"), dtype=dtype)
    if isinstance(value, list):
        return [_value_from_config(v) for v in value]
    if isinstance(value, dict):
        return {k: _value_from_config(v) for k, v in value.items()}
    return value

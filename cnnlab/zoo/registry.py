"""The model registry: ``@register_model``, ``create_model``, ``list_models`` (as in timm).

Every architecture in :mod:`cnnlab.zoo` is a function decorated with
:func:`register_model`; the ``cnnlab`` command and the docs read this registry,
so a new model appears everywhere by being registered once.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from typing import Any

from cnnlab.errors import ArgumentTypeError, ConfigError, did_you_mean, unknown_name

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register_model(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register a model-building function under its own name.

    The function must accept ``input_shape`` and ``num_classes`` keywords and
    return an (uncompiled) model.

    Example:
        >>> @register_model  # doctest: +SKIP
        ... def tiny(input_shape=(28, 28, 1), num_classes=10):
        ...     '''Flatten and one softmax layer.'''
        ...     return Sequential([layers.Input(input_shape), layers.Flatten(),
        ...                        layers.Dense(num_classes, activation="softmax")])
    """
    name = fn.__name__
    existing = _REGISTRY.get(name)
    # The same function re-registered (a module reload) replaces itself.
    if existing is not None and (existing.__module__, existing.__qualname__) != (fn.__module__, fn.__qualname__):
        raise ConfigError(f"A zoo model named {name!r} is already registered. Give the function another name.")
    _REGISTRY[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Names of the registered models matching a shell-style ``pattern``, sorted.

    Example:
        >>> list_models("small_*")
        ['small_resnet', 'small_vgg']
    """
    return sorted(name for name in _REGISTRY if fnmatch.fnmatch(name, pattern))


def is_model(name: str) -> bool:
    """True if ``name`` is a registered model."""
    return name in _REGISTRY


def model_entrypoint(name: str) -> Callable[..., Any]:
    """The function that builds model ``name`` (to read its docstring or source)."""
    if name not in _REGISTRY:
        raise unknown_name("zoo model", name, _REGISTRY, where="cnnlab.zoo")
    return _REGISTRY[name]


def create_model(name: str, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10, **kwargs: Any):
    """Build the zoo model ``name`` for images of ``input_shape``.

    Args:
        name: a name from :func:`list_models`, e.g. ``"lenet5"``.
        input_shape: ``(height, width, channels)`` of one image.
        num_classes: units of the softmax output layer.
        **kwargs: options of that model, e.g. ``kernel_regularizer``,
            ``dropout``, ``batch_norm`` (see each model's docstring).

    Returns:
        An uncompiled model ending in a softmax over ``num_classes``.

    Example:
        >>> model = create_model("lenet5", input_shape=(8, 8, 1))
        >>> model.output.shape
        (None, 10)
    """
    fn = model_entrypoint(name)
    input_shape = _check_input_shape(name, input_shape)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"create_model({name!r}): num_classes must be an int >= 2. Received: num_classes={num_classes!r}")
    accepted = inspect.signature(fn).parameters
    for key in kwargs:
        if key not in accepted:
            options = [p for p in accepted if p not in ("input_shape", "num_classes")]
            raise ArgumentTypeError(
                f"create_model({name!r}) got an unknown option {key!r}.{did_you_mean(key, options)} "
                f"Options of {name}: {', '.join(options)}. Received: {key}={kwargs[key]!r}"
            )
    return fn(input_shape=input_shape, num_classes=num_classes, **kwargs)


def _check_input_shape(name: str, input_shape: Any) -> tuple[int, int, int]:
    ok = isinstance(input_shape, (tuple, list)) and len(input_shape) == 3 and all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape)
    if not ok:
        raise ConfigError(
            f"create_model({name!r}): input_shape must be (height, width, channels) of positive ints, channels "
            f"last, e.g. (28, 28, 1). Received: input_shape={input_shape!r}"
        )
    return tuple(input_shape)

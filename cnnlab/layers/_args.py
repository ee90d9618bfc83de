"""Argument normalisation shared by the layers (Keras's rules, cnnlab's errors)."""

from __future__ import annotations

from cnnlab import activations, constraints, initializers, regularizers
from cnnlab.errors import ConfigError

DATA_FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")


def int_tuple(value, n: int, arg: str, owner: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints, as a tuple of ``n`` positive ints."""
    values = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    low = 0 if allow_zero else 1
    if (values is None or len(values) != n
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= low for v in values)):
        kind = "non-negative" if allow_zero else "positive"
        raise ConfigError(
            f"{owner}: {arg} must be a {kind} int or a tuple of {n} {kind} ints, e.g. {arg}=3 or "
            f"{arg}=({', '.join(['3'] * n)}). Received: {arg}={value!r}"
        )
    return values


def padding_mode(value, owner: str) -> str:
    mode = value.lower() if isinstance(value, str) else value
    if mode not in PADDINGS:
        raise ConfigError(
            f"{owner}: padding must be one of 'valid' (no padding, the image shrinks) or 'same' (zero padding, "
            f"the size is kept at stride 1). Received: padding={value!r}"
        )
    return mode


def data_format(value, owner: str) -> str:
    fmt = "channels_last" if value is None else value
    if fmt not in DATA_FORMATS:
        raise ConfigError(
            f"{owner}: data_format must be 'channels_last' (batch, height, width, channels) or 'channels_first' "
            f"(batch, channels, height, width). Received: data_format={value!r}"
        )
    return fmt


def activation(value, owner: str):
    return activations.get(value, where=f"{owner} argument activation")


def positive_int(value, arg: str, owner: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        hint = " Did you mean an int?" if isinstance(value, float) and value.is_integer() else ""
        raise ConfigError(f"{owner}: {arg} must be a positive int.{hint} Received: {arg}={value!r}")
    return value


def rate(value, arg: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(
            f"{owner}: {arg} is the fraction of units to drop and must be in [0, 1). Received: {arg}={value!r}"
        )
    return float(value)


def weight_config(layer) -> dict:
    """The initializer, regularizer and constraint entries of a Dense or Conv2D ``get_config``."""
    optional = {
        "kernel_regularizer": regularizers.serialize, "bias_regularizer": regularizers.serialize,
        "activity_regularizer": regularizers.serialize,
        "kernel_constraint": constraints.serialize, "bias_constraint": constraints.serialize,
    }
    config = {arg: initializers.serialize(getattr(layer, arg)) for arg in ("kernel_initializer", "bias_initializer")}
    for arg, serialize in optional.items():
        value = getattr(layer, arg)
        config[arg] = None if value is None else serialize(value)
    return config

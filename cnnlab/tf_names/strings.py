"""``tf.strings`` on :class:`~cnnlab.data._strings.StringTensor`: split, join, length, case, regexes, conversions.

Strings are bytes, as in TF (``str`` arguments are UTF-8 encoded); every function works element-wise on a
string tensor of any shape, except :func:`split`, which takes one string (TF returns a ``RaggedTensor`` for
more, and cnnlab has none).

Example:
    >>> import cnnlab as tf
    >>> tf.strings.split("flowers/roses/1.jpg", "/").numpy().tolist()
    [b'flowers', b'roses', b'1.jpg']
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch

from cnnlab.data._strings import StringTensor, elementwise
from cnnlab.errors import ArgumentTypeError, ConfigError, DataError, ShapeError
from cnnlab.tf_names._args import check_arguments, to_tensor
from cnnlab.tf_names.dtypes import as_dtype

tf_api = check_arguments("tf.strings")


def as_strings(value: Any, where: str, arg: str = "input") -> StringTensor:
    """``value`` (a StringTensor, str, bytes, or arrays/lists of them) as a StringTensor."""
    if isinstance(value, StringTensor):
        return value
    if isinstance(value, torch.Tensor) or (isinstance(value, np.ndarray) and value.dtype.kind in "biufc"):
        raise ArgumentTypeError(f"{where}: {arg} must be strings; got a numeric tensor of dtype {value.dtype}. "
                                f"Convert numbers with tf.strings.as_string first. Received: {arg}={value!r:.60}")
    return StringTensor(value, where)


def _scalar_bytes(value: Any, where: str, arg: str) -> bytes:
    tensor = as_strings(value, where, arg)
    if tensor.ndim:
        raise ShapeError(f"{where}: {arg} must be a single string; got shape {tensor.shape}. "
                         f"Received: {arg}={value!r:.60}")
    return tensor.numpy()


def _bool_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(array, dtype=bool))


@tf_api
def split(input: Any, sep: Any = None, maxsplit: int = -1, name: str | None = None) -> StringTensor:  # noqa: A002
    """Split one string at ``sep`` (at runs of whitespace when None or empty), as Python's ``bytes.split``.

    Args:
        input: one string (a scalar string tensor, str or bytes).
        sep: the delimiter; with one given, consecutive delimiters delimit empty strings.
        maxsplit: at most this many splits (-1: no limit).

    Shape:
        Input ``()``; output ``(parts,)``. TF gives a ``RaggedTensor`` for a batch of strings, which cnnlab
        does not have: split each string (e.g. inside ``Dataset.map``) instead.
    """
    text = as_strings(input, "tf.strings.split")
    if text.ndim:
        raise ShapeError(f"tf.strings.split: cnnlab splits one string at a time (TF returns a RaggedTensor for a "
                         f"tensor of shape {text.shape}, and cnnlab has no ragged tensors). Split each element, e.g. "
                         f"[tf.strings.split(s, sep) for s in input], or inside Dataset.map. "
                         f"Received: input.shape={text.shape}")
    delimiter = None if sep is None else _scalar_bytes(sep, "tf.strings.split", "sep")
    parts = text.numpy().split(delimiter or None, int(maxsplit))
    return StringTensor._of(np.array(parts, dtype=object))


@tf_api
def join(inputs: Any, separator: Any = "", name: str | None = None) -> StringTensor:
    """Join a list of string tensors element-wise (broadcasting their shapes), with ``separator`` between."""
    items = [as_strings(item, "tf.strings.join", "inputs")._array for item in inputs]
    if not items:
        raise ConfigError("tf.strings.join: inputs must hold at least one string tensor. Received: inputs=[]")
    glue = _scalar_bytes(separator, "tf.strings.join", "separator")
    try:
        columns = np.broadcast_arrays(*items)
    except ValueError as err:
        raise ShapeError(f"tf.strings.join: the inputs' shapes {[i.shape for i in items]} do not broadcast. "
                         "Give tensors of one shape (or scalars).") from err
    out = np.empty(columns[0].shape, dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = glue.join(column[index] for column in columns)
    return StringTensor._of(out)


@tf_api
def reduce_join(inputs: Any, axis: Any = None, keepdims: bool = False, separator: Any = "",
                name: str | None = None) -> StringTensor:
    """Join the strings along ``axis`` (all axes when None), with ``separator`` between."""
    array = as_strings(inputs, "tf.strings.reduce_join", "inputs")._array
    glue = _scalar_bytes(separator, "tf.strings.reduce_join", "separator")
    if axis is None:
        joined = np.empty((1,) * array.ndim if keepdims else (), dtype=object)
        joined[...] = glue.join(array.reshape(-1))
        return StringTensor._of(joined)
    out = np.apply_along_axis(lambda row: np.array(glue.join(row), dtype=object), int(axis), array)
    return StringTensor._of(np.expand_dims(out, int(axis)) if keepdims else out)


_UNITS = ("BYTE", "UTF8_CHAR")


@tf_api
def length(input: Any, unit: str = "BYTE", name: str | None = None) -> torch.Tensor:  # noqa: A002
    """The length of each string as int32: in bytes (``unit="BYTE"``) or in Unicode characters (``"UTF8_CHAR"``)."""
    if unit not in _UNITS:
        raise ConfigError(f"tf.strings.length: unit must be 'BYTE' or 'UTF8_CHAR'. Received: unit={unit!r}")
    count = len if unit == "BYTE" else (lambda b: len(b.decode("utf-8", errors="replace")))
    return torch.from_numpy(elementwise(count, as_strings(input, "tf.strings.length"), np.int32))


def _case(input: Any, encoding: str, where: str, ascii_fn, unicode_fn) -> StringTensor:
    if encoding not in ("", "utf-8"):
        raise ConfigError(f"{where}: encoding must be '' (ASCII letters only, as TF) or 'utf-8'. "
                          f"Received: encoding={encoding!r}")
    fn = ascii_fn if not encoding else (lambda b: unicode_fn(b.decode("utf-8")).encode("utf-8"))
    return StringTensor._of(elementwise(fn, as_strings(input, where)))


@tf_api
def lower(input: Any, encoding: str = "", name: str | None = None) -> StringTensor:  # noqa: A002
    """Lower-case: ASCII letters only, or every letter with ``encoding="utf-8"``."""
    return _case(input, encoding, "tf.strings.lower", bytes.lower, str.lower)


@tf_api
def upper(input: Any, encoding: str = "", name: str | None = None) -> StringTensor:  # noqa: A002
    """Upper-case: ASCII letters only, or every letter with ``encoding="utf-8"``."""
    return _case(input, encoding, "tf.strings.upper", bytes.upper, str.upper)


@tf_api
def strip(input: Any, name: str | None = None) -> StringTensor:  # noqa: A002
    """Remove leading and trailing whitespace."""
    return StringTensor._of(elementwise(bytes.strip, as_strings(input, "tf.strings.strip")))


def _regex(pattern: Any, where: str) -> re.Pattern:
    source = _scalar_bytes(pattern, where, "pattern")
    try:
        return re.compile(source)
    except re.error as err:
        raise ConfigError(f"{where}: the pattern is not a valid regular expression ({err}). "
                          f"Received: pattern={pattern!r}") from err


@tf_api
def regex_full_match(input: Any, pattern: Any, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """Whether each whole string matches ``pattern`` (Python's ``re`` syntax, which RE2's common forms share)."""
    regex = _regex(pattern, "tf.strings.regex_full_match")
    matches = elementwise(lambda b: regex.fullmatch(b) is not None, as_strings(input, "tf.strings.regex_full_match"),
                          bool)
    return _bool_tensor(matches)


@tf_api
def regex_replace(input: Any, pattern: Any, rewrite: Any, replace_global: bool = True,  # noqa: A002
                  name: str | None = None) -> StringTensor:
    """Replace matches of ``pattern`` by ``rewrite`` (``\\1`` for groups); the first only if not ``replace_global``."""
    regex = _regex(pattern, "tf.strings.regex_replace")
    new = _scalar_bytes(rewrite, "tf.strings.regex_replace", "rewrite")
    count = 0 if replace_global else 1
    return StringTensor._of(elementwise(lambda b: regex.sub(new, b, count=count),
                                        as_strings(input, "tf.strings.regex_replace")))


@tf_api
def as_string(input: Any, precision: int = -1, scientific: bool = False, shortest: bool = False,  # noqa: A002
              width: int = -1, fill: str = "", name: str | None = None) -> StringTensor:
    """Numbers as strings, formatted as TF's ``AsString`` (printf-style: ``%f`` for floats, ``%d`` for ints).

    Args:
        precision: digits after the point for floats (-1: printf's 6).
        scientific: ``%e`` notation. shortest: ``%g`` (the shorter of ``%f`` and ``%e``).
        width: pad to this width (-1: none), with ``fill`` (``""`` for spaces, or one character such as ``"0"``).
    """
    if scientific and shortest:
        raise ConfigError("tf.strings.as_string: scientific and shortest cannot both be True. "
                          f"Received: scientific={scientific}, shortest={shortest}")
    if len(fill) > 1:
        raise ConfigError(f"tf.strings.as_string: fill must be at most one character. Received: fill={fill!r}")
    values = to_tensor(input, "tf.strings.as_string", "input").detach().cpu()
    if values.dtype == torch.bool:
        return StringTensor._of(elementwise(lambda v: b"true" if v else b"false", _as_objects(values)))
    if values.is_complex():
        raise ArgumentTypeError("tf.strings.as_string: complex numbers are not supported in cnnlab. "
                                f"Received: input.dtype={values.dtype}")
    pad = f"{fill}{width}" if width > -1 else ""
    if values.is_floating_point():
        digits = f".{precision}" if precision > -1 else ""
        spec = f"%{pad}{digits}{'e' if scientific else 'g' if shortest else 'f'}"
        values = values.double()
    else:
        spec = f"%{pad}d"
    return StringTensor._of(elementwise(lambda v: (spec % v).encode("ascii"), _as_objects(values)))


def _as_objects(values: torch.Tensor) -> StringTensor:
    """Numbers in an object array, so :func:`elementwise` can format them."""
    return StringTensor._of(np.asarray(values.numpy(), dtype=object))


@tf_api
def to_number(string_tensor: Any, out_type: Any = torch.float32, name: str | None = None) -> torch.Tensor:
    """Parse each string as a number of ``out_type`` (float32 by default; an int type parses integers only)."""
    target = as_dtype(out_type, "tf.strings.to_number", "out_type")
    strings = as_strings(string_tensor, "tf.strings.to_number", "string_tensor")
    parse = float if target.is_floating_point else int

    def convert(b: bytes) -> Any:
        try:
            return parse(b)
        except ValueError:
            kind = "a float" if target.is_floating_point else "an integer"
            raise DataError(f"tf.strings.to_number: cannot read {b!r} as {kind} ({str(target).removeprefix('torch.')}"
                            f"). Check the text, or choose out_type=tf.float32 for decimals. "
                            f"Received: string_tensor={b!r:.60}") from None

    parsed = elementwise(convert, strings)
    try:
        return torch.tensor(parsed.tolist(), dtype=target)
    except (RuntimeError, OverflowError) as err:
        raise DataError(f"tf.strings.to_number: a value does not fit {str(target).removeprefix('torch.')} "
                        f"({err}). Choose a wider out_type, e.g. tf.int64. Received: {strings}") from err


__all__ = ["as_string", "join", "length", "lower", "reduce_join", "regex_full_match", "regex_replace", "split",
           "strip", "to_number", "upper"]
"""TensorFlow's dtype names (``tf.float32``, ``tf.uint8``, ...) as the torch dtypes they stand for.

``tf.float32 is torch.float32``, so ``x.dtype == tf.float32`` holds for the tensors the facade returns and
``tf.cast(x, tf.uint8)`` or ``torch.zeros(3, dtype=tf.int64)`` work alike. TF dtypes torch has no tensor
for (``tf.string``, ``tf.qint8``...) are placeholders that raise a clear error when used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cnnlab.errors import ConfigError
from cnnlab.ops._convert import TORCH_DTYPES, standardize_dtype

float16, half = torch.float16, torch.float16
bfloat16 = torch.bfloat16
float32, float64, double = torch.float32, torch.float64, torch.float64
int8, int16, int32, int64 = torch.int8, torch.int16, torch.int32, torch.int64
uint8, uint16, uint32, uint64 = torch.uint8, torch.uint16, torch.uint32, torch.uint64
complex64, complex128 = torch.complex64, torch.complex128
bool = torch.bool  # noqa: A001 - tf.bool


class UnsupportedDType:
    """A TF dtype with no torch tensor behind it; using it raises :class:`ConfigError`."""

    def __init__(self, name: str, advice: str) -> None:
        self.name = name
        self.advice = advice

    def error(self, where: str) -> ConfigError:
        return ConfigError(f"{where}: tf.{self.name} has no equivalent here, because torch tensors hold numbers "
                           f"only. {self.advice} Received: dtype=tf.{self.name}")

    def __repr__(self) -> str:
        return f"<unsupported dtype: '{self.name}'>"


string = UnsupportedDType("string", "Keep text (file names, labels) in Python lists or NumPy arrays, and "
                                    "read files with open() or PIL rather than tf.io.")
variant = UnsupportedDType("variant", "Use Python containers for nested data.")
resource = UnsupportedDType("resource", "Variables are cnnlab.Variable objects.")


def as_dtype(type_value: Any, where: str = "tf.as_dtype", arg: str = "dtype") -> torch.dtype:
    """The torch dtype for a TF dtype, a name (``"float32"``), a NumPy or Python type.

    Raises:
        ConfigError: for ``tf.string`` and the other dtypes torch lacks, and for unknown names.

    Example:
        >>> as_dtype("uint8")
        torch.uint8
    """
    if isinstance(type_value, torch.dtype):
        return type_value
    if isinstance(type_value, UnsupportedDType):
        raise type_value.error(where)
    if isinstance(type_value, str) and type_value in ("string", "str"):
        raise string.error(where)
    if type_value in (str, np.str_, np.bytes_, bytes, object):
        raise string.error(where)
    return TORCH_DTYPES[standardize_dtype(type_value, where, arg)]


def optional_dtype(dtype: Any, where: str) -> torch.dtype | None:
    return None if dtype is None else as_dtype(dtype, where)


def dtype_max(dtype: torch.dtype) -> float:
    """The largest value of a dtype (TF's ``DType.max``)."""
    return torch.finfo(dtype).max if dtype.is_floating_point else torch.iinfo(dtype).max


def dtype_min(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).min if dtype.is_floating_point else torch.iinfo(dtype).min


__all__ = ["as_dtype", "bfloat16", "bool", "complex128", "complex64", "double", "float16", "float32", "float64",
           "half", "int16", "int32", "int64", "int8", "resource", "string", "uint16", "uint32", "uint64", "uint8",
           "variant"]

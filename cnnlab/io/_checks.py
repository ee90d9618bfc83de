"""What a stored weight may hold: one policy and one wording for every format we read (trust round 2).

Floats of any width load into float variables (they are cast); complex numbers never load, integers and booleans
load only into integer variables, and NaN or infinite values are refused with the tensor named, because a model
holding them predicts NaN silently.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlab.errors import FileFormatError

_KIND_NAMES = {"c": "complex", "b": "boolean", "i": "integer", "u": "unsigned integer", "f": "float"}
_FINITE_CHUNK = 1 << 22  # elements checked at a time, so the check needs no tensor-sized temporary


def check_weight_kind(kind: str, dtype_name: str, expect_float: bool, source, where: str) -> None:
    """Refuse a stored dtype that cannot become the variable's: complex always, integer/boolean for floats.

    Args:
        kind: the stored dtype's NumPy kind letter (``'f'``, ``'c'``, ``'i'``, ``'u'``, ``'b'``, ...).
        dtype_name: the stored dtype as the file spells it, for the message.
        expect_float: whether the variable it loads into is a float.
        source: the file, named in the message.
        where: the tensor's place in the file (member and name, or dataset path).

    Raises:
        FileFormatError: naming the file, the tensor and both dtypes.
    """
    if kind == "f" if expect_float else kind in "iub":
        return
    got = _KIND_NAMES.get(kind, "non-numeric")
    wanted = "floating-point" if expect_float else "integer"
    raise FileFormatError(
        f"'{source}': {where} holds {got} values ({dtype_name}), but the variable it loads into needs "
        f"{wanted} values. Weights are never {got} in a saved model, so the file was crafted or damaged; "
        "re-save the model from its source."
    )


def check_finite(values, source, where: str) -> None:
    """Refuse NaN or infinite values in a stored float tensor (NumPy array or torch tensor).

    Raises:
        FileFormatError: naming the file, the tensor and how many values are not finite.
    """
    flat = values.reshape(-1)
    if flat.shape[0] == 0 or not (flat.dtype.kind == "f" if isinstance(values, np.ndarray)
                                  else flat.is_floating_point()):
        return
    # min and max propagate NaN and reach +-inf, and reduce without a tensor-sized temporary (10x isfinite's speed).
    if all(_finite_range(flat[i:i + _FINITE_CHUNK]) for i in range(0, flat.shape[0], _FINITE_CHUNK)):
        return
    finite = np.isfinite if isinstance(values, np.ndarray) else torch.isfinite
    bad = sum(int((~finite(flat[i:i + _FINITE_CHUNK])).sum()) for i in range(0, flat.shape[0], _FINITE_CHUNK))
    raise FileFormatError(
        f"'{source}': {where} holds {bad} NaN or infinite value(s) out of {flat.shape[0]}. A model saved "
        "after training diverged predicts NaN; load an earlier checkpoint, or re-save the model from a "
        "run whose weights are finite."
    )


def _finite_range(chunk) -> bool:
    if isinstance(chunk, np.ndarray):  # any byte order or width, even those torch lacks (longdouble)
        return bool(np.isfinite(chunk.min()) and np.isfinite(chunk.max()))
    low, high = torch.aminmax(chunk if chunk.dtype in (torch.float32, torch.float64) else chunk.float())
    return bool(torch.isfinite(low) and torch.isfinite(high))

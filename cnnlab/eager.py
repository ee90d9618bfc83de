"""Tensors handed to the user answer ``.numpy()``, as TensorFlow's eager tensors do.

A plain torch tensor refuses ``.numpy()`` when it requires grad or lives on a
GPU, has no ``eval()`` for TF1 code to trip on, and takes NumPy's reductions
(``np.min(t)`` calls ``t.min(axis=None, out=None)``) as its own. What cnnlab
hands out -- outputs of an outermost layer or model call, values of the tf
facade, dataset elements -- is an :class:`EagerTensor`: the same tensor (no
copy, same autograd node) that also behaves as a TF user expects; what is
computed from it is one too.

The training loops never see one: ``fit``/``evaluate``/``predict`` run their
steps inside :func:`plain_outputs` and take plain tensors, so the per-op
dispatch of a tensor subclass costs them nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from cnnlab.errors import GraphModeError

# NumPy's reductions call these methods with NumPy keywords; torch's methods take other ones.
_NUMPY_REDUCTIONS = ("min", "max", "sum", "mean", "prod", "std", "var", "any", "all", "argmin", "argmax")
_NUMPY_KEYWORDS = frozenset({"axis", "out", "keepdims", "initial", "where", "ddof", "dtype"})
_NO_NUMPY_DTYPE = (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2)


class EagerTensor(torch.Tensor):
    """A torch tensor that answers ``.numpy()``, ``eval()`` (with the eager line to write) and NumPy's calls.

    It computes and back-propagates like a plain tensor.

    Example:
        >>> heatmap = conv_output @ pooled_grads[..., None]   # doctest: +SKIP
        >>> heatmap.numpy()                                   # doctest: +SKIP
    """

    def numpy(self, *, force: bool = False) -> np.ndarray:
        with torch._C.DisableTorchFunctionSubclass():
            value = self.detach().cpu()
            if value.dtype in _NO_NUMPY_DTYPE:
                value = value.float()  # NumPy has no bfloat16: its values read exactly as float32
            return value.numpy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self.numpy()
        if dtype is not None and array.dtype != np.dtype(dtype):
            return array.astype(dtype)
        return array.copy() if copy else array

    def __format__(self, spec: str) -> str:
        # torch formats 0-d tensors as numbers only when their type is exactly torch.Tensor.
        if self.dim() == 0 and spec:
            return format(self.item(), spec)
        return super().__format__(spec)

    def eval(self, *args: Any, **kwargs: Any):  # noqa: A003  TF1's Tensor.eval()
        raise GraphModeError(
            "tensor.eval() is TensorFlow 1 graph-mode code, which cnnlab does not support: cnnlab runs eagerly, as "
            "TF2 does, so the tensor already holds its values. Instead: use `tensor.numpy()` (a NumPy array) or "
            "`float(tensor)` for a single number. Received: tensor.eval()")


def _numpy_or_torch(name: str):
    torch_method = getattr(torch.Tensor, name)

    def method(self, *args: Any, **kwargs: Any):
        if kwargs and _NUMPY_KEYWORDS.issuperset(kwargs) and ("axis" in kwargs or "out" in kwargs):
            kwargs = {k: v for k, v in kwargs.items() if not (k == "out" and v is None)}
            return getattr(np, name)(self.numpy(), **kwargs)  # NumPy's own reduction called it: answer as NumPy
        return torch_method(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = torch_method.__doc__
    return method


for _name in _NUMPY_REDUCTIONS:
    setattr(EagerTensor, _name, _numpy_or_torch(_name))


class DataTensor(EagerTensor):
    """A dataset element: answers ``.numpy()``, NumPy's calls and ``eval()`` as :class:`EagerTensor` does, but
    what is computed from it is a plain tensor. Elements need no gradient, and a torch model fed from a dataset
    then runs at plain-tensor speed (no per-op dispatch)."""

    __torch_function__ = torch._C._disabled_torch_function_impl

    # What tutorials do with an element -- take one image of a batch, loop over a batch -- keeps the type, so
    # np.min(image_batch[0]) and label.numpy() work on the parts too.
    def __getitem__(self, index: Any) -> torch.Tensor:
        part = torch.Tensor.__getitem__(self, index)
        part.__class__ = DataTensor
        return part

    def __iter__(self) -> Iterator[torch.Tensor]:
        for i in range(len(self)):
            yield self[i]


_HAND_OUT = [True]  # False inside fit/evaluate/predict steps


@contextlib.contextmanager
def plain_outputs() -> Iterator[None]:
    """Calls inside return plain torch tensors (the training loops: a subclass's per-op dispatch costs time)."""
    previous, _HAND_OUT[0] = _HAND_OUT[0], False
    try:
        yield
    finally:
        _HAND_OUT[0] = previous


def _retag(tensor: torch.Tensor, kind: type) -> torch.Tensor:
    # Retag the tensor itself: as_subclass would make a new autograd node, and the gradient with respect to a
    # handed-out intermediate output (Model(inputs, [conv_output, preds]), Grad-CAM) would be None.
    if _HAND_OUT[0] and not torch.jit.is_tracing() and not torch.compiler.is_compiling():
        tensor.__class__ = kind
    return tensor


def hand_out(value: Any, only_when_needed: bool = False, kind: type = EagerTensor) -> Any:
    """``value`` (a tensor, or a list/tuple/dict of them) with its plain tensors made ``kind``
    (:class:`EagerTensor`, or :class:`DataTensor` for dataset elements).

    With ``only_when_needed`` (outputs of layer and model calls), only tensors a plain ``.numpy()`` would
    refuse -- requiring grad, or on a GPU -- are retagged, so inference outputs stay plain tensors.
    """
    if type(value) is torch.Tensor:
        if not only_when_needed or value.requires_grad or value.device.type != "cpu":
            return _retag(value, kind)
        return value
    if type(value) in (list, tuple):
        return type(value)(hand_out(v, only_when_needed, kind) for v in value)
    if type(value) is dict:
        return {k: hand_out(v, only_when_needed, kind) for k, v in value.items()}
    return value


def plain(value: Any) -> Any:
    """``value`` with every :class:`EagerTensor` seen as a plain tensor (same storage and autograd node)."""
    if type(value) in (EagerTensor, DataTensor):
        return value.as_subclass(torch.Tensor)
    if type(value) in (list, tuple):
        return type(value)(plain(v) for v in value)
    if type(value) is dict:
        return {k: plain(v) for k, v in value.items()}
    return value

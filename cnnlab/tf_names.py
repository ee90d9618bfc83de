"""The eager TensorFlow names image tutorials use, on torch: ``import cnnlab as tf`` then ``tf.GradientTape``.

Only what the Keras Grad-CAM example and custom loops need so far; each name maps onto :mod:`cnnlab.ops` or
torch autograd with TensorFlow's argument names and defaults. TF1 graph mode is not provided.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch

from cnnlab import ops
from cnnlab.errors import ArgumentTypeError, TapeError

newaxis = None  # tf.newaxis, as NumPy's


def argmax(input: Any, axis: int | None = None, output_type: Any = None, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """Index of the largest value along ``axis`` (TensorFlow's default: axis 0)."""
    return ops.argmax(input, axis=0 if axis is None else axis)


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Mean over ``axis`` (all axes when None)."""
    return ops.mean(input_tensor, axis=axis, keepdims=keepdims)


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Sum over ``axis`` (all axes when None)."""
    return ops.sum(input_tensor, axis=axis, keepdims=keepdims)


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Maximum over ``axis`` (all axes when None)."""
    return ops.max(input_tensor, axis=axis, keepdims=keepdims)


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None) -> torch.Tensor:
    """Minimum over ``axis`` (all axes when None)."""
    return ops.min(input_tensor, axis=axis, keepdims=keepdims)


def squeeze(input: Any, axis: Any = None, name: str | None = None) -> torch.Tensor:  # noqa: A002
    """Drop size-1 axes (all of them when ``axis`` is None)."""
    return ops.squeeze(input, axis=axis)


def maximum(x: Any, y: Any, name: str | None = None) -> torch.Tensor:
    """Element-wise maximum, broadcasting."""
    return ops.maximum(x, y)


def minimum(x: Any, y: Any, name: str | None = None) -> torch.Tensor:
    """Element-wise minimum, broadcasting."""
    return ops.minimum(x, y)


math = SimpleNamespace(argmax=argmax, reduce_mean=reduce_mean, reduce_sum=reduce_sum, reduce_max=reduce_max,
                       reduce_min=reduce_min, maximum=maximum, minimum=minimum)


class GradientTape:
    """Records operations for gradients, as ``tf.GradientTape`` (on torch autograd).

    Args:
        persistent: allow several ``gradient`` calls on one tape.
        watch_accessed_variables: accepted; weights are always watched (torch records what requires grad).

    Example:
        >>> with GradientTape() as tape:
        ...     preds = model(x)
        ...     loss = preds[:, 0].sum()
        >>> grads = tape.gradient(loss, model.trainable_weights)  # doctest: +SKIP
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = bool(persistent)
        self._used = False
        self._grad_mode = None

    def __enter__(self) -> GradientTape:
        self._grad_mode = torch.enable_grad()  # TF records inside the block even under an outer no_grad
        self._grad_mode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._grad_mode.__exit__(*exc)

    def watch(self, tensor: Any) -> None:
        """Record operations on ``tensor`` (a float leaf tensor, or a list of them)."""
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            if not isinstance(t, torch.Tensor):
                raise ArgumentTypeError(
                    "GradientTape.watch: only tensors can be watched (torch records operations on tensors). Turn "
                    f"the value into a float tensor first, e.g. torch.as_tensor(x, dtype=torch.float32). "
                    f"Received: {type(t).__name__}")
            if t.is_leaf and t.is_floating_point() and not t.requires_grad:
                t.requires_grad_(True)

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """d(sum of ``target``)/d``sources``, in the structure of ``sources``; None where not connected."""
        if self._used and not self.persistent:
            raise TapeError(
                "GradientTape.gradient can be called once on a tape that is not persistent (as in TensorFlow). "
                "Use GradientTape(persistent=True) to take several gradients from one tape.")
        if unconnected_gradients not in ("none", "zero"):
            raise ArgumentTypeError("GradientTape.gradient: unconnected_gradients must be 'none' or 'zero'. "
                                    f"Received: unconnected_gradients={unconnected_gradients!r}")
        self._used = True
        single = isinstance(sources, torch.Tensor)
        flat = [sources] if single else list(sources)
        targets = list(target) if isinstance(target, (list, tuple)) else [target]
        weights = list(output_gradients) if isinstance(output_gradients, (list, tuple)) else \
            [output_gradients] * len(targets)
        pairs = [(t, torch.ones_like(t) if w is None else torch.as_tensor(w, dtype=t.dtype))
                 for t, w in zip(targets, weights) if isinstance(t, torch.Tensor) and t.requires_grad]
        wanted = [i for i, s in enumerate(flat) if isinstance(s, torch.Tensor) and s.requires_grad]
        grads: list = [None] * len(flat)
        if pairs and wanted:
            found = torch.autograd.grad([t for t, _ in pairs], [flat[i] for i in wanted],
                                        grad_outputs=[w for _, w in pairs], retain_graph=self.persistent,
                                        allow_unused=True)
            for i, g in zip(wanted, found):
                grads[i] = g
        if unconnected_gradients == "zero":
            grads = [torch.zeros_like(s) if g is None else g for g, s in zip(grads, flat)]
        return grads[0] if single else grads

"""``tf.GradientTape`` on torch autograd: gradients of eager computations with respect to tensors and Variables.

Example:
    >>> import cnnlab as tf
    >>> w = tf.Variable(3.0)
    >>> with tf.GradientTape() as tape:
    ...     loss = w * w
    >>> float(tape.gradient(loss, w))
    6.0
"""

from __future__ import annotations

from typing import Any

import torch

from cnnlab.errors import ArgumentTypeError, TapeError
from cnnlab.tf_names._args import check_arguments

tape_api = check_arguments("GradientTape")


def _tensor_of(value: Any) -> Any:
    """The tensor behind a cnnlab Variable (what autograd records); anything else unchanged."""
    inner = getattr(value, "value", None)
    return inner if not isinstance(value, torch.Tensor) and isinstance(inner, torch.Tensor) else value


class GradientTape:
    """Records operations for gradients, as ``tf.GradientTape`` (on torch autograd).

    Args:
        persistent: allow several ``gradient`` calls on one tape.
        watch_accessed_variables: accepted; weights are always watched (torch records what requires grad).

    Example:
        >>> with GradientTape() as tape:  # doctest: +SKIP
        ...     preds = model(x)
        ...     loss = preds[:, 0].sum()
        >>> grads = tape.gradient(loss, model.trainable_weights)  # doctest: +SKIP
    """

    @tape_api
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

    @tape_api
    def watch(self, tensor: Any) -> None:
        """Record operations on ``tensor`` (a float tensor or Variable, or a list of them)."""
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            t = _tensor_of(t)
            if not isinstance(t, torch.Tensor):
                raise ArgumentTypeError(
                    "GradientTape.watch: only tensors can be watched (torch records operations on tensors). Turn "
                    f"the value into a float tensor first, e.g. torch.as_tensor(x, dtype=torch.float32). "
                    f"Received: {type(t).__name__}")
            if t.is_leaf and t.is_floating_point() and not t.requires_grad:
                t.requires_grad_(True)

    @tape_api
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
        single = not isinstance(sources, (list, tuple))
        flat = [_tensor_of(s) for s in ([sources] if single else sources)]
        targets = [_tensor_of(t) for t in (target if isinstance(target, (list, tuple)) else [target])]
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

"""The logits fast path, in one place: an output layer ending in softmax/sigmoid can hand back its logits.

Training computes a cross-entropy from the logits (one fused, stable op) and Grad-CAM takes class scores
before the squashing; both switch the output layer to emit logits for the duration of a block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

# Activations whose inputs are the logits of a probability output.
LOGIT_ACTIVATIONS = ("softmax", "sigmoid")


def output_layer(model):
    """The layer producing a Sequential or single-output functional model's output, else None."""
    stack = getattr(model, "_stack", None)
    if stack:
        return stack[-1]
    outputs = getattr(model, "_outputs", None)
    if outputs and len(outputs) == 1:
        return outputs[0].node.layer
    return None


def logit_activation(layer) -> str | None:
    """``"softmax"`` or ``"sigmoid"`` when ``layer`` can emit the logits before that activation, else None."""
    if layer is None or not hasattr(layer, "_emit_logits"):
        return None
    name = "softmax" if type(layer).__name__ == "Softmax" else getattr(getattr(layer, "activation", None),
                                                                      "__name__", None)
    return name if name in LOGIT_ACTIVATIONS else None


@contextlib.contextmanager
def emitting_logits(layer) -> Iterator[None]:
    """While the block runs, ``layer`` returns its logits (the attribute is set directly: this runs every step)."""
    state = layer.__dict__
    before = state.get("_emit_logits", False)
    state["_emit_logits"] = True
    try:
        yield
    finally:
        state["_emit_logits"] = before

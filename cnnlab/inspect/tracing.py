"""Forward hooks that watch a model run: which layers were called, on what, producing what.

Works for every model, subclassed ones included, because it observes real
calls instead of reading a symbolic graph. Hooks are always removed in
``finally``, and the model's train/eval mode is left as it was.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch

from cnnlab.layers.base import Layer
from cnnlab.layers.node import flatten, pack_like
from cnnlab.layers.serialization import is_model


@dataclass
class LayerCall:
    """One call of a layer seen by the hooks: its parents are indices of earlier calls, or -1 for the model input."""

    layer: object
    parents: list[int] = field(default_factory=list)
    input_shapes: list = field(default_factory=list)
    output_shapes: list = field(default_factory=list)


@contextlib.contextmanager
def forward_hooks(layers, on_output):
    """Call ``on_output(layer, inputs, output)`` after each call of each of ``layers`` while the block runs."""
    handles = []
    try:
        for layer in layers:
            handles.append(layer.register_forward_hook(
                lambda module, args, output, _layer=layer: on_output(_layer, args, output)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def tensors_in(value) -> list[torch.Tensor]:
    return [t for t in flatten(value) if isinstance(t, torch.Tensor)]


def _batchless(t: torch.Tensor) -> tuple:
    return (None,) + tuple(t.shape[1:])


class _Producers:
    """Which recorded call produced a tensor: by identity, else by walking the autograd graph back.

    The autograd walk links calls joined by plain tensor code in a subclassed ``call`` (``x + y``,
    ``torch.cat``) that no layer hook sees.
    """

    def __init__(self, model_inputs: list[torch.Tensor]):
        self.by_id: dict[int, int] = {id(t): -1 for t in model_inputs}
        self.by_fn: dict[object, int] = {}
        self.keep = list(model_inputs)  # hold tensors so their ids are not reused during the trace
        self.input_ids = {id(t) for t in model_inputs}

    def record(self, tensor: torch.Tensor, index: int) -> None:
        self.keep.append(tensor)
        self.by_id[id(tensor)] = index
        if tensor.grad_fn is not None:
            self.by_fn[tensor.grad_fn] = index

    def parents(self, tensor: torch.Tensor) -> list[int]:
        if id(tensor) in self.by_id:
            return [self.by_id[id(tensor)]]
        found, seen, stack = [], set(), [tensor.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or fn in seen:
                continue
            seen.add(fn)
            if fn in self.by_fn:
                found.append(self.by_fn[fn])
                continue
            leaf = getattr(fn, "variable", None)
            if leaf is not None and id(leaf) in self.input_ids:
                found.append(-1)
                continue
            stack.extend(next_fn for next_fn, _ in fn.next_functions)
        return sorted(set(found))


def trace_calls(model, inputs, layers) -> list[LayerCall]:
    """Run ``model`` once on ``inputs`` (inference mode) and record each call of ``layers`` in order."""
    model_inputs = [t.detach().requires_grad_(True) for t in tensors_in(inputs)]
    producers = _Producers(model_inputs)
    calls: list[LayerCall] = []

    def on_output(layer, args, output):
        ins = tensors_in(args[0] if args else [])
        parents = sorted({p for t in ins for p in producers.parents(t)})
        calls.append(LayerCall(layer, parents, [_batchless(t) for t in ins],
                               [_batchless(t) for t in tensors_in(output)]))
        for t in tensors_in(output):
            producers.record(t, len(calls) - 1)

    feed = model_inputs[0] if isinstance(inputs, torch.Tensor) else _repack(inputs, model_inputs)
    with torch.enable_grad(), forward_hooks(layers, on_output):
        model(feed, training=False)
    return calls


def _repack(structure, leaves):
    return pack_like(structure, leaves)


def last_called_leaf(model, batch: torch.Tensor):
    """The last leaf layer (not a model) called when ``model`` runs on ``batch``: its output layer."""
    leaves = [m for m in model.modules() if isinstance(m, Layer) and not is_model(m)]
    seen = []
    with torch.no_grad(), forward_hooks(leaves, lambda layer, args, output: seen.append(layer)):
        model(batch, training=False)
    return seen[-1] if seen else None

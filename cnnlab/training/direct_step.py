"""A training step with its backward pass written out, for ``Sequential`` stacks of the common CNN layers.

Eager autograd records a node for every op of the forward pass and replays them through its engine. For a
small model at a small batch (LeNet-5 at batch 32) that bookkeeping is about 15% of a step. When a
``Sequential`` model is made only of the layers below and ends in a softmax ``Dense`` trained on
cross-entropy, ``fit`` runs this step instead. It makes the same forward calls as the layers do, then calls the
backward kernels autograd would call (``convolution_backward``, ``max_pool2d_with_indices_backward``,
``threshold_backward``, ``mm``) in reverse order on the same tensors. The gradients are therefore the ones
autograd computes, bit for bit, which ``tests/training/test_direct_step.py`` checks.

Layers: ``Conv2D`` (channels-last, ``relu`` or ``linear``, padding torch can do symmetrically, one group);
``MaxPooling2D`` (channels-last, ``valid``); ``Flatten``; ``Dense`` (``relu`` or ``linear``, softmax last);
``Dropout`` (no ``noise_shape``). None of them may have a regularizer. Anything else, and any call that
something could observe (forward hooks, an activity regularizer, mixed precision, a
loss-scaling optimizer, ``jit_compile``, sample weights, a GPU), runs through autograd as before.
``CNNLAB_DIRECT_STEP=0`` turns the direct step off.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch.nn.modules import module as _module

from cnnlab import activations
from cnnlab.errors import CnnlabError
from cnnlab.layers.base import has_added_losses
from cnnlab.layers.conv import Conv2D
from cnnlab.layers.core import Dense, Dropout, Flatten
from cnnlab.layers.pooling import MaxPooling2D

_aten = torch.ops.aten
_HIDDEN_ACTIVATIONS = (activations.relu, activations.linear)


def _enabled() -> bool:
    return os.environ.get("CNNLAB_DIRECT_STEP", "1") != "0"


def _weights_plain(layer) -> bool:
    return layer.activity_regularizer is None and all(v.regularizer is None for v in layer.weights)


def _eligible(layer, last: bool) -> bool:
    kind = type(layer)
    if kind is Conv2D:
        return (layer.data_format == "channels_last" and layer.groups == 1 and layer.activation in _HIDDEN_ACTIVATIONS
                and _weights_plain(layer))
    if kind is MaxPooling2D:
        return layer.data_format == "channels_last" and layer.padding == "valid"
    if kind is Flatten:
        return layer.data_format == "channels_last"
    if kind is Dense:
        return (layer.activation is activations.softmax) if last else (
            layer.activation in _HIDDEN_ACTIVATIONS and _weights_plain(layer))
    if kind is Dropout:
        return layer.noise_shape is None
    return False


class DirectStep:
    """Forward and backward of one training step of ``model``'s layers, without autograd's graph.

    Made by :meth:`plan`, which returns None for a model it does not cover; the trainer runs it for the batches
    :meth:`covers` accepts and uses autograd for the others.
    """

    def __init__(self, model, layers: list):
        self.layers = layers  # not the model: the model holds this plan, and a cycle would outlive its last use
        self.input_shape = tuple(model.inputs[0].shape[1:])
        self._shapes_recorded = None

    @classmethod
    def plan(cls, model) -> DirectStep | None:
        stack = getattr(model, "_plain_stack", None)
        layers = stack() if stack is not None and _enabled() and model.built else None
        if not layers or not all(layer.built for layer in layers):
            return None
        if not all(_eligible(layer, i == len(layers) - 1) for i, layer in enumerate(layers)):
            return None
        try:
            shape = tuple(model.inputs[0].shape)
        except CnnlabError:  # no symbolic input: the shapes are not known up front
            return None
        for layer in layers:
            if type(layer) is Conv2D and layer._paddings(tuple(shape[1:3]))[1] is not None:
                return None  # torch pads both sides alike: TF's uneven 'same' padding runs through autograd
            if type(layer) is Dense and len(shape) != 2:
                return None  # a Dense on images (per pixel): its backward is not the 2-D one written here
            shape = tuple(layer.compute_output_shape(shape))
        return cls(model, layers)

    # ------------------------------------------------------------------------------------------ the checks
    def _observed(self) -> bool:
        if _module._global_forward_hooks or _module._global_forward_pre_hooks:
            return True
        return any(layer._forward_hooks or layer._forward_pre_hooks for layer in self.layers)

    def covers(self, model, x, y, sample_weight) -> bool:
        return (sample_weight is None and type(x) is torch.Tensor and type(y) is torch.Tensor
                and x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4
                and tuple(x.shape[1:]) == self.input_shape and y.dim() == 1 and y.dtype == torch.int64
                and torch.is_grad_enabled() and not (model._forward_hooks or model._forward_pre_hooks)
                and not self._observed())

    # ------------------------------------------------------------------------------------------ the step
    def run(self, model, x: torch.Tensor, y: torch.Tensor, loss_fn):
        """Forward, loss and backward; gradients go to each trainable weight's ``.grad``.

        Returns ``(loss, logits)``: the loss without a graph, and the logits.
        """
        if has_added_losses():  # as the model's own call does: last call's add_loss values go (these layers add none)
            model._clear_losses()
        tape = []  # the forward's steps in order: ("kind", what its backward needs...)
        h = x
        layers, i = self.layers, 0
        with torch.no_grad():
            while i < len(layers):
                layer = layers[i]
                kind = type(layer)
                if kind is Conv2D or kind is MaxPooling2D:
                    h = h.permute(0, 3, 1, 2)
                    tape.append(("to_channels_first",))
                    if kind is Conv2D:
                        padding, _ = layer._paddings(tuple(h.shape[2:]))
                        weight = layer.kernel.permute(*layer._kernel_order)
                        tape.append(("conv", layer, h, weight, padding))
                        h = F.conv2d(h, weight, layer.bias, layer.strides, padding, layer.dilation_rate, 1)
                        after = layers[i + 1] if i + 1 < len(layers) else None
                        if type(after) is MaxPooling2D and layer.activation is activations.relu:
                            # as Sequential runs this pair: the ReLU after the pooling (same numbers)
                            h = _pool(after, h, tape)
                            i += 1
                        if layer.activation is activations.relu:
                            h = torch.relu(h)
                            tape.append(("relu", h))
                    else:
                        h = _pool(layer, h, tape)
                    h = h.permute(0, 2, 3, 1)
                    tape.append(("to_channels_last",))
                elif kind is Flatten:
                    tape.append(("reshape", h.shape))
                    h = h.reshape(h.shape[0], -1)
                elif kind is Dropout:
                    if layer.rate:
                        # Dropout's own mask, drawn as cnnlab.layers.core.drop draws it
                        scale = torch.rand(h.shape, dtype=torch.float32).ge_(layer.rate).mul_(1 / (1 - layer.rate))
                        h = h * scale
                        tape.append(("scale", scale))
                else:  # Dense; the last one emits logits
                    tape.append(("dense", layer, h))
                    h = F.linear(h, layer.kernel.t(), layer.bias)
                    if layer.activation is activations.relu and i + 1 < len(layers):
                        h = torch.relu(h)
                        tape.append(("relu", h))
                i += 1
        logits = h.requires_grad_()
        loss = loss_fn(y, logits, None)
        (grad,) = torch.autograd.grad(loss, [logits])
        self._backward(tape, grad)
        self._record_shapes(model, x, h)
        return loss.detach(), h.detach()

    @staticmethod
    def _backward(tape: list, grad: torch.Tensor) -> None:
        first = next(k for k, entry in enumerate(tape) if entry[0] in ("conv", "dense"))  # no input gradient
        with torch.no_grad():
            for k in range(len(tape) - 1, first - 1, -1):
                entry, tape[k] = tape[k], None  # freed as it is used, as autograd frees its saved tensors
                kind = entry[0]
                if kind == "relu":
                    grad = _aten.threshold_backward(grad, entry[1], 0)
                elif kind == "to_channels_last":
                    grad = grad.permute(0, 3, 1, 2)
                elif kind == "to_channels_first":
                    grad = grad.permute(0, 2, 3, 1)
                elif kind == "scale":
                    grad = grad * entry[1]
                elif kind == "reshape":
                    grad = grad.view(entry[1])
                elif kind == "pool":
                    _, layer, inputs, indices = entry
                    grad = _aten.max_pool2d_with_indices_backward(grad, inputs, list(layer.pool_size),
                                                                  list(layer.strides), [0, 0], [1, 1], False, indices)
                elif kind == "dense":
                    _, layer, inputs = entry
                    if layer.bias is not None:
                        _accumulate(layer.bias, lambda: grad.sum(0))
                    _accumulate(layer.kernel, lambda: inputs.t().mm(grad))
                    grad = grad.mm(layer.kernel.t()) if k > first else None
                else:  # conv
                    _, layer, inputs, weight, padding = entry
                    has_bias = layer.bias is not None
                    mask = [k > first, layer.kernel.value.requires_grad, has_bias and layer.bias.value.requires_grad]
                    if not any(mask):
                        grad = None
                        continue
                    padding = list(padding) if isinstance(padding, tuple) else [padding] * 2
                    grad_input, grad_weight, grad_bias = _aten.convolution_backward(
                        grad, inputs, weight, [weight.shape[0]] if has_bias else None, list(layer.strides), padding,
                        list(layer.dilation_rate), False, [0, 0], 1, mask)
                    if mask[1]:
                        _accumulate(layer.kernel, lambda: grad_weight.permute(2, 3, 1, 0))
                    if mask[2]:
                        _accumulate(layer.bias, lambda: grad_bias)
                    grad = grad_input
                if grad is None:
                    break

    def _record_shapes(self, model, x, out) -> None:
        """Each layer's last call shapes, as its own call records them (diagrams read them); once per batch size."""
        shape = tuple(x.shape)
        if self._shapes_recorded == shape and model.__dict__.get("_last_shapes", (None,))[0] == shape:
            return
        model.__dict__["_last_shapes"] = (shape, tuple(out.shape))
        for layer in self.layers:
            out_shape = tuple(layer.compute_output_shape(shape))
            layer.__dict__["_last_shapes"] = (shape, out_shape)
            shape = out_shape
        self._shapes_recorded = tuple(x.shape)


def _pool(layer, inputs: torch.Tensor, tape: list) -> torch.Tensor:
    """Max pooling of a channels-first tensor; its input and argmax indices go on the tape."""
    out, indices = F.max_pool2d_with_indices(inputs, layer.pool_size, layer.strides)
    tape.append(("pool", layer, inputs, indices))
    return out


def _accumulate(variable, make) -> None:
    """Add a gradient to a trainable weight's ``.grad``, laid out like the weight (as AccumulateGrad does)."""
    param = variable.value
    if not param.requires_grad:
        return
    grad = make()
    if param.grad is None:
        param.grad = grad if grad.stride() == param.stride() else grad.contiguous()
    else:
        param.grad += grad

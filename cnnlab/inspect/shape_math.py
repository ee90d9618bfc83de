"""Shape arithmetic behind ``summary(detail=True)``: windows, output sizes, receptive fields, MACs.

Every number is worked out from a layer's arguments and the shapes it was
called with; nothing here runs a layer. Conventions:

- The receptive field ``r`` and jump ``j`` (effective stride, in input pixels)
  follow the standard recurrence, per spatial axis, starting from ``r = j = 1``
  at the input: ``j_out = j_in * s`` and ``r_out = r_in + (k_eff - 1) * j_in``
  with ``k_eff = d * (k - 1) + 1``. Up-sampling by ``f`` and a transposed
  convolution of stride ``s`` divide the jump (``j_out = j_in / s``, a
  fraction of an input pixel); an output pixel of a transposed convolution
  reads ``floor((k_eff - 1)/s) + 1`` inputs per axis, one of an up-sampling
  as many as its interpolation blends. Layers without a window (padding,
  cropping, activations, ...) keep ``(r, j)``; a merge takes the largest
  field of its inputs; ``Flatten``, ``Dense`` and global pooling of any rank
  see the whole input, shown as ``None``.
- MACs (multiply-accumulates) count only products with weights, for every
  rank: convolution ``out_positions * prod(kernel) * (C_in / groups) * C_out``,
  transposed ``in_positions * prod(kernel) * C_in * C_out``, depthwise
  ``out_positions * prod(kernel) * C_in * depth_multiplier``, separable the
  depthwise part plus the 1x1 part, ``Dense`` ``positions * in * out``.
  Pooling, normalisation, activations and merges are counted as 0, as in
  the usual MAC tallies.
- Activation memory is the layer's output elements times 4 bytes (float32).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

from cnnlab.inspect.model_graph import model_nodes, summary_rows
from cnnlab.layers.conv import (
    Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose, DepthwiseConv1D, DepthwiseConv2D,
    SeparableConv1D, SeparableConv2D,
)
from cnnlab.layers.core import Dense, InputLayer
from cnnlab.layers.serialization import is_graph_model, is_model
from cnnlab.models.trace import Margins, Window, layer_margins, layer_window, margin_sizes, spatial_sizes, transposed_size
from cnnlab.ops import same_padding

BYTES_PER_FLOAT32 = 4
# Layers whose every output sees the whole input (any rank), matched on the class or a base class name.
_WHOLE_INPUT_LAYERS = frozenset({
    "Flatten", "Dense", "Reshape", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
})
# Input pixels one output pixel of UpSampling reads along an axis, per interpolation: TF's resize kernels
# (nearest/area copy one pixel, bilinear blends 2, bicubic 4, Lanczos-a 2a).
_UP_SAMPLING_TAPS = {"nearest": 1, "area": 1, "bilinear": 2, "bicubic": 4, "lanczos3": 6, "lanczos5": 10}
_AXIS_LETTERS = {2: ("H", "W"), 3: ("D", "H", "W")}

__all__ = ["Margins", "ReceptiveField", "Window", "axis_formula", "layer_window", "output_formula"]


class ReceptiveField(NamedTuple):
    """Receptive field ``r`` and jump ``j`` at a layer's output, one entry per spatial axis, in input pixels.

    Both are ``None`` once the layer sees the whole input (``Flatten``, ``Dense``, global pooling). After
    up-sampling or a transposed convolution the jump is a :class:`fractions.Fraction` of an input pixel
    and ``r`` is rounded up to whole pixels.
    """

    layer: str
    r: tuple[int, ...] | None
    j: tuple | None


def _sees_whole_input(layer) -> bool:
    return any(cls.__name__ in _WHOLE_INPUT_LAYERS for cls in type(layer).__mro__)


def _channels(shape, layer) -> int:
    return shape[1] if getattr(layer, "data_format", "channels_last") == "channels_first" else shape[-1]


def axis_formula(size: int, kernel: int, stride: int, dilation: int, padding: str) -> str:
    """The output-size formula of a convolution or pooling along one axis with the numbers filled in.

    ``'same'`` is written with the padding TensorFlow actually adds (the odd
    extra after), ``'causal'`` with all of it before, ``'valid'`` with zero
    padding; ``floor`` appears only when the division is not exact.

    Example:
        >>> axis_formula(28, 3, 1, 1, "same"), axis_formula(28, 3, 2, 1, "same")
        ('(28 - 3 + 2*1)/1 + 1 = 28', '(28 - 3 + 0+1)/2 + 1 = 14')
    """
    span = dilation * (kernel - 1) + 1
    if padding == "same":
        before, after = same_padding(size, kernel, stride, dilation)
    elif padding == "causal":
        before, after = span - 1, 0
    else:
        before, after = 0, 0
    pad_text = f"2*{before}" if before == after else f"{before}+{after}"
    numerator = size - span + before + after
    out = numerator // stride + 1
    ratio = f"({size} - {span} + {pad_text})/{stride}"
    if numerator % stride:
        ratio = f"floor({ratio})"
    return f"{ratio} + 1 = {out}"


def _axis_texts(layer, sizes) -> list[str]:
    window = layer_window(layer)
    if window is None:
        return [f"{text} = {out}" for text, out in filter(None, margin_sizes(layer_margins(layer), sizes))]
    texts = []
    for axis, n in enumerate(sizes):
        if n is None:
            continue
        k, s, d = window.kernel[axis], window.strides[axis], window.dilation[axis]
        if window.kind == "transpose":
            op = None if window.output_padding is None else window.output_padding[axis]
            text, out = transposed_size(n, k, s, d, window.padding, op)
            texts.append(f"{text} = {out}")
        else:
            texts.append(axis_formula(n, k, s, d, window.padding))
    return texts


def window_text(window: Window) -> str:
    """Short description: ``3x3 /1 same``, with ``d2`` for dilation, ``g2`` for groups, ``op1`` for output padding."""

    def axes(values) -> str:
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    text = f"{'x'.join(map(str, window.kernel))} /{axes(window.strides)} {window.padding}"
    if any(d != 1 for d in window.dilation):
        text += f" d{axes(window.dilation)}"
    if window.groups != 1:
        text += f" g{window.groups}"
    if window.output_padding is not None:
        text += f" op{axes(window.output_padding)}"
    return {"pool": "pool ", "transpose": "transp. "}.get(window.kind, "") + text


def margins_text(margins: Margins) -> str:
    """Short description of a resizing: ``up 2`` / ``up 2x3 bilinear``, ``pad 1+1``, ``crop 2+2``."""
    if margins.kind == "up":
        sizes = margins.sizes
        text = "up " + (str(sizes[0]) if len(set(sizes)) == 1 else "x".join(map(str, sizes)))
        return text if margins.interpolation == "nearest" else f"{text} {margins.interpolation}"
    pairs = [f"{a}+{b}" for a, b in margins.pairs]
    return f"{margins.kind} " + (pairs[0] if len(set(pairs)) == 1 else ", ".join(pairs))


def output_formula(layer, in_shape) -> str:
    """Output-size formulas per spatial axis (one when all axes agree), or '' for other layers."""
    sizes = spatial_sizes(in_shape, layer)
    if sizes is None or None in sizes:
        return ""
    parts = _axis_texts(layer, sizes)
    if len(set(parts)) == 1:
        return parts[0]
    letters = _AXIS_LETTERS.get(len(parts), [f"axis {i + 1}" for i in range(len(parts))])
    return "; ".join(f"{letter}: {part}" for letter, part in zip(letters, parts))


def _per_axis(values: tuple, rank: int) -> tuple | None:
    """``values`` for ``rank`` axes: a field that is the same on every axis fits any rank."""
    if len(values) == rank:
        return values
    return (values[0],) * rank if len(set(values)) == 1 else None


def next_receptive_field(layer, fields: list):
    """``(r, j)`` at the output of ``layer`` from the ``(r, j)`` of its inputs (see module docstring)."""
    known = [f for f in fields if f is not None and f[0] is not None]
    if _sees_whole_input(layer) or not known:
        return (None, None)
    width = max(len(f[0]) for f in known)
    known = [(_per_axis(r, width), _per_axis(j, width)) for r, j in known]
    if any(r is None for r, _ in known):
        return (None, None)
    r = tuple(max(f[0][axis] for f in known) for axis in range(width))
    j = tuple(max(f[1][axis] for f in known) for axis in range(width))
    window, margins = layer_window(layer), layer_margins(layer)
    if window is None and (margins is None or margins.kind != "up"):
        return (r, j)  # padding and cropping move the image, not what a pixel sees
    rank = len(window.kernel) if window is not None else len(margins.sizes)
    r, j = _per_axis(r, rank), _per_axis(j, rank)
    if r is None:
        return (None, None)
    if margins is not None:  # up-sampling: f output pixels per input pixel, each reading `taps` of them
        taps = _UP_SAMPLING_TAPS.get(margins.interpolation, 1)
        return (tuple(r[a] + (taps - 1) * j[a] for a in range(rank)),
                tuple(Fraction(j[a]) / margins.sizes[a] for a in range(rank)))
    spans = [d * (k - 1) + 1 for k, d in zip(window.kernel, window.dilation)]
    if window.kind == "transpose":
        # An output pixel sums the inputs whose stride-spaced kernels cover it: at most floor((k-1)/s) + 1.
        return (tuple(r[a] + ((spans[a] - 1) // window.strides[a]) * j[a] for a in range(rank)),
                tuple(Fraction(j[a]) / window.strides[a] for a in range(rank)))
    return (tuple(r[a] + (spans[a] - 1) * j[a] for a in range(rank)),
            tuple(j[a] * window.strides[a] for a in range(rank)))


def layer_macs(layer, in_shape, out_shape) -> int:
    """Multiply-accumulates per image of one layer (see module docstring); 0 for layers without weights."""
    if not (isinstance(in_shape, tuple) and isinstance(out_shape, tuple)):
        return 0
    if isinstance(layer, Dense):
        return math.prod(out_shape[1:-1]) * in_shape[-1] * out_shape[-1]
    window = layer_window(layer)
    if window is None or window.kind == "pool":
        return 0
    taps = math.prod(window.kernel)
    c_in = _channels(in_shape, layer)
    positions_out = math.prod(spatial_sizes(out_shape, layer) or (0,))
    if isinstance(layer, (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)):
        # Every input position scatters a full kernel: in_positions * taps * C_in * C_out.
        return math.prod(spatial_sizes(in_shape, layer) or (0,)) * taps * c_in * layer.filters
    if isinstance(layer, (SeparableConv1D, SeparableConv2D)):
        mid = c_in * layer.depth_multiplier
        return positions_out * (taps * mid + mid * layer.filters)
    if isinstance(layer, (DepthwiseConv1D, DepthwiseConv2D)):
        return positions_out * taps * c_in * layer.depth_multiplier
    if isinstance(layer, (Conv1D, Conv2D, Conv3D)):
        return positions_out * taps * (c_in // layer.groups) * layer.filters
    return 0


def activation_bytes(out_shape, batch_size: int) -> int:
    """Bytes of a layer's float32 output for ``batch_size`` images (0 for unknown shapes)."""
    shapes = out_shape if isinstance(out_shape, list) else [out_shape]
    total = 0
    for shape in shapes:
        if not isinstance(shape, tuple) or any(d is None for d in shape[1:]):
            return 0
        total += math.prod(shape[1:])
    return total * BYTES_PER_FLOAT32 * batch_size


def field_text(r, j) -> str:
    """``5 / 1`` (r / j) when all axes agree, ``5x3 / 1x1`` otherwise, ``all`` for the whole input."""
    if r is None:
        return "all"

    def axes(values) -> str:
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    return f"{axes(r)} / {axes(j)}"


def _public_field(r, j) -> tuple:
    """Whole pixels for ``r`` (rounded up) and ints for whole jumps; None stays None."""
    if r is None:
        return (None, None)
    return (tuple(math.ceil(v) for v in r),
            tuple(int(v) if Fraction(v).denominator == 1 else Fraction(v) for v in j))


# ------------------------------------------------------------------------ receptive fields
_INPUT_FIELD = ((1,), (1,))  # one input pixel, unit jump; fits any rank (see _per_axis)


def _input_field(shape) -> tuple:
    """One pixel and a unit jump on each spatial axis of an input of ``shape`` (batch and channels excluded)."""
    rank = len(shape) - 2 if shape is not None and len(shape) >= 3 else 1
    return ((1,) * rank, (1,) * rank)


def _through(layer, fields: list):
    if is_model(layer):
        return _propagate(layer, fields)[1]
    return next_receptive_field(layer, fields)


def _propagate(model, seeds: list) -> tuple[dict[int, tuple], tuple]:
    """Fields at every layer of ``model`` (by ``id``) and at its first output, given fields at its inputs."""
    per_layer: dict[int, tuple] = {}
    if is_graph_model(model) and getattr(model, "_graph_output", True) is not None:
        fields = {id(t): s for t, s in zip(model.inputs, seeds)}
        for node in model_nodes(model)[0]:
            if isinstance(node.layer, InputLayer):
                out = fields.get(id(node.outputs[0]), _input_field(node.outputs[0].shape))
            else:
                out = _through(node.layer, [fields.get(id(t)) for t in node.inputs])
            for tensor in node.outputs:
                fields[id(tensor)] = out
            per_layer[id(node.layer)] = out
        return per_layer, fields[id(model.outputs[0])]
    field = seeds[0] if seeds else _INPUT_FIELD
    for layer in model.layers:  # subclassed: the layers taken as a chain, in the order they were set
        field = _through(layer, [field])
        per_layer[id(layer)] = field
    return per_layer, field


def propagate_fields(model, rows) -> list[ReceptiveField]:
    """:class:`ReceptiveField` for each summary row of ``model``."""
    per_layer, _ = _propagate(model, [])  # every input starts at one pixel
    return [ReceptiveField(row.name, *_public_field(*per_layer.get(id(row.layer), (None, None)))) for row in rows]


def row_macs(row) -> int:
    """MACs per image of one summary row; a nested model's are the sum over its own rows."""
    if is_model(row.layer):
        return sum(row_macs(inner) for inner in summary_rows(row.layer))
    return layer_macs(row.layer, row.input_shape, row.output_shape)

"""Shape arithmetic behind ``summary(detail=True)``: windows, output sizes, receptive fields, MACs.

Every number is worked out from a layer's arguments and the shapes it was
called with; nothing here runs a layer. Conventions:

- The receptive field ``r`` and jump ``j`` (effective stride, in input pixels)
  follow the standard recurrence, per spatial axis, starting from ``r = j = 1``
  at the input: ``j_out = j_in * s`` and ``r_out = r_in + (k_eff - 1) * j_in``
  with ``k_eff = d * (k - 1) + 1``. Layers without a window keep ``(r, j)``;
  a merge takes the largest field of its inputs; ``Flatten``, ``Dense`` and
  global pooling see the whole input, shown as ``None``.
- MACs (multiply-accumulates) count only products with weights:
  ``Conv2D`` ``H_out * W_out * kh * kw * (C_in / groups) * C_out``, ``Dense``
  ``positions * in * out``. Pooling, normalisation, activations and merges
  are counted as 0, as in the usual MAC tallies.
- Activation memory is the layer's output elements times 4 bytes (float32).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from cnnlab.ops import same_padding

BYTES_PER_FLOAT32 = 4
_WHOLE_INPUT_LAYERS = ("Flatten", "Dense", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Reshape")


class ReceptiveField(NamedTuple):
    """Receptive field ``r`` and jump ``j`` at a layer's output, each ``(height, width)`` in input pixels.

    Both are ``None`` once the layer sees the whole input (``Flatten``, ``Dense``, global pooling).
    """

    layer: str
    r: tuple[int, int] | None
    j: tuple[int, int] | None


class Window(NamedTuple):
    """The sliding window of a conv or pooling layer, per axis ``(height, width)``."""

    kind: str  # "conv" or "pool"
    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilation: tuple[int, int]
    padding: str
    groups: int


def layer_window(layer) -> Window | None:
    """The window of a Conv2D or local pooling layer, else None."""
    strides = getattr(layer, "strides", None)
    if strides is None or getattr(layer, "padding", None) not in ("valid", "same"):
        return None
    if getattr(layer, "kernel_size", None) is not None:
        return Window("conv", tuple(layer.kernel_size), tuple(strides), tuple(layer.dilation_rate),
                      layer.padding, getattr(layer, "groups", 1))
    if getattr(layer, "pool_size", None) is not None:
        return Window("pool", tuple(layer.pool_size), tuple(strides), (1, 1), layer.padding, 1)
    return None


def spatial_size(shape, layer) -> tuple | None:
    """``(height, width)`` of a 4-D shape in the layer's data format, else None."""
    if not isinstance(shape, tuple) or len(shape) != 4:
        return None
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return shape[2], shape[3]
    return shape[1], shape[2]


def _channels(shape, layer) -> int:
    return shape[1] if getattr(layer, "data_format", "channels_last") == "channels_first" else shape[-1]


def axis_formula(size: int, kernel: int, stride: int, dilation: int, padding: str) -> str:
    """The output-size formula along one axis with the numbers filled in.

    ``'same'`` is written with the padding TensorFlow actually adds (the odd
    extra after), ``'valid'`` with zero padding; ``floor`` appears only when the
    division is not exact.

    Example:
        >>> axis_formula(28, 3, 1, 1, "same"), axis_formula(28, 3, 2, 1, "same")
        ('(28 - 3 + 2*1)/1 + 1 = 28', '(28 - 3 + 0+1)/2 + 1 = 14')
    """
    span = dilation * (kernel - 1) + 1
    before, after = same_padding(size, kernel, stride, dilation) if padding == "same" else (0, 0)
    pad_text = f"2*{before}" if before == after else f"{before}+{after}"
    numerator = size - span + before + after
    out = numerator // stride + 1
    ratio = f"({size} - {span} + {pad_text})/{stride}"
    if numerator % stride:
        ratio = f"floor({ratio})"
    return f"{ratio} + 1 = {out}"


def window_text(window: Window) -> str:
    """Short description: ``3x3 /1 same``, with ``d2`` for dilation and ``g2`` for groups."""
    (kh, kw), (sh, sw) = window.kernel, window.strides
    text = f"{kh}x{kw} /{sh if sh == sw else f'{sh}x{sw}'} {window.padding}"
    if window.dilation != (1, 1):
        dh, dw = window.dilation
        text += f" d{dh if dh == dw else f'{dh}x{dw}'}"
    if window.groups != 1:
        text += f" g{window.groups}"
    return ("pool " if window.kind == "pool" else "") + text


def output_formula(layer, in_shape) -> str:
    """Output-size formulas for height and width (one line when both are the same), or ''."""
    window = layer_window(layer)
    sizes = spatial_size(in_shape, layer)
    if window is None or sizes is None or None in sizes:
        return ""
    parts = [axis_formula(n, k, s, d, window.padding)
             for n, k, s, d in zip(sizes, window.kernel, window.strides, window.dilation)]
    return parts[0] if parts[0] == parts[1] else f"H: {parts[0]}; W: {parts[1]}"


def next_receptive_field(layer, fields: list):
    """``(r, j)`` at the output of ``layer`` from the ``(r, j)`` of its inputs (see module docstring)."""
    known = [f for f in fields if f is not None and f[0] is not None]
    if type(layer).__name__ in _WHOLE_INPUT_LAYERS or not known:
        return (None, None)
    r = tuple(max(f[0][axis] for f in known) for axis in (0, 1))
    j = tuple(max(f[1][axis] for f in known) for axis in (0, 1))
    window = layer_window(layer)
    if window is None:
        return (r, j)
    spans = [d * (k - 1) + 1 for k, d in zip(window.kernel, window.dilation)]
    return (tuple(r[a] + (spans[a] - 1) * j[a] for a in (0, 1)), tuple(j[a] * window.strides[a] for a in (0, 1)))


def layer_macs(layer, in_shape, out_shape) -> int:
    """Multiply-accumulates per image of one layer (see module docstring); 0 for layers without weights."""
    name = type(layer).__name__
    if name == "Conv2D" and isinstance(in_shape, tuple) and isinstance(out_shape, tuple):
        kh, kw = layer.kernel_size
        h_out, w_out = spatial_size(out_shape, layer)
        c_in = _channels(in_shape, layer)
        return h_out * w_out * kh * kw * (c_in // layer.groups) * layer.filters
    if name == "Dense" and isinstance(in_shape, tuple) and isinstance(out_shape, tuple):
        positions = math.prod(out_shape[1:-1])
        return positions * in_shape[-1] * out_shape[-1]
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
    """``5 / 1`` (r / j) when height and width agree, ``5x3 / 1x1`` otherwise, ``all`` for the whole input."""
    if r is None:
        return "all"

    def pair(p):
        return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"

    return f"{pair(r)} / {pair(j)}"


# ------------------------------------------------------------------------ receptive fields
_INPUT_FIELD = ((1, 1), (1, 1))  # one input pixel, unit jump


def _through(layer, fields: list):
    from cnnlab.models import Model

    if isinstance(layer, Model):
        return _propagate(layer, fields)[1]
    return next_receptive_field(layer, fields)


def _propagate(model, seeds: list) -> tuple[dict[int, tuple], tuple]:
    """Fields at every layer of ``model`` (by ``id``) and at its first output, given fields at its inputs."""
    from cnnlab.inspect.model_graph import is_graph_model, model_nodes
    from cnnlab.layers.core import InputLayer

    per_layer: dict[int, tuple] = {}
    if is_graph_model(model) and getattr(model, "_graph_output", True) is not None:
        fields = {id(t): s for t, s in zip(model.inputs, seeds)}
        for node in model_nodes(model)[0]:
            if isinstance(node.layer, InputLayer):
                out = fields.get(id(node.outputs[0]), _INPUT_FIELD)
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
    return [ReceptiveField(row.name, *per_layer.get(id(row.layer), (None, None))) for row in rows]


# --------------------------------------------------------------------------------- detail
DETAIL_WIDTH = 120  # the explained table fits a 120-column terminal


def _row_macs(row) -> int:
    from cnnlab.models import Model

    if isinstance(row.layer, Model):
        from cnnlab.inspect.summary import summary_rows

        return sum(_row_macs(inner) for inner in summary_rows(row.layer))
    return layer_macs(row.layer, row.input_shape, row.output_shape)


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:g}"


def render_detail(console, model, rows, batch_size: int) -> None:
    """Print the explained table and its totals (MACs, FLOPs, memory) on a rich console."""
    import rich.table

    from cnnlab.errors import ConfigError
    from cnnlab.inspect.summary import readable_memory_size
    from cnnlab.layers.core import InputLayer

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"summary(detail=True): batch_size must be an int >= 1. Received: batch_size={batch_size!r}")
    fields = propagate_fields(model, rows)
    table = rich.table.Table("Layer", "Window", "Output size (per axis)", "RF / jump",
                             rich.table.Column("MACs", justify="right"),
                             rich.table.Column("Activations", justify="right"),
                             width=DETAIL_WIDTH, show_lines=False, title="Shape arithmetic (per image)")
    total_macs = total_act = 0
    for row, rf in zip(rows, fields):
        window = layer_window(row.layer)
        macs = _row_macs(row)
        act = activation_bytes(row.output_shape, batch_size)
        if not isinstance(row.layer, InputLayer):
            total_macs, total_act = total_macs + macs, total_act + act
        table.add_row(row.name, window_text(window) if window else "-",
                      output_formula(row.layer, row.input_shape) or "-",
                      field_text(rf.r, rf.j), f"{macs:,}", readable_memory_size(act))
    params = sum(w.value.numel() * w.value.element_size() for w in {id(w): w for w in model.weights}.values())
    console.width = max(console.width, DETAIL_WIDTH)
    console.print()
    console.print(table)
    console.print(f" MACs per image: {total_macs:,} ({_si(total_macs)})")
    console.print(f" FLOPs per image (2 x MACs): {2 * total_macs:,} ({_si(2 * total_macs)})")
    console.print(f" Parameter memory: {readable_memory_size(params)}")
    console.print(f" Activation memory (batch_size={batch_size}, layer outputs): {readable_memory_size(total_act)}")
    console.print(" Window: kernel /stride padding (d: dilation, g: groups); RF / jump in input pixels "
                  "(all: whole image).")

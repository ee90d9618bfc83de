"""``model.summary()``: Keras 3's table, character for character, plus cnnlab's explained view.

A pipeline, as in torchinfo: :func:`summary_rows` collects one row per layer
(shapes, parameter counts, connections), the totals are added up from the
model's weights, and :func:`render_summary` draws the text with rich exactly
as Keras 3 does (same column widths, box characters, markup and byte sizes).
``detail=True`` appends a second table with the shape arithmetic of each layer
(see :mod:`cnnlab.inspect.shape_math`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import rich.console
import rich.markup
import rich.table

from cnnlab.inspect.model_graph import call_batch, functional_layers, io_shapes, is_graph_model, model_nodes

# Keras 3 (keras/src/utils/summary_utils.py): default widths, column positions and colours.
KERAS_LINE_LENGTH = 88
KERAS_LINE_LENGTH_CONNECTED = 108
KERAS_POSITIONS = (0.45, 0.80, 1.0)
KERAS_POSITIONS_CONNECTED = (0.3, 0.56, 0.74, 1.0)
KERAS_TRAINABLE_EXTRA = 12  # extra width of the "Trainable" column
KERAS_NUMBER_COLOR, KERAS_NONE_COLOR, KERAS_SYMBOL_COLOR = 34, 45, 33
BYTE_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
# Keras 3 builds these weightless layers in __init__ (Layer._build_at_init, or `self.built = True` as
# Reshape does), so in a subclassed model (no symbolic nodes) it has no recorded shape for them and
# prints "?" (summary_utils.format_layer_shape). Checked against keras 3.15.1 for every class in
# cnnlab.layers.__all__ (merge, conv, normalisation and preprocessing layers build on first call).
KERAS_BUILT_AT_INIT = frozenset({
    "Activation", "ELU", "LeakyReLU", "ReLU", "Softmax",
    "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "ActivityRegularization",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "Identity", "Reshape", "UnitNormalization",
})


@dataclass
class SummaryRow:
    """One line of the summary table.

    ``output_shape`` is a tuple, a list of tuples (several outputs) or None
    (unknown: never called); ``params`` is None for an unbuilt layer;
    ``connected_to`` lists ``(layer name, node index, tensor index)`` and is
    None when the table has no "Connected to" column.
    """

    layer: object
    input_shape: object
    output_shape: object
    params: int | None
    connected_to: list | None = field(default=None)
    shape_shown: bool = True  # False where Keras prints "?" although the shape is known

    @property
    def name(self) -> str:
        return self.layer.name


def summary_rows(model) -> list[SummaryRow]:
    """One :class:`SummaryRow` per layer, in Keras's order.

    Raises:
        NotBuiltError: a subclassed model that was never called nor built.
    """
    rows, _ = _collect(model)
    return rows


def _collect(model) -> tuple[list[SummaryRow], bool]:
    from cnnlab.models import Functional

    sequential_like, node_ids, batch = True, None, ...
    if isinstance(model, Functional):
        layers, sequential_like = functional_layers(model)
        node_ids = {id(n) for n in model_nodes(model)[0]} | {id(t.node) for t in model.inputs}
    elif is_graph_model(model):
        layers = list(model.layers)
        if model._graph_output is not None:
            node_ids = {id(n) for n in model_nodes(model)[0]}
    else:
        layers, batch = list(model.layers), call_batch(model)
    rows = []
    for layer in layers:
        in_shape, out_shape = io_shapes(layer, node_ids, batch)
        params = layer.count_params() if layer.built else None
        shown = bool(layer._inbound_nodes) or is_graph_model(model) or not keras_builds_at_init(layer)
        rows.append(SummaryRow(layer, in_shape, out_shape, params,
                               None if sequential_like else _connections(layer, node_ids), shown))
    return rows, sequential_like


def keras_builds_at_init(layer) -> bool:
    """Whether Keras would build ``layer`` in ``__init__``: its cnnlab class is one Keras builds there and no
    user subclass in between defines its own ``build`` (Keras then waits for the first call)."""
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("cnnlab."):
            return cls.__name__ in KERAS_BUILT_AT_INIT
        if "build" in cls.__dict__:
            return False
    return False


def _connections(layer, node_ids: set[int]) -> list:
    result = []
    for node in layer._inbound_nodes:
        if id(node) not in node_ids:
            continue  # a call outside this model
        for tensor in node.inputs:
            source = tensor.node.layer
            result.append((source.name, source._inbound_nodes.index(tensor.node), tensor.index))
    return result


# ---------------------------------------------------------------------------------- render
def readable_memory_size(num_bytes: float) -> str:
    """Bytes in Keras's style: ``154.21 KB`` (powers of 1024, two decimals)."""
    for unit in BYTE_UNITS:
        if num_bytes / 1024 < 1:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} {BYTE_UNITS[-1]}"


def _number(value) -> str:
    return f"[color({KERAS_NONE_COLOR if value is None else KERAS_NUMBER_COLOR})]{value}[/]"


def _shape_markup(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_markup(s) for s in shape) + "]"
    return "(" + ", ".join(_number(d) for d in shape) + ")"


def _row_fields(row: SummaryRow, show_trainable: bool) -> list[str]:
    layer = row.layer
    kind = rich.markup.escape(type(layer).__name__)
    name = f"{rich.markup.escape(layer.name)} ([color({KERAS_SYMBOL_COLOR})]{kind}[/])"
    params = f"{_number(0)} (unbuilt)" if row.params is None else _number(f"{row.params:,}")
    fields = [name, _shape_markup(row.output_shape if row.shape_shown else None), params]
    if row.connected_to is not None:
        links = ", ".join(f"{src}[{_number(n)}][{_number(t)}]" for src, n, t in row.connected_to)
        fields.append(links or "-")
    if show_trainable:
        if not layer.weights:
            fields.append("[bold]-[/]")
        else:
            fields.append("[bold][color(34)]Y[/][/]" if layer.trainable else "[bold][color(9)]N[/][/]")
    return fields


def _keras_table(rows, sequential_like: bool, line_length, show_trainable: bool) -> rich.table.Table:
    if sequential_like:
        default, positions = KERAS_LINE_LENGTH, list(KERAS_POSITIONS)
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default, positions = KERAS_LINE_LENGTH_CONNECTED, list(KERAS_POSITIONS_CONNECTED)
        header, align = ["Layer (type)", "Output Shape", "Param #", "Connected to"], ["left", "left", "right", "left"]
    if show_trainable:
        default += KERAS_TRAINABLE_EXTRA
        positions = [p * 0.90 for p in positions] + [1.0]
        header, align = header + ["Trainable"], align + ["center"]
    default = min(default, shutil.get_terminal_size().columns - 4)  # Keras fits the terminal the same way
    line_length = line_length or default
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            from cnnlab.errors import ConfigError

            raise ConfigError(f"summary(): line_length is too small for the table's columns; use at least "
                              f"{len(positions) * 4 * 3}. Received: line_length={line_length}")
        widths.append(width)
        current += width
    columns = [rich.table.Column(h, justify=a, width=w) for h, a, w in zip(header, align, widths)]
    table = rich.table.Table(*columns, width=line_length, show_lines=True)
    for row in rows:
        table.add_row(*_row_fields(row, show_trainable))
    return table


def _weight_stats(weights) -> tuple[int, int]:
    unique = {id(w): w for w in weights}.values()
    count = sum(w.value.numel() for w in unique)
    return count, sum(w.value.numel() * w.value.element_size() for w in unique)


def _optimizer_stats(model) -> tuple[int, int] | None:
    """Count and bytes of the optimizer's state as Keras reports them, or None before it is built.

    Keras's optimizer variables are the int64 step counter, the float32
    learning rate (unless it is a schedule) and float32 state tensors.
    """
    optimizer = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or optimizer is None or not getattr(optimizer, "built", False):
        return None
    count, size = 1, 8  # the int64 step counter
    for key, tensor in optimizer.state_dict().items():
        if key != "iterations":
            count += tensor.numel()
            size += tensor.numel() * 4
    return count, size


def _totals_markup(model) -> list[str]:
    trainable = _weight_stats(model.trainable_weights)
    frozen = _weight_stats(model.non_trainable_weights)
    optimizer = _optimizer_stats(model)
    total = [a + b + (optimizer[i] if optimizer else 0) for i, (a, b) in enumerate(zip(trainable, frozen))]
    lines = [("Total", total), ("Trainable", trainable), ("Non-trainable", frozen)]
    if optimizer:
        lines.append(("Optimizer", optimizer))
    return [f"[bold] {label} params: [/]{_number(f'{n:,}')} ({readable_memory_size(b)})" for label, (n, b) in lines]


def render_summary(model, line_length: int | None = None, show_trainable: bool = False, detail: bool = False,
                   batch_size: int = 1, color: bool = False) -> str:
    """Render ``model.summary()`` to a string, exactly as Keras 3 renders it for a ``print_fn``.

    Args:
        model: a built Sequential, functional or subclassed model.
        line_length: total width of the table (Keras's default: 88, or 108 with "Connected to").
        show_trainable: add Keras's "Trainable" column.
        detail: append the explained table (windows, output-size arithmetic, receptive
            field, MACs, activation memory) and its totals.
        batch_size: batch size for the activation-memory total of ``detail``.
        color: keep rich's colours (for a terminal); plain text otherwise.

    Returns:
        The text, ending with a newline.

    Example:
        >>> print(render_summary(model))  # doctest: +SKIP
    """
    rows, sequential_like = _collect(model)
    console = rich.console.Console(highlight=False, force_terminal=color or False,
                                   color_system="auto" if color else None)
    console.begin_capture()
    console.print(f'[bold]Model: "{rich.markup.escape(model.name)}"[/]')
    console.print(_keras_table(rows, sequential_like, line_length, show_trainable))
    for line in _totals_markup(model):
        console.print(line)
    if detail:
        from cnnlab.inspect.shape_math import render_detail

        render_detail(console, model, rows, batch_size)
    return console.end_capture()


def receptive_fields(model) -> list:
    """Receptive field and jump at the output of each layer, in summary order.

    Returns:
        A list of :class:`cnnlab.inspect.shape_math.ReceptiveField` ``(layer, r, j)``,
        ``r`` and ``j`` as ``(height, width)`` in input pixels (None after Flatten/Dense).

    Example:
        >>> [(f.layer, f.r) for f in receptive_fields(model)][:2]  # doctest: +SKIP
        [('conv2d', (5, 5)), ('max_pooling2d', (6, 6))]
    """
    from cnnlab.inspect.shape_math import propagate_fields

    rows, _ = _collect(model)
    return propagate_fields(model, rows)

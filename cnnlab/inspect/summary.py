"""``model.summary()``: Keras 3's table, character for character, plus cnnlab's explained view.

The render stage of a pipeline, as in torchinfo: :mod:`cnnlab.inspect.model_graph`
collects one row per layer (shapes, parameter counts, connections),
:mod:`cnnlab.inspect.shape_math` works out the arithmetic, and
:func:`render_summary` adds the totals from the model's weights and draws the
text with rich exactly as Keras 3 does (same column widths, box characters,
markup and byte sizes). ``detail=True`` appends a second table with the shape
arithmetic of each layer. Imports go one way: model_graph -> shape_math -> summary.
"""

from __future__ import annotations

import shutil

import rich.console
import rich.markup
import rich.table

from cnnlab.errors import ConfigError
# Rows are collected in model_graph; KERAS_BUILT_AT_INIT, keras_builds_at_init and summary_rows are re-exported
# here, where summary readers (and compat tests) have always found them.
from cnnlab.inspect.model_graph import KERAS_BUILT_AT_INIT, SummaryRow, collect_rows, keras_builds_at_init, summary_rows
from cnnlab.inspect.shape_math import (activation_bytes, field_text, margins_text, output_formula, propagate_fields,
                                       row_macs, window_text)
from cnnlab.layers.core import InputLayer
from cnnlab.models.trace import layer_margins, layer_window

# Keras 3 (keras/src/utils/summary_utils.py): default widths, column positions and colours.
KERAS_LINE_LENGTH = 88
KERAS_LINE_LENGTH_CONNECTED = 108
KERAS_POSITIONS = (0.45, 0.80, 1.0)
KERAS_POSITIONS_CONNECTED = (0.3, 0.56, 0.74, 1.0)
KERAS_TRAINABLE_EXTRA = 12  # extra width of the "Trainable" column
KERAS_NUMBER_COLOR, KERAS_NONE_COLOR, KERAS_SYMBOL_COLOR = 34, 45, 33
BYTE_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")



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
    rows, sequential_like = collect_rows(model)
    console = rich.console.Console(highlight=False, force_terminal=color or False,
                                   color_system="auto" if color else None)
    console.begin_capture()
    console.print(f'[bold]Model: "{rich.markup.escape(model.name)}"[/]')
    console.print(_keras_table(rows, sequential_like, line_length, show_trainable))
    for line in _totals_markup(model):
        console.print(line)
    if detail:
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
    rows, _ = collect_rows(model)
    return propagate_fields(model, rows)


# --------------------------------------------------------------------------------- detail
DETAIL_WIDTH = 120  # the explained table fits a 120-column terminal


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:g}"


def render_detail(console, model, rows, batch_size: int) -> None:
    """Print the explained table and its totals (MACs, FLOPs, memory) on a rich console."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"summary(detail=True): batch_size must be an int >= 1. Received: batch_size={batch_size!r}")
    fields = propagate_fields(model, rows)
    table = rich.table.Table("Layer", "Window", "Output size (per axis)", "RF / jump",
                             rich.table.Column("MACs", justify="right"),
                             rich.table.Column("Activations", justify="right"),
                             width=DETAIL_WIDTH, show_lines=False, title="Shape arithmetic (per image)")
    total_macs = total_act = 0
    for row, rf in zip(rows, fields):
        window, margins = layer_window(row.layer), layer_margins(row.layer)
        macs = row_macs(row)
        act = activation_bytes(row.output_shape, batch_size)
        if not isinstance(row.layer, InputLayer):
            total_macs, total_act = total_macs + macs, total_act + act
        shown = window_text(window) if window else margins_text(margins) if margins else "-"
        table.add_row(row.name, shown,
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

"""Explain a shape error inside a model: the shapes layer by layer up to the failing one."""

from __future__ import annotations

from cnnlab.errors import ShapeError


def shape_arithmetic(layer, in_shape) -> str:
    """The output-size formula of a conv or pooling layer with the numbers filled in, or ''."""
    kernel = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    strides = getattr(layer, "strides", None)
    padding = getattr(layer, "padding", None)
    if kernel is None or strides is None or padding not in ("valid", "same") or in_shape is None or len(in_shape) != 4:
        return ""
    channels_last = getattr(layer, "data_format", "channels_last") == "channels_last"
    sizes = in_shape[1:3] if channels_last else in_shape[2:4]
    dilation = getattr(layer, "dilation_rate", (1, 1))
    parts = []
    for size, k, s, d in zip(sizes, kernel, strides, dilation):
        if size is None:
            continue
        if padding == "same":
            parts.append(f"ceil({size}/{s}) = {-(-size // s)}")
        else:
            span = d * (k - 1) + 1
            parts.append(f"({size} - {span})/{s} + 1 = {(size - span) // s + 1}")
    return "  [" + "; ".join(parts) + "]" if parts else ""


def explain_shape_error(model, failing_layer, input_shape, err: ShapeError) -> ShapeError:
    """Re-raise ``err`` with the shapes each layer produced before ``failing_layer``."""
    if getattr(err, "_explained", False):
        return err
    lines = [str(err), "", f"Shapes through model '{model.name}' up to the failing layer:"]
    for layer in model.layers:
        shapes = getattr(layer, "_last_shapes", None)
        if layer is failing_layer:
            lines.append(f"  {layer.name} ({type(layer).__name__}): input {_show(input_shape)}  <-- fails here")
            break
        if shapes is None:
            continue
        in_shape, out_shape = shapes
        lines.append(f"  {layer.name} ({type(layer).__name__}): {_show(in_shape)} -> {_show(out_shape)}"
                     f"{shape_arithmetic(layer, in_shape)}")
    new = ShapeError("\n".join(lines))
    new._explained = True
    return new


def _show(shape) -> str:
    if isinstance(shape, dict):
        return "?"
    return str(tuple(shape)) if isinstance(shape, (tuple, list)) else str(shape)

"""The graph a model diagram draws: one box per layer, one arrow per connection.

Sequential and functional models are read from their symbolic graph. A
subclassed model has none, so it is run once on zeros of the shape it was
built or called with, and forward hooks record which layer fed which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from cnnlab.errors import NotBuiltError
from cnnlab.inspect.model_graph import io_shapes, is_graph_model, model_nodes
from cnnlab.inspect.tracing import trace_calls
from cnnlab.layers.base import Layer
from cnnlab.layers.core import InputLayer
from cnnlab.layers.serialization import is_model


@dataclass
class DiagramNode:
    """One box: a layer (``id`` is its name, ``outer/inner`` inside an expanded nested model)."""

    id: str
    layer: object
    input_shape: object = None
    output_shape: object = None
    kind: str | None = None  # the class name shown; the layer's by default

    @property
    def class_name(self) -> str:
        return self.kind or type(self.layer).__name__


@dataclass
class DiagramGraph:
    """Boxes and arrows of a model diagram, arrows as ``(from id, to id)`` pairs."""

    nodes: list[DiagramNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def add_edge(self, source: str, target: str) -> None:
        if (source, target) not in self.edges:
            self.edges.append((source, target))


def diagram_graph(model, expand_nested: bool = False) -> DiagramGraph:
    """The boxes and arrows :func:`cnnlab.utils.plot_model` draws for ``model``.

    Args:
        model: a built Sequential, functional or subclassed model.
        expand_nested: draw the layers of nested Sequential/functional models instead of one box each.

    Returns:
        A :class:`DiagramGraph`: ``nodes`` (one per layer, with input/output shapes) and ``edges``.

    Example:
        >>> g = diagram_graph(model)  # doctest: +SKIP
        >>> [n.id for n in g.nodes], g.edges  # doctest: +SKIP
    """
    graph = DiagramGraph()
    if is_graph_model(model) and _has_graph(model):
        _add_graph_model(graph, model, "", expand_nested)
    else:
        _add_traced_model(graph, model, expand_nested)
    return graph


def _has_graph(model) -> bool:
    try:
        model.outputs
    except NotBuiltError:
        return False
    return True


def _add_graph_model(graph: DiagramGraph, model, prefix: str, expand_nested: bool):
    """Add ``model``'s layers; return, per model input, the ids reading it, and per output, the id producing it."""
    nodes, _ = model_nodes(model)
    reached = {id(n) for n in nodes}
    nodes = [t.node for t in model.inputs if id(t.node) not in reached] + nodes
    node_ids = {id(n) for n in nodes}
    exits: dict[int, list[str]] = {}  # id(layer) -> ids producing its outputs (several for an expanded model)
    entries: dict[int, list[list[str]]] = {}  # id(layer) -> per input, ids reading it
    for node in nodes:
        layer = node.layer
        if id(layer) in exits:
            continue
        if expand_nested and is_graph_model(layer) and _has_graph(layer):
            inner_entries, inner_exits = _add_graph_model(graph, layer, f"{prefix}{layer.name}/", True)
            entries[id(layer)], exits[id(layer)] = inner_entries, inner_exits
            continue
        box = f"{prefix}{layer.name}"
        shapes = io_shapes(layer, node_ids, ...)
        graph.nodes.append(DiagramNode(box, layer, *shapes))
        entries[id(layer)], exits[id(layer)] = [[box]], [box]
    for node in nodes:
        for position, tensor in enumerate(node.inputs):
            sources = exits[id(tensor.node.layer)]
            source = sources[tensor.index] if len(sources) > tensor.index else sources[-1]
            slots = entries[id(node.layer)]
            for target in slots[min(position, len(slots) - 1)]:
                graph.add_edge(source, target)
    input_ids = [f"{prefix}{t.node.layer.name}" for t in model.inputs]
    if prefix:  # a nested model: its Input boxes are dropped and the outer arrows go to their readers
        readers = [[b for a, b in graph.edges if a == box] for box in input_ids]
        drop = set(input_ids)
        graph.nodes[:] = [n for n in graph.nodes if n.id not in drop or not isinstance(n.layer, InputLayer)]
        graph.edges[:] = [e for e in graph.edges if e[0] not in drop]
        input_ids = readers
    else:
        input_ids = [[box] for box in input_ids]
    output_ids = [exits[id(t.node.layer)][min(t.index, len(exits[id(t.node.layer)]) - 1)] for t in model.outputs]
    return input_ids, output_ids


def traced_input_shape(model):
    """The input shape a subclassed model was built or last called with (batch axis included)."""
    if getattr(model, "_last_shapes", None) is not None:
        return model._last_shapes[0]
    shape = getattr(model, "_build_shape", None)
    if shape is not None:
        return shape
    raise NotBuiltError(
        f"Model '{model.name}' has not been called yet, so its layers and their connections are unknown. Call it "
        "once on data (model(x)) or call model.build(input_shape), e.g. model.build((None, 28, 28, 1)), then "
        "plot it again."
    )


def _zeros(shape, device):
    if isinstance(shape, list):
        return [_zeros(s, device) for s in shape]
    return torch.zeros((1,) + tuple(1 if d is None else d for d in tuple(shape)[1:]), device=device)


def _add_traced_model(graph: DiagramGraph, model, expand_nested: bool) -> None:
    shape = traced_input_shape(model)
    if expand_nested:
        watched = [m for m in model.modules() if isinstance(m, Layer) and not is_model(m)]
    else:
        watched = model.layers
    calls = _trace(model, _zeros(shape, model._device()), watched)
    shapes = shape if isinstance(shape, list) else [shape]
    input_id = f"{model.name}_input"  # a subclassed model has no Input layer; draw one as Keras would
    graph.nodes.append(DiagramNode(input_id, None, None, (None,) + tuple(shapes[0])[1:], kind="InputLayer"))
    boxes: dict[int, str] = {}
    for call in calls:
        key = id(call.layer)
        if key not in boxes:
            boxes[key] = call.layer.name
            graph.nodes.append(DiagramNode(call.layer.name, call.layer, _single(call.input_shapes),
                                           _single(call.output_shapes)))
    for call in calls:
        for parent in call.parents:
            source = input_id if parent < 0 else boxes[id(calls[parent].layer)]
            graph.add_edge(source, boxes[id(call.layer)])


def _trace(model, inputs, watched):
    return trace_calls(model, inputs, watched)


def _single(shapes: list):
    if not shapes:
        return None
    return shapes[0] if len(shapes) == 1 else shapes

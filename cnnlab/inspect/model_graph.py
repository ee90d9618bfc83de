"""The layer graph of a model as its summary reads it: nodes, Keras's row order, shapes per layer, rows.

The collect stage of the summary pipeline (collect -> :mod:`shape_math` -> render in :mod:`summary`).

Keras lists a functional model's layers by decreasing depth (distance from
the outputs), ties broken by the order a depth-first walk from the outputs
first meets them; :func:`functional_layers` follows the same rule so rows
line up with Keras's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from cnnlab.errors import NotBuiltError
from cnnlab.layers.serialization import is_graph_model, model_class

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


def model_nodes(model) -> tuple[list, dict[int, int]]:
    """Nodes of a graph model in the order a depth-first walk from the outputs finishes them.

    Also returns ``{id(layer): index}`` in the walk's pre-order, Keras's tie-break for row order.
    """
    finished: set[int] = set()
    nodes: list = []
    first_seen: dict[int, int] = {}

    def visit(tensor):
        node = tensor.node
        if node is None or id(node) in finished:
            return
        first_seen.setdefault(id(node.layer), len(first_seen))
        for parent in node.inputs:
            visit(parent)
        finished.add(id(node))
        nodes.append(node)

    for tensor in model.outputs:
        visit(tensor)
    return nodes, first_seen


def functional_layers(model) -> tuple[list, bool]:
    """Layers by decreasing depth (distance from the outputs) as Keras orders them, and sequential-likeness.

    Keras drops the "Connected to" column only when every depth holds one node
    reading at most one tensor and no layer is called twice.
    """
    nodes, first_seen = model_nodes(model)
    in_graph = {id(n) for n in nodes}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    layers = {id(n.layer): n.layer for n in nodes}
    for tensor in model.inputs:  # an input no output depends on still gets a row, first among depth 0
        key = id(tensor.node.layer)
        if key not in layer_depth:
            layers[key], layer_depth[key], first_seen[key] = tensor.node.layer, 0, -1
            node_depth[id(tensor.node)] = 0
            nodes.append(tensor.node)
    by_depth: dict[int, list] = defaultdict(list)
    calls: dict[int, int] = defaultdict(int)
    for node in nodes:
        by_depth[node_depth[id(node)]].append(node)
        calls[id(node.layer)] += 1
    sequential_like = all(len(g) == 1 and len(g[0].inputs) <= 1 for g in by_depth.values()) and \
        max(calls.values()) == 1
    order = sorted(layers, key=lambda key: (-layer_depth[key], first_seen[key]))
    return [layers[key] for key in order], sequential_like


def call_batch(model):
    """Batch axis shown for a subclassed model: the batch Keras built its layers with.

    That is the batch of the model's first call (later calls do not rebuild), ``None`` when ``fit`` made the
    first call (Keras builds the model symbolically, batch unknown, before training), and the batch axis given
    to ``build(input_shape)`` until the model is called (Keras's ``build`` of a subclassed model leaves its
    layers to be built by that call).
    """
    if not model.built:
        raise NotBuiltError(
            f"Model '{model.name}' has not been called yet, so the shapes of its layers are unknown. Call it once "
            "on data (model(x)) or call model.build(input_shape), e.g. model.build((None, 28, 28, 1)), then "
            "call summary() again."
        )
    if getattr(model, "_built_symbolically", False):
        return None
    shape = getattr(model, "_build_shape", None)
    if model._last_shapes is None:  # built with build(input_shape): show that batch axis (usually None)
        return shape[0] if isinstance(shape, tuple) and shape else None
    if isinstance(shape, tuple) and shape and shape[0] is not None:  # built by its first call, on real data
        return shape[0]
    return ...  # keep the batch size of each layer's call


def _with_batch(shape, batch):
    if isinstance(shape, list):
        return [_with_batch(s, batch) for s in shape]
    if isinstance(shape, tuple) and batch is not ...:
        return (batch,) + tuple(shape[1:])
    return shape


def io_shapes(layer, node_ids: set[int] | None, batch):
    """``(input_shape, output_shape)`` from the layer's node in the model, else from its last call."""
    own = [n for n in layer._inbound_nodes if node_ids is None or id(n) in node_ids]
    if own:
        ins, outs = [t.shape for t in own[-1].inputs], [t.shape for t in own[-1].outputs]
        return (ins[0] if len(ins) == 1 else ins or None), (outs[0] if len(outs) == 1 else outs)
    if layer._last_shapes is not None:
        return tuple(_with_batch(s, batch) for s in layer._last_shapes)
    return None, None


# ------------------------------------------------------------------------------ rows
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
    rows, _ = collect_rows(model)
    return rows


def collect_rows(model) -> tuple[list[SummaryRow], bool]:
    """The rows and whether the table is sequential-like (Keras then leaves out "Connected to")."""
    sequential_like, node_ids, batch = True, None, ...
    if isinstance(model, model_class("Functional")):
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

"""``plot_model``: a Keras-style diagram of a model, drawn with matplotlib (no Graphviz needed).

The graph comes from :func:`cnnlab.inspect.diagram_graph.diagram_graph`;
networkx puts each layer in a rank (its longest distance from an input), arrows
that skip ranks get waypoints that take a slot in each rank they cross (so
they never run through a box), and matplotlib draws boxes and arrows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import matplotlib.figure


from cnnlab.errors import ConfigError
from cnnlab.inspect.diagram_graph import DiagramGraph, DiagramNode, diagram_graph
from cnnlab.inspect.figures import LITERAL

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg")
TITLE_SIZE, ROW_SIZE = 10, 8.5  # points
LINE_GAP, PAD, MIN_WIDTH = 0.06, 0.12, 1.3  # inches
RANK_GAP, SLOT_GAP, WAYPOINT_WIDTH, MARGIN = 0.42, 0.3, 0.12, 0.2  # inches
FAMILY_COLOURS = {  # header colour by layer family, so a reader finds convs and pools at a glance
    "Conv": "#cfe2f3", "Pool": "#d9ead3", "Dense": "#fce5cd", "Input": "#eeeeee", "Normalization": "#ead1dc",
    "Add": "#fff2cc", "Concatenate": "#fff2cc", "Dropout": "#f3f3f3", "Flatten": "#f3f3f3",
}
DEFAULT_COLOUR = "#e6e6fa"


@dataclass
class _Box:
    title: str
    rows: list[str]
    width: float
    height: float
    colour: str


def _text_width(text: str, size: float, bold: bool = False) -> float:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    prop = FontProperties(weight="bold" if bold else "normal")
    # Escaped dollars: measured as the literal text drawn (LITERAL), not as mathtext.
    return TextPath((0, 0), text.replace("$", r"\$"), size=size, prop=prop).get_extents().width / 72.0


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _box(node: DiagramNode, options: dict) -> _Box:
    layer = node.layer
    title = f"{node.id} ({node.class_name})" if options["show_layer_names"] else node.class_name
    rows = []
    activation = getattr(getattr(layer, "activation", None), "__name__", None)
    if options["show_layer_activations"] and activation:
        rows.append(f"Activation: {activation}")
    if options["show_shapes"]:
        if node.input_shape is not None:
            rows.append(f"Input shape: {_shape_text(node.input_shape)}")
        rows.append(f"Output shape: {_shape_text(node.output_shape)}")
    if options["show_dtype"]:
        rows.append("Input dtype: float32" if node.input_shape is not None else "")
        rows.append("Output dtype: float32")  # cnnlab computes in float32 only
    if options["show_trainable"] and layer is not None:
        rows.append(f"Trainable: {layer.trainable}")
    rows = [r for r in rows if r]
    width = max([_text_width(title, TITLE_SIZE, True)] + [_text_width(r, ROW_SIZE) for r in rows]) + 2 * PAD
    height = (TITLE_SIZE + len(rows) * ROW_SIZE) / 72.0 * 1.25 + LINE_GAP * len(rows) + 2 * PAD
    colour = next((c for key, c in FAMILY_COLOURS.items() if key in node.class_name), DEFAULT_COLOUR)
    return _Box(title, rows, max(width, MIN_WIDTH), height, colour)


def _ranks(graph: DiagramGraph):
    """Members of each rank (boxes and waypoints), the waypoints of each long arrow, what feeds each member."""
    import networkx as nx  # imported here: only diagrams need it, and it is slow to import

    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in graph.nodes)
    g.add_edges_from(graph.edges)
    rank = {node: i for i, generation in enumerate(nx.topological_generations(g)) for node in generation}
    main = nx.descendants(g, graph.nodes[0].id) | {graph.nodes[0].id} if graph.nodes else set()
    for node in reversed(list(nx.topological_sort(g))):  # other inputs' branches sit just above where they join
        if node not in main and g.out_degree(node):
            rank[node] = min(rank[child] for child in g.successors(node)) - 1
    members: list[list[str]] = [[] for _ in range(max(rank.values(), default=0) + 1)]
    for node in g.nodes:
        members[rank[node]].append(node)
    waypoints: dict[tuple[str, str], list[str]] = {}
    preds: dict[str, list[str]] = {n: list(g.predecessors(n)) for n in g.nodes}
    for u, v in graph.edges:
        chain, previous = [], u
        for r in range(rank[u] + 1, rank[v]):
            point = f"\0{u}->{v}@{r}"
            members[r].append(point)
            preds[point] = [previous]
            chain.append(point)
            previous = point
        if chain:
            preds[v] = [chain[-1] if p == u else p for p in preds[v]]
        waypoints[(u, v)] = chain
    for r in range(1, len(members)):  # barycentre ordering: each rank follows the order of what feeds it
        position = {m: i for i, m in enumerate(members[r - 1])}
        members[r].sort(key=lambda m: sum(position.get(p, 0) for p in preds[m]) / max(1, len(preds[m])))
    return members, waypoints, preds


def draw_model(model, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
               rankdir: str = "TB", expand_nested: bool = False, dpi: int = 96,
               show_layer_activations: bool = False, show_trainable: bool = False) -> "matplotlib.figure.Figure":
    """Draw the diagram of ``model`` on a new matplotlib Figure (arguments as :func:`plot_model`)."""
    if rankdir not in ("TB", "LR"):
        raise ConfigError(f"plot_model: rankdir must be 'TB' (top to bottom) or 'LR' (left to right). "
                          f"Received: rankdir={rankdir!r}")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    graph = diagram_graph(model, expand_nested=expand_nested)
    boxes = {n.id: _box(n, options) for n in graph.nodes}
    members, waypoints, preds = _ranks(graph)
    vertical = rankdir == "TB"

    def along(m):  # extent in the direction ranks follow each other
        return (boxes[m].height if vertical else boxes[m].width) if m in boxes else 0.0

    def across(m):  # extent within a rank
        return (boxes[m].width if vertical else boxes[m].height) if m in boxes else WAYPOINT_WIDTH

    depth = [max([along(m) for m in rank] + [0.1]) for rank in members]
    cross = _cross_positions(members, preds, across)
    low = min(cross[m] - across(m) / 2 for m in cross)
    total_across = max(cross[m] + across(m) / 2 for m in cross) - low + 2 * MARGIN
    total_along = sum(depth) + RANK_GAP * (len(members) - 1) + 2 * MARGIN
    centre: dict[str, tuple[float, float]] = {}
    offset = MARGIN
    for rank, d in zip(members, depth):
        for m in rank:
            a, c = offset + d / 2, cross[m] - low + MARGIN
            centre[m] = (c, total_along - a) if vertical else (a, total_across - c)
        offset += d + RANK_GAP
    width, height = (total_across, total_along) if vertical else (total_along, total_across)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    for node_id, box in boxes.items():
        _draw_box(ax, box, centre[node_id])
    _draw_arrows(ax, graph, boxes, centre, waypoints, vertical)
    return fig


def _cross_positions(members, preds, across) -> dict[str, float]:
    """Position of each member within its rank: under what feeds it, pushed apart where boxes would touch."""
    cross: dict[str, float] = {}
    for rank in members:
        wanted = [sum(cross[p] for p in preds[m] if p in cross) / max(1, sum(p in cross for p in preds[m]))
                  if any(p in cross for p in preds[m]) else None for m in rank]
        if all(w is None for w in wanted):  # the first rank: side by side
            wanted = [0.0] * len(rank)
        wanted = [0.0 if w is None else w for w in wanted]
        placed, right = [], None
        for m, w in zip(rank, wanted):
            x = w if right is None else max(w, right + SLOT_GAP + across(m) / 2)
            placed.append(x)
            right = x + across(m) / 2
        shift = sum(placed) / len(placed) - sum(wanted) / len(wanted)  # keep the rank centred on its parents
        for m, x in zip(rank, placed):
            cross[m] = x - shift
    return cross


def _draw_box(ax, box: _Box, centre) -> None:
    x, y = centre[0] - box.width / 2, centre[1] - box.height / 2
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), box.width, box.height, boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor="white", edgecolor="#555555", linewidth=1.0))
    title_h = TITLE_SIZE / 72.0 * 1.25 + PAD
    ax.add_patch(FancyBboxPatch((x, y + box.height - title_h - PAD / 2), box.width, title_h + PAD / 2,
                                boxstyle="round,pad=0,rounding_size=0.06", facecolor=box.colour,
                                edgecolor="#555555", linewidth=1.0))
    ax.text(centre[0], y + box.height - (title_h + PAD / 2) / 2, box.title, ha="center", va="center",
            fontsize=TITLE_SIZE, fontweight="bold", **LITERAL)
    row_y = y + box.height - title_h - PAD / 2 - PAD / 2
    for row in box.rows:
        row_h = ROW_SIZE / 72.0 * 1.25 + LINE_GAP
        ax.text(centre[0], row_y - row_h / 2, row, ha="center", va="center", fontsize=ROW_SIZE, **LITERAL)
        row_y -= row_h


def _draw_arrows(ax, graph, boxes, centre, waypoints, vertical: bool) -> None:
    outgoing: dict[str, list] = {}
    incoming: dict[str, list] = {}
    for u, v in graph.edges:
        outgoing.setdefault(u, []).append((u, v))
        incoming.setdefault(v, []).append((u, v))
    axis = 0 if vertical else 1

    def spread(edges, end_of, node):  # fan several arrows along the box edge instead of one point
        edges.sort(key=lambda e: centre[end_of(e)][axis])
        span = (boxes[node].width if vertical else boxes[node].height) * 0.6
        step = span / max(1, len(edges) - 1) if len(edges) > 1 else 0.0
        return {e: (i - (len(edges) - 1) / 2) * step for i, e in enumerate(edges)}

    starts, ends = {}, {}
    for node, edges in outgoing.items():
        starts.update(spread(edges, lambda e: waypoints[e][0] if waypoints[e] else e[1], node))
    for node, edges in incoming.items():
        ends.update(spread(edges, lambda e: waypoints[e][-1] if waypoints[e] else e[0], node))
    for u, v in graph.edges:
        points = [_anchor(boxes[u], centre[u], starts[(u, v)], vertical, leaving=True)]
        points += [centre[w] for w in waypoints[(u, v)]]
        points.append(_anchor(boxes[v], centre[v], ends[(u, v)], vertical, leaving=False))
        from matplotlib.patches import FancyArrowPatch
        from matplotlib.path import Path

        codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
        ax.add_patch(FancyArrowPatch(path=Path(points, codes), arrowstyle="-|>", mutation_scale=12,
                                     color="#444444", linewidth=1.0, shrinkA=0, shrinkB=0))


def _anchor(box: _Box, centre, shift: float, vertical: bool, leaving: bool):
    if vertical:
        return centre[0] + shift, centre[1] + (-box.height / 2 if leaving else box.height / 2)
    return centre[0] + (box.width / 2 if leaving else -box.width / 2), centre[1] - shift


def plot_model(model, to_file: str = "model.png", show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False, dpi: int = 96,
               show_layer_activations: bool = False, show_trainable: bool = False):
    """Draw a diagram of ``model`` to ``to_file``, as ``keras.utils.plot_model`` does, with no Graphviz needed.

    One box per layer (name and class; shapes, dtypes, activation and
    trainability on request), arrows from each layer to the layers it feeds.
    Works for Sequential, functional (branches, several inputs and outputs)
    and subclassed models (traced with forward hooks on one call on zeros).

    Args:
        model: a built model.
        to_file: output path; the format follows the extension (png, svg, pdf, jpg).
        show_shapes: add "Input shape" / "Output shape" rows.
        show_dtype: add the input and output dtypes.
        show_layer_names: put each layer's name before its class.
        rankdir: "TB" (top to bottom) or "LR" (left to right).
        expand_nested: draw the layers of nested Sequential/functional models.
        dpi: resolution of raster formats.
        show_layer_activations: add the activation of layers that have one.
        show_trainable: add whether each layer is trainable.

    Returns:
        An ``IPython.display.Image`` (or ``SVG``) of the file when IPython is installed, so a notebook shows
        it inline; otherwise None.

    Example:
        >>> cnnlab.utils.plot_model(model, "model.png", show_shapes=True)  # doctest: +SKIP
    """
    path = os.fspath(to_file)
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension not in FORMATS:
        raise ConfigError(f"plot_model: to_file must end in one of {', '.join('.' + f for f in FORMATS)}; the "
                          f"format follows the extension. Received: to_file={path!r}")
    fig = draw_model(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                     rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                     show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    from cnnlab.io.atomic import atomic_write

    with atomic_write(path) as f:
        fig.savefig(f, format="jpeg" if extension == "jpg" else extension, dpi=dpi, facecolor="white")
    return _notebook_view(path, extension)


def _notebook_view(path: str, extension: str):
    try:
        from IPython import display
    except ImportError:
        return None
    if extension == "svg":
        return display.SVG(filename=path)
    return None if extension == "pdf" else display.Image(filename=path)

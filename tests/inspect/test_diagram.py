"""plot_model and its layout graph: one box per layer, arrows matching the model's connections."""

import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch

import cnnlab
from cnnlab import layers
from cnnlab.errors import ConfigError, NotBuiltError
from cnnlab.inspect import diagram_graph
from cnnlab.inspect.diagram import draw_model
from cnnlab.utils import plot_model


def small_sequential():
    return cnnlab.Sequential([layers.Input(shape=(8, 8, 1)), layers.Conv2D(2, 3, name="c1"),
                              layers.Flatten(name="flat"), layers.Dense(3, name="out")])


def branching_functional():
    image = layers.Input(shape=(8, 8, 1), name="image")
    extra = layers.Input(shape=(4,), name="extra")
    x = layers.Conv2D(2, 3, padding="same", name="c1")(image)
    y = layers.Conv2D(2, 3, padding="same", name="c2")(x)
    x = layers.Add(name="add")([x, y])
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Concatenate(name="cat")([x, layers.Dense(2, name="d_extra")(extra)])
    return cnnlab.Model([image, extra], [layers.Dense(3, name="cls")(x), layers.Dense(1, name="reg")(x)])


class Residual(cnnlab.Model):
    def __init__(self):
        super().__init__()
        self.c1 = layers.Conv2D(2, 3, padding="same", name="c1")
        self.c2 = layers.Conv2D(2, 3, padding="same", name="c2")
        self.gap = layers.GlobalAveragePooling2D(name="gap")
        self.out = layers.Dense(3, name="out")

    def call(self, x):
        x = self.c1(x)
        x = x + self.c2(x)  # plain tensor code between layers: only the autograd walk sees this link
        return self.out(self.gap(x))


def test_sequential_graph_is_a_chain_from_the_input():
    graph = diagram_graph(small_sequential())
    assert [n.id for n in graph.nodes] == ["input_layer", "c1", "flat", "out"]
    assert graph.edges == [("input_layer", "c1"), ("c1", "flat"), ("flat", "out")]
    shapes = {n.id: n.output_shape for n in graph.nodes}
    assert shapes["c1"] == (None, 6, 6, 2)  # (8 - 3)/1 + 1 = 6


def test_branching_functional_graph_has_every_connection():
    graph = diagram_graph(branching_functional())
    assert sorted(n.id for n in graph.nodes) == sorted(
        ["image", "extra", "c1", "c2", "add", "gap", "d_extra", "cat", "cls", "reg"])
    assert set(graph.edges) == {("image", "c1"), ("c1", "c2"), ("c1", "add"), ("c2", "add"), ("add", "gap"),
                                ("gap", "cat"), ("extra", "d_extra"), ("d_extra", "cat"), ("cat", "cls"),
                                ("cat", "reg")}
    assert len(graph.edges) == len(set(graph.edges))


def test_subclassed_graph_is_traced_including_tensor_code_between_layers():
    model = Residual()
    model(np.zeros((2, 8, 8, 1), "float32"))
    graph = diagram_graph(model)
    assert [n.id for n in graph.nodes] == ["residual_input", "c1", "c2", "gap", "out"]
    assert set(graph.edges) == {("residual_input", "c1"), ("c1", "c2"), ("c1", "gap"), ("c2", "gap"),
                                ("gap", "out")}
    assert {n.id: n.output_shape for n in graph.nodes}["gap"] == (None, 2)


def test_tracing_removes_its_hooks():
    model = Residual()
    model(np.zeros((1, 8, 8, 1), "float32"))
    diagram_graph(model)
    assert all(not m._forward_hooks for m in model.modules())


def test_unbuilt_subclassed_model_says_to_call_it_first():
    with pytest.raises(NotBuiltError, match="model.build"):
        diagram_graph(Residual())


def test_expand_nested_draws_the_inner_layers_and_connects_them():
    inner = cnnlab.Sequential([layers.Input(shape=(4,)), layers.Dense(3, name="i1"), layers.Dense(2, name="i2")],
                              name="block")
    x = layers.Input(shape=(4,), name="x")
    model = cnnlab.Model(x, layers.Dense(1, name="head")(inner(x)))
    collapsed = diagram_graph(model)
    assert [n.id for n in collapsed.nodes] == ["x", "block", "head"]
    expanded = diagram_graph(model, expand_nested=True)
    assert [n.id for n in expanded.nodes] == ["x", "block/i1", "block/i2", "head"]
    assert set(expanded.edges) == {("x", "block/i1"), ("block/i1", "block/i2"), ("block/i2", "head")}


@pytest.mark.parametrize("make", [small_sequential, branching_functional])
def test_drawing_has_one_box_title_per_layer_and_one_arrow_per_edge(make):
    model = make()
    graph = diagram_graph(model)
    fig = draw_model(model, show_shapes=True)
    ax = fig.axes[0]
    titles = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"]
    assert sorted(titles) == sorted(f"{n.id} ({n.class_name})" for n in graph.nodes)
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == len(graph.edges)
    rows = [t.get_text() for t in ax.texts]
    assert "Output shape: (None, 6, 6, 2)" in rows or "Output shape: (None, 8, 8, 2)" in rows


def test_boxes_do_not_overlap():
    fig = draw_model(branching_functional(), show_shapes=True)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in fig.axes[0].texts if t.get_fontweight() == "bold"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


def test_plot_model_writes_png_and_svg(tmp_path):
    model = small_sequential()
    plot_model(model, tmp_path / "m.png", show_shapes=True)
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_model(model, str(tmp_path / "m.svg"), rankdir="LR", show_dtype=True, show_trainable=True)
    assert b"<svg" in (tmp_path / "m.svg").read_bytes()[:2000]


def test_plot_model_rejects_unknown_format_and_rankdir(tmp_path):
    with pytest.raises(ConfigError, match=r"Received: to_file=.*m\.gif"):
        plot_model(small_sequential(), str(tmp_path / "m.gif"))
    with pytest.raises(ConfigError, match="Received: rankdir='BT'"):
        plot_model(small_sequential(), str(tmp_path / "m.png"), rankdir="BT")

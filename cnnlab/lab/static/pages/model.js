// Model page: the diagram (boxes by rank, as plot_model draws them); a click on a box shows that layer's
// shape arithmetic, parameters, filters and weight histogram.
import { get, tokenUrl } from "../api.js";
import { clear, errorBox, fmt, h, shape } from "../dom.js";

const FAMILIES = [["Input", "input"], ["Conv", "conv"], ["Pool", "pool"], ["Dense", "dense"],
  ["Normalization", "norm"], ["Add", "merge"], ["Concatenate", "merge"], ["Multiply", "merge"]];

function family(className) {
  const found = FAMILIES.find(([key]) => className.includes(key));
  return `fam-${found ? found[1] : "other"}`;
}

function diagram(data, onPick) {
  const { nodes, edges } = data.diagram;
  const ranks = new Map();
  for (const node of nodes) {
    if (!ranks.has(node.rank)) ranks.set(node.rank, []);
    ranks.get(node.rank).push(node);
  }
  const rankOf = new Map(nodes.map((n) => [n.id, n.rank]));
  const sources = new Map();
  for (const e of edges) {
    if (!sources.has(e.to)) sources.set(e.to, []);
    sources.get(e.to).push(e.from);
  }
  const root = h("div", { class: "diagram", id: "diagram" });
  const ordered = [...ranks.keys()].sort((a, b) => a - b);
  ordered.forEach((rank, i) => {
    if (i > 0) root.append(h("div", { class: "arrow", "aria-hidden": "true" }));
    const row = h("div", { class: "rank" });
    for (const node of ranks.get(rank).sort((a, b) => a.order - b.order)) {
      const from = sources.get(node.id) || [];
      // An arrow that skips ranks, or several inputs, cannot be drawn by the rank column: name them.
      const note = from.length > 1 || from.some((f) => rankOf.get(f) !== rank - 1)
        ? `from ${from.join(", ")}` : null;
      const rows = [];
      if (node.input_shape !== null && node.input_shape !== undefined) rows.push(`in  ${shape(node.input_shape)}`);
      rows.push(`out ${shape(node.output_shape)}`);
      if (node.params) rows.push(`params ${fmt(node.params)}`);
      row.append(h("button", {
        class: `layer-box ${family(node.class_name)}`, "data-layer": node.layer || node.id, type: "button",
        title: `Show ${node.id}`, onclick: () => onPick(node),
      },
      h("div", { class: "title" }, `${node.id} (${node.class_name})`),
      h("div", { class: "rows" }, rows.map((r) => h("div", {}, r)),
        note ? h("div", { class: "edge-note" }, note) : null)));
    }
    root.append(row);
  });
  return root;
}

function weightsTable(weights) {
  if (!weights || !weights.length) return h("p", { class: "muted" }, "No weights.");
  return h("div", { class: "scroll-x" }, h("table", {},
    h("thead", {}, h("tr", {}, ["weight", "shape", "min", "max", "mean", "std"].map((t, i) =>
      h("th", { class: i > 1 ? "num" : "" }, t)))),
    h("tbody", {}, weights.map((w) => h("tr", {},
      h("td", {}, w.name), h("td", { class: "mono" }, shape(w.shape)),
      ["min", "max", "mean", "std"].map((k) => h("td", { class: "num" }, fmt(w[k]))))))));
}

function imageOrNote(path, alt) {
  const wrap = h("div", {});
  const img = h("img", { class: "figure", alt, src: tokenUrl(path), loading: "lazy" });
  img.addEventListener("error", () => clear(wrap, h("p", { class: "muted" }, `${alt}: not available.`)));
  wrap.append(img);
  return wrap;
}

async function showLayer(panel, name) {
  clear(panel, h("p", { class: "muted" }, `Loading ${name}…`));
  let layer;
  try {
    layer = await get(`/api/model/layers/${encodeURIComponent(name)}`);
  } catch (err) {
    clear(panel, errorBox(err));
    return;
  }
  const math = layer.shape_math || {};
  const lines = math.lines && math.lines.length ? math.lines : (math.formula ? [math.formula] : []);
  const enc = encodeURIComponent(layer.name);
  clear(panel,
    h("h2", { id: "layer-title" }, `${layer.name} (${layer.class_name})`),
    h("dl", { class: "kv" },
      h("dt", {}, "input shape"), h("dd", { class: "mono" }, shape(layer.input_shape)),
      h("dt", {}, "output shape"), h("dd", { class: "mono" }, shape(layer.output_shape)),
      h("dt", {}, "parameters"), h("dd", {}, `${fmt(layer.params)} (${fmt(layer.trainable_params)} trainable)`),
      math.receptive_field ? [h("dt", {}, "receptive field / jump"), h("dd", {}, math.receptive_field)] : null,
      math.macs !== undefined && math.macs !== null ? [h("dt", {}, "multiply-adds"), h("dd", {}, fmt(math.macs))] : null),
    h("h3", {}, "Shape arithmetic"),
    lines.length
      ? h("div", { class: "formula", id: "shape-math" }, lines.join("\n"))
      : h("p", { class: "muted", id: "shape-math" }, "This layer has no window arithmetic: its output shape follows from its input directly."),
    h("h3", {}, "Weights"),
    weightsTable(layer.weights),
    layer.has_filters ? [h("h3", {}, "Filters (input channel 0)"),
      imageOrNote(`/api/model/layers/${enc}/filters.png?channel=0&max=64`, `Filters of ${layer.name}`)] : null,
    layer.has_weights ? [h("h3", {}, "Weight histogram"),
      imageOrNote(`/api/model/layers/${enc}/histogram.png?bins=50`, `Weight histogram of ${layer.name}`)] : null,
    h("details", {}, h("summary", {}, "Configuration (get_config)"),
      h("pre", { class: "formula" }, JSON.stringify(layer.config, null, 2))));
}

// A deep model's compact view: one readable row per layer (name, type, output shape, parameters) in the
// diagram's order, each clickable like a box. Boxes of 150 layers are only readable one screen at a time.
function layerList(data, onPick) {
  const nodes = [...data.diagram.nodes].sort((a, b) => a.rank - b.rank || a.order - b.order);
  return h("ol", { class: "layer-list", id: "layer-list" },
    h("li", { class: "layer-list-head", "aria-hidden": "true" },
      h("span", {}, "layer"), h("span", {}, "type"), h("span", {}, "output shape"), h("span", { class: "num" }, "params")),
    nodes.map((n) => h("li", {}, h("button", {
      type: "button", class: `layer-row ${family(n.class_name)}`, "data-layer": n.layer || n.id,
      title: `Show ${n.id}`, onclick: () => onPick(n),
    }, h("span", { class: "name" }, n.id), h("span", { class: "type" }, n.class_name),
    h("span", { class: "mono" }, shape(n.output_shape)), h("span", { class: "num" }, n.params ? fmt(n.params) : "")))));
}

// A deep model (MobileNet: 150 layers) opens as its layer list, readable at once; the diagram (zoomable) is a
// click away; both scroll inside their card, and *find a layer* filters the list and jumps to a layer.
function deepTools(section, data, pick, show) {
  let zoom = 1;
  const setZoom = (z) => {
    zoom = Math.min(1.5, Math.max(0.3, z));
    section.querySelector("#diagram").style.zoom = String(zoom);
    label.textContent = `${Math.round(zoom * 100)}%`;
  };
  const label = h("span", { class: "muted small zoom-label" }, "100%");
  const zoomOut = h("button", { type: "button", class: "secondary small", id: "zoom-out", title: "Zoom out", onclick: () => setZoom(zoom - 0.2) }, "−");
  const zoomIn = h("button", { type: "button", class: "secondary small", id: "zoom-in", title: "Zoom in", onclick: () => setZoom(zoom + 0.2) }, "+");
  const zoomers = h("span", { class: "row zoomers" }, zoomOut, label, zoomIn);
  const names = data.diagram.nodes.map((n) => n.layer || n.id);
  const find = h("input", { type: "search", id: "find-layer", list: "layer-names", placeholder: "find a layer…",
    "aria-label": "Find a layer by name" });
  find.addEventListener("input", () => {
    const text = find.value.trim().toLowerCase();
    section.querySelectorAll("#layer-list .layer-row").forEach((row) => {
      row.parentElement.hidden = Boolean(text) && !row.textContent.toLowerCase().includes(text);
    });
  });
  find.addEventListener("change", () => {
    const node = data.diagram.nodes.find((n) => (n.layer || n.id) === find.value.trim());
    if (!node) return;
    pick(node);
    section.querySelector(`.diagram-view:not([hidden]) [data-layer="${CSS.escape(node.layer || node.id)}"]`)
      ?.scrollIntoView({ block: "center" });
  });
  const listBtn = h("button", { type: "button", class: "secondary small", id: "view-list", "aria-pressed": "true" }, "List");
  const diagramBtn = h("button", { type: "button", class: "secondary small", id: "view-diagram", "aria-pressed": "false" }, "Diagram");
  const choose = (view) => {
    listBtn.setAttribute("aria-pressed", String(view === "list"));
    diagramBtn.setAttribute("aria-pressed", String(view === "diagram"));
    zoomers.hidden = view !== "diagram";
    show(view);
    section.querySelector(".diagram-view:not([hidden]) .selected")?.scrollIntoView({ block: "center" });
  };
  listBtn.addEventListener("click", () => choose("list"));
  diagramBtn.addEventListener("click", () => choose("diagram"));
  zoomers.hidden = true;
  return h("div", { class: "row diagram-tools" },
    h("span", { class: "muted small" }, `${data.diagram.nodes.length} layers:`),
    h("span", { class: "row view-switch", role: "group", "aria-label": "View" }, listBtn, diagramBtn),
    zoomers,
    find, h("datalist", { id: "layer-names" }, names.map((n) => h("option", { value: n }))));
}

export async function mount(section) {
  const data = await get("/api/model");
  if (!data.model) {
    section.append(h("div", { class: "card" }, h("h1", {}, "No model yet"),
      h("p", {}, "Train one on the Train page, or open a run folder or model file with cnnlab lab PATH.")));
    return null;
  }
  const m = data.model;
  const deep = data.diagram.nodes.length > 14;
  const panel = h("div", { class: "card", id: "layer-panel" },
    h("h2", {}, "Pick a layer"), h("p", { class: "muted" }, "Click a box of the diagram to see its shape arithmetic, parameters, filters and weights."));
  let selected = [];
  const pick = (node) => {
    selected.forEach((el) => el.classList.remove("selected"));
    selected = [...section.querySelectorAll(`[data-layer="${CSS.escape(node.layer || node.id)}"]`)];
    selected.forEach((el) => el.classList.add("selected"));
    showLayer(panel, node.layer || node.id);
    // The panel sits under the diagram on a narrow window, and above the fold after a scroll down a
    // long diagram: bring its top into view.
    const top = panel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.6) panel.scrollIntoView({ behavior: "smooth", block: "start" });
  };
  const diagramView = h("div", { class: `diagram-view${deep ? " tall" : ""}`, id: "diagram-view", hidden: deep }, diagram(data, pick));
  const listView = deep ? h("div", { class: "diagram-view tall", id: "list-view" }, layerList(data, pick)) : null;
  const show = (view) => {
    diagramView.hidden = view !== "diagram";
    listView.hidden = view !== "list";
  };
  section.append(
    h("div", { class: "grid side-wide" },
      h("div", { class: "card" },
        h("h1", {}, `Model ${m.name}`),
        h("p", { class: "muted" }, `${fmt(m.params)} parameters (${fmt(m.trainable_params)} trainable) · input ${shape(m.input_shape)} · ${m.num_classes} classes`),
        deep ? deepTools(section, data, pick, show) : null,
        listView, diagramView,
        h("details", {}, h("summary", {}, "summary()"), h("pre", { class: "formula small" }, data.summary))),
      panel));
  return null;
}

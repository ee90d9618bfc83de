// Look inside: choose an image (test set, upload, or a drawing converted to the model's input), then read
// the top classes, Grad-CAM and saliency, every layer's feature maps, and, for a clicked feature-map
// pixel of a Conv2D layer, the input patch, kernel, products and sum that made it.
import { ApiError, get, post, request, tokenUrl } from "../api.js";
import { clear, errorBox, fmt, h } from "../dom.js";

const MAPS_SHOWN = 12; // per layer at first; "show more" reveals the next MAPS_MORE
const MAPS_MORE = 36;
const LAYERS_SHOWN = 10; // a deep model (MobileNet: 150 layers) shows its first layers, then "show more"
const TILE_PX = 84;

function scaleFor(height, width, target) {
  return Math.max(1, Math.min(16, Math.floor(target / Math.max(height, width, 1))));
}

// ---------------------------------------------------------------- image sources

// A lab opened on a model file with no --data has no test images: say what is missing and how to add it.
function noTestImages(info) {
  return h("div", { id: "no-data" }, h("h3", {}, "Test images"),
    h("div", { class: "notice" }, info.data_problem || "This lab has no dataset.",
      h("p", { class: "small" }, "For example: ", h("code", {}, "cnnlab lab model.cnnlab --data digits"),
        " (or mnist, fashion_mnist, a folder of class sub-folders); the Train page lists which fit this model.")));
}

function testPicker(onPick) {
  const thumbs = h("div", { class: "thumbs", id: "test-images" });
  const more = h("button", { type: "button", class: "secondary", id: "more-images" }, "More images");
  let offset = 0;
  let selected = null;
  async function load() {
    const page = await get(`/api/images?offset=${offset}&limit=40`);
    for (const im of page.images) {
      const b = h("button", { type: "button", title: `test image ${im.index}: ${im.class_name}`, "data-index": im.index,
        onclick: () => { if (selected) selected.classList.remove("selected"); selected = b; b.classList.add("selected"); onPick({ test_index: im.index }); } },
      h("img", { src: tokenUrl(`/api/images/${im.index}.png?scale=4`), alt: `test image ${im.index} (${im.class_name})` }));
      thumbs.append(b);
    }
    offset += page.images.length;
    more.hidden = offset >= page.total;
  }
  more.addEventListener("click", load);
  const root = h("div", {}, h("h3", {}, "A test image"), thumbs, h("div", { style: { marginTop: "0.4rem" } }, more));
  load().catch((err) => root.append(errorBox(err)));
  return root;
}

function uploader(onPick) {
  const file = h("input", { type: "file", id: "upload", accept: "image/png,image/jpeg,image/gif,image/bmp,image/webp" });
  const invert = h("input", { type: "checkbox", id: "upload-invert" });
  const send = () => { if (file.files[0]) onPick(file.files[0], { invert: invert.checked }); };
  file.addEventListener("change", send);
  invert.addEventListener("change", send);
  return h("div", {}, h("h3", {}, "Upload an image"), file,
    h("label", { class: "check" }, invert, "dark drawing on a light background (invert)"));
}

function drawingPad(onPick) {
  const canvas = h("canvas", { class: "draw", id: "draw-canvas", width: 224, height: 224 });
  const ctx = canvas.getContext("2d");
  const wipe = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  wipe();
  let drawing = false;
  let last = null;
  let inked = false;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (canvas.width / r.width), (e.clientY - r.top) * (canvas.height / r.height)];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true; last = at(e); canvas.setPointerCapture(e.pointerId);
    ctx.fillStyle = "#fff"; ctx.beginPath(); ctx.arc(last[0], last[1], 9, 0, Math.PI * 2); ctx.fill(); inked = true;
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = at(e);
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 18; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
    last = p;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    if (auto.checked) predict();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  const auto = h("input", { type: "checkbox", id: "draw-auto", checked: true });
  const predict = () => {
    if (!inked) return;
    canvas.toBlob((blob) => onPick(blob, { fit: true }), "image/png");
  };
  return h("div", {}, h("h3", {}, "Draw"),
    h("p", { class: "muted small" }, "White on black, as the training images; the drawing is cropped, centred and resized to the model's input."),
    h("div", { class: "draw-area" }, canvas,
      h("div", { class: "stack" },
        h("button", { type: "button", id: "draw-predict", onclick: predict }, "Predict drawing"),
        h("button", { type: "button", class: "secondary", id: "draw-clear", onclick: () => { wipe(); inked = false; } }, "Clear"),
        h("label", { class: "check" }, auto, "predict when I lift the pen"))));
}

// ---------------------------------------------------------------- results

function bars(result, onClass, chosen) {
  const rows = result.top.map((t, i) => {
    const pct = (t.probability * 100);
    return [
      h("button", { type: "button", class: `secondary small ${i === 0 ? "top1" : ""}`, title: "Explain this class",
        "aria-pressed": String(chosen === t.class_index), onclick: () => onClass(t.class_index),
        style: chosen === t.class_index ? { background: "#e7effb" } : {} }, t.class_name),
      h("div", { class: "bar" }, h("div", { style: { width: `${pct.toFixed(1)}%` } })),
      h("span", { class: i === 0 ? "top1" : "" }, `${pct.toFixed(1)}%`),
    ];
  });
  return h("div", { class: "bars", id: "top-classes" }, rows);
}

function matrix(caption, values, digits, highlight) {
  const rows = values.map((row) => h("tr", {}, row.map((v) => h("td", {}, typeof v === "number" ? v.toFixed(digits) : v))));
  return h("table", { class: "matrix" }, h("caption", {}, caption), h("tbody", {}, rows));
}

// values[kh][kw][c] -> the (kh, kw) slice of channel c
const channel = (values, c) => values.map((row) => row.map((cell) => cell[c]));

function arithmetic(panel, data) {
  const inChannels = data.patch[0][0].length;
  const shown = h("div", { class: "arith", id: "arith-matrices" });
  const pickChannel = h("select", { id: "arith-channel" },
    Array.from({ length: inChannels }, (_, c) => h("option", { value: c }, `input channel ${c}`)));
  const draw = () => {
    const c = Number(pickChannel.value);
    const sumC = channel(data.products, c).flat().reduce((a, b) => a + b, 0);
    clear(shown,
      matrix(`input patch (channel ${c})`, channel(data.patch, c), 3),
      matrix(`× kernel ${data.layer}[:, :, ${c}, ${data.filter}]`, channel(data.kernel, c), 3),
      matrix(`= products (sum ${sumC.toFixed(4)})`, channel(data.products, c), 3));
  };
  pickChannel.addEventListener("change", draw);
  draw();
  const w = data.window;
  const act = data.activation && data.activation !== "linear" ? data.activation : null;
  clear(panel,
    h("h2", {}, `${data.layer}: output (row ${data.y}, column ${data.x}), filter ${data.filter}`),
    h("p", { class: "muted" }, `Reads rows ${w.rows.join(", ")} and columns ${w.cols.join(", ")} of ${data.input_layer || "the layer's input"} `,
      `(shape ${JSON.stringify(data.input_shape)}; -1 is padding), kernel ${data.kernel_size.join("×")}, `,
      `strides ${data.strides.join("×")}, padding "${data.padding}".`),
    inChannels > 1 ? h("div", { class: "row" }, pickChannel, h("span", { class: "muted small" }, `${inChannels} input channels: the sum runs over all of them.`)) : null,
    h("div", { class: "scroll-x" }, shown),
    h("div", { class: "formula", id: "arith-sum" },
      `sum of all products (${inChannels} channel${inChannels > 1 ? "s" : ""}) = ${fmt(data.sum, 5)}\n`,
      `+ bias ${fmt(data.bias, 5)} = ${fmt(data.pre_activation, 5)}\n`,
      act ? `${act}(${fmt(data.pre_activation, 5)}) = ${fmt(data.output, 5)}\n` : `output = ${fmt(data.output, 5)}\n`,
      `the model computed ${fmt(data.model_output, 5)}`));
}

function mapTiles(input, layer, arithPanel) {
  const [hgt, wid, count] = layer.shape;
  const scale = scaleFor(hgt, wid, TILE_PX);
  const enc = encodeURIComponent(layer.name);
  const tiles = h("div", { class: "maps", "data-layer": layer.name });
  let marker = null;
  const tile = (k) => {
    // Tiny maps (2x2, 1x1) are shown at least 40 px wide so they can be seen and clicked.
    const shown = Math.max(1, 40 / (wid * scale), 40 / (hgt * scale));
    const img = h("img", { class: "pixels", loading: "lazy", width: Math.round(wid * scale * shown), height: Math.round(hgt * scale * shown),
      alt: `${layer.name} map ${k}`, src: tokenUrl(`/api/inputs/${input.input_id}/layers/${enc}/maps/${k}.png?scale=${scale}`) });
    const box = h("div", { class: "map-tile", "data-map": k, title: layer.conv_arithmetic ? "Click a pixel to see its arithmetic" : `map ${k}` },
      img, h("span", { class: "ch" }, k));
    if (layer.conv_arithmetic) {
      img.addEventListener("click", async (e) => {
        const r = img.getBoundingClientRect();
        const x = Math.min(wid - 1, Math.floor(((e.clientX - r.left) / r.width) * wid));
        const y = Math.min(hgt - 1, Math.floor(((e.clientY - r.top) / r.height) * hgt));
        if (marker) marker.remove();
        marker = h("div", { class: "pixel-mark", style: {
          left: `${(x / wid) * 100}%`, top: `${(y / hgt) * 100}%`, width: `${100 / wid}%`, height: `${100 / hgt}%` } });
        box.append(marker);
        clear(arithPanel, h("p", { class: "muted" }, "Computing…"));
        arithPanel.scrollIntoView({ block: "nearest", behavior: "smooth" });
        try {
          arithmetic(arithPanel, await get(`/api/inputs/${input.input_id}/conv/${enc}?y=${y}&x=${x}&filter=${k}`));
        } catch (err) {
          clear(arithPanel, errorBox(err));
        }
      });
    }
    return box;
  };
  let shown = 0;
  const more = h("button", { type: "button", class: "secondary small show-more-maps" });
  const showUpTo = (n) => {
    for (; shown < Math.min(n, count); shown++) tiles.append(tile(shown));
    more.hidden = shown >= count;
    const next = Math.min(MAPS_MORE, count - shown);
    more.textContent = `Show ${next} more map${next === 1 ? "" : "s"} (${shown} of ${count} shown)`;
  };
  more.addEventListener("click", () => showUpTo(shown + MAPS_MORE));
  showUpTo(MAPS_SHOWN);
  return h("div", { class: "layer-maps" },
    h("h3", {}, `${layer.name} (${layer.class_name}) `, h("span", { class: "muted small" }, `${hgt}×${wid}×${count}`,
      layer.min !== undefined ? ` · ${fmt(layer.min, 3)} (black) to ${fmt(layer.max, 3)} (white)` : "",
      layer.conv_arithmetic ? " · click a pixel" : "")),
    tiles, more);
}

// The layers' maps, the first LAYERS_SHOWN at once and the rest on demand (each map is one image request).
function featureMaps(input, arithPanel) {
  const holder = h("div", { class: "card", id: "feature-maps" }, h("h2", {}, "Feature maps"));
  if (!input.layers.length) {
    holder.append(h("p", { class: "muted" }, "This model has no layer with (height, width, channels) outputs."));
    return holder;
  }
  holder.append(h("p", { class: "muted small", id: "maps-scale" }, `${input.layers.length} layers with (height, width, channels) outputs. `,
    "All maps of a layer share one grey scale: black = the layer's lowest value, white = its highest (its range is by its name), ",
    "so maps of one layer compare, and a 1×1 or constant map shows its level; a layer that is one value everywhere is grey."));
  let shown = 0;
  const more = h("button", { type: "button", class: "secondary", id: "more-layers" });
  const showUpTo = (n) => {
    const end = Math.min(n, input.layers.length);
    for (; shown < end; shown++) more.before(mapTiles(input, input.layers[shown], arithPanel));
    more.hidden = shown >= input.layers.length;
    more.textContent = `Show the next ${Math.min(LAYERS_SHOWN, input.layers.length - shown)} layers (${shown} of ${input.layers.length} shown)`;
  };
  more.addEventListener("click", () => showUpTo(shown + LAYERS_SHOWN));
  holder.append(more);
  showUpTo(LAYERS_SHOWN);
  return holder;
}

// The colours of the heat-map overlays, low to high.
function legend() {
  return h("div", { class: "heat-legend", id: "heat-legend" },
    h("span", {}, "low"), h("div", { class: "heat-bar", "aria-hidden": "true" }), h("span", {}, "high"),
    h("span", { class: "muted small" }, "how much each region matters for the explained class"));
}

export async function mount(section, ctx) {
  const info = (ctx.refreshInfo && (await ctx.refreshInfo())) || ctx.info || {};
  const results = h("div", { class: "stack", id: "inside-results" },
    h("div", { class: "card" }, h("h2", {}, "Prediction"),
      h("p", { class: "muted" }, info.data ? "Pick a test image, upload one, or draw a digit." : "Upload an image or draw one.")));
  const status = h("div", { id: "inside-status" });
  let current = null;
  let chosenClass = null;

  async function show(input) {
    current = input;
    const cam = chosenClass === null ? "" : `class_index=${chosenClass}&`;
    const [H, W] = (info.model && info.model.input_shape) || [28, 28];
    const scale = scaleFor(H, W, 168);
    const arithPanel = h("div", { class: "card", id: "arith" }, h("h2", {}, "Convolution arithmetic"),
      h("p", { class: "muted" }, "Click a pixel of a Conv2D feature map below to see the input patch, the kernel, their products and the sum that made it."));
    const truth = input.label !== null && input.label !== undefined
      ? ` · true class ${(info.data && info.data.class_names && info.data.class_names[input.label]) || input.label}` : "";
    const predicted = input.top[0];
    const names = (info.data && info.data.class_names) || (info.model && info.model.class_names) || [];
    const explainedIndex = chosenClass === null ? (predicted && predicted.class_index) : chosenClass;
    const explained = `"${names[explainedIndex] ?? explainedIndex}"`;
    const figure = (title, src, id) => h("figure", {}, h("img", { src: tokenUrl(src), alt: title, id }), h("figcaption", {}, title));
    clear(results,
      h("div", { class: "grid two" },
        h("div", { class: "card" },
          h("h2", {}, "Prediction: ", h("span", { id: "predicted" }, predicted ? predicted.class_name : "?")),
          h("p", { class: "muted small" }, `${input.source === "test" ? `test image ${input.test_index}` : "your image"}${truth}. Click a class to explain it.`),
          bars(input, (c) => { chosenClass = c; show(current); }, chosenClass === null ? (predicted && predicted.class_index) : chosenClass)),
        h("div", { class: "card" },
          h("h2", {}, "Where the model looked"),
          h("div", { class: "overlays" },
            figure("model input", `/api/inputs/${input.input_id}/image.png?scale=${scale}`, "model-input"),
            figure("Grad-CAM", `/api/inputs/${input.input_id}/gradcam.png?${cam}scale=${scale}`, "gradcam"),
            figure("saliency", `/api/inputs/${input.input_id}/saliency.png?${cam}scale=${scale}`, "saliency")),
          legend(),
          h("p", { class: "muted small" }, `Explaining class ${explained}: Grad-CAM weighs the last convolution's maps by their gradient; `,
            "saliency is the gradient of the score for each input pixel. Click another class on the left to explain it."))),
      arithPanel,
      featureMaps(input, arithPanel));
  }

  async function pick(source, options = {}) {
    clear(status, h("p", { class: "muted" }, "Predicting…"));
    chosenClass = null;
    try {
      let input;
      if (source instanceof Blob) {
        const q = new URLSearchParams();
        if (options.invert) q.set("invert", "1");
        if (options.fit) q.set("fit", "1");
        input = await request("POST", `/api/inputs?${q}`, source);
      } else {
        input = await post("/api/inputs", source);
      }
      clear(status);
      await show(input);
    } catch (err) {
      clear(status, errorBox(err instanceof ApiError ? err : new Error(String(err))));
    }
  }

  section.append(h("div", { class: "grid side" },
    h("div", { class: "card stack", id: "inside-inputs" }, h("h1", {}, "Look inside"), drawingPad(pick), uploader(pick),
      info.data ? testPicker(pick) : noTestImages(info), status),
    results));
  // #inside/17 opens test image 17 (the Mistakes page links its images here).
  const asked = /^#inside\/(\d+)$/.exec(window.location.hash);
  if (asked) {
    await pick({ test_index: Number(asked[1]) });
    results.scrollIntoView({ block: "start" });
  }
  return null;
}

// Train page: the training form, start/pause/stop, and live curves fed by the server-sent event stream
// (per batch and per epoch) with progress and time left. One training runs at a time per lab; a second
// request is answered 409 and its message is shown as is.
import { ApiError, events, get, post } from "../api.js";
import { LineChart } from "../charts.js";
import { clear, duration, errorBox, fmt, h } from "../dom.js";

const ACTIVE = new Set(["starting", "running", "paused", "stopping"]);

function select(name, values, value, label, text = (v) => v) {
  return h("label", { class: "field" }, label,
    h("select", { name, id: `f-${name}` }, values.map((v) => h("option", { value: v, selected: v === value }, text(v)))));
}

const side = (s) => (s ? `${s[0]}×${s[1]}${s.length > 2 ? `×${s[2]}` : ""}` : "?");

function number(name, value, label, attrs = {}) {
  return h("label", { class: "field" }, label,
    h("input", { name, id: `f-${name}`, type: "number", value: value ?? "", ...attrs }));
}

function form(options) {
  const d = options.defaults || {};
  // The opened model ("current") comes first: the lab trains what it opened, from its weights.
  const models = options.models.includes("current")
    ? ["current", ...options.models.filter((m) => m !== "current")] : options.models;
  const current = options.current;
  const modelText = (m) => (m === "current" && current ? `opened model: ${current.name}` : m);
  return h("form", { id: "train-form", onsubmit: (e) => e.preventDefault() },
    h("div", { class: "form-grid" },
      select("model", models, options.model, "model", modelText),
      select("data", options.datasets, options.data, "data"),
      number("image_size", options.image_size ? options.image_size[0] : null, "image size (zoo model)",
        { min: "8", max: "1024", step: "1", placeholder: "data's own" }),
      select("optimizer", options.optimizers, d.optimizer, "optimizer"),
      number("learning_rate", d.learning_rate, "learning rate", { step: "any", min: "0", placeholder: "optimizer default" }),
      number("batch_size", d.batch_size, "batch size", { min: "1", step: "1" }),
      number("epochs", d.epochs, "epochs", { min: "1", step: "1" }),
      select("regularization", options.regularization, d.regularization, "regularisation"),
      select("augmentation", options.augmentation, d.augmentation, "augmentation"),
      number("val_split", d.val_split, "validation split", { min: "0", max: "0.9", step: "0.05" }),
      number("limit", d.limit, "limit (images)", { min: "1", step: "1", placeholder: "all" }),
      number("seed", d.seed, "seed", { step: "1" }),
      h("label", { class: "field" }, "run name", h("input", { name: "name", id: "f-name", placeholder: "automatic" }))));
}

function formBody(formEl) {
  const body = {};
  for (const el of formEl.elements) {
    if (!el.name || el.value === "" || el.disabled) continue;
    body[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  return body;
}

// The two families of curves the user reads: losses, and everything else (accuracy, ...).
// What the chosen model trains on: the opened model reads each dataset converted to its input (or cannot,
// and says why); a zoo model is built new for the data's images.
function fitNote(formEl, options, noteEl) {
  const model = formEl.elements.model.value;
  const dataSel = formEl.elements.data;
  const current = model === "current";
  const fits = options.fits || {};
  for (const opt of dataSel.options) {
    const f = fits[opt.value];
    opt.disabled = current && f !== undefined && !f.fits;
    opt.textContent = opt.disabled ? `${opt.value} (does not fit)` : opt.value;
  }
  if (current && dataSel.selectedOptions[0] && dataSel.selectedOptions[0].disabled && options.data) dataSel.value = options.data;
  for (const name of ["regularization", "augmentation", "image_size"]) {
    const el = formEl.elements[name];
    el.disabled = current;
    if (current && el.tagName === "SELECT") el.value = "none";
  }
  if (!current) {
    clear(noteEl, h("p", { class: "muted small" }, `A new, untrained ${model} built for the data's images`,
      " (image size: the data's own, or the smallest a Keras architecture such as mobilenet_v2 takes, unless you set one)."));
    return;
  }
  const c = options.current;
  const items = Object.entries(fits).map(([name, f]) => h("li", { class: f.fits ? "" : "no-fit", "data-data": name },
    f.fits ? "✓ " : "✗ ", f.note));
  clear(noteEl,
    h("p", { class: "small" }, h("b", {}, `Continue training ${c.name}`),
      ` from its weights (input ${side(c.input_shape)}, ${c.num_classes} classes). Each dataset's images are converted to its input:`),
    h("ul", { class: "small fit-list" }, items),
    h("p", { class: "muted small" }, "Regularisation, augmentation and image size change a zoo model's layers: pick a zoo model for them."));
}

function splitNames(names) {
  const losses = names.filter((n) => n.endsWith("loss"));
  return [losses, names.filter((n) => !n.endsWith("loss"))];
}

class Curves {
  constructor(root) {
    this.root = root;
    this.charts = {};
    this.run = undefined;
  }

  chart(id, title, names, xLabel) {
    if (!this.charts[id]) {
      const holder = h("div", { class: "chart", id: `chart-${id}`, "data-points": "0" });
      this.root.querySelector(`#slot-${id}`).replaceChildren(h("h3", {}, title), holder);
      this.charts[id] = new LineChart(holder, names, {
        xLabel, height: 220, dashed: names.filter((n) => n.startsWith("val_")),
      });
    }
    return this.charts[id];
  }

  reset() {
    for (const c of Object.values(this.charts)) c.destroy();
    this.charts = {};
    for (const id of ["batch", "epoch-loss", "epoch-metric"]) {
      this.root.querySelector(`#slot-${id}`).replaceChildren(
        h("p", { class: "muted" }, id === "batch" ? "Per-batch curves appear when a training runs." : ""));
    }
  }

  // One event carries the points sampled since the previous one (a few events a second, ~20 points an
  // epoch): all are drawn with one redraw.
  batch(ev) {
    const points = ev.points && ev.points.length ? ev.points
      : [{ step: (ev.epoch - 1) * (ev.batches || 0) + ev.batch, logs: ev.logs || {} }];
    const names = Object.keys(points[points.length - 1].logs || {});
    if (!names.length) return;
    const c = this.chart("batch", "Per batch (training; running mean over the epoch)", names, "batch");
    c.extend(points.map((p) => [p.step, p.logs]));
    c.container.dataset.points = String(c.length);
  }

  history(history) {
    const names = Object.keys(history || {}).filter((n) => Array.isArray(history[n]) && n !== "epoch");
    if (!names.length) return;
    const epochs = history[names[0]].map((_, i) => i + 1);
    const [losses, metrics] = splitNames(names);
    if (losses.length) {
      const c = this.chart("epoch-loss", "Loss per epoch", losses, "epoch");
      c.set(epochs, history);
      c.container.dataset.points = String(c.length);
    }
    if (metrics.length) {
      const c = this.chart("epoch-metric", "Metrics per epoch", metrics, "epoch");
      c.set(epochs, history);
      c.container.dataset.points = String(c.length);
    }
  }

  destroy() { for (const c of Object.values(this.charts)) c.destroy(); }
}

export async function mount(section, ctx) {
  const options = await get("/api/train/options");
  const formEl = form(options);
  const message = h("div", { id: "train-message", role: "status" });
  const noteEl = h("div", { id: "fit-note" });
  const refit = () => fitNote(formEl, options, noteEl);
  formEl.elements.model.addEventListener("change", () => {
    if (formEl.elements.model.value !== "current" && options.zoo_data) formEl.elements.data.value = options.zoo_data;
    refit();
  });
  refit();
  const startBtn = h("button", { type: "button", id: "start" }, "Start training");
  const pauseBtn = h("button", { type: "button", id: "pause", class: "secondary", disabled: true }, "Pause");
  const stopBtn = h("button", { type: "button", id: "stop", class: "secondary", disabled: true }, "Stop");
  const pill = h("span", { class: "pill", id: "train-state" }, "idle");
  const bar = h("div", {});
  const line = h("div", { class: "status-line", id: "train-progress" });
  const curves = h("div", { class: "grid two" },
    h("div", { class: "card chart-card", id: "slot-batch", style: { gridColumn: "1 / -1" } }),
    h("div", { class: "card chart-card", id: "slot-epoch-loss" }),
    h("div", { class: "card chart-card", id: "slot-epoch-metric" }));
  const result = h("div", { id: "train-result" });

  section.append(
    h("div", { class: "grid side" },
      h("div", { class: "card" },
        h("h1", {}, "Train"),
        noteEl,
        formEl,
        h("div", { class: "row", style: { marginTop: "0.8rem" } }, startBtn, pauseBtn, stopBtn),
        h("p", { class: "muted small" }, "One training at a time in this lab. Each training writes a run folder ",
          "(model.cnnlab with the best epoch, history.csv, report.html, TensorBoard events)."),
        message),
      h("div", { class: "stack" },
        h("div", { class: "card" },
          h("div", { class: "row" }, h("b", {}, "Status"), pill, h("span", { id: "train-run", class: "muted" })),
          h("div", { class: "progress", style: { margin: "0.5rem 0" } }, bar),
          line, result),
        curves)));

  const plots = new Curves(curves);
  plots.reset();
  let state = "idle";
  let epochs = 0;

  function progress(epoch, epochs, batch, batches, elapsed, eta) {
    const done = epochs ? ((Math.max(epoch, 1) - 1) + (batches ? batch / batches : 0)) / epochs : 0;
    bar.style.width = `${Math.min(100, Math.max(0, done * 100)).toFixed(1)}%`;
    clear(line,
      h("span", {}, "epoch ", h("b", {}, `${epoch || 0}/${epochs || 0}`)),
      h("span", {}, "batch ", h("b", {}, `${batch || 0}/${batches || 0}`)),
      h("span", {}, "elapsed ", h("b", {}, duration(elapsed))),
      h("span", {}, "time left ", h("b", { id: "eta" }, ACTIVE.has(state) ? duration(eta) : "–")));
  }

  function showStatus(s) {
    if (s.run !== plots.run && ACTIVE.has(s.state)) {
      // A new training: its curves replace the previous one's.
      if (plots.run !== undefined) plots.reset();
      plots.run = s.run;
    } else if (plots.run === undefined) {
      plots.run = s.run;
    }
    const was = state;
    state = s.state;
    pill.textContent = s.state;
    pill.className = `pill ${s.state}`;
    section.querySelector("#train-run").textContent = s.run ? `run ${s.run}` : "";
    pauseBtn.disabled = !(s.state === "running" || s.state === "paused");
    pauseBtn.textContent = s.state === "paused" ? "Resume" : "Pause";
    stopBtn.disabled = !(s.state === "running" || s.state === "paused" || s.state === "starting");
    epochs = s.epochs || epochs;
    progress(s.epoch, s.epochs, s.batch, s.batches, s.elapsed_s, s.eta_s);
    if (s.history) plots.history(s.history);
    clear(result);
    if (s.state === "failed" && s.error) result.append(errorBox(s.error));
    if (s.test) {
      result.append(h("p", {}, "Test set: ", Object.entries(s.test).map(([k, v]) => `${k} ${fmt(v)}`).join(" · ")));
    }
    if (ACTIVE.has(was) && !ACTIVE.has(s.state)) {
      const busy = message.querySelector("#busy-message");
      if (busy) busy.remove();
      if (ctx.refreshInfo) ctx.refreshInfo();
    }
  }

  const stream = events("/api/train/events");
  stream.addEventListener("status", (e) => showStatus(JSON.parse(e.data)));
  stream.addEventListener("batch", (e) => {
    const ev = JSON.parse(e.data);
    plots.batch(ev);
    progress(ev.epoch, epochs, ev.batch, ev.batches, ev.elapsed_s, ev.eta_s);
  });
  stream.addEventListener("epoch", (e) => {
    const ev = JSON.parse(e.data);
    epochs = ev.epochs || epochs;
    plots.history(ev.history);
  });
  stream.addEventListener("error", () => {
    // EventSource reconnects by itself; say so only if it stays down.
    if (stream.readyState === EventSource.CLOSED) message.replaceChildren(errorBox("The live stream closed; reload the page."));
  });

  async function act(path, body) {
    clear(message);
    try {
      showStatus(await post(path, body));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        clear(message, h("div", { class: "notice", id: "busy-message" }, err.message));
      } else {
        clear(message, errorBox(err));
      }
    }
  }
  startBtn.addEventListener("click", () => {
    if (!formEl.reportValidity()) return;
    act("/api/train", formBody(formEl));
  });
  pauseBtn.addEventListener("click", () => act(state === "paused" ? "/api/train/resume" : "/api/train/pause"));
  stopBtn.addEventListener("click", () => act("/api/train/stop"));

  return () => {
    stream.close();
    plots.destroy();
  };
}

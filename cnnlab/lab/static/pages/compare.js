// Compare: pick run folders, overlay any history column of each (one colour per run), and read their
// final metrics side by side. A run can also be opened as the lab's current model.
import { get, post } from "../api.js";
import { LineChart, colour } from "../charts.js";
import { clear, duration, errorBox, fmt, h } from "../dom.js";

const FINAL_KEYS = ["loss", "accuracy", "val_loss", "val_accuracy"];

function config(run) {
  const c = run.config || {};
  const lr = c.learning_rate ?? c.lr;
  return [c.model, c.optimizer, lr !== undefined && lr !== null ? `lr ${lr}` : null,
    c.batch_size ? `batch ${c.batch_size}` : null,
    c.regularization && c.regularization !== "none" ? c.regularization : null,
    c.augmentation && c.augmentation !== "none" ? `aug ${c.augmentation}` : null].filter(Boolean).join(" · ");
}

export async function mount(section, ctx) {
  const { runs } = await get("/api/runs");
  if (!runs.length) {
    section.append(h("div", { class: "card" }, h("h1", {}, "Compare"),
      h("p", {}, "No run folders yet. Train on the Train page (each training writes one), or start the lab on a folder of runs: ",
        h("code", {}, "cnnlab lab runs/"), ".")));
    return null;
  }
  const chosen = new Set(runs.filter((r) => r.status !== "running").slice(0, 6).map((r) => r.id));
  const list = h("div", { class: "stack", id: "run-list" });
  const metricA = h("select", { id: "metric-a" });
  const metricB = h("select", { id: "metric-b" });
  const charts = h("div", { class: "grid two", id: "compare-charts" });
  const table = h("div", { class: "scroll-x", id: "compare-table" });
  const message = h("div", {});
  let plots = [];
  let data = null;

  for (const run of runs) {
    const box = h("input", { type: "checkbox", value: run.id, checked: chosen.has(run.id) });
    box.addEventListener("change", () => { if (box.checked) chosen.add(run.id); else chosen.delete(run.id); load(); });
    list.append(h("label", { class: "check" }, box,
      h("span", {}, h("b", {}, run.id), h("br"), h("span", { class: "muted small" },
        `${run.status} · ${run.model || "?"} on ${run.data || "?"}`,
        run.best_val_accuracy !== undefined && run.best_val_accuracy !== null ? ` · best val acc ${fmt(run.best_val_accuracy, 3)}` : ""))));
  }

  function draw() {
    plots.forEach((p) => p.destroy());
    plots = [];
    clear(charts);
    if (!data || !data.runs.length) { charts.append(h("p", { class: "muted" }, "Tick runs to compare.")); return; }
    for (const select of [metricA, metricB]) {
      const name = select.value;
      const holder = h("div", { class: "chart", "data-metric": name });
      charts.append(h("div", { class: "card chart-card" }, h("h3", {}, name), holder));
      const longest = Math.max(...data.runs.map((r) => (r.history[name] || []).length));
      const xs = Array.from({ length: longest }, (_, i) => i + 1);
      const columns = {};
      data.runs.forEach((r) => { columns[r.id] = xs.map((_, i) => (r.history[name] || [])[i] ?? null); });
      const chart = new LineChart(holder, data.runs.map((r) => r.id), { xLabel: "epoch", height: 260,
        colours: data.runs.map((_, i) => colour(i)) });
      chart.set(xs, columns);
      plots.push(chart);
    }
  }

  function tableOf(runsData) {
    const best = {};
    for (const key of FINAL_KEYS) {
      const values = runsData.map((r) => r.final && r.final[key]).filter((v) => typeof v === "number");
      if (values.length) best[key] = key.endsWith("loss") ? Math.min(...values) : Math.max(...values);
    }
    const cell = (r, key) => {
      const v = r.final ? r.final[key] : null;
      return h("td", { class: "num", "data-label": `final ${key}`, style: v === best[key] && runsData.length > 1 ? { fontWeight: "700", color: "#1e7d34" } : {} }, fmt(v));
    };
    return h("table", { class: "cards" },
      h("thead", {}, h("tr", {}, h("th", {}, "run"), h("th", {}, "configuration"),
        FINAL_KEYS.map((k) => h("th", { class: "num" }, `final ${k}`)),
        h("th", { class: "num" }, "test accuracy"), h("th", { class: "num" }, "best val acc (epoch)"),
        h("th", { class: "num" }, "time"), h("th", {}, ""))),
      h("tbody", {}, runsData.map((r, i) => h("tr", {},
        h("td", { "data-label": "run" }, h("span", { style: { color: colour(i), fontWeight: "700" } }, "■ "), r.id),
        h("td", { class: "small", "data-label": "configuration" }, config(r)),
        FINAL_KEYS.map((k) => cell(r, k)),
        h("td", { class: "num", "data-label": "test accuracy" }, fmt(r.test ? r.test.accuracy : null)),
        h("td", { class: "num", "data-label": "best val acc (epoch)" }, r.best_val_accuracy === null || r.best_val_accuracy === undefined ? "–"
          : `${fmt(r.best_val_accuracy)} (${r.best_epoch ?? "?"})`),
        h("td", { class: "num", "data-label": "time" }, duration(r.train_seconds)),
        h("td", {}, h("button", { type: "button", class: "secondary small", title: "Make this run's model the lab's current model",
          onclick: async () => {
            try {
              await post("/api/model/select", { run: r.id });
              clear(message, h("p", { class: "notice" }, `The lab now shows run ${r.id} on the Model, Look inside and Mistakes pages.`));
              if (ctx.refreshInfo) ctx.refreshInfo();
            } catch (err) { clear(message, errorBox(err)); }
          } }, "Open"))))));
  }

  async function load() {
    clear(message);
    if (!chosen.size) { data = { runs: [] }; draw(); clear(table); return; }
    try {
      data = await get(`/api/compare?runs=${[...chosen].map(encodeURIComponent).join(",")}`);
    } catch (err) {
      clear(message, errorBox(err));
      return;
    }
    const names = new Set();
    data.runs.forEach((r) => Object.keys(r.history || {}).forEach((k) => { if (k !== "epoch") names.add(k); }));
    for (const [select, preferred] of [[metricA, "val_loss"], [metricB, "val_accuracy"]]) {
      const keep = select.value;
      clear(select, [...names].sort().map((n) => h("option", { value: n }, n)));
      select.value = names.has(keep) ? keep : names.has(preferred) ? preferred : [...names][0] || "";
    }
    draw();
    clear(table, tableOf(data.runs));
  }
  metricA.addEventListener("change", draw);
  metricB.addEventListener("change", draw);

  section.append(h("div", { class: "grid side" },
    h("div", { class: "card" }, h("h1", {}, "Compare runs"), h("p", { class: "muted small" }, "Tick up to 12 run folders."), list),
    h("div", { class: "stack" },
      h("div", { class: "card" }, h("div", { class: "row" }, h("label", { class: "field" }, "left chart", metricA),
        h("label", { class: "field" }, "right chart", metricB)), message),
      charts,
      h("div", { class: "card" }, h("h2", {}, "Final metrics"), table))));
  await load();
  return () => plots.forEach((p) => p.destroy());
}

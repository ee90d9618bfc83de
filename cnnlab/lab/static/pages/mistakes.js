// Mistakes: the confusion matrix of the current model on the test images; a click on a cell lists the
// images of that true class predicted as that class.
import { get, tokenUrl } from "../api.js";
import { clear, errorBox, fmt, h } from "../dom.js";

function cellColour(count, rowTotal, diagonal) {
  const share = rowTotal ? count / rowTotal : 0;
  if (!count) return "#fff";
  // Blue for right answers, red for mistakes; the darker, the larger the share of the row.
  const a = Math.min(1, 0.12 + share * (diagonal ? 0.88 : 2.5));
  return diagonal ? `rgba(31, 95, 191, ${a})` : `rgba(205, 40, 30, ${a})`;
}

function gallery(result, names) {
  if (!result.images.length) return h("p", { class: "muted" }, "No images.");
  // Each image links to Look inside (#inside/INDEX): its prediction, feature maps and Grad-CAM. Only the
  // hash changes, so the token in the address stays.
  return h("div", { class: "gallery", id: "mistake-images" }, result.images.map((im) =>
    h("a", { href: `#inside/${im.index}`, class: "mistake", title: `Look inside test image ${im.index}` },
      h("figure", { "data-index": im.index },
        h("img", { src: tokenUrl(`/api/images/${im.index}.png?scale=8`), alt: `test image ${im.index}`, loading: "lazy" }),
        h("figcaption", {}, `#${im.index}`, h("br"), `${names[im.true] ?? im.true} → ${names[im.pred] ?? im.pred}`,
          im.probability !== undefined && im.probability !== null ? ` (${Math.round(im.probability * 100)}%)` : "")))));
}

export async function mount(section, ctx = {}) {
  const holder = h("div", { class: "card" }, h("h1", {}, "Mistakes"), h("p", { class: "muted" }, "Running the model on the test images…"));
  section.append(holder);
  const info = ctx.info || {};
  if (info.model && !info.data) {  // no test images: say why and how to add them, not an error
    clear(holder, h("h1", {}, "Mistakes"), h("div", { class: "notice", id: "no-data" },
      info.data_problem || "This lab has no dataset.",
      h("p", { class: "small" }, "For example: ", h("code", {}, "cnnlab lab model.cnnlab --data digits"), ".")));
    return null;
  }
  let cm;
  try {
    cm = await get("/api/confusion");
  } catch (err) {
    clear(holder, h("h1", {}, "Mistakes"), errorBox(err));
    return null;
  }
  const names = cm.class_names || cm.matrix.map((_, i) => String(i));
  const detail = h("div", { class: "card", id: "mistakes-detail" }, h("h2", {}, "Misclassified images"),
    h("p", { class: "muted" }, "Click a red cell of the matrix (a true class predicted as another) to see those images."));
  let selected = null;

  async function open(t, p, td) {
    if (selected) selected.classList.remove("selected");
    selected = td;
    td.classList.add("selected");
    clear(detail, h("h2", {}, `True ${names[t]}, predicted ${names[p]}`), h("p", { class: "muted" }, "Loading…"));
    try {
      const result = await get(`/api/mistakes?true=${t}&pred=${p}&limit=100`);
      clear(detail, h("h2", {}, `True ${names[t]}, predicted ${names[p]}: ${fmt(result.total)} image${result.total === 1 ? "" : "s"}`),
        result.total > result.images.length ? h("p", { class: "muted small" }, `The first ${result.images.length} shown.`) : null,
        h("p", { class: "muted small" }, "Click an image to look inside: the model's prediction, feature maps and Grad-CAM."),
        gallery(result, names));
    } catch (err) {
      clear(detail, errorBox(err));
    }
  }

  const head = h("tr", {}, h("th", { class: "corner" }, "true ↓", h("br"), "pred →"), names.map((n) => h("th", { scope: "col" }, n)));
  const body = cm.matrix.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return h("tr", {}, h("th", { scope: "row" }, names[t]), row.map((count, p) => {
      const td = h("td", { "data-true": t, "data-pred": p, style: { background: cellColour(count, total, t === p),
        color: count && (t === p ? count / total > 0.5 : count / total > 0.3) ? "#fff" : "#1d2330" } });
      const mistake = t !== p && count > 0;
      td.append(h("button", { type: "button", disabled: !mistake, title: `true ${names[t]}, predicted ${names[p]}: ${count}`,
        onclick: mistake ? () => open(t, p, td) : null }, count));
      return td;
    }));
  });
  const perClass = cm.per_class ? h("details", {}, h("summary", {}, "Per-class precision, recall, F1"),
    h("div", { class: "scroll-x" }, h("table", {},
      h("thead", {}, h("tr", {}, ["class", "precision", "recall", "F1", "support"].map((t, i) => h("th", { class: i ? "num" : "" }, t)))),
      h("tbody", {}, cm.per_class.map((c) => h("tr", {}, h("td", {}, c.class_name),
        ["precision", "recall", "f1", "support"].map((k) => h("td", { class: "num" }, fmt(c[k], 3))))))))) : null;
  clear(holder,
    h("h1", {}, "Mistakes"),
    h("p", {}, `Accuracy on ${fmt(cm.total)} test images: `, h("b", {}, `${(cm.accuracy * 100).toFixed(2)}%`),
      ` (${fmt(cm.total - cm.matrix.reduce((s, row, i) => s + row[i], 0))} mistakes).`),
    h("div", { class: "scroll-x" }, h("table", { class: "confusion", id: "confusion" }, h("thead", {}, head), h("tbody", {}, body))),
    perClass);
  section.append(detail);
  return null;
}

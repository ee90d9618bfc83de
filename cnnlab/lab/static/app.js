// The single-page app: a hash router over the five pages, the 403 state, and the lab summary line.
import { get, onForbidden, token } from "./api.js";
import { clear, h } from "./dom.js";

const PAGES = {
  model: () => import("./pages/model.js"),
  train: () => import("./pages/train.js"),
  inside: () => import("./pages/inside.js"),
  compare: () => import("./pages/compare.js"),
  mistakes: () => import("./pages/mistakes.js"),
};

const main = document.getElementById("page");
const banner = document.getElementById("banner");
let unmount = null;
let forbidden = false;
let info = null;

function showForbidden(message) {
  if (forbidden) return;
  forbidden = true;
  if (unmount) { try { unmount(); } catch (_) { /* page already broken */ } unmount = null; }
  document.body.classList.add("forbidden");
  clear(main, h("section", { class: "card forbidden-card", id: "forbidden" },
    h("h1", {}, "403: access refused"),
    h("p", {}, token
      ? "The token in this page's address is not the one this lab was started with."
      : "This page's address has no token."),
    h("p", {}, "Open the full URL that ", h("code", {}, "cnnlab lab"),
      " printed in the terminal (it ends in ", h("code", {}, "?token=…"), ")."),
    message ? h("p", { class: "muted" }, `Server said: ${message}`) : null));
}
onForbidden(showForbidden);

export function setBanner(text, kind = "info") {
  if (!text) { banner.hidden = true; return; }
  banner.hidden = false;
  banner.className = `banner ${kind}`;
  banner.textContent = text;
}

async function route() {
  if (forbidden) return;
  const name = (window.location.hash.slice(1) || "model").split("/")[0];
  const page = PAGES[name] ? name : "model";
  document.querySelectorAll("#nav a").forEach((a) => {
    a.classList.toggle("active", a.dataset.page === page);
    if (a.dataset.page === page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  if (unmount) { unmount(); unmount = null; }
  clear(main, h("p", { class: "muted" }, "Loading…"));
  document.body.dataset.page = page;
  const module = await PAGES[page]();
  if (forbidden) return;
  const section = h("section", { class: `page page-${page}`, id: `page-${page}` });
  clear(main, section);
  try {
    unmount = (await module.mount(section, { info, setBanner, refreshInfo })) || null;
  } catch (err) {
    if (!forbidden) section.append(h("div", { class: "error", role: "alert" }, err.message || String(err)));
  }
}

async function refreshInfo() {
  try {
    info = await get("/api/info");
    const src = document.getElementById("source");
    const parts = [];
    if (info.model) parts.push(`model ${info.model.name}${info.model.run ? ` (run ${info.model.run})` : ""}`);
    if (info.data) parts.push(`data ${info.data.name}`);
    if (info.source && info.source.label) parts.push(`runs in ${info.source.label}`);
    src.textContent = parts.join(" · ");
  } catch (err) {
    if (!forbidden) info = null;
  }
  return info;
}

// Nav links only change the hash, so the token in the address stays.
async function start() {
  await refreshInfo();
  if (forbidden) return;
  window.addEventListener("hashchange", route);
  await route();
}

start();

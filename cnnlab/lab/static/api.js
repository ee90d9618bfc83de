// The lab's HTTP client: every request carries the token from the page URL, and a refused token
// turns the whole page into a clear "403" state instead of a broken page.

const params = new URLSearchParams(window.location.search);
export const token = params.get("token") || "";

const listeners = new Set();
export function onForbidden(fn) { listeners.add(fn); }

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function withToken(path) {
  const url = new URL(path, window.location.origin);
  url.searchParams.set("token", token);
  return url.pathname + url.search;
}

// For <img src>, EventSource and downloads, where no header can be set.
export const tokenUrl = withToken;

async function errorFrom(response) {
  let body = null;
  let message = `${response.status} ${response.statusText}`;
  try {
    body = await response.json();
    message = body.message || body.error || body.detail || message;
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 403) listeners.forEach((fn) => fn(message));
  return new ApiError(response.status, message, body);
}

export async function request(method, path, body, { raw = false } = {}) {
  const init = { method, headers: { "X-Cnnlab-Token": token } };
  if (body instanceof FormData || body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  if (raw) return response;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);

export async function blobUrl(path, body) {
  const response = await request(body === undefined ? "GET" : "POST", path, body, { raw: true });
  return URL.createObjectURL(await response.blob());
}

export function events(path) {
  return new EventSource(withToken(path));
}

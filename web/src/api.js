// Talking to the server: every request carries the API key when one was given
// (kept in this tab's sessionStorage, never in a URL), so tiles, charts and
// downloads obey the same role as the numbers.

const KEY = "trygg.apiKey";

export class ApiError extends Error {
  constructor(path, status, body) {
    super(body?.error?.message ? `${body.error.message} (${status})` : `${path}: ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY) ?? "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** Headers for a request to our own origin. */
export function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function call(path, init = {}) {
  const r = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  if (!r.ok) {
    let body = null;
    try {
      body = await r.json();
    } catch {
      // not a JSON error
    }
    throw new ApiError(path, r.status, body);
  }
  return r;
}

/** GET a JSON answer. */
export async function getJson(path) {
  return (await call(path)).json();
}

/** POST a JSON body, JSON answer. */
export async function postJson(path, body) {
  return (await call(path, postInit(body))).json();
}

/** The fetch options of a JSON POST of `body`, or of a GET without one. */
function postInit(body) {
  return body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : {};
}

/** An object URL for an image answer, GET or POST of `body` (charts need the key too, so no plain <img src>). */
export async function imageUrl(path, body) {
  return URL.createObjectURL(await (await call(path, postInit(body))).blob());
}

/** The file name of a download from its Content-Disposition, or `fallback`. */
export function fileName(disposition, fallback) {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition ?? "");
  return m ? decodeURIComponent(m[1]) : fallback;
}

/** Downloads an answer as a file (GET, or POST with a JSON body). */
export async function download(path, fallback, body) {
  const r = await call(path, postInit(body));
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName(r.headers.get("Content-Disposition"), fallback);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

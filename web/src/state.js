// The whole view as data: parsed from and written to the URL hash, so a view
// can be shared as a link and the back button works; and the query strings
// every layer, panel and export asks with, built here and only here, so that
// all of them move together when a filter or the time slider changes.

export const LAYERS = ["grid", "hotspots", "heat", "areas", "events"];
export const SOURCES = ["police-events", "crimes", "shootings", "fires"];
export const PRESETS = ["1w", "4w", "12m", "year", "custom"];
export const STEPS = ["", "week", "month"];
export const MEASURES = ["rate", "count", "change"];
export const COMPARE = ["", "side", "change"];
export const AGAINST = ["previous", "year"];
/** Weekday filters the API reads (`weekdays=`), in the order the UI offers them. */
export const WEEKDAYS = ["", "mon-fri", "sat-sun", "fri-sat"];
/** Time-of-day filters (`hours=`: local hours from the first to before the last, wrapping past midnight). */
export const HOURS = ["", "06-18", "18-22", "22-06"];

export const DEFAULTS = Object.freeze({
  lang: "sv",
  zoom: 11,
  lon: 18.0686,
  lat: 59.3293,
  layers: ["grid"],
  sources: [],
  categories: [],
  preset: "12m",
  from: "",
  to: "",
  hours: "",
  weekdays: "",
  step: "",
  at: "",
  division: "stadsdel",
  measure: "rate",
  compare: "",
  against: "previous",
  area: "",
  polygon: "",
  municipality: "",
});

const DAY = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A YYYY-MM-DD day of a UTC date. */
export function iso(date) {
  return date.toISOString().slice(0, 10);
}

function utc(day) {
  return new Date(`${day}T00:00:00Z`);
}

/** `day` moved by `days`. */
export function addDays(day, days) {
  return iso(new Date(utc(day).getTime() + days * DAY));
}

/** Days from `a` to `b` (b − a). */
export function daysBetween(a, b) {
  return Math.round((utc(b) - utc(a)) / DAY);
}

/** The days a preset covers, ending on `end` (a YYYY-MM-DD string). */
export function presetRange(preset, end) {
  const back = (days) => [addDays(end, 1 - days), end];
  switch (preset) {
    case "1w":
      return back(7);
    case "4w":
      return back(28);
    case "12m":
      return back(365);
    case "year":
      return [`${end.slice(0, 4)}-01-01`, `${end.slice(0, 4)}-12-31`];
    default:
      return null;
  }
}

/** The state in a URL hash ("#k=v&..."); unknown or bad values fall back to the defaults. */
export function parseHash(hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  const num = (k, lo, hi) => {
    const v = Number(q.get(k));
    return q.has(k) && q.get(k) !== "" && Number.isFinite(v) && v >= lo && v <= hi ? v : DEFAULTS[k];
  };
  const list = (k, allowed) =>
    q.has(k) ? q.get(k).split(",").filter((x) => x && (!allowed || allowed.includes(x))) : [...DEFAULTS[k]];
  const one = (k, allowed) => (allowed.includes(q.get(k)) ? q.get(k) : DEFAULTS[k]);
  const day = (k) => (DATE.test(q.get(k) ?? "") ? q.get(k) : "");
  const word = (k) => (/^[a-z0-9_:-]{1,64}$/i.test(q.get(k) ?? "") ? q.get(k) : DEFAULTS[k]);
  const state = {
    lang: one("lang", ["sv", "en"]),
    zoom: num("zoom", 0, 22),
    lon: num("lon", -180, 180),
    lat: num("lat", -85, 85),
    layers: list("layers", LAYERS),
    sources: list("sources", SOURCES),
    categories: list("categories").filter((c) => /^[a-z_]{1,40}$/.test(c)),
    preset: one("preset", PRESETS),
    from: day("from"),
    to: day("to"),
    hours: one("hours", HOURS),
    weekdays: one("weekdays", WEEKDAYS),
    step: one("step", STEPS),
    at: day("at"),
    division: word("division"),
    measure: one("measure", MEASURES),
    compare: one("compare", COMPARE),
    against: one("against", AGAINST),
    area: (q.get("area") ?? "").slice(0, 64),
    polygon: parsePolygon(q.get("polygon") ?? "") ? q.get("polygon") : "",
    municipality: word("municipality"),
  };
  if (state.from && state.to && state.from > state.to) [state.from, state.to] = [state.to, state.from];
  return state;
}

/** The URL hash of a state (only what differs from the defaults, in a fixed order). */
export function toHash(state) {
  const q = new URLSearchParams();
  for (const k of Object.keys(DEFAULTS)) {
    const v = state[k];
    const d = DEFAULTS[k];
    const text = Array.isArray(v) ? v.join(",") : k === "lon" || k === "lat" ? Number(v).toFixed(5) : String(v);
    const dtext = Array.isArray(d) ? d.join(",") : k === "lon" || k === "lat" ? Number(d).toFixed(5) : String(d);
    if (text !== dtext) q.set(k, text);
  }
  return `#${q.toString()}`;
}

/** The period the filters choose (before the slider), given the data's last day. */
export function period(state, lastDay) {
  if (state.preset === "custom" && state.from && state.to) return [state.from, state.to];
  return presetRange(state.preset === "custom" ? "12m" : state.preset, lastDay);
}

/** The slider's slices of the period: ISO weeks (Monday–Sunday) or calendar months, cut to the period. */
export function slices(state, lastDay) {
  if (!state.step) return [];
  const [from, to] = period(state, lastDay);
  const out = [];
  let start = from;
  if (state.step === "week") {
    const weekday = (utc(from).getUTCDay() + 6) % 7; // Monday = 0
    start = addDays(from, -weekday);
  } else {
    start = `${from.slice(0, 7)}-01`;
  }
  while (start <= to) {
    let next;
    if (state.step === "week") {
      next = addDays(start, 7);
    } else {
      const d = utc(start);
      next = iso(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)));
    }
    const end = addDays(next, -1);
    out.push([start < from ? from : start, end > to ? to : end]);
    start = next;
  }
  return out;
}

/** The days every layer shows: the slider's slice when it is on, else the period. */
export function range(state, lastDay) {
  const all = slices(state, lastDay);
  if (all.length === 0) return period(state, lastDay);
  return all.find(([from]) => from === state.at) ?? all[all.length - 1];
}

/** The period compared with: the one just before (same length) or the same days a year earlier. */
export function compareRange(state, lastDay) {
  const [from, to] = range(state, lastDay);
  if (state.against === "year") {
    const back = (day) => {
      const d = utc(day);
      d.setUTCFullYear(d.getUTCFullYear() - 1);
      return iso(d);
    };
    return [back(from), back(to)];
  }
  const days = daysBetween(from, to) + 1;
  return [addDays(from, -days), addDays(from, -1)];
}

/**
 * The municipality (a code of the store's `kommun` layer) every request is
 * limited to, as a query string ("" for the whole store): the server makes the
 * answer of that municipality alone (a key limited to one gets its own anyway).
 */
export function scopeQuery(state) {
  return state.municipality ? new URLSearchParams({ municipality: state.municipality }).toString() : "";
}

/** `path` with the state's municipality added to its query string (once). */
export function scoped(path, state) {
  const scope = scopeQuery(state);
  const query = path.includes("?") ? path.slice(path.indexOf("?") + 1) : "";
  if (!scope || new URLSearchParams(query).has("municipality")) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${scope}`;
}

function selection(q, state) {
  if (state.municipality) q.set("municipality", state.municipality);
  for (const s of state.sources) q.append("source", s);
  for (const c of state.categories) q.append("category", c);
  if (state.hours) q.set("hours", state.hours);
  if (state.weekdays) q.set("weekdays", state.weekdays);
  return q;
}

/** The filter parameters every point layer and statistic shares (`from`, `to`, selection). */
export function filterQuery(state, lastDay, days = range(state, lastDay)) {
  const [from, to] = days;
  return selection(new URLSearchParams({ from, to }), state).toString();
}

/** The `areas` layer's and the area panel's counts parameters (the range as a custom period). */
export function countsQuery(state, lastDay, days = range(state, lastDay)) {
  const [from, to] = days;
  return selection(new URLSearchParams({ period: `${from}..${to}`, layer: state.division }), state).toString();
}

/** The hotspot-change job's parameters: the range after, the compared period before. */
export function changeQuery(state, lastDay) {
  const [bf, bt] = compareRange(state, lastDay);
  const q = new URLSearchParams(filterQuery(state, lastDay));
  q.set("before_from", bf);
  q.set("before_to", bt);
  return q.toString();
}

/** A trend window that gives a readable series for the range: weeks up to half a year, else months. */
export function trendWindow(state, lastDay) {
  const [from, to] = range(state, lastDay);
  return daysBetween(from, to) <= 183 ? "week" : "month";
}

/** A drawn polygon from its URL text ("lon,lat;lon,lat;…", at least three corners), or null. */
export function parsePolygon(text) {
  if (!text) return null;
  const points = text.split(";").map((p) => p.split(",").map(Number));
  const ok = points.length >= 3 && points.length <= 500 && points.every(
    (p) => p.length === 2 && p.every(Number.isFinite) && Math.abs(p[0]) <= 180 && Math.abs(p[1]) <= 85,
  );
  return ok ? points : null;
}

/** The URL text of a polygon's corners (5 decimals: about a metre). */
export function polygonText(points) {
  return points.map(([x, y]) => `${x.toFixed(5)},${y.toFixed(5)}`).join(";");
}

/** The GeoJSON Polygon of the corners (ring closed). */
export function polygonGeometry(points) {
  return { type: "Polygon", coordinates: [[...points, points[0]]] };
}

/** The body of a drawn polygon's statistics (`POST /api/v1/query/polygon`): the same selection as the layers. */
export function polygonRequest(state, lastDay) {
  const corners = parsePolygon(state.polygon);
  if (!corners) return null;
  const [from, to] = range(state, lastDay);
  return {
    geometry: polygonGeometry(corners),
    period: `${from}..${to}`,
    source: state.sources,
    category: state.categories,
    window: trendWindow(state, lastDay),
    ...(state.hours ? { hours: state.hours } : {}),
    ...(state.weekdays ? { weekdays: state.weekdays } : {}),
  };
}

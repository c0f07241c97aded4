// Trygg's web map: one state (in the URL hash), the query strings built from
// it in state.js, the server's tiles, statistics and charts. Every number shown
// is the API's answer; nothing here computes, suppresses or filters data.
import * as maplibregl from "./maplibre-gl.mjs";
import * as S from "./state.js";
import { t, formatNumber, formatRange } from "./i18n.js";
import { style, overExternal, cellForZoom, RAMP, DENSITY_STOPS, RATE_STOPS, COUNT_STOPS, RATIO_STOPS, HOT, COLD, TRANSITIONS, gridColour, areaColour, significanceWidth } from "./style.js";
import { ApiError, authHeaders, apiKey, setApiKey, getJson, postJson, imageUrl, download } from "./api.js";

const origin = window.location.origin;
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
};

let state = S.parseHash(window.location.hash);
let meta = null;
let lastDay = new Date().toISOString().slice(0, 10);
let map = null;
let map2 = null;
let playing = null;
let drawing = null; // corners while drawing
let heatLegend = null;
let municipalities = []; // the store's `kommun` areas ({code, name}), when it has that layer
const shown = {}; // what each async panel last showed (a key), so it is not fetched twice
const labels = new WeakMap(); // map → (area code → its HTML label marker)
const ready = new WeakSet(); // maps whose style has loaded once (sources can be changed)

const tt = (key, vars) => t(state.lang, key, vars);
const days = () => {
  const [from, to] = S.range(state, lastDay);
  return S.daysBetween(from, to) + 1;
};
const role = () => meta?.role ?? "viewer";
const label = (kind, name) => meta?.labels?.[state.lang]?.[kind]?.[name] ?? name;

function setState(change, push = true) {
  state = { ...state, ...change };
  const hash = S.toHash(state);
  if (hash !== window.location.hash) {
    if (push) history.pushState(null, "", hash);
    else history.replaceState(null, "", hash);
  }
  render();
}

/** Everything a style needs from the state for the days `range` (the shown ones by default). */
function queries(range = S.range(state, lastDay)) {
  return {
    filters: S.filterQuery(state, lastDay, range),
    counts: S.countsQuery(state, lastDay, range),
    basemap: S.scoped(`?${new URLSearchParams({ layer: state.division })}`, state).slice(1),
    visible: state.layers.filter((l) => l !== "events" || role() !== "viewer"),
    measure: state.measure,
    compare: state.compare,
    against: state.against,
    days: S.daysBetween(...range) + 1,
    eventsMinZoom: meta?.events_min_zoom ?? 13,
    area: state.area,
  };
}

// ---- the maps ----

function makeMap(container, q, view) {
  const m = new maplibregl.Map({
    container,
    style: style(origin, q),
    center: [view.lon, view.lat],
    zoom: view.zoom,
    maxZoom: 18,
    minZoom: 8,
    attributionControl: { customAttribution: "Trygg · Stockholms stad, Stadskarta (CC0)" },
    transformRequest: (url) => (url.startsWith(origin) ? { url, headers: authHeaders() } : { url }),
    fadeDuration: 0,
  });
  m.once("load", () => ready.add(m));
  m.on("idle", () => updateLabels(m));
  m.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  m.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  if (meta?.basemap_style) {
    m.setStyle(meta.basemap_style, { transformStyle: (_, next) => overExternal(next, style(origin, q)) });
  }
  return m;
}

/** Points a map's sources at `q` and sets what shows (a cheap no-op when nothing changed). */
function applyQueries(m, q) {
  if (!ready.has(m)) {
    m.once("load", () => applyQueries(m, q));
    return;
  }
  const fresh = style(origin, q);
  // Layer properties first: a data-driven paint change makes MapLibre re-parse
  // the source's tiles from the data it holds, which would cancel a fetch of
  // new tiles asked for just before it.
  for (const layer of fresh.layers) {
    if (!m.getLayer(layer.id)) continue;
    const v = layer.layout?.visibility ?? "visible";
    if (m.getLayoutProperty(layer.id, "visibility") !== v) m.setLayoutProperty(layer.id, "visibility", v);
  }
  m.setPaintProperty("grid", "fill-color", gridColour(q.days));
  m.setPaintProperty("areas-fill", "fill-color", areaColour(q.compare === "change" ? "change" : q.measure, q.days, q.against));
  m.setPaintProperty("areas-significant", "line-width", significanceWidth(q.against));
  const selected = ["==", ["get", "code"], q.area ?? ""];
  if (JSON.stringify(m.getFilter("selected")) !== JSON.stringify(selected)) m.setFilter("selected", selected);
  for (const [id, src] of Object.entries(fresh.sources)) {
    const s = m.getSource(id);
    if (!s || !src.tiles) continue;
    if (JSON.stringify(s.tiles) !== JSON.stringify(src.tiles)) s.setTiles(src.tiles);
  }
}

function syncMaps() {
  let moving = false;
  const follow = (a, b) =>
    a.on("move", () => {
      if (moving || !b) return;
      moving = true;
      b.jumpTo({ center: a.getCenter(), zoom: a.getZoom() });
      moving = false;
    });
  follow(map, map2);
  follow(map2, map);
}

function updateMaps() {
  if (!map) return;
  applyQueries(map, queries());
  if (state.compare === "side") {
    $("map2").hidden = false;
    const q = queries(S.compareRange(state, lastDay));
    if (!map2) {
      map2 = makeMap("map2", q, { lon: map.getCenter().lng, lat: map.getCenter().lat, zoom: map.getZoom() });
      syncMaps();
      map.resize();
    } else {
      applyQueries(map2, q);
    }
  } else if (map2) {
    map2.remove();
    map2 = null;
    $("map2").hidden = true;
    map.resize();
  }
  $("map-title").textContent = state.compare === "side" ? `${tt("currentMap")}: ${formatRange(state.lang, S.range(state, lastDay))}` : "";
  $("map-title").hidden = state.compare !== "side";
  $("map2-title").textContent = `${tt("previousMap")}: ${formatRange(state.lang, S.compareRange(state, lastDay))}`;
  updateChange().catch(showError);
  updateDrawn();
}

async function updateChange() {
  if (state.compare !== "change") return;
  const q = S.changeQuery(state, lastDay);
  if (shown.change === q) return;
  shown.change = q;
  const geojson = await getJson(`/api/v1/query/change?${q}&format=geojson`);
  if (shown.change === q) map.getSource("change")?.setData(geojson);
}

function updateDrawn() {
  const corners = drawing ?? S.parsePolygon(state.polygon);
  const features = [];
  if (corners && corners.length >= 3) features.push({ type: "Feature", properties: {}, geometry: S.polygonGeometry(corners) });
  else if (corners && corners.length === 2) features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: corners } });
  const src = map?.getSource("drawn");
  if (src) src.setData({ type: "FeatureCollection", features });
}

/** Area names on map `m` as HTML labels (no glyph server needed), from the basemap tiles' `labels` layer. */
function updateLabels(m) {
  if (!labels.has(m)) labels.set(m, new Map());
  const placed = labels.get(m);
  const seen = new Set();
  if (m.getZoom() >= 10.5) {
    for (const f of m.querySourceFeatures("basemap", { sourceLayer: "labels" })) {
      const code = f.properties.code;
      if (seen.has(code)) continue;
      seen.add(code);
      if (!placed.has(code)) {
        const div = el("div", { class: "area-label", "aria-hidden": "true" }, f.properties.name);
        placed.set(code, new maplibregl.Marker({ element: div }).setLngLat(f.geometry.coordinates).addTo(m));
      }
    }
  }
  for (const [code, marker] of placed) {
    if (!seen.has(code)) {
      marker.remove();
      placed.delete(code);
    }
  }
}

// ---- controls ----

function texts() {
  document.documentElement.lang = state.lang;
  $("lang").lang = state.lang === "sv" ? "en" : "sv";
  document.title = tt("title");
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = tt(e.dataset.t);
  for (const e of document.querySelectorAll("[data-t-label]")) e.setAttribute("aria-label", tt(e.dataset.tLabel));
}

function options(select, values, prefix, current) {
  select.replaceChildren(...values.map((v) => new Option(tt(`${prefix}${v}`), v, false, v === current)));
}

function boxes(container, values, chosen, text, onChange) {
  container.replaceChildren(
    ...values.map((v) => {
      const input = el("input", { type: "checkbox", name: v, value: v });
      input.checked = chosen.includes(v);
      input.addEventListener("change", () => onChange(v, input.checked));
      return el("label", {}, input, ` ${text(v)}`);
    }),
  );
}

const toggle = (list, v, on) => (on ? [...new Set([...list, v])] : list.filter((x) => x !== v));

function controls() {
  const layers = S.LAYERS.filter((l) => l !== "events" || role() !== "viewer");
  boxes($("layers").querySelector(".boxes"), layers, state.layers, (l) => tt(l), (l, on) => setState({ layers: toggle(state.layers, l, on) }));
  boxes($("sources").querySelector(".boxes"), S.SOURCES, state.sources, (s) => label("sources", s), (s, on) => setState({ sources: toggle(state.sources, s, on) }));
  const categories = (meta?.categories ?? []).filter((c) => c !== "survey_response");
  boxes($("categories").querySelector(".boxes"), categories, state.categories, (c) => label("categories", c), (c, on) => setState({ categories: toggle(state.categories, c, on) }));
  $("preset").replaceChildren(...S.PRESETS.map((p) => new Option(tt(p), p, false, p === state.preset)));
  const [from, to] = S.period(state, lastDay);
  $("from").value = from;
  $("to").value = to;
  options($("hours"), S.HOURS, "hours:", state.hours);
  options($("weekdays"), S.WEEKDAYS, "weekdays:", state.weekdays);
  options($("step"), S.STEPS, "step:", state.step);
  const all = S.slices(state, lastDay);
  const [sf] = S.range(state, lastDay);
  $("slider-row").hidden = all.length === 0;
  $("at").max = String(Math.max(0, all.length - 1));
  $("at").value = String(Math.max(0, all.findIndex(([f]) => f === sf)));
  $("at").setAttribute("aria-valuetext", formatRange(state.lang, S.range(state, lastDay)));
  $("at-label").textContent = all.length ? formatRange(state.lang, S.range(state, lastDay)) : "";
  $("play").textContent = tt(playing ? "pause" : "play");
  $("play").setAttribute("aria-pressed", playing ? "true" : "false");
  const limit = meta?.municipality_limit;
  const scope = meta?.data?.scope;
  $("municipality-row").hidden = municipalities.length === 0;
  $("municipality").disabled = Boolean(limit);
  $("municipality").replaceChildren(
    ...(limit ? [] : [new Option(tt("allMunicipalities"), "", false, !state.municipality)]),
    ...municipalities.map((k) => new Option(k.name, k.code, false, k.code === (state.municipality || scope?.code))),
  );
  const divisions = (meta?.layers ?? []).map((l) => l.name).filter((n) => n !== "land");
  $("division").replaceChildren(...divisions.map((d) => new Option(d, d, false, d === state.division)));
  options($("measure"), S.MEASURES, "measure:", state.measure);
  options($("compare"), S.COMPARE, "compare:", state.compare);
  options($("against"), S.AGAINST, "against:", state.against);
  $("draw").textContent = tt(drawing ? "finish" : "draw");
  $("draw-help").hidden = !drawing;
  const who = $("who");
  who.textContent = meta ? `${tt("role")}: ${tt(`role:${role()}`)}` : "";
  if (limit && scope) who.textContent += ` · ${tt("municipalityLimit", { name: scope.name })}`;
  $("logout").hidden = !apiKey();
  if (meta?.data?.synthetic) {
    $("banner").hidden = false;
    $("banner").textContent = tt("synthetic");
  }
}

function swatches(items) {
  return el("ul", { class: "swatches" }, ...items.map(([colour, text]) => el("li", {}, el("span", { class: "swatch", style: `background:${colour}` }), text)));
}

function selectionText() {
  const parts = [state.sources.length ? state.sources.map((s) => label("sources", s)).join(", ") : tt("allSources")];
  parts.push(state.categories.length ? state.categories.map((c) => label("categories", c)).join(", ") : tt("allCategories"));
  if (state.hours) parts.push(tt(`hours:${state.hours}`));
  if (state.weekdays) parts.push(tt(`weekdays:${state.weekdays}`));
  return parts.join(" · ");
}

function legend() {
  const box = $("legend");
  const z = map ? map.getZoom() : state.zoom;
  const n = (v, d = 0) => formatNumber(state.lang, v, d);
  const items = [el("h2", {}, tt("legend"))];
  items.push(el("p", { class: "period" }, `${tt("shown")}: ${formatRange(state.lang, S.range(state, lastDay))}. ${selectionText()}.`));
  if (state.compare) items.push(el("p", { class: "period" }, `${tt("compared")}: ${formatRange(state.lang, S.compareRange(state, lastDay))}.`));
  const perYear = ` ${tt("perYear")}`;
  const q = queries();
  if (state.compare === "change") {
    items.push(el("section", { "data-layer": "change" }, el("h3", {}, tt("compare:change")), el("p", {}, tt("changeLegend")),
      swatches(TRANSITIONS.map(([k, c]) => [c, tt(`transition:${k}`)])),
      swatches(RATIO_STOPS.map(([r, c]) => [c, `${tt("ratio")} ${n(r, 2)}`]))));
  } else {
    for (const layer of q.visible) {
      const sec = el("section", { "data-layer": layer }, el("h3", {}, tt(layer)));
      if (layer === "grid") {
        sec.append(el("p", {}, tt("gridLegend", { cell: n(cellForZoom(z)), k: n(meta?.viewer_threshold ?? 5) })),
          swatches(DENSITY_STOPS.map((s, i) => [RAMP[i], `${n(s)} / km²${perYear}`])));
      } else if (layer === "hotspots") {
        sec.append(el("p", {}, tt("hotspotsLegend", { cell: n(cellForZoom(z)) })),
          swatches([[HOT[2], tt("hot99")], [HOT[1], tt("hot95")], [HOT[0], tt("hot90")], [COLD[0], tt("cold90")], [COLD[1], tt("cold95")], [COLD[2], tt("cold99")]]));
      } else if (layer === "heat") {
        sec.append(el("p", {}, tt("heatLegend", { bandwidth: n(heatLegend?.bandwidth_m ?? 0), top: n(heatLegend?.top ?? 0, 1) })));
        if (heatLegend?.stops) sec.append(swatches(heatLegend.stops.filter((_, i, a) => i % Math.ceil(a.length / 6) === 0).map((s) => [s.colour, `${n(s.value, 1)} / km²`])));
      } else if (layer === "areas") {
        const stops = state.measure === "rate" ? RATE_STOPS : COUNT_STOPS;
        sec.append(el("p", {}, tt("areasLegend", { measure: tt(`measure:${state.measure}`), division: state.division })),
          state.measure === "change"
            ? swatches(RATIO_STOPS.map(([r, c]) => [c, `${tt("ratio")} ${n(r, 2)}`]))
            : swatches([...stops.map((s, i) => [RAMP[i], `${n(s)}${perYear}`]), ["#d9d9d9", tt("noData")]]));
      } else if (layer === "events") {
        sec.append(el("p", {}, tt("eventsLegend", { zoom: q.eventsMinZoom })), swatches([["#d55e00", tt("events")]]));
      }
      items.push(sec);
    }
  }
  box.replaceChildren(...items);
}

async function updateHeatLegend() {
  if (!state.layers.includes("heat") || !map) return;
  const key = `${S.filterQuery(state, lastDay)}&z=${Math.floor(map.getZoom())}`;
  if (shown.heat === key) return;
  shown.heat = key;
  heatLegend = await getJson(`/tiles/heat/legend.json?${key}`);
  legend();
}

// ---- exports ----

function bbox() {
  const b = map.getBounds();
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
}

/** A row of download buttons: `path(format)` answers with the file (POSTing `body` when given). */
function exportButtons(title, formats, path, body) {
  return el("div", { class: "export-row" }, el("span", {}, title),
    ...formats.map((f) => el("button", { type: "button", class: "export", "data-format": f, onclick: () => download(path(f), `trygg.${f}`, body).catch(showError) }, tt(`format:${f}`))));
}

function exportsPanel() {
  const box = $("exports").querySelector(".exports");
  const rows = [
    exportButtons(tt("exportView"), ["csv", "excel", "xlsx", "geojson", "gpkg"], (f) => `/api/v1/query/counts?${S.countsQuery(state, lastDay)}&format=${f}`),
    exportButtons(tt("exportHotspots"), ["csv", "geojson", "gpkg"], (f) => `/api/v1/query/hotspots?${S.filterQuery(state, lastDay)}&format=${f}`),
  ];
  if (role() !== "viewer") {
    rows.push(exportButtons(tt("exportEvents"), ["csv", "xlsx", "geojson", "gpkg"], (f) => `/api/v1/events?${S.filterQuery(state, lastDay)}&bbox=${bbox()}&format=${f}`));
  }
  box.replaceChildren(...rows);
}

let reportList = [];

/** Fetches the weekly reports' list (none before the server makes reports). */
async function loadReports() {
  try {
    reportList = (await getJson("/api/v1/reports")).reports ?? [];
  } catch (e) {
    // None made yet (404), or a key limited to a municipality (403: the
    // reports cover the whole store).
    if (!(e instanceof ApiError && (e.status === 404 || e.status === 403))) throw e;
  }
  reports();
}

/** The report's files, in the order offered, with the format name shown. */
const REPORT_FILES = [["report.html", "html"], ["report.pdf", "pdf"], ["areas.xlsx", "xlsx"], ["areas.csv", "csv"], ["report.json", "json"]];

function reports() {
  const list = $("reports").querySelector("ul");
  list.replaceChildren(...(reportList.length
    ? reportList.map((r) => {
        const files = new Map(r.files.map((f) => [f.name, f.href]));
        const week = r.week.replace(/^(\d{4})-W0?(\d+)$/, "$2, $1");
        return el("li", { "data-week": r.week }, `${tt("reportWeek", { week })} (${formatRange(state.lang, [r.from, r.to])}) `,
          ...REPORT_FILES.filter(([name]) => files.has(name)).map(([name, format]) =>
            el("button", { type: "button", class: "export", "data-file": name, onclick: () => download(files.get(name), `${r.week}-${name}`).catch(showError) }, tt(`format:${format}`))));
      })
    : [el("li", { class: "help" }, tt("noReports"))]));
}

// ---- the area panel ----

function significance(p) {
  if (p === null || p === undefined) return "–";
  const n = formatNumber(state.lang, p, 3);
  return `${n} (${tt(p < 0.05 ? "significant" : "notSignificant")})`;
}

function numbersTable(row) {
  const n = (v, d = 0) => formatNumber(state.lang, v, d);
  const tr = (key, a, b, c, text = key) => el("tr", { "data-row": key }, el("th", { scope: "row" }, tt(text)), ...[a, b, c].map((v) => el("td", { class: "num" }, v)));
  return el("table", { id: "area-table" },
    el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", { scope: "col" }, tt("count")), el("th", { scope: "col" }, tt("ratio")), el("th", { scope: "col" }, tt("significance")))),
    el("tbody", {},
      tr("count", n(row.count), "", "", "currentMap"),
      tr("rate", n(row.rate_per_1000, 1), "", ""),
      tr("population", n(row.population), "", ""),
      tr("previous", n(row.previous_count), n(row.ratio_vs_previous, 2), significance(row.p_vs_previous)),
      tr("yearEarlier", n(row.year_earlier_count), n(row.ratio_vs_year_earlier, 2), significance(row.p_vs_year_earlier))));
}

/** A chart with its downloads: a GET with `query`, or (a drawn polygon) a POST of `body`. */
function chartFigure(name, title, query, body) {
  const img = el("img", { alt: title, "data-chart": name });
  const fig = el("figure", {}, img, el("figcaption", {}, title, " ",
    ...["svg", "png"].map((f) => el("button", { type: "button", class: "export", "data-format": f, onclick: () => download(S.scoped(`/api/v1/charts/${name}.${f}?${query}`, state), `${name}.${f}`, body).catch(showError) }, tt(`format:${f}`)))));
  imageUrl(S.scoped(`/api/v1/charts/${name}.svg?${query}`, state), body).then((url) => { img.src = url; }).catch(() => fig.remove());
  return fig;
}

/** The area's survey share beside its incident rate, for the latest survey round (`vs_incidents`). */
async function surveyVsIncidents(name) {
  const layer = encodeURIComponent(state.division);
  const survey = await getJson(S.scoped(`/api/v1/query/survey?layer=${layer}`, state));
  const rounds = [...new Set(survey.estimates.map((e) => e.round))].sort();
  if (!rounds.length) return null;
  const round = rounds[rounds.length - 1];
  const [from, to] = S.range(state, lastDay);
  const vs = (await getJson(S.scoped(`/api/v1/query/survey?layer=${layer}&vs_incidents=${encodeURIComponent(`${round}:${from}..${to}`)}`, state))).vs_incidents;
  const row = vs?.areas.find((r) => r.area === name);
  if (!row) return null;
  const n = (v, d) => formatNumber(state.lang, v, d);
  return el("section", { id: "survey-vs" }, el("h3", {}, `${tt("surveyVsIncidents")} (${round})`),
    el("table", {}, el("tbody", {},
      el("tr", { "data-row": "share" }, el("th", { scope: "row" }, tt("surveyShare")), el("td", { class: "num" }, n(row.share, 3))),
      el("tr", { "data-row": "rate" }, el("th", { scope: "row" }, tt("incidentRate")), el("td", { class: "num" }, n(row.rate_per_1000, 1))))));
}

async function areaPanel() {
  const body = $("area-body");
  const polygon = S.parsePolygon(state.polygon);
  const key = `${state.lang}|${state.area}|${state.polygon}|${S.countsQuery(state, lastDay)}`;
  if (shown.area === key) return;
  shown.area = key;
  $("area-hint").hidden = Boolean(state.area || polygon);
  if (!state.area && !polygon) {
    body.replaceChildren();
    return;
  }
  body.replaceChildren(el("p", {}, tt("loading")));
  const close = el("button", { type: "button", id: "area-close", onclick: () => setState({ area: "", polygon: "" }) }, tt("close"));
  const [from, to] = S.range(state, lastDay);
  if (polygon) {
    const request = S.polygonRequest(state, lastDay);
    const result = await postJson(S.scoped("/api/v1/query/polygon", state), request);
    if (shown.area !== key) return;
    const row = result.stats.rows.find((r) => !r.category);
    const n = (v) => formatNumber(state.lang, v);
    const series = el("table", { id: "polygon-series" }, el("caption", {}, tt("trendChart")),
      el("tbody", {}, ...result.series.series.map((p) => el("tr", {}, el("th", { scope: "row" }, p.period), el("td", { class: "num" }, n(p.count))))));
    const lang = `lang=${state.lang}`;
    body.replaceChildren(close, el("h2", { id: "area-name" }, tt("drawnArea")), el("p", {}, formatRange(state.lang, [from, to])), numbersTable(row), series,
      exportButtons(tt("exportArea"), ["csv", "excel", "xlsx", "geojson"], (f) => S.scoped(`/api/v1/query/polygon?format=${f}`, state), request),
      chartFigure("trend", tt("trendChart"), lang, request),
      chartFigure("categories", tt("categoriesChart"), lang, request),
      chartFigure("matrix", tt("matrixChart"), lang, request),
      el("p", {}, tt("drawnNoSurvey")));
    return;
  }
  const counts = await getJson(`/api/v1/query/counts?${S.countsQuery(state, lastDay)}`);
  if (shown.area !== key) return;
  const row = counts.rows.find((r) => r.area_code === state.area && !r.source && !r.category);
  if (!row) {
    body.replaceChildren(close, el("p", {}, tt("noData")));
    return;
  }
  const area = encodeURIComponent(state.area);
  const lang = `lang=${state.lang}`;
  const filters = S.filterQuery(state, lastDay);
  const place = `layer=${encodeURIComponent(state.division)}&area=${area}`;
  const trendQuery = `${filters}&window=${S.trendWindow(state, lastDay)}&${place}`;
  const figures = [
    chartFigure("trend", tt("trendChart"), `${trendQuery}&${lang}`),
    chartFigure("categories", tt("categoriesChart"), `${S.countsQuery(state, lastDay)}&areas=${area}&${lang}`),
    chartFigure("matrix", tt("matrixChart"), `${filters}&${place}&${lang}`),
    chartFigure("survey", tt("surveyChart"), `layer=${encodeURIComponent(state.division)}&areas=${area}&${lang}`),
  ];
  body.replaceChildren(close, el("h2", { id: "area-name" }, row.area_name), el("p", {}, formatRange(state.lang, [from, to])), numbersTable(row),
    exportButtons(tt("exportArea"), ["csv", "excel", "xlsx"], (f) => `/api/v1/query/trend?${trendQuery}&format=${f}`), ...figures);
  surveyVsIncidents(row.area_name).then((s) => s && shown.area === key && body.append(s)).catch(() => {});
}

// ---- drawing ----

function startDrawing() {
  drawing = [];
  map.doubleClickZoom.disable();
  map.getCanvas().style.cursor = "crosshair";
  render();
}

function stopDrawing(keep) {
  const corners = drawing;
  drawing = null;
  map.doubleClickZoom.enable();
  map.getCanvas().style.cursor = "";
  if (keep && corners && corners.length >= 3) setState({ polygon: S.polygonText(corners), area: "" });
  else render();
}

// ---- the whole page ----

function showError(e) {
  console.error(e);
  const box = $("area-body");
  box.prepend(el("p", { role: "alert", class: "error" }, `${tt("error")}: ${e.message}`));
}

function render() {
  texts();
  controls();
  legend();
  exportsPanel();
  reports();
  updateMaps();
  updateHeatLegend().catch(showError);
  areaPanel().catch(showError);
}

function play() {
  if (playing) {
    clearInterval(playing);
    playing = null;
    render();
    return;
  }
  if (!state.step) state = { ...state, step: "week" };
  playing = setInterval(() => {
    const all = S.slices(state, lastDay);
    const i = all.findIndex(([f]) => f === S.range(state, lastDay)[0]);
    setState({ at: all[(i + 1) % all.length][0] }, false);
  }, 700);
  render();
}

function wire() {
  $("lang").addEventListener("click", () => setState({ lang: state.lang === "sv" ? "en" : "sv" }));
  $("preset").addEventListener("change", (e) => setState({ preset: e.target.value, at: "" }));
  const custom = () => setState({ preset: "custom", from: $("from").value, to: $("to").value, at: "" });
  $("from").addEventListener("change", custom);
  $("to").addEventListener("change", custom);
  $("hours").addEventListener("change", (e) => setState({ hours: e.target.value }));
  $("weekdays").addEventListener("change", (e) => setState({ weekdays: e.target.value }));
  $("step").addEventListener("change", (e) => setState({ step: e.target.value, at: "" }));
  $("at").addEventListener("input", (e) => {
    const all = S.slices(state, lastDay);
    setState({ at: all[Number(e.target.value)]?.[0] ?? "" }, false);
  });
  $("at").addEventListener("change", () => history.pushState(null, "", S.toHash(state)));
  $("play").addEventListener("click", play);
  $("division").addEventListener("change", (e) => setState({ division: e.target.value, area: "" }));
  $("municipality").addEventListener("change", (e) => {
    setState({ municipality: e.target.value, area: "", polygon: "" });
    loadMeta().then(fitScope).then(render).catch(showError);
  });
  $("measure").addEventListener("change", (e) => setState({ measure: e.target.value }));
  $("compare").addEventListener("change", (e) => setState({ compare: e.target.value }));
  $("against").addEventListener("change", (e) => setState({ against: e.target.value }));
  $("draw").addEventListener("click", () => (drawing ? stopDrawing(true) : startDrawing()));
  $("logout").addEventListener("click", () => {
    setApiKey("");
    window.location.reload();
  });
  window.addEventListener("keydown", (e) => {
    if (!drawing) return;
    if (e.key === "Enter") stopDrawing(true);
    if (e.key === "Escape") stopDrawing(false);
  });
  window.addEventListener("popstate", () => {
    state = S.parseHash(window.location.hash);
    map?.jumpTo({ center: [state.lon, state.lat], zoom: state.zoom });
    render();
  });
}

async function login() {
  const dialog = $("login");
  texts();
  dialog.showModal();
  return new Promise((resolve) => {
    $("login-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      setApiKey($("key").value.trim());
      try {
        const m = await getJson(S.scoped("/api/v1/meta", state));
        dialog.close();
        resolve(m);
      } catch {
        setApiKey("");
        $("login-error").hidden = false;
        $("login-error").textContent = tt("badKey");
      }
    });
  });
}

/** The meta of the municipality shown (its events, extent and layers). */
async function loadMeta() {
  meta = await getJson(S.scoped("/api/v1/meta", state));
}

/** The map fitted to the extent of what is shown (the municipality's, when one is). */
function fitScope() {
  const e = meta?.extent_wgs84;
  if (e && map) map.fitBounds([[e[0], e[1]], [e[2], e[3]]], { padding: 20, duration: 0 });
}

/** The municipalities a store of several has (none without a `kommun` layer). */
async function loadMunicipalities() {
  if (!(meta?.layers ?? []).some((l) => l.name === "kommun")) return;
  const layer = await getJson("/api/v1/layers/kommun?simplify=100");
  municipalities = layer.features.map((f) => ({ code: String(f.properties.code), name: String(f.properties.name) }));
}

async function start() {
  wire();
  try {
    await loadMeta();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
    setApiKey("");
    meta = await login();
  }
  await loadMunicipalities();
  if (meta.last_event) lastDay = meta.last_event.slice(0, 10);
  if (!(meta.layers ?? []).some((l) => l.name === state.division)) state.division = "stadsdel";
  map = makeMap("map", queries(), state);
  map.on("moveend", () => {
    const c = map.getCenter();
    state = { ...state, lon: c.lng, lat: c.lat, zoom: Math.round(map.getZoom() * 100) / 100 };
    history.replaceState(null, "", S.toHash(state));
    legend();
    exportsPanel();
    updateHeatLegend().catch(showError);
  });
  map.on("click", (e) => {
    if (drawing) {
      drawing.push([e.lngLat.lng, e.lngLat.lat]);
      updateDrawn();
      return;
    }
    const hit = map.queryRenderedFeatures(e.point, { layers: ["areas-hit"] })[0];
    setState({ area: hit?.properties?.code ?? "", polygon: "" });
  });
  map.on("dblclick", (e) => {
    if (!drawing) return;
    e.preventDefault();
    stopDrawing(true);
  });
  map.on("load", () => render());
  // A key limited to a municipality opens on it (unless a shared view says where).
  if (meta.municipality_limit && !new URLSearchParams(window.location.hash.slice(1)).has("lon")) fitScope();
  window.trygg = { map: () => map, map2: () => map2, state: () => state, meta: () => meta };
  render();
  loadReports().catch(showError);
}

start().catch((e) => {
  console.error(e);
  document.body.prepend(el("p", { role: "alert", class: "error" }, `${t(state.lang, "error")}: ${e.message}`));
});

// The MapLibre style: Trygg's own basemap (water, land, area outlines; names
// are HTML labels, so no glyph server is needed) and one source per analysis
// layer, every tile URL carrying the same query string. Colour scales are in
// units that do not change with zoom or period length (events per km² per
// year, rates per 1,000 per year), so the legend holds at every zoom.

/** Okabe–Ito-safe diverging classes of Gi* (hot 99/95/90, cold 90/95/99). */
export const HOT = ["#fdae61", "#f46d43", "#a50026"];
export const COLD = ["#abd9e9", "#74add1", "#313695"];
/** Viridis, light to dark. */
export const RAMP = ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"];
/** Events per km² per year at the ramp's stops. */
export const DENSITY_STOPS = [5, 50, 200, 800, 3000, 12000];
/** Per 1,000 residents per year at the ramp's stops. */
export const RATE_STOPS = [5, 20, 50, 100, 200, 400];
/** Events per year at the ramp's stops (counts per area). */
export const COUNT_STOPS = [10, 100, 300, 1000, 3000, 10000];
/** Rate ratio (after / before) at the diverging stops. */
export const RATIO_STOPS = [
  [0.5, COLD[2]],
  [0.8, COLD[0]],
  [1, "#f7f7f7"],
  [1.25, HOT[0]],
  [2, HOT[2]],
];
/** The hotspot-change transitions drawn, with their colours. */
export const TRANSITIONS = [
  ["new_hot", "#a50026"],
  ["persisting_hot", "#f46d43"],
  ["cold_to_hot", "#d6604d"],
  ["no_longer_hot", "#fee090"],
  ["new_cold", "#313695"],
  ["persisting_cold", "#74add1"],
  ["hot_to_cold", "#4393c3"],
  ["no_longer_cold", "#e0f3f8"],
];
/** The grid's default cell size per zoom (the server's `cell_for_zoom`), as zoom steps. */
export const GRID_CELLS = [
  [0, 1000],
  [11, 500],
  [12, 250],
  [14, 100],
];

/** The cell size (metres) the grid and hotspot tiles use at zoom `z`. */
export function cellForZoom(z) {
  let cell = GRID_CELLS[0][1];
  for (const [from, size] of GRID_CELLS) if (Math.floor(z) >= from) cell = size;
  return cell;
}

/** Tile URL template of a layer with a query string. */
export function tileUrl(origin, layer, query) {
  const ext = layer === "heat" ? "png" : "mvt";
  return `${origin}/tiles/${layer}/{z}/{x}/{y}.${ext}${query ? `?${query}` : ""}`;
}

const ramp = (input, stops) => ["interpolate", ["linear"], input, ...stops.flatMap((s, i) => [s, RAMP[i]])];

/** The grid's fill colour: events per km² per year, for a period of `days`. */
export function gridColour(days) {
  const perYear = 365 / Math.max(1, days);
  return [
    "step",
    ["zoom"],
    ...GRID_CELLS.flatMap(([z, cell], i) => {
      const perKm2 = 1e6 / (cell * cell);
      const expr = ramp(["*", ["get", "count"], perYear * perKm2], DENSITY_STOPS);
      return i === 0 ? [expr] : [z, expr];
    }),
  ];
}

/** The areas' fill colour for a measure over a period of `days`. */
export function areaColour(measure, days, against = "previous") {
  const perYear = 365 / Math.max(1, days);
  const none = "#d9d9d9";
  if (measure === "change") {
    const ratio = against === "year" ? "ratio_vs_year_earlier" : "ratio_vs_previous";
    return ["case", ["has", ratio], ["interpolate", ["linear"], ["get", ratio], ...RATIO_STOPS.flat()], none];
  }
  if (measure === "count") return ["case", ["has", "count"], ramp(["*", ["get", "count"], perYear], COUNT_STOPS), none];
  return ["case", ["has", "rate_per_1000"], ramp(["*", ["get", "rate_per_1000"], perYear], RATE_STOPS), none];
}

/** Outline width of the areas: bold where the change against the compared period is significant. */
export function significanceWidth(against) {
  const p = against === "year" ? "p_vs_year_earlier" : "p_vs_previous";
  return ["case", ["all", ["has", p], ["<", ["get", p], 0.05]], 3, 0];
}

/** The layers Trygg draws over any basemap. */
export const OVERLAYS = ["areas-fill", "areas-significant", "areas-hit", "heat", "grid", "hotspots", "change", "events", "outlines", "selected", "drawn-fill", "drawn-line"];

/**
 * The style: `q` holds the query strings (`filters`, `counts`, `basemap`), the
 * visible layers, the measure and comparison, and the days shown.
 */
export function style(origin, q) {
  const vis = (on) => (on ? "visible" : "none");
  const shows = (l) => vis(q.visible.includes(l));
  const vector = (layer, query, extra = {}) => ({
    type: "vector",
    tiles: [tileUrl(origin, layer, query)],
    minzoom: 0,
    maxzoom: 18,
    ...extra,
  });
  const changing = q.compare === "change";
  return {
    version: 8,
    name: "trygg",
    sources: {
      basemap: vector("basemap", q.basemap),
      grid: vector("grid", q.filters),
      hotspots: vector("hotspots", q.filters),
      areas: vector("areas", q.counts),
      events: vector("events", q.filters, { minzoom: q.eventsMinZoom }),
      heat: { type: "raster", tiles: [tileUrl(origin, "heat", q.filters)], tileSize: 256, maxzoom: 18 },
      change: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      drawn: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#dfe6ea" } },
      { id: "water", type: "fill", source: "basemap", "source-layer": "water", paint: { "fill-color": "#a9cfe0" } },
      { id: "land", type: "fill", source: "basemap", "source-layer": "land", paint: { "fill-color": "#f4f2ec" } },
      {
        id: "areas-fill",
        type: "fill",
        source: "areas",
        "source-layer": "areas",
        layout: { visibility: vis(q.visible.includes("areas") || changing) },
        paint: { "fill-opacity": 0.72, "fill-color": areaColour(changing ? "change" : q.measure, q.days, q.against) },
      },
      {
        id: "areas-significant",
        type: "line",
        source: "areas",
        "source-layer": "areas",
        layout: { visibility: vis(changing || (q.visible.includes("areas") && q.measure === "change")) },
        paint: { "line-color": "#1a1a1a", "line-width": significanceWidth(q.against) },
      },
      // Transparent: what a click on the map hits (the basemap's area polygons, with code and name).
      { id: "areas-hit", type: "fill", source: "basemap", "source-layer": "areas", paint: { "fill-opacity": 0 } },
      { id: "heat", type: "raster", source: "heat", layout: { visibility: vis(!changing && q.visible.includes("heat")) }, paint: { "raster-opacity": 0.85, "raster-fade-duration": 0 } },
      {
        id: "grid",
        type: "fill",
        source: "grid",
        "source-layer": "grid",
        layout: { visibility: vis(!changing && q.visible.includes("grid")) },
        paint: { "fill-opacity": 0.78, "fill-color": gridColour(q.days) },
      },
      {
        id: "hotspots",
        type: "fill",
        source: "hotspots",
        "source-layer": "hotspots",
        layout: { visibility: vis(!changing && q.visible.includes("hotspots")) },
        paint: {
          "fill-opacity": 0.85,
          "fill-color": ["match", ["get", "class"], 3, HOT[2], 2, HOT[1], 1, HOT[0], -1, COLD[0], -2, COLD[1], -3, COLD[2], "#cccccc"],
        },
      },
      {
        id: "change",
        type: "fill",
        source: "change",
        layout: { visibility: vis(changing) },
        paint: {
          "fill-opacity": 0.85,
          "fill-color": ["match", ["get", "transition"], ...TRANSITIONS.flat(), "rgba(0,0,0,0)"],
        },
      },
      {
        id: "events",
        type: "circle",
        source: "events",
        "source-layer": "events",
        minzoom: q.eventsMinZoom,
        layout: { visibility: shows("events") },
        paint: { "circle-radius": 3.5, "circle-color": "#d55e00", "circle-stroke-color": "#ffffff", "circle-stroke-width": 0.8 },
      },
      { id: "outlines", type: "line", source: "basemap", "source-layer": "outlines", paint: { "line-color": "#4d4d4d", "line-width": 0.9 } },
      {
        id: "selected",
        type: "line",
        source: "basemap",
        "source-layer": "areas",
        filter: ["==", ["get", "code"], q.area ?? ""],
        paint: { "line-color": "#0072b2", "line-width": 4 },
      },
      { id: "drawn-fill", type: "fill", source: "drawn", paint: { "fill-color": "#0072b2", "fill-opacity": 0.15 } },
      { id: "drawn-line", type: "line", source: "drawn", paint: { "line-color": "#0072b2", "line-width": 2.5, "line-dasharray": [2, 1] } },
    ],
  };
}

/** `base` (an external style) with Trygg's sources and overlay layers on top of it. */
export function overExternal(base, ours) {
  return {
    ...base,
    sources: { ...base.sources, ...ours.sources },
    layers: [...base.layers, ...ours.layers.filter((l) => OVERLAYS.includes(l.id))],
  };
}

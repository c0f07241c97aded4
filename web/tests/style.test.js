import { describe, expect, it } from "vitest";
import { style, overExternal, cellForZoom, gridColour, OVERLAYS } from "../src/style.js";

const q = {
  filters: "from=2024-01-01&to=2024-01-31&source=crimes",
  counts: "period=2024-01-01..2024-01-31&layer=stadsdel&source=crimes",
  basemap: "layer=stadsdel",
  visible: ["grid", "heat"],
  measure: "rate",
  compare: "",
  against: "previous",
  days: 31,
  eventsMinZoom: 13,
};

describe("the map style", () => {
  it("asks every analysis layer's tiles with the same filters", () => {
    const s = style("http://h", q);
    for (const id of ["grid", "hotspots", "events", "heat"]) expect(s.sources[id].tiles[0]).toContain(`?${q.filters}`);
    expect(s.sources.areas.tiles[0]).toContain(`?${q.counts}`);
    expect(s.sources.heat.tiles[0]).toBe(`http://h/tiles/heat/{z}/{x}/{y}.png?${q.filters}`);
  });

  it("shows only the chosen layers, and the change layers only when comparing", () => {
    const vis = (s, id) => s.layers.find((l) => l.id === id).layout?.visibility;
    const s = style("http://h", q);
    expect(vis(s, "grid")).toBe("visible");
    expect(vis(s, "hotspots")).toBe("none");
    expect(vis(s, "change")).toBe("none");
    const c = style("http://h", { ...q, compare: "change" });
    expect(vis(c, "grid")).toBe("none");
    expect(vis(c, "change")).toBe("visible");
    expect(vis(c, "areas-fill")).toBe("visible");
  });

  it("uses the server's cell sizes per zoom", () => {
    expect([9, 10.9, 11, 12, 13.5, 14, 17].map(cellForZoom)).toEqual([1000, 1000, 500, 250, 250, 100, 100]);
  });

  it("colours the grid in events per km² per year at every zoom", () => {
    // At zoom 14 (100 m cells) over a year, 1 event is 100 per km² per year.
    const expr = gridColour(365);
    const z14 = expr[expr.indexOf(14) + 1];
    expect(z14[2]).toEqual(["*", ["get", "count"], 100]);
    const z0 = expr[2];
    expect(z0[2]).toEqual(["*", ["get", "count"], 1]);
  });

  it("puts Trygg's overlays on an external basemap and keeps its layers under them", () => {
    const base = { version: 8, sources: { osm: { type: "raster" } }, layers: [{ id: "osm", type: "raster", source: "osm" }] };
    const s = overExternal(base, style("http://h", q));
    expect(s.layers[0].id).toBe("osm");
    expect(s.layers.map((l) => l.id).slice(1)).toEqual(OVERLAYS);
    expect(Object.keys(s.sources)).toContain("grid");
  });
});

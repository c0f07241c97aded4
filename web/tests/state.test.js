import { describe, expect, it } from "vitest";
import * as S from "../src/state.js";

const LAST = "2024-06-30";

describe("the URL state", () => {
  it("round-trips every field through the hash", () => {
    const state = {
      ...S.DEFAULTS,
      lang: "en",
      zoom: 13.25,
      lon: 18.01234,
      lat: 59.31234,
      layers: ["hotspots", "events"],
      sources: ["crimes", "fires"],
      categories: ["violence", "robbery"],
      preset: "custom",
      from: "2024-01-01",
      to: "2024-03-31",
      hours: "22-06",
      weekdays: "fri-sat",
      step: "month",
      at: "2024-02-01",
      division: "stadsdelsomrade_2023",
      measure: "change",
      compare: "side",
      against: "year",
      area: "T18",
      polygon: "18.00000,59.30000;18.10000,59.30000;18.05000,59.35000",
      municipality: "0184",
    };
    expect(S.parseHash(S.toHash(state))).toEqual(state);
  });

  it("writes only what differs from the defaults", () => {
    expect(S.toHash(S.DEFAULTS)).toBe("#");
    expect(S.toHash({ ...S.DEFAULTS, lang: "en" })).toBe("#lang=en");
  });

  it("falls back to the defaults for values it cannot use", () => {
    const s = S.parseHash("#zoom=99&lang=de&layers=grid,bogus&preset=decade&from=yesterday&hours=3-4&polygon=1,2;3,4&sources=crimes,nope");
    expect(s.zoom).toBe(S.DEFAULTS.zoom);
    expect(s.lang).toBe("sv");
    expect(s.layers).toEqual(["grid"]);
    expect(s.preset).toBe("12m");
    expect(s.from).toBe("");
    expect(s.hours).toBe("");
    expect(s.polygon).toBe("");
    expect(s.sources).toEqual(["crimes"]);
  });

  it("orders a custom period given backwards", () => {
    const s = S.parseHash("#preset=custom&from=2024-05-01&to=2024-01-01");
    expect(S.period(s, LAST)).toEqual(["2024-01-01", "2024-05-01"]);
  });
});

describe("periods and the slider", () => {
  it("gives each preset's days ending on the data's last day", () => {
    expect(S.presetRange("1w", LAST)).toEqual(["2024-06-24", LAST]);
    expect(S.presetRange("4w", LAST)).toEqual(["2024-06-03", LAST]);
    expect(S.presetRange("12m", LAST)).toEqual(["2023-07-02", LAST]);
    expect(S.presetRange("year", LAST)).toEqual(["2024-01-01", "2024-12-31"]);
  });

  it("cuts the period into ISO weeks, the first and last cut to the period", () => {
    const s = { ...S.DEFAULTS, preset: "custom", from: "2024-01-03", to: "2024-01-20", step: "week" };
    expect(S.slices(s, LAST)).toEqual([
      ["2024-01-03", "2024-01-07"],
      ["2024-01-08", "2024-01-14"],
      ["2024-01-15", "2024-01-20"],
    ]);
  });

  it("cuts the period into calendar months across a year's end and a leap February", () => {
    const s = { ...S.DEFAULTS, preset: "custom", from: "2023-12-15", to: "2024-03-10", step: "month" };
    expect(S.slices(s, LAST)).toEqual([
      ["2023-12-15", "2023-12-31"],
      ["2024-01-01", "2024-01-31"],
      ["2024-02-01", "2024-02-29"],
      ["2024-03-01", "2024-03-10"],
    ]);
  });

  it("moves every layer's query with the slider", () => {
    const base = { ...S.DEFAULTS, preset: "custom", from: "2024-01-01", to: "2024-03-31", step: "month" };
    const jan = { ...base, at: "2024-01-01" };
    const feb = { ...base, at: "2024-02-01" };
    expect(S.filterQuery(jan, LAST)).toBe("from=2024-01-01&to=2024-01-31");
    expect(S.filterQuery(feb, LAST)).toBe("from=2024-02-01&to=2024-02-29");
    expect(S.countsQuery(feb, LAST)).toBe("period=2024-02-01..2024-02-29&layer=stadsdel");
    // Slider off: the whole period; a slider position outside the period: its last slice.
    expect(S.range(base, LAST)).toEqual(["2024-03-01", "2024-03-31"]);
    expect(S.range({ ...base, step: "" }, LAST)).toEqual(["2024-01-01", "2024-03-31"]);
  });

  it("compares with the period just before, or the same days a year earlier", () => {
    const s = { ...S.DEFAULTS, preset: "custom", from: "2024-03-01", to: "2024-03-31" };
    expect(S.compareRange(s, LAST)).toEqual(["2024-01-30", "2024-02-29"]);
    expect(S.compareRange({ ...s, against: "year" }, LAST)).toEqual(["2023-03-01", "2023-03-31"]);
    expect(S.changeQuery(s, LAST)).toBe("from=2024-03-01&to=2024-03-31&before_from=2024-01-30&before_to=2024-02-29");
  });
});

describe("the filters every request shares", () => {
  const s = { ...S.DEFAULTS, sources: ["crimes", "shootings"], categories: ["violence"], hours: "22-06", weekdays: "sat-sun", preset: "4w" };

  it("puts the selection into tile and statistics queries alike", () => {
    expect(S.filterQuery(s, LAST)).toBe("from=2024-06-03&to=2024-06-30&source=crimes&source=shootings&category=violence&hours=22-06&weekdays=sat-sun");
    expect(S.countsQuery({ ...s, division: "stadsdelsomrade_2020" }, LAST)).toBe(
      "period=2024-06-03..2024-06-30&layer=stadsdelsomrade_2020&source=crimes&source=shootings&category=violence&hours=22-06&weekdays=sat-sun",
    );
  });

  it("asks a drawn polygon's statistics with the same selection", () => {
    const p = { ...s, polygon: "18.0,59.3;18.1,59.3;18.05,59.35" };
    expect(S.polygonRequest(p, LAST)).toEqual({
      geometry: { type: "Polygon", coordinates: [[[18, 59.3], [18.1, 59.3], [18.05, 59.35], [18, 59.3]]] },
      period: "2024-06-03..2024-06-30",
      source: ["crimes", "shootings"],
      category: ["violence"],
      window: "week",
      hours: "22-06",
      weekdays: "sat-sun",
    });
    expect(S.polygonRequest(s, LAST)).toBeNull();
  });

  it("chooses weekly trends up to half a year and monthly beyond", () => {
    expect(S.trendWindow({ ...S.DEFAULTS, preset: "4w" }, LAST)).toBe("week");
    expect(S.trendWindow({ ...S.DEFAULTS, preset: "12m" }, LAST)).toBe("month");
  });

  it("keeps polygons to at least three corners inside lon/lat bounds", () => {
    expect(S.parsePolygon("1,2;3,4")).toBeNull();
    expect(S.parsePolygon("1,2;3,4;5,99")).toBeNull();
    expect(S.parsePolygon(S.polygonText([[18, 59], [18.1, 59], [18.1, 59.1]]))).toEqual([[18, 59], [18.1, 59], [18.1, 59.1]]);
  });
});

describe("the municipality a view is limited to", () => {
  const east = { ...S.DEFAULTS, municipality: "9902" };
  it("goes into every layer's, panel's and export's query string, once", () => {
    for (const q of [S.filterQuery(east, LAST), S.countsQuery(east, LAST), S.changeQuery(east, LAST)]) {
      expect(new URLSearchParams(q).getAll("municipality")).toEqual(["9902"]);
    }
    expect(S.scoped("/api/v1/meta", east)).toBe("/api/v1/meta?municipality=9902");
    expect(S.scoped("/api/v1/query/survey?layer=stadsdel", east)).toBe("/api/v1/query/survey?layer=stadsdel&municipality=9902");
    const once = S.scoped(`/api/v1/charts/trend.svg?${S.filterQuery(east, LAST)}`, east);
    expect(new URLSearchParams(once.split("?")[1]).getAll("municipality")).toEqual(["9902"]);
  });
  it("is absent for the whole store, and a bad hash value is dropped", () => {
    expect(new URLSearchParams(S.filterQuery(S.DEFAULTS, LAST)).has("municipality")).toBe(false);
    expect(S.scoped("/api/v1/meta", S.DEFAULTS)).toBe("/api/v1/meta");
    expect(S.parseHash("#municipality=<script>").municipality).toBe("");
  });
});

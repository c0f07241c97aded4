// End-to-end tests of the web map in a real headless Chromium (Debian's, driven
// by playwright-core) against the real `trygg` binary serving a small demo
// store on loopback, with API keys required. Screenshots and the measured
// speeds go to web/test-results/ (look at them).
//
//   TRYGG_BIN=../target/release/trygg node --test tests/map.e2e.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { PNG } from "pngjs";
import * as S from "../src/state.js";
import { TEXTS, formatNumber } from "../src/i18n.js";

const BIN = process.env.TRYGG_BIN ?? new URL("../../target/release/trygg", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const OUT = new URL("../test-results/", import.meta.url).pathname;
const KEYS = { analyst: "e2e-analyst-key", viewer: "e2e-viewer-key", east: "e2e-east-key" };
/** Two municipalities made of the real stadsdelar, west and east of 18.05° E. */
const EAST = { code: "9902", name: "Östra testkommunen" };
const sha = (k) => createHash("sha256").update(k).digest("hex");

let dir;
let server;
let base;
let browser;
const speed = {};

/** The ISO week of a date, e.g. "2026-W48": the week of its Thursday. */
function isoWeek(date) {
  const thursday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  thursday.setUTCDate(thursday.getUTCDate() + 3 - ((thursday.getUTCDay() + 6) % 7));
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, "0")}`;
}

async function startServer() {
  dir = mkdtempSync(join(tmpdir(), "trygg-e2e-"));
  const store = join(dir, "demo/trygg.gpkg");
  const made = spawnSync(BIN, ["demo", "--store", store, "--years", "2", "--scale", "0.05", "--end", "2024-06-30", "--no-serve"], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
  const stadsdelar = JSON.parse(readFileSync(new URL("../../data/stockholm/simplified-stadsdelar.geo.json", import.meta.url), "utf8"));
  const sides = { west: [], east: [] };
  for (const f of stadsdelar.features) {
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    const ring = polys[0][0];
    sides[ring.reduce((s, c) => s + c[0], 0) / ring.length < 18.05 ? "west" : "east"].push(...polys);
  }
  const kommun = (code, name, coordinates) => ({ type: "Feature", properties: { kod: code, namn: name }, geometry: { type: "MultiPolygon", coordinates } });
  const layer = join(dir, "kommuner.geojson");
  writeFileSync(layer, JSON.stringify({ type: "FeatureCollection", features: [kommun("9901", "Västra testkommunen", sides.west), kommun(EAST.code, EAST.name, sides.east)] }));
  const loaded = spawnSync(BIN, ["areas", "load", "--store", store, "--layer", "kommun", "--code-field", "kod", "--name-field", "namn", layer], { encoding: "utf8" });
  assert.equal(loaded.status, 0, loaded.stderr);
  const config = join(dir, "trygg.toml");
  // The weekly report on its schedule, from two weeks back: the server makes
  // the two reports due at its start.
  const reports = `[reports]\nweekly = "mon 06:00"\nsince = "${isoWeek(new Date(Date.now() - 14 * 86_400_000))}"\ndir = "${join(dir, "reports")}"\n`;
  writeFileSync(
    config,
    reports +
      Object.entries(KEYS)
        .map(([role, key]) =>
          role === "east"
            ? `[[keys]]\nname = "e2e-east"\nrole = "analyst"\nsha256 = "${sha(key)}"\nmunicipality = "${EAST.code}"\n`
            : `[[keys]]\nname = "e2e-${role}"\nrole = "${role}"\nsha256 = "${sha(key)}"\n`)
        .join("\n"),
  );
  server = spawn(BIN, ["serve", "--store", store, "--addr", "127.0.0.1:0", "--config", config], { stdio: ["ignore", "pipe", "inherit"] });
  base = await new Promise((resolve, reject) => {
    let text = "";
    server.stdout.on("data", (d) => {
      text += d;
      const m = /serving on (http:\/\/[^/]+)\//.exec(text);
      if (m) resolve(m[1]);
    });
    server.on("exit", (code) => reject(new Error(`trygg serve exited with ${code}`)));
  });
}

before(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  writeFileSync(join(OUT, "speed.json"), `${JSON.stringify(speed, null, 2)}\n`);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** GET an API answer with a role's key. */
async function api(path, role = "analyst", init = {}) {
  const r = await fetch(`${base}${path}`, { ...init, headers: { Authorization: `Bearer ${KEYS[role]}`, ...(init.headers ?? {}) } });
  assert.ok(r.ok, `${path}: ${r.status}`);
  return r;
}

/** A logged-in page at `hash`, its tile requests recorded, the map drawn. */
async function open(hash = "", role = "analyst", viewport = { width: 1400, height: 900 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const tiles = [];
  page.on("request", (r) => {
    if (r.url().includes("/tiles/")) tiles.push(r.url());
  });
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(`${base}/${hash}`);
  await page.locator("#login").waitFor({ state: "visible" });
  await page.fill("#key", KEYS[role]);
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(() => window.trygg?.map()?.loaded());
  await idle(page);
  return { page, context, tiles };
}

/**
 * Waits until the map has drawn everything it asked for, and returns the
 * milliseconds that took: a repaint is forced, and MapLibre's `idle` comes only
 * once every requested tile has loaded and been drawn.
 */
async function idle(page, which = "map") {
  return page.evaluate(
    (which) =>
      new Promise((resolve) => {
        const m = window.trygg[which]();
        const t0 = performance.now();
        m.once("idle", () => resolve(performance.now() - t0));
        m.triggerRepaint();
      }),
    which,
  );
}

/**
 * Sets a control as a user does and returns the milliseconds, measured in the
 * page, from the change to the map's next idle (every new tile drawn).
 */
async function changed(page, id, value, event) {
  const ms = await page.evaluate(
    ([id, value, event]) =>
      new Promise((resolve) => {
        const m = window.trygg.map();
        const control = document.getElementById(id);
        const t0 = performance.now();
        m.once("idle", () => resolve(performance.now() - t0));
        control.value = value;
        control.dispatchEvent(new Event(event));
      }),
    [id, value, event],
  );
  return Math.round(ms);
}

/** The map's pixels. */
async function pixels(page, selector = "#map") {
  return PNG.sync.read(await page.locator(selector).screenshot());
}

/** Share of pixels that differ between two same-size images. */
function difference(a, b) {
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    if (Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]) > 30) n++;
  }
  return n / (a.data.length / 4);
}

/** Distinct colours in an image (a blank map has one or two). */
function colours(img) {
  const seen = new Set();
  for (let i = 0; i < img.data.length; i += 4 * 7) seen.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
  return seen.size;
}

const shot = (page, name) => page.screenshot({ path: join(OUT, `${name}.png`) });
const state = (page) => page.evaluate(() => window.trygg.state());
const meta = async () => (await api("/api/v1/meta")).json();

describe("the web map", () => {
  test("asks for a key, refuses a wrong one, and draws the map over our own tiles", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const transferred = [];
    page.on("requestfinished", async (r) => {
      const sizes = await r.sizes().catch(() => null);
      if (sizes) transferred.push(sizes.responseBodySize + sizes.responseHeadersSize);
    });
    await page.goto(`${base}/`);
    await page.locator("#login").waitFor({ state: "visible" });
    await shot(page, "01-login");
    await page.fill("#key", "not-a-key");
    await page.click("#login-form button[type=submit]");
    await page.locator("#login-error").waitFor({ state: "visible" });
    await page.fill("#key", KEYS.analyst);
    await page.click("#login-form button[type=submit]");
    await page.waitForFunction(() => window.trygg?.map()?.loaded());
    await idle(page);
    await page.waitForTimeout(300);
    const img = await pixels(page);
    assert.ok(colours(img) > 20, `the map has ${colours(img)} colours: blank?`);
    await shot(page, "02-map");
    assert.equal(await page.locator("#banner").isVisible(), true, "synthetic banner");
    const total = transferred.reduce((a, b) => a + b, 0);
    speed.initial_load_bytes = total;
    assert.ok(total < 2_000_000, `initial load ${total} bytes`);
    await context.close();
  });

  test("toggling a layer and moving the slider change the tile requests and the pixels", async () => {
    const { page, context, tiles } = await open("#zoom=12&preset=custom&from=2024-01-01&to=2024-06-30");
    assert.ok(tiles.some((u) => u.includes("/tiles/grid/")), "grid tiles asked");
    assert.ok(tiles.some((u) => u.includes("/tiles/basemap/")), "basemap tiles asked");
    const before = await pixels(page);

    tiles.length = 0;
    await page.getByRole("checkbox", { name: TEXTS.sv.hotspots }).check();
    await idle(page);
    assert.ok(tiles.some((u) => u.includes("/tiles/hotspots/") && u.includes("from=2024-01-01&to=2024-06-30")), "hotspot tiles with the filters");
    await page.getByRole("checkbox", { name: TEXTS.sv.grid }).uncheck();
    await idle(page);
    const hotspots = await pixels(page);
    assert.ok(difference(before, hotspots) > 0.02, "the hotspot layer changed the map");
    await shot(page, "03-hotspots");
    await page.getByRole("checkbox", { name: TEXTS.sv.grid }).check();
    await page.getByRole("checkbox", { name: TEXTS.sv.hotspots }).uncheck();
    await idle(page);

    // The slider: by month; each position asks every layer for that month.
    await page.selectOption("#step", "month");
    await idle(page);
    const march = S.slices(await state(page), "2024-06-30")[2];
    tiles.length = 0;
    speed.slider_change_ms = [await changed(page, "at", "2", "input")];
    const other = tiles.filter((u) => !(u.includes("/tiles/basemap/") || u.includes(`from=${march[0]}&to=${march[1]}`) || u.includes(`period=${march[0]}..${march[1]}`)));
    assert.ok(tiles.length > 0, "tiles asked for March");
    assert.deepEqual(other, [], "every layer asks for March");
    const m1 = await pixels(page);
    speed.slider_change_ms.push(await changed(page, "at", "5", "input"));
    const m2 = await pixels(page);
    assert.ok(difference(m1, m2) > 0.005, "another month draws other cells");
    assert.equal((await state(page)).at, S.slices(await state(page), "2024-06-30")[5][0]);
    await shot(page, "04-slider");

    // A filter change at city zoom, timed in the page from the change to the
    // last new tile drawn (MapLibre's idle), eight times.
    const times = [];
    for (const hours of ["22-06", "06-18", "18-22", "", "22-06", "06-18", "18-22", ""]) times.push(await changed(page, "hours", hours, "change"));
    speed.filter_change_ms = times;
    await context.close();
  });

  test("playback moves every layer through the weeks and keeps drawing", async () => {
    const { page, context, tiles } = await open("#zoom=11.5&preset=4w&layers=grid,heat&step=week");
    tiles.length = 0;
    const frames = await page.evaluate(
      () =>
        new Promise((resolve) => {
          let n = 0;
          const tick = () => {
            n++;
            if (performance.now() - t0 < 3000) requestAnimationFrame(tick);
            else resolve(n);
          };
          const t0 = performance.now();
          document.getElementById("play").click();
          requestAnimationFrame(tick);
        }),
    );
    await page.click("#play");
    speed.playback_fps = frames / 3;
    const weeks = new Set(tiles.filter((u) => u.includes("/tiles/grid/")).map((u) => new URL(u).searchParams.get("from")));
    assert.ok(weeks.size >= 3, `played ${weeks.size} weeks`);
    const heat = new Set(tiles.filter((u) => u.includes("/tiles/heat/")).map((u) => new URL(u).searchParams.get("from")));
    assert.deepEqual([...heat].sort(), [...weeks].sort(), "heat moved with the grid");
    await context.close();
  });

  test("clicking an area shows the API's numbers and its charts", async () => {
    const { page, context } = await open("#zoom=12&lon=18.07&lat=59.315&preset=custom&from=2024-01-01&to=2024-06-30&layers=areas");
    const point = await page.evaluate(() => {
      const m = window.trygg.map();
      const c = m.project(m.getCenter());
      const hit = m.queryRenderedFeatures([c.x, c.y], { layers: ["areas-hit"] })[0];
      return { x: c.x, y: c.y, code: hit?.properties?.code };
    });
    assert.ok(point.code, "an area under the centre");
    const box = await page.locator("#map").boundingBox();
    await page.mouse.click(box.x + point.x, box.y + point.y);
    await page.locator("#area-name").waitFor();
    const counts = await (await api(`/api/v1/query/counts?${S.countsQuery(await state(page), "2024-06-30")}`)).json();
    const row = counts.rows.find((r) => r.area_code === point.code && !r.source && !r.category);
    assert.equal(await page.locator("#area-name").textContent(), row.area_name);
    const cell = (key, i = 0) => page.locator(`#area-table tr[data-row=${key}] td`).nth(i).textContent();
    assert.equal(await cell("count"), formatNumber("sv", row.count));
    assert.equal(await cell("rate"), formatNumber("sv", row.rate_per_1000, 1));
    assert.equal(await cell("previous"), formatNumber("sv", row.previous_count));
    assert.equal(await cell("previous", 1), formatNumber("sv", row.ratio_vs_previous, 2));
    assert.equal(await cell("yearEarlier"), formatNumber("sv", row.year_earlier_count));
    assert.ok((await cell("yearEarlier", 2)).startsWith(formatNumber("sv", row.p_vs_year_earlier, 3)));
    for (const chart of ["trend", "categories", "matrix"]) {
      await page.waitForFunction((c) => document.querySelector(`img[data-chart=${c}]`)?.naturalWidth > 0, chart);
    }
    // Survey vs incidents: the latest round's share and the period's rate, as the API gives them.
    await page.locator("#survey-vs").waitFor();
    const survey = await (await api("/api/v1/query/survey?layer=stadsdel")).json();
    const round = [...new Set(survey.estimates.map((e) => e.round))].sort().pop();
    const vs = await (await api(`/api/v1/query/survey?layer=stadsdel&vs_incidents=${round}:2024-01-01..2024-06-30`)).json();
    const paired = vs.vs_incidents.areas.find((a) => a.area === row.area_name);
    assert.equal(await page.locator("#survey-vs tr[data-row=share] td").textContent(), formatNumber("sv", paired.share, 3));
    assert.equal(await page.locator("#survey-vs tr[data-row=rate] td").textContent(), formatNumber("sv", paired.rate_per_1000, 1));
    await shot(page, "05-area");
    // A chart downloads as PNG.
    const [png] = await Promise.all([page.waitForEvent("download"), page.locator("figure:has(img[data-chart=trend]) button[data-format=png]").click()]);
    const img = PNG.sync.read(readFileSync(await png.path()));
    assert.ok(img.width > 300 && colours(img) > 3, "a chart PNG");
    await context.close();
  });

  test("drawing a polygon gives its statistics, as the API computes them", async () => {
    const { page, context } = await open("#zoom=13&lon=18.07&lat=59.315&preset=12m");
    await page.click("#draw");
    const box = await page.locator("#map").boundingBox();
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    for (const [dx, dy] of [[-150, -120], [160, -100], [140, 130], [-130, 110]]) {
      await page.mouse.click(cx + dx, cy + dy);
      await page.waitForTimeout(60);
    }
    await page.keyboard.press("Enter");
    await page.locator("#area-name").waitFor();
    const s = await state(page);
    assert.equal(S.parsePolygon(s.polygon).length, 4);
    const want = await (await api("/api/v1/query/polygon", "analyst", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(S.polygonRequest(s, "2024-06-30")) })).json();
    const row = want.stats.rows[0];
    assert.ok(typeof row.count === "number" && row.count > 0, "events in the polygon");
    assert.equal(await page.locator("#area-table tr[data-row=count] td").first().textContent(), formatNumber("sv", row.count));
    assert.equal(await page.locator("#polygon-series tbody tr").count(), want.series.series.length);
    // Its charts, drawn by the API from the same request.
    for (const chart of ["trend", "categories", "matrix"]) {
      await page.waitForFunction((c) => document.querySelector(`img[data-chart=${c}]`)?.naturalWidth > 0, chart);
    }
    const [svg] = await Promise.all([page.waitForEvent("download"), page.locator("figure:has(img[data-chart=trend]) button[data-format=svg]").click()]);
    const text = readFileSync(await svg.path(), "utf8");
    assert.ok(text.includes("ritat område"), "the drawn area's trend chart");
    for (const p of want.series.series) assert.ok(text.includes(`${p.period}: ${formatNumber("sv", p.count)}`), `point ${p.period}`);
    await idle(page);
    await shot(page, "06-polygon");
    await context.close();
  });

  test("exports download files that parse", async () => {
    const { page, context } = await open("#zoom=13&lon=18.07&lat=59.315&preset=4w&layers=grid,events");
    const get = async (section, format) => {
      const [d] = await Promise.all([page.waitForEvent("download"), page.locator(`#exports .export-row:nth-child(${section}) button[data-format=${format}]`).click()]);
      return { name: d.suggestedFilename(), body: readFileSync(await d.path()) };
    };
    const csv = await get(1, "csv");
    const lines = csv.body.toString("utf8").trim().split("\n");
    assert.ok(lines[0].startsWith("area_code,area_name"), lines[0]);
    const m = await meta();
    assert.ok(lines.length > 100, `${lines.length} rows`);
    assert.ok(m.data.synthetic && lines[0].includes("data_notice"));
    const excel = await get(1, "excel");
    assert.deepEqual([...excel.body.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.ok(excel.body.toString("utf8").split("\n")[0].includes(";"));
    const xlsx = await get(1, "xlsx");
    assert.equal(xlsx.body.subarray(0, 2).toString(), "PK");
    const geojson = JSON.parse((await get(1, "geojson")).body.toString("utf8"));
    assert.equal(geojson.type, "FeatureCollection");
    assert.equal(geojson.features.length, lines.length - 1);
    const gpkg = await get(1, "gpkg");
    assert.equal(gpkg.body.subarray(0, 15).toString(), "SQLite format 3");
    // Events in the view (analysts): every point inside the map's bounds.
    const events = JSON.parse((await get(3, "geojson")).body.toString("utf8"));
    const b = await page.evaluate(() => window.trygg.map().getBounds().toArray());
    assert.ok(events.features.length > 0);
    for (const f of events.features) {
      const [x, y] = f.geometry.coordinates;
      assert.ok(x >= b[0][0] && x <= b[1][0] && y >= b[0][1] && y <= b[1][1], "event inside the view");
    }
    await context.close();
  });

  test("the weekly reports are listed and download", async () => {
    // The schedule makes the due weeks at start; wait for them.
    let listed = [];
    for (let i = 0; i < 120 && listed.length < 2; i++) {
      listed = (await (await api("/api/v1/reports", "viewer")).json()).reports;
      if (listed.length < 2) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(listed.length, 2, "two weeks due since the schedule began");
    const { page, context } = await open("#zoom=12&lon=18.07&lat=59.315");
    await page.locator("#reports li[data-week]").first().waitFor();
    const items = await page.locator("#reports li[data-week]").evaluateAll((li) => li.map((e) => e.dataset.week));
    assert.deepEqual(items, listed.map((r) => r.week));
    const [pdf] = await Promise.all([page.waitForEvent("download"), page.locator(`#reports li[data-week="${items[0]}"] button[data-file="report.pdf"]`).click()]);
    assert.equal(readFileSync(await pdf.path()).subarray(0, 5).toString(), "%PDF-");
    const [json] = await Promise.all([page.waitForEvent("download"), page.locator(`#reports li[data-week="${items[0]}"] button[data-file="report.json"]`).click()]);
    const report = JSON.parse(readFileSync(await json.path(), "utf8"));
    assert.equal(report.numbers.week, items[0]);
    await context.close();
  });

  test("the language switch changes every label, number and date", async () => {
    const { page, context } = await open("#zoom=12&lon=18.07&lat=59.315&layers=grid,hotspots,heat,areas&step=month&compare=side");
    await idle(page, "map2");
    const texts = () =>
      page.evaluate(() => ({
        lang: document.documentElement.lang,
        keyed: [...document.querySelectorAll("[data-t]")].map((e) => [e.dataset.t, e.textContent]),
        labelled: [...document.querySelectorAll("[data-t-label]")].map((e) => [e.dataset.tLabel, e.getAttribute("aria-label")]),
        body: document.body.innerText,
        options: [...document.querySelectorAll("option")].map((o) => o.textContent),
      }));
    const sv = await texts();
    assert.equal(sv.lang, "sv");
    // Both maps of the comparison carry the area names.
    const names = (id) => page.evaluate((i) => [...document.querySelectorAll(`#${i} .area-label`)].map((e) => e.textContent).sort(), id);
    await page.waitForFunction(() => document.querySelectorAll("#map2 .area-label").length > 0);
    const left = await names("map");
    assert.ok(left.length > 3, `${left.length} labels on the left`);
    assert.deepEqual(await names("map2"), left, "the same area names on both maps");
    await shot(page, "07-side-by-side-sv");
    await page.click("#lang");
    await page.waitForFunction(() => document.documentElement.lang === "en");
    const en = await texts();
    for (const [k, v] of en.keyed) assert.equal(v, TEXTS.en[k], k);
    for (const [k, v] of en.labelled) assert.equal(v, TEXTS.en[k], k);
    // No Swedish-only text is left on the page (beyond names of places).
    const swedish = Object.entries(TEXTS.sv).filter(([k, v]) => v !== TEXTS.en[k] && v.length > 3).map(([, v]) => v);
    for (const v of swedish) {
      assert.ok(!en.body.includes(v), `"${v}" still shown in English`);
      assert.ok(!en.options.includes(v), `option "${v}" still Swedish`);
    }
    const m = await meta();
    for (const c of m.categories.filter((c) => c !== "survey_response")) {
      assert.ok(en.body.includes(m.labels.en.categories[c]), `category ${c} in English`);
    }
    // Dates: "jan." in Swedish, "Jan" in English.
    assert.match(sv.body, /\d{1,2} (jan|feb|mars|apr|maj|juni|juli|aug|sep|okt|nov|dec)\.? 20\d\d/);
    assert.match(en.body, /\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec) 20\d\d/);
    await shot(page, "08-english");
    await context.close();
  });

  test("a shared URL restores the view, and the back button goes back", async () => {
    const hash = "#lang=en&zoom=13.5&lon=18.06000&lat=59.33000&layers=hotspots,areas&sources=crimes&preset=custom&from=2024-02-01&to=2024-04-30&weekdays=sat-sun&measure=count&area=";
    const first = await open("#zoom=12");
    const m = await meta();
    // The first page's view, as a link.
    const row = (await (await api(`/api/v1/query/counts?${S.countsQuery(S.parseHash(hash), "2024-06-30")}`)).json()).rows.find((r) => r.area_code !== "municipality");
    const link = `${hash}${row.area_code}`;
    await first.context.close();
    const { page, context, tiles } = await open(link);
    const s = await state(page);
    assert.deepEqual(s, S.parseHash(link));
    assert.equal(await page.getByRole("checkbox", { name: TEXTS.en.hotspots }).isChecked(), true);
    assert.equal(await page.getByRole("checkbox", { name: TEXTS.en.grid }).isChecked(), false);
    assert.equal(await page.getByRole("checkbox", { name: m.labels.en.sources.crimes }).isChecked(), true);
    assert.equal(await page.inputValue("#weekdays"), "sat-sun");
    const view = await page.evaluate(() => ({ zoom: window.trygg.map().getZoom(), c: window.trygg.map().getCenter() }));
    assert.ok(Math.abs(view.zoom - 13.5) < 0.01 && Math.abs(view.c.lng - 18.06) < 1e-4 && Math.abs(view.c.lat - 59.33) < 1e-4);
    assert.ok(tiles.some((u) => u.includes("/tiles/hotspots/") && u.includes("from=2024-02-01&to=2024-04-30&source=crimes&weekdays=sat-sun")));
    await page.locator("#area-name").waitFor();
    assert.equal(await page.locator("#area-name").textContent(), row.area_name);
    // Back: a layer switched on, then the browser's back button.
    await page.getByRole("checkbox", { name: TEXTS.en.heat }).check();
    assert.ok((await state(page)).layers.includes("heat"));
    await page.goBack();
    await page.waitForFunction(() => !window.trygg.state().layers.includes("heat"));
    assert.equal(await page.getByRole("checkbox", { name: TEXTS.en.heat }).isChecked(), false);
    await context.close();
  });

  test("compare as a change map draws the API's hotspot change and significant areas", async () => {
    const { page, context } = await open("#zoom=11.5&preset=custom&from=2024-01-01&to=2024-06-30&compare=change&against=year");
    const s = await state(page);
    await page.waitForFunction(() => window.trygg.map().getSource("change")?._data?.features?.length > 0 || window.trygg.map().querySourceFeatures("change").length > 0);
    const change = await (await api(`/api/v1/query/change?${S.changeQuery(s, "2024-06-30")}&format=geojson`)).json();
    const drawn = await page.evaluate(() => window.trygg.map().querySourceFeatures("change").length);
    assert.ok(change.features.length > 0 && drawn > 0);
    await idle(page);
    await shot(page, "09-change-map");
    await context.close();
  });

  test("a municipality chosen limits every layer and number; a key limited to one sees only it", async () => {
    const { page, context, tiles } = await open("#zoom=11&layers=grid,areas");
    await page.locator("#municipality-row").waitFor({ state: "visible" });
    // Regression: the selector's row is hidden for a store without a `kommun`
    // layer, and a hidden row is not drawn (a label's display rule had kept it).
    assert.equal(await page.evaluate(() => document.getElementById("municipality-row").hidden), false);
    await page.evaluate(() => { document.getElementById("municipality-row").hidden = true; });
    assert.equal(await page.locator("#municipality-row").isVisible(), false, "a hidden row is not drawn");
    await page.evaluate(() => { document.getElementById("municipality-row").hidden = false; });
    assert.deepEqual(await page.$$eval("#municipality option", (o) => o.map((x) => x.value)), ["", "9901", EAST.code]);
    const before = await pixels(page);
    tiles.length = 0;
    await page.selectOption("#municipality", EAST.code);
    await page.waitForFunction((code) => window.trygg.meta()?.data?.scope?.code === code, EAST.code);
    await idle(page);
    await page.waitForTimeout(300);
    assert.ok(tiles.length > 0, "new tiles asked");
    assert.deepEqual(tiles.filter((u) => new URL(u).searchParams.get("municipality") !== EAST.code), [], "every tile of the municipality");
    const after = await pixels(page);
    assert.ok(colours(after) > 20, "the municipality's map is drawn");
    assert.ok(difference(before, after) > 0.02, "the map changed with the municipality");
    await shot(page, "municipality-chosen");
    // The numbers shown are the API's for the municipality: an area of the other
    // one is not there, one of its own is.
    const s = await state(page);
    assert.equal(s.municipality, EAST.code);
    const counts = await (await api(`/api/v1/query/counts?${S.countsQuery(s, (await meta()).last_event.slice(0, 10))}`)).json();
    const codes = counts.rows.map((r) => r.area_code);
    assert.ok(codes.includes("NORRMALM") && !codes.includes("BROMMA KYRKA"), codes.join(","));
    assert.match(page.url(), /municipality=9902/, "the view's link keeps the municipality");
    await context.close();

    const limited = await open("", "east");
    assert.match(await limited.page.locator("#who").textContent(), new RegExp(EAST.name));
    assert.equal(await limited.page.locator("#municipality").isDisabled(), true);
    assert.deepEqual(await limited.page.$$eval("#municipality option", (o) => o.map((x) => x.value)), [EAST.code]);
    assert.equal(await limited.page.evaluate(() => window.trygg.meta().data.scope.code), EAST.code);
    assert.deepEqual(await limited.page.locator(".error[role=alert]").allTextContents(), [], "no error (the reports are refused quietly)");
    assert.ok(colours(await pixels(limited.page)) > 20, "the limited key's map is drawn");
    await shot(limited.page, "municipality-limited-key");
    await limited.context.close();
  });

  test("viewers see neither points nor small counts", async () => {
    const { page, context, tiles } = await open("#zoom=14&lon=18.07&lat=59.315&preset=1w&layers=grid,events", "viewer");
    assert.equal(await page.getByRole("checkbox", { name: TEXTS.sv.events }).count(), 0);
    assert.ok(!tiles.some((u) => u.includes("/tiles/events/")), "no event tiles asked");
    assert.equal(await page.locator("#exports .export-row").count(), 2, "no events export");
    assert.match(await page.locator("#who").textContent(), /läsare/);
    await context.close();
  });

  test("has no serious accessibility violations (axe-core), in both languages", async () => {
    const { page, context } = await open("#zoom=12&layers=grid,hotspots&area=");
    const axe = readFileSync(new URL("../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
    for (const lang of ["sv", "en"]) {
      if (lang === "en") {
        await page.click("#lang");
        await page.waitForFunction(() => document.documentElement.lang === "en");
      }
      await page.evaluate(axe);
      const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
      const serious = result.violations.filter((v) => ["serious", "critical"].includes(v.impact));
      assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), []);
    }
    // Keyboard: Tab walks the skip link, the header and the filters, each with a visible focus ring.
    await page.evaluate(() => {
      document.body.tabIndex = -1;
      document.body.focus();
    });
    const walked = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      walked.push(await page.evaluate(() => {
        const e = document.activeElement;
        const style = getComputedStyle(e);
        return { id: e.id || e.className || e.name || e.tagName, ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 };
      }));
    }
    const ids = walked.map((w) => w.id);
    for (const want of ["skip", "lang", "grid", "hotspots"]) assert.ok(ids.includes(want), `${want} not reached by Tab: ${ids}`);
    assert.ok(ids.indexOf("skip") < ids.indexOf("lang") && ids.indexOf("lang") < ids.indexOf("grid"), `tab order ${ids}`);
    assert.deepEqual(walked.filter((w) => !w.ring).map((w) => w.id), [], "focus visible");
    await context.close();
  });
});

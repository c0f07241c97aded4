import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { TEXTS, t, formatNumber, formatDay, formatRange } from "../src/i18n.js";
import * as S from "../src/state.js";

describe("the translations", () => {
  it("have the same keys in Swedish and English, none empty", () => {
    expect(Object.keys(TEXTS.en).sort()).toEqual(Object.keys(TEXTS.sv).sort());
    for (const lang of ["sv", "en"]) for (const [k, v] of Object.entries(TEXTS[lang])) expect(v.trim(), `${lang}.${k}`).not.toBe("");
  });

  it("differ between the languages wherever a word is translated", () => {
    // Words that are the same in both languages.
    const shared = ["period"];
    const same = Object.keys(TEXTS.sv).filter((k) => TEXTS.sv[k] === TEXTS.en[k] && !k.startsWith("format:") && !shared.includes(k));
    expect(same).toEqual([]);
  });

  it("cover every key the page and the app use", () => {
    const html = readFileSync(new URL("../src/index.html", import.meta.url), "utf8");
    const app = readFileSync(new URL("../src/app.js", import.meta.url), "utf8");
    const used = new Set([...html.matchAll(/data-t(?:-label)?="([^"]+)"/g)].map((m) => m[1]));
    for (const m of app.matchAll(/\btt\("([^"]+)"/g)) used.add(m[1]);
    for (const l of S.LAYERS) used.add(l);
    for (const p of S.PRESETS) used.add(p);
    for (const [prefix, values] of [["hours:", S.HOURS], ["weekdays:", S.WEEKDAYS], ["step:", S.STEPS], ["measure:", S.MEASURES], ["compare:", S.COMPARE], ["against:", S.AGAINST]]) {
      for (const v of values) used.add(`${prefix}${v}`);
    }
    const missing = [...used].filter((k) => !(k in TEXTS.sv));
    expect(missing).toEqual([]);
  });

  it("fills in placeholders", () => {
    expect(t("en", "gridLegend", { cell: 250, k: 5 })).toMatch(/^Events per 250 m cell .* under 5 /);
    expect(t("sv", "nonexistent")).toBe("nonexistent");
  });
});

describe("numbers and dates per language", () => {
  it("writes Swedish decimal commas and spaces, English points and commas", () => {
    expect(formatNumber("sv", 12345.678, 1)).toBe("12\u00a0345,7");
    expect(formatNumber("en", 12345.678, 1)).toBe("12,345.7");
    expect(formatNumber("sv", "<5")).toBe("<5");
    expect(formatNumber("en", null)).toBe("–");
  });

  it("writes days in the language", () => {
    expect(formatDay("sv", "2024-02-03")).toBe("3 feb. 2024");
    expect(formatDay("en", "2024-02-03")).toBe("3 Feb 2024");
    expect(formatRange("en", ["2024-02-03", "2024-02-03"])).toBe("3 Feb 2024");
  });
});

// Builds dist/: our modules as they are, MapLibre's ES modules and CSS from
// node_modules, and a gzip copy of each file (the server sends it when the
// browser accepts gzip). No bundler: MapLibre finds its worker beside itself.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const out = new URL("./dist/", import.meta.url);
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
cpSync(new URL("./src/", import.meta.url), out, { recursive: true });
const maplibre = new URL("./node_modules/maplibre-gl/dist/", import.meta.url);
for (const f of ["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"]) {
  cpSync(new URL(f, maplibre), new URL(f, out));
}
for (const f of readdirSync(out)) {
  writeFileSync(new URL(`${f}.gz`, out), gzipSync(readFileSync(new URL(f, out)), { level: 9 }));
}
console.log(`built ${readdirSync(out).length} files into web/dist`);

"""Side by side: one counts question answered whole-process by Trygg, by DuckDB with
its spatial extension, and by geopandas; checks that the counts agree and prints
the ratios.

The question (issue 8): crimes per stadsdel in one calendar year (Stockholm time).

- Trygg: `trygg query counts --store S --period YEAR --layer stadsdel --source crimes`
  (the store's view snapshot file current, as after any earlier query).
- DuckDB: the events imported once from the GeoPackage into a DuckDB file beside
  it (not timed; through Python's sqlite3, since the spatial extension's ST_Read
  crashes on the events table in 1.5.5), then a process that opens that file,
  loads the spatial extension (offline, from its PyPI package folder) and runs the
  GROUP BY.
- geopandas: a process that reads the GeoPackage's events layer (pyogrio, with the
  source filter pushed down) and groups in pandas.

Each process is run RUNS times; the median wall time and the peak RSS
(`/usr/bin/time -f %M`) are reported.

    .venv/bin/python benches/counts_vs_duckdb.py --store demo/trygg.gpkg --year 2025

Install the packages with `./dev bench` (benches/requirements.txt).
"""

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import duckdb_extension_spatial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extension_path():
    base = os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "extensions")
    for version in os.listdir(base):
        return os.path.join(base, version, "spatial.duckdb_extension")
    raise SystemExit("no spatial extension in " + base)


def year_bounds(year):
    tz = ZoneInfo("Europe/Stockholm")
    start = int(datetime(year, 1, 1, tzinfo=tz).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=tz).timestamp())
    return start, end


DUCKDB_QUERY = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("LOAD '" + sys.argv[2] + "'")
rows = con.execute(
    "SELECT stadsdel, count(*) FROM events WHERE source = ? AND occurred_utc >= ? "
    "AND occurred_utc < ? AND stadsdel IS NOT NULL GROUP BY stadsdel",
    [sys.argv[3], int(sys.argv[4]), int(sys.argv[5])],
).fetchall()
print(json.dumps({k: v for k, v in rows}))
"""

GEOPANDAS_QUERY = """
import geopandas, json, sys
df = geopandas.read_file(sys.argv[1], layer="events", engine="pyogrio",
                         columns=["source", "stadsdel", "occurred_utc"],
                         where="source = '" + sys.argv[2] + "'")
df = df[(df.occurred_utc >= int(sys.argv[3])) & (df.occurred_utc < int(sys.argv[4]))]
counts = df.dropna(subset=["stadsdel"]).groupby("stadsdel").size()
print(json.dumps({k: int(v) for k, v in counts.items()}))
"""


def timed(cmd, runs):
    """Median wall seconds, peak RSS in MiB and the last stdout of `cmd`."""
    walls, peaks, out = [], [], ""
    for _ in range(runs):
        started = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        if p.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed: {p.stderr}")
        peaks.append(int(p.stderr.strip().splitlines()[-1]) / 1024)
        out = p.stdout
    return statistics.median(walls), max(peaks), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=os.path.join(ROOT, "demo/trygg.gpkg"))
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--source", default="crimes")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--trygg", default=os.path.join(ROOT, "target/release/trygg"))
    args = ap.parse_args()
    start, end = year_bounds(args.year)
    ext = extension_path()

    # Setup, not timed: DuckDB's own file, imported with the spatial extension.
    db = args.store + ".duckdb"
    if not os.path.exists(db):
        partial = db + ".partial"
        if os.path.exists(partial):
            os.remove(partial)
        con = duckdb.connect(partial)
        con.execute(f"LOAD '{ext}'")
        # The extension's ST_Read (GDAL) crashes on this GeoPackage's events table
        # in duckdb-extension-spatial 1.5.5, so the rows come through Python's
        # sqlite3; the question needs no geometry.
        import sqlite3
        import pandas
        src = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True)
        df = pandas.read_sql_query("SELECT source, stadsdel, occurred_utc FROM events", src)
        src.close()
        con.register("df", df)
        con.execute("CREATE TABLE events AS SELECT * FROM df")
        con.close()
        os.rename(partial, db)
    # Trygg's view snapshot file current (as after any earlier query).
    trygg = [args.trygg, "query", "counts", "--store", args.store, "--period",
             str(args.year), "--layer", "stadsdel", "--source", args.source]
    subprocess.run(trygg, capture_output=True, check=True)

    results = {}
    wall, peak, out = timed(trygg, args.runs)
    rows = csv.DictReader(io.StringIO(out))
    results["trygg"] = (wall, peak, {r["area_code"]: int(r["count"]) for r in rows
                                      if r["area_code"] != "municipality" and int(r["count"]) > 0})
    py = sys.executable
    wall, peak, out = timed([py, "-c", DUCKDB_QUERY, db, ext, args.source, str(start), str(end)], args.runs)
    results["duckdb+spatial"] = (wall, peak, json.loads(out))
    wall, peak, out = timed([py, "-c", GEOPANDAS_QUERY, args.store, args.source, str(start), str(end)], args.runs)
    results["geopandas"] = (wall, peak, json.loads(out))

    reference = results["trygg"][2]
    for name, (_, _, counts) in results.items():
        if counts != reference:
            diff = {k: (reference.get(k), counts.get(k)) for k in set(reference) | set(counts)
                    if reference.get(k) != counts.get(k)}
            raise SystemExit(f"{name} disagrees with Trygg: {diff}")
    total = sum(reference.values())
    print(f"{args.source} per stadsdel in {args.year}: {len(reference)} stadsdelar, "
          f"{total} events; all three agree")
    base = results["trygg"][0]
    print(f"{'':16} {'median wall':>12} {'peak RSS':>10} {'× Trygg':>8}")
    for name, (wall, peak, _) in results.items():
        print(f"{name:16} {wall * 1000:9.0f} ms {peak:7.0f} MiB {wall / base:8.1f}")


if __name__ == "__main__":
    main()

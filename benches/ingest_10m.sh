#!/usr/bin/env bash
# A large crimes CSV into a new GeoPackage store, `trygg ingest` beside
# `ogr2ogr -f GPKG` of the same file (issue 13), and trygg's peak memory at
# three sizes (it should not grow with the file):
#
#   benches/ingest_10m.sh [ROWS] [RUNS]      (defaults: 10000000 rows, 3 runs)
#
# The CSV is trygg_benches::crimes_csv (seeded), written by the crimes-csv
# binary. Each run writes a new store with Stockholm's areas (trygg) or a new
# GeoPackage layer with its R-tree (ogr2ogr, points from the x/y columns in
# EPSG:3006). Release binaries; wall time and peak memory from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
runs=${2:-3}
cargo build --release -q -p trygg -p trygg-benches --bin trygg --bin crimes-csv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/crimes-csv "$rows" >"$work/crimes.csv"
timed() { /usr/bin/time -f "%e s, %M KB peak" "$@" 2>&1 >/dev/null | tail -1; }
echo "$rows rows, $(stat -c %s "$work/crimes.csv") bytes"
for i in $(seq "$runs"); do
    rm -f "$work/t.gpkg" "$work/.t.gpkg.view"
    echo "trygg ingest run $i: $(timed target/release/trygg ingest --store "$work/t.gpkg" --source crimes "$work/crimes.csv")"
    rm -f "$work/o.gpkg"
    echo "ogr2ogr      run $i: $(timed ogr2ogr -f GPKG "$work/o.gpkg" "$work/crimes.csv" -nln crimes \
        -oo X_POSSIBLE_NAMES=x -oo Y_POSSIBLE_NAMES=y -a_srs EPSG:3006)"
done
echo "store $(stat -c %s "$work/t.gpkg") bytes; ogr2ogr's $(stat -c %s "$work/o.gpkg") bytes"
for part in 10 3; do
    n=$((rows / part))
    head -$((n + 1)) "$work/crimes.csv" >"$work/part.csv"
    rm -f "$work/t.gpkg" "$work/.t.gpkg.view"
    echo "trygg ingest of $n rows: $(timed target/release/trygg ingest --store "$work/t.gpkg" --source crimes "$work/part.csv")"
done

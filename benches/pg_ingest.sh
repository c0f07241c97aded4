#!/usr/bin/env bash
# Ingest into PostgreSQL + PostGIS vs the GeoPackage store, side by side (issue 13):
#
#   benches/pg_ingest.sh CSV [RUNS]
#
# CSV is a crimes file in the built-in mapping (the demo's demo-data/crimes.csv, or
# trygg_benches::crimes_csv). Each run ingests it into a new store with Stockholm's
# areas: a GeoPackage file, and a new database (migrated, the same areas copied
# in) on the server PG names (default: ./dev test's throwaway cluster). Then the
# snapshot of each is loaded by a whole `trygg query counts` process. Release binary;
# wall time and peak memory from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
csv=$(realpath "$1")
runs=${2:-3}
pg=${PG:-postgresql:///postgres?host=/tmp/trygg-pg-test&user=postgres}
cargo build --release -q -p trygg
bin=target/release/trygg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url_of() { echo "${pg/\/postgres\?//$1?}"; }
timed() { /usr/bin/time -f "%e s, %M KB peak" "$@" 2>&1 >/dev/null | tail -1; }
head -2 "$csv" >"$work/one.csv"
"$bin" ingest --store "$work/areas.gpkg" --source crimes "$work/one.csv" >/dev/null
rows=$(($(wc -l <"$csv") - 1))
echo "$rows rows of $(basename "$csv")"
for i in $(seq "$runs"); do
    rm -f "$work/g.gpkg" "$work/.g.gpkg.view"
    echo "geopackage run $i: $(timed "$bin" ingest --store "$work/g.gpkg" --source crimes "$csv")"
    db=trygg_bench_ingest
    psql "$pg" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    url=$(url_of $db)
    "$bin" copy --from "$work/areas.gpkg" --to "$url" >/dev/null
    echo "postgres   run $i: $(timed "$bin" ingest --store "$url" --source crimes "$csv")"
done
ask=(query counts --period 2024 --layer stadsdel --format csv)
rm -f "$work/.g.gpkg.view"
echo "snapshot geopackage (no view file): $(timed "$bin" "${ask[@]}" --store "$work/g.gpkg")"
echo "snapshot geopackage (view file):    $(timed "$bin" "${ask[@]}" --store "$work/g.gpkg")"
echo "snapshot postgres:                  $(timed "$bin" "${ask[@]}" --store "$url")"
echo "database size: $(psql "$pg" -qAtc "SELECT pg_database_size('trygg_bench_ingest')") bytes; store file: $(stat -c %s "$work/g.gpkg") bytes"

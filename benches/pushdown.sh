#!/usr/bin/env bash
# Queries pushed down into the store vs answered from the snapshot (issue 13):
#
#   benches/pushdown.sh [ROWS] [RUNS]
#
# Writes ROWS (default 10,000,000) seeded crimes rows (trygg_benches::crimes_csv,
# all in 2024), ingests them into a GeoPackage store and into a new database on
# the server PG names (default: ./dev test's throwaway cluster), then times whole
# `trygg query` processes over each: the year's counts per stadsdel and the
# year's hotspots on 250 m cells, from the snapshot and with --push-down, RUNS
# times each (default 3). Release binary; wall time and peak memory from
# /usr/bin/time. The answers of each pair are checked equal.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
runs=${2:-3}
pg=${PG:-postgresql:///postgres?host=/tmp/trygg-pg-test&user=postgres}
cargo build --release -q -p trygg -p trygg-benches --bin trygg --bin crimes-csv
bin=target/release/trygg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timed() { /usr/bin/time -f "%e s, %M KB peak" "$@" 2>&1 >/dev/null | tail -1; }
target/release/crimes-csv "$rows" >"$work/crimes.csv"
"$bin" ingest --store "$work/g.gpkg" --source crimes "$work/crimes.csv" >/dev/null
db=trygg_bench_pushdown
psql "$pg" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
url="${pg/\/postgres\?//$db?}"
head -2 "$work/crimes.csv" >"$work/one.csv"
"$bin" ingest --store "$work/areas.gpkg" --source crimes "$work/one.csv" >/dev/null
"$bin" copy --from "$work/areas.gpkg" --to "$url" >/dev/null
"$bin" ingest --store "$url" --source crimes "$work/crimes.csv" >/dev/null
echo "$rows rows in $work/g.gpkg and $db"
asks=("counts --period 2024 --layer stadsdel --format csv"
    "hotspots --from 2024-01-01 --to 2024-12-31 --format csv")
for ask in "${asks[@]}"; do
    read -ra a <<<"$ask"
    for store in "$work/g.gpkg" "$url"; do
        name=$([ "$store" = "$url" ] && echo postgres || echo geopackage)
        "$bin" query "${a[@]}" --store "$store" >"$work/snapshot.out"
        "$bin" query "${a[@]}" --store "$store" --push-down >"$work/pushed.out"
        cmp -s "$work/snapshot.out" "$work/pushed.out" || {
            echo "$ask over $name: the push-down differs from the snapshot" >&2
            exit 1
        }
        for i in $(seq "$runs"); do
            echo "${a[0]} $name snapshot  run $i: $(timed "$bin" query "${a[@]}" --store "$store")"
            echo "${a[0]} $name push-down run $i: $(timed "$bin" query "${a[@]}" --store "$store" --push-down)"
        done
    done
done

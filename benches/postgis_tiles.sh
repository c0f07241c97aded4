#!/usr/bin/env bash
# Trygg's map tiles side by side with PostGIS' ST_AsMVT (issue 10), in one run,
# on the same events with the same filters:
#
#   benches/postgis_tiles.sh [STORE] [RUNS]
#
# The store's events and land polygons are copied into a throwaway PostgreSQL 15
# + PostGIS 3 cluster (Debian's packages; `./dev bench` installs them) with
# ogr2ogr, and indexed the way a Martin function source would want them (GiST on
# the geometry, B-tree on the time). Then, for the `grid` tile over central
# Stockholm at zooms 10-15, a year of crimes counted per SWEREF square of the
# zoom's size (land cells only) and encoded as MVT:
#
#   - PostGIS: one SQL statement (bounding-box filter, GROUP BY cell, land test,
#     ST_AsMVTGeom + ST_AsMVT), run RUNS times with pgbench, mean latency;
#   - Trygg: `trygg serve` over the same store with the answer cache off,
#     RUNS requests with curl, median; "first" is the first tile of new filters
#     (the whole map's cell field made too), "next" a tile of a field already
#     made (every other tile of a map view).
#
# Both tiles are decoded with mapbox-vector-tile and their cells compared. The
# SQL reads events up to two cells beyond the tile, so that a cell at the
# buffered edge is counted whole, as Trygg counts it.
# The database is kept in target/bench-data/pg (loaded once per store).
set -euo pipefail
cd "$(dirname "$0")/.."
store=$(realpath "${1:-target/bench-data/snapshot-10000000.gpkg}")
runs=${2:-20}
py=${TRYGG_PYTHON:-.venv/bin/python}
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] || {
    echo "PostgreSQL 15 + PostGIS 3 are needed: ./dev bench installs them" >&2
    exit 2
}
cargo build --release -q -p trygg
data=$(realpath -m target/bench-data/pg)
sock=/tmp/trygg-pg-bench
mkdir -p "$sock" "$data"
chown postgres "$sock" "$data"
as_pg() { su postgres -s /bin/bash -c "$*"; }
if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb -D '$data' -A trust -U postgres" >/dev/null
fi
as_pg "$bin/pg_ctl -D '$data' -l '$data/log' -o \"-k $sock -c listen_addresses='' -c shared_buffers=2GB -c work_mem=256MB -c max_parallel_workers_per_gather=2 -c jit=off\" -w start" >/dev/null
trap 'as_pg "$bin/pg_ctl -D \"$data\" -m fast stop" >/dev/null 2>&1 || true; kill $server 2>/dev/null || true' EXIT
server=
psql_() { psql -h "$sock" -U postgres -d trygg -v ON_ERROR_STOP=1 -qAt "$@"; }
psql -h "$sock" -U postgres -qAt -c "select 1 from pg_database where datname = 'trygg'" | grep -q 1 ||
    psql -h "$sock" -U postgres -q -c "create database trygg"
psql_ -c "create extension if not exists postgis"
# The load's own version is part of the stamp, so a changed load runs again.
stamp="v2 $(stat -c %Y "$store") $(stat -c %s "$store")"
if [ "$(psql_ -c "select to_regclass('loaded') is not null" )" != "t" ] ||
   [ "$(psql_ -c "select stamp from loaded")" != "$stamp" ]; then
    echo "loading $(basename "$store") into PostGIS (once per store)..."
    psql_ -c "drop table if exists events, land, land_parts, loaded"
    started=$(date +%s)
    ogr2ogr -f PostgreSQL "PG:host=$sock user=postgres dbname=trygg" "$store" \
        -sql "select geom, source, category_norm, occurred_utc, precision from events" \
        -nln events -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=NONE -lco FID=fid \
        --config PG_USE_COPY YES -gt 1000000
    ogr2ogr -f PostgreSQL "PG:host=$sock user=postgres dbname=trygg" "$store" \
        -sql "select geom, code from areas where layer = 'land'" -nln land -lco GEOMETRY_NAME=geom \
        -nlt MULTIPOLYGON
    # Land cut into small pieces (ST_Subdivide), as PostGIS' own advice for
    # point-in-polygon tests against large polygons.
    psql_ -c "create table land_parts as select ST_Subdivide(geom, 64) as geom from land" \
          -c "create index on land_parts using gist (geom)" \
          -c "create index on events using gist (geom)" \
          -c "create index on events (occurred_utc)" \
          -c "analyze events" -c "analyze land_parts" \
          -c "create table loaded as select '$stamp'::text as stamp"
    echo "loaded $(psql_ -c "select count(*) from events") events in $(( $(date +%s) - started )) s"
fi

# Trygg, answer cache off.
cfg=$(mktemp --suffix .toml)
printf '[limits]\nanswer_cache_bytes = 0\n' >"$cfg"
log=$(mktemp)
TRYGG_ANONYMOUS_ROLE=analyst target/release/trygg serve --store "$store" --config "$cfg" --addr 127.0.0.1:0 >"$log" 2>/dev/null &
server=$!
until grep -q "serving on" "$log"; do sleep 0.05; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -1)

from=2024-01-01
to=2024-12-31
from_utc=$(date -u -d "$from 00:00 CET" +%s)
to_utc=$(date -u -d "$to 00:00 CET + 1 day" +%s)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-5s %-11s %9s %10s %10s %8s %8s %6s %s\n' zoom tile postgis trygg_next trygg_first pg/next pg/first cells same
for z in 10 11 12 13 14 15; do
    read -r x y < <(python3 -c "
import math
z=$z; lon, lat = 18.0686, 59.3293
n = 2 ** z; r = math.radians(lat)
print(int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n))")
    size=$(case $z in 10) echo 1000;; 11) echo 500;; 12|13) echo 250;; *) echo 100;; esac)
    sql=$(mktemp --suffix .sql)
    cat >"$sql" <<SQL
with bounds as (select ST_Transform(ST_TileEnvelope($z, $x, $y), 3006) as box),
cells as (
  select floor(ST_X(e.geom) / $size) as cx, floor(ST_Y(e.geom) / $size) as cy, count(*) as n
  from events e, bounds b
  where e.geom && ST_Expand(b.box, 2 * $size)
    and e.source = 'crimes' and e.occurred_utc >= $from_utc and e.occurred_utc < $to_utc
    and e.precision in ('exact', 'address', 'street')
  group by 1, 2),
land_cells as (
  select c.* from cells c
  where exists (select 1 from land_parts l
                where ST_Intersects(l.geom, ST_SetSRID(ST_MakePoint((c.cx + 0.5) * $size, (c.cy + 0.5) * $size), 3006))))
select ST_AsMVT(t, 'grid', 4096, 'geom') from (
  select ST_AsMVTGeom(ST_Transform(ST_MakeEnvelope(cx * $size, cy * $size, (cx + 1) * $size, (cy + 1) * $size, 3006), 3857),
                      ST_TileEnvelope($z, $x, $y), 4096, 64, true) as geom,
         format('%sm_%s_%s', $size, (cx * $size)::bigint, (cy * $size)::bigint) as cell_id, n as count
  from land_cells) t where geom is not null;
SQL
    pg_ms=$("$bin/pgbench" -h "$sock" -U postgres -n -f "$sql" -t "$runs" -c 1 trygg 2>/dev/null |
        awk '/latency average/ {print $4}')
    psql_ -c "\\copy (select encode(($(sed '$ s/;$//' "$sql")), 'hex')) to stdout" | xxd -r -p >/tmp/trygg-pg-tile-$z.mvt
    tile="$url/tiles/grid/$z/$x/$y.mvt?from=$from&to=$to&source=crimes"
    curl -s -o /tmp/trygg-tile-$z.mvt "$tile"
    next=$(for _ in $(seq "$runs"); do curl -s -o /dev/null -w '%{time_total}\n' "$tile"; done | median)
    first=$(for k in $(seq "$runs"); do
        # A window no earlier tile asked: its field is made by this request.
        curl -s -o /dev/null -w '%{time_total}\n' "$url/tiles/grid/$z/$x/$y.mvt?from=2024-01-$(printf %02d $((z - 8)))&to=2024-12-$(printf %02d $((k % 28 + 1)))&source=crimes"
    done | median)
    same=$("$py" - <<PY
import mapbox_vector_tile as m
a = m.decode(open('/tmp/trygg-tile-$z.mvt', 'rb').read()).get('grid', {'features': []})['features']
b = m.decode(open('/tmp/trygg-pg-tile-$z.mvt', 'rb').read()).get('grid', {'features': []})['features']
ca = {f['properties']['cell_id']: f['properties']['count'] for f in a}
cb = {f['properties']['cell_id']: f['properties']['count'] for f in b}
diff = sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k))
print(len(ca), 'yes' if not diff else f"no: {', '.join(f'{k} {ca.get(k)}/{cb.get(k)}' for k in diff[:4])}")
PY
)
    next_ms=$(echo "$next * 1000" | bc -l)
    first_ms=$(echo "$first * 1000" | bc -l)
    printf '%-5s %-11s %7.1fms %8.2fms %8.1fms %7.0fx %7.1fx %s\n' "$z" "$x/$y" "$pg_ms" "$next_ms" "$first_ms" \
        "$(echo "$pg_ms / $next_ms" | bc -l)" "$(echo "$pg_ms / $first_ms" | bc -l)" "$same"
    rm -f "$sql"
done
rm -f "$cfg" "$log"

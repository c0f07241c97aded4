#!/usr/bin/env bash
# Loopback load test of `trygg serve` (issue 9): 64 concurrent clients for 30 s
# over a mix of API calls (benches/load.lua) on the 10M-event benchmark store,
# with wrk from Debian. Prints wrk's latency distribution (p50 ... p99) and
# checks that no answer was an error.
#
#   benches/load.sh [STORE] [SECONDS] [CONNECTIONS] [SCRIPT]
#
# SCRIPT defaults to benches/load.lua; benches/tiles.lua asks the map tiles
# of a view at zooms 12-14 instead (cached tiles per second, issue 10).
# The store defaults to target/bench-data/snapshot-10000000.gpkg (built by
# `cargo bench -p trygg-benches --bench snapshot`). Numbers go in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-target/bench-data/snapshot-10000000.gpkg}
seconds=${2:-30}
connections=${3:-64}
script=${4:-benches/load.lua}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk (./dev bench installs it)" >&2; exit 2; }
cargo build --release -q -p trygg
key=load-test-key
hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
log=$(mktemp)
started=$(date +%s.%N)
TRYGG_API_KEYS="load:analyst:$hash" target/release/trygg serve --store "$store" --addr 127.0.0.1:0 >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
until grep -q "serving on" "$log"; do
    kill -0 $server 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
    sleep 0.05
done
ready=$(date +%s.%N)
url=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
echo "start-up to ready: $(echo "$ready - $started" | bc) s (${url})"
out=$(TRYGG_LOAD_KEY=$key wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$script" "$url")
echo "$out"
if echo "$out" | grep -q "Non-2xx or 3xx responses"; then
    echo "FAILED: some answers were errors" >&2
    exit 1
fi
if echo "$out" | grep -q "Socket errors"; then
    echo "FAILED: socket errors" >&2
    exit 1
fi

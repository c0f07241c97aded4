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
# `cargo bench -p trygg-benches --bench snapshot`); a postgres:// URL serves
# from PostgreSQL (issue 13). REPLICAS=2 starts two servers over the store and
# splits the connections between them, one wrk each at once; the requests/s
# are then their sum. Numbers go in docs/benchmarks.md.
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
replicas=${REPLICAS:-1}
work=$(mktemp -d)
servers=()
trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
urls=()
for r in $(seq "$replicas"); do
    started=$(date +%s.%N)
    TRYGG_API_KEYS="load:analyst:$hash" target/release/trygg serve --store "$store" --addr 127.0.0.1:0 >"$work/log$r" 2>/dev/null &
    servers+=($!)
    until grep -q "serving on" "$work/log$r"; do
        kill -0 "${servers[-1]}" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
        sleep 0.05
    done
    ready=$(date +%s.%N)
    urls+=("$(grep -o 'http://[0-9.:]*' "$work/log$r" | head -1)")
    echo "start-up to ready: $(echo "$ready - $started" | bc) s (${urls[-1]})"
done
wrks=()
for r in $(seq "$replicas"); do
    TRYGG_LOAD_KEY=$key wrk -t$(((2 + replicas - 1) / replicas)) -c$((connections / replicas)) \
        -d"${seconds}s" --latency -s "$script" "${urls[$((r - 1))]}" >"$work/wrk$r" &
    wrks+=($!)
done
wait "${wrks[@]}"
out=$(cat "$work"/wrk*)
echo "$out"
if [ "$replicas" -gt 1 ]; then
    echo "requests/s over all replicas: $(grep Requests/sec "$work"/wrk* | awk '{s += $2} END {print s}')"
fi
if echo "$out" | grep -q "Non-2xx or 3xx responses"; then
    echo "FAILED: some answers were errors" >&2
    exit 1
fi
if echo "$out" | grep -q "Socket errors"; then
    echo "FAILED: socket errors" >&2
    exit 1
fi

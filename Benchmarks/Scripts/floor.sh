#!/bin/bash
# The bus beside its floor (Sources/durable-floor): N interleaved pairs of bus-drive runs, each
# system on a fresh temporary directory, then medians. docs/BENCHMARKS.md, "The floor".
#
#   Scripts/floor.sh [pairs (5)] [passerelle-bus binary (../.build-release/release/passerelle-bus)]
#
# Needs `swift build -c release --scratch-path .build-bench --product bus-drive` and
# `--product durable-floor` first. Each pair: latency at 10,000/s for 5 s, then 32 × 100 for 3 s,
# 1 subscriber, ipc endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
bus=${2:-../.build-release/release/passerelle-bus}
drive=.build-bench/release/bus-drive
floor=.build-bench/release/durable-floor
source Scripts/bus.sh
require_executables "$bus" "$drive" "$floor"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

run() {  # system mode seconds
  local directory pid
  directory=$(mktemp -d /tmp/passerelle-floor-XXXXXX)
  if [ "$1" = floor ]; then
    "$floor" "ipc://$directory/in" "ipc://$directory/live" "$directory/log" &
    pid=$!
  else
    start_bus "$bus" "$directory"
    pid=$bus_pid
  fi
  sleep 1
  echo "$1 $2 $("$drive" "$2" --seconds "$3" --ingest "ipc://$directory/in" --live "ipc://$directory/live")" >>"$results"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$directory"
}

for pair in $(seq "$pairs"); do
  echo "pair $pair of $pairs" >&2
  for system in floor bus; do run "$system" latency 5; done
  for system in bus floor; do run "$system" throughput 3; done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    system, mode, result = line.split(" ", 2)
    rows.setdefault((system, mode), []).append(json.loads(result))
def median(system, mode, pick):
    return statistics.median(pick(r) for r in rows[(system, mode)])
print("| system | acked/s (32 × 100) | ack p50 | ack p99 | ack p99.9 | deliver p99 |")
print("|---|---:|---:|---:|---:|---:|")
for system in ("floor", "bus"):
    thr = median(system, "throughput", lambda r: r["acked_per_sec"])
    lat = {k: median(system, "latency", lambda r, k=k: r["ack_ms"][k]) for k in ("p50", "p99", "p999")}
    deliver = median(system, "latency", lambda r: r["deliver_ms"]["p99"])
    print(f"| {system} | {thr:,.0f} | {lat['p50']:.2f} | {lat['p99']:.2f} | {lat['p999']:.2f} | {deliver:.2f} |")
ratio = median("bus", "throughput", lambda r: r["acked_per_sec"]) / median("floor", "throughput", lambda r: r["acked_per_sec"])
print(f"\nbus ÷ floor, acked/s: {ratio:.2f} (medians of {len(rows[('bus', 'throughput')])} pairs)")
PY

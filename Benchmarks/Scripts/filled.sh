#!/bin/bash
# The bus once its journal holds millions of events: fills a fresh bus at full speed, then
# measures latency at 10,000 events/s on it, several times, with the bytes the bus wrote to disk
# per event. docs/BENCHMARKS.md, "The identity index as the journal grows".
#
#   Scripts/filled.sh [fill seconds (20)] [latency runs (3)] [passerelle-bus binary (../.build-release/release/passerelle-bus)]
#
# Needs `swift build -c release --scratch-path .build-bench --product bus-drive` first. The fill
# is `bus-drive throughput` (32 × 100, 1 subscriber, ids in no order); each latency run is 8 s
# with ids of its own; bytes written come from the bus's /proc/PID/io (WAL and checkpoints).
set -euo pipefail
cd "$(dirname "$0")/.."
fill=${1:-20}
runs=${2:-3}
bus=${3:-../.build-release/release/passerelle-bus}
drive=.build-bench/release/bus-drive
source Scripts/bus.sh
require_executables "$bus" "$drive"
directory=$(mktemp -d /tmp/passerelle-filled-XXXXXX)
start_bus "$bus" "$directory"
pid=$bus_pid
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$directory"' EXIT
sleep 1.5
endpoints=(--ingest "ipc://$directory/in" --live "ipc://$directory/live")
written() { awk '/^write_bytes/ { print $2 }' "/proc/$pid/io"; }

filled=$("$drive" throughput --seconds "$fill" --ids scattered --tag fill "${endpoints[@]}")
python3 - "$filled" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"fill: {r['events']:,} events, {r['acked_per_sec']:,.0f} acked/s")
PY
sleep 3
echo "| run | ack p50 | ack p99 | ack p99.9 | deliver p99 | written per event |"
echo "|---:|---:|---:|---:|---:|---:|"
for run in $(seq "$runs"); do
  before=$(written)
  result=$("$drive" latency --seconds 8 --ids scattered --tag "run$run" "${endpoints[@]}")
  after=$(written)
  python3 - "$result" "$before" "$after" "$run" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
per_event = (int(sys.argv[3]) - int(sys.argv[2])) / r["events"]
a = r["ack_ms"]
print(f"| {sys.argv[4]} | {a['p50']:.2f} | {a['p99']:.2f} | {a['p999']:.2f} | {r['deliver_ms']['p99']:.2f} | {per_event / 1024:.1f} KiB |")
PY
done

#!/bin/bash
# Two builds of passerelle-bus side by side: rounds of A then B, each on a fresh bus, then medians.
# The way to tell whether a change to the bus helps on this noisy shared machine.
# docs/BENCHMARKS.md, "Where the rest of the time goes".
#
#   Scripts/pairs.sh <bus A> <bus B> [rounds (4)]
#
# Needs `swift build -c release --scratch-path .build-bench --product bus-drive` first. Per bus:
# three `bus-drive throughput` runs of 4 s back to back (32 × 100, 1 subscriber, ids in no order:
# the first on a fresh journal, the third on ~1.5 million events), the bus's CPU per event over
# them (from /proc/PID/stat), then a latency run at 10,000/s for 5 s; ipc endpoints, SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 <bus A> <bus B> [rounds]" >&2; exit 2; }
rounds=${3:-4}
drive=.build-bench/release/bus-drive
source Scripts/bus.sh
require_executables "$1" "$2" "$drive"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

run() {  # label binary
  local directory pid before after events=0 rates="" result
  directory=$(mktemp -d /tmp/passerelle-pairs-XXXXXX)
  start_bus "$2" "$directory"
  pid=$bus_pid
  sleep 1.5
  endpoints=(--ingest "ipc://$directory/in" --live "ipc://$directory/live")
  before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  for run in 1 2 3; do
    result=$("$drive" throughput --seconds 4 --ids scattered --tag "r$run" "${endpoints[@]}")
    rates="$rates $(python3 -c 'import json, sys; print(round(json.loads(sys.argv[1])["acked_per_sec"]))' "$result")"
    events=$((events + $(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["events"])' "$result")))
  done
  after=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  result=$("$drive" latency --seconds 5 --ids scattered --tag latency "${endpoints[@]}")
  echo "$1 $(( (after - before) * 10000000 / events ))$rates $result" >>"$results"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$directory"
}

for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  run A "$1"
  run B "$2"
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = {"A": [], "B": []}
for line in open(sys.argv[1]):
    label, cpu, fresh, middle, grown, result = line.split(" ", 5)
    rows[label].append((int(cpu) / 1000, int(fresh), int(middle), int(grown), json.loads(result)))
print("| build | acked/s, fresh | after ~0.6M | after ~1.2M | CPU per event | ack p50 | ack p99 | ack p99.9 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for label in ("A", "B"):
    runs = rows[label]
    med = lambda pick: statistics.median(pick(r) for r in runs)
    print(f"| {label} | {med(lambda r: r[1]):,.0f} | {med(lambda r: r[2]):,.0f} | {med(lambda r: r[3]):,.0f} "
          f"| {med(lambda r: r[0]):.2f} µs | {med(lambda r: r[4]['ack_ms']['p50']):.2f} "
          f"| {med(lambda r: r[4]['ack_ms']['p99']):.2f} | {med(lambda r: r[4]['ack_ms']['p999']):.2f} |")
PY

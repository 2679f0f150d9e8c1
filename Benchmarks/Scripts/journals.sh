#!/bin/bash
# The bus with its journal on SQLite and on PostgreSQL 15 (durable defaults: fsync and
# synchronous_commit on): N interleaved rounds of bus-drive, each on a fresh journal, ids in no
# order (as Publisher's UUIDs), then medians. docs/BENCHMARKS.md, "The journal on PostgreSQL".
#
#   Scripts/journals.sh [rounds (3)] [passerelle-bus binary (../.build-release/release/passerelle-bus)]
#
# Needs `swift build -c release --scratch-path .build-bench --product bus-drive` first, and
# PostgreSQL 15 (a throwaway cluster is started by ../scripts/with-postgres). Each round, for each
# journal: latency at 10,000/s for 5 s, then 32 × 100 for 3 s, 1 subscriber, ipc endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PASSERELLE_TEST_POSTGRES_URL:-}" ]; then
  WITH_POSTGRES_DURABLE=1 exec ../scripts/with-postgres "$0" "$@"
fi
rounds=${1:-3}
bus=${2:-../.build-release/release/passerelle-bus}
drive=.build-bench/release/bus-drive
source Scripts/bus.sh
require_executables "$bus" "$drive"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
server=${PASSERELLE_TEST_POSTGRES_URL%/*}
measurement=0

measure() {  # journal mode seconds
  local directory url pid
  directory=$(mktemp -d /tmp/passerelle-journals-XXXXXX)
  measurement=$((measurement + 1))
  if [ "$1" = postgres ]; then
    psql -q "$PASSERELLE_TEST_POSTGRES_URL" -c "CREATE DATABASE journal_$measurement"
    url="$server/journal_$measurement"
  else
    url="sqlite:$directory/journal.db"
  fi
  start_bus "$bus" "$directory" "$url"
  pid=$bus_pid
  sleep 2
  echo "$1 $2 $("$drive" "$2" --seconds "$3" --ids scattered --ingest "ipc://$directory/in" \
    --live "ipc://$directory/live")" >>"$results"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$directory"
}

for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for journal in sqlite postgres; do measure "$journal" latency 5; done
  for journal in postgres sqlite; do measure "$journal" throughput 3; done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    journal, mode, result = line.split(" ", 2)
    rows.setdefault((journal, mode), []).append(json.loads(result))
def median(journal, mode, pick):
    values = [pick(r) for r in rows[(journal, mode)] if "error" not in r]
    return statistics.median(values) if values else float("nan")
print("| journal | acked/s (32 × 100) | ack p50 at 10k/s | ack p99 | ack p99.9 | deliver p99 |")
print("|---|---:|---:|---:|---:|---:|")
for journal in ("sqlite", "postgres"):
    failed = sum("error" in r for r in rows[(journal, "latency")] + rows[(journal, "throughput")])
    thr = median(journal, "throughput", lambda r: r["acked_per_sec"])
    lat = {k: median(journal, "latency", lambda r, k=k: r["ack_ms"][k]) for k in ("p50", "p99", "p999")}
    deliver = median(journal, "latency", lambda r: r["deliver_ms"]["p99"])
    note = f" ({failed} runs failed)" if failed else ""
    print(f"| {journal}{note} | {thr:,.0f} | {lat['p50']:.2f} | {lat['p99']:.2f} | {lat['p999']:.2f} | {deliver:.2f} |")
PY

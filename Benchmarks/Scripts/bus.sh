# Sourced by the benchmark scripts here: what they share.

# Exits naming the first path given that is not an executable.
require_executables() {
  local binary
  for binary in "$@"; do
    [ -x "$binary" ] || { echo "missing $binary (see the comment at the top of $0)" >&2; exit 1; }
  done
}

# Starts a passerelle-bus in the background on a directory of its own: ipc endpoints `in`, `live`
# and `query` there, its log in `bus.log`, its journal at the database URL given (default: SQLite
# in the directory), HTTP on a free port. Sets bus_pid.
start_bus() {  # binary directory [database url]
  PASSERELLE_BUS_INGEST="ipc://$2/in" PASSERELLE_BUS_LIVE="ipc://$2/live" \
    PASSERELLE_BUS_QUERY="ipc://$2/query" PASSERELLE_BUS_DATABASE_URL="${3:-sqlite:$2/journal.db}" \
    PASSERELLE_HTTP_PORT=0 PASSERELLE_LOG_LEVEL=warning "$1" >"$2/bus.log" 2>&1 &
  bus_pid=$!
}

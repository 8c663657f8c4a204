# lib.sh: what the benchmark scripts share: a release flowd on a fresh embedded cluster,
# API calls, SQL on its database, and its RSS/CPU. Source it; call bench_start first.
bench_start() {
  ./scripts/setup >/dev/null
  cmake --build build --target loadgen >/dev/null
  BENCH_DATA=$(mktemp -d /tmp/flowd-bench-XXXXXX)
  chmod 755 "$BENCH_DATA"
  BENCH_PORT=$((20000 + RANDOM % 20000))
  BENCH_TOKEN=bench-token
  FLOWD_LISTEN=127.0.0.1:$BENCH_PORT FLOWD_DATA=$BENCH_DATA FLOWD_ADMIN_TOKEN=$BENCH_TOKEN \
    FLOWD_LOG=warn FLOWD_DB_POOL=${FLOWD_DB_POOL:-4} FLOWD_RATE_LIMIT=off \
    FLOWD_RATE_LIMIT_EVENTS=off "${FLOWD_BIN:-./build/flowd}" 2>"$BENCH_DATA/flowd.log" &
  BENCH_PID=$!
  trap 'kill $BENCH_PID 2>/dev/null; wait $BENCH_PID 2>/dev/null; rm -rf "$BENCH_DATA"' EXIT
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$BENCH_PORT/healthz" >/dev/null && {
      bench_history
      wait_steady "$BENCH_PORT"
      return 0
    }
    sleep 0.2
  done
  echo "flowd did not start; see $BENCH_DATA/flowd.log" >&2
  return 1
}
# BENCH_HISTORY_DAYS=N: the partitions N days of history leave behind (with the default
# 30-day retention, what a database has after its first month), made empty: every statement
# on events, runs and steps pays for each partition (schema/012_history_periods.sql).
bench_history() {
  local n=${BENCH_HISTORY_DAYS:-0}
  [ "$n" -gt 0 ] || return 0
  sql "SELECT flowd_ensure_day(d) FROM generate_series(
         (extract(epoch FROM now())::bigint / 86400)::int - $n,
         (extract(epoch FROM now())::bigint / 86400)::int - 2) d" >/dev/null
  echo "history: $n days, $(sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'runs'::regclass") partitions of runs"
}
# Waits (at most 30 s) until the flowd on port $1 has left its start-up window: for ~12 s
# after it starts, a process sends its websocket messages to other processes in case one
# watches (README: Scaling out); measurements are of the steady state after it.
wait_steady() {
  for _ in $(seq 150); do
    curl -sf -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$1/metrics" |
      grep -q '^flowd_ws_sending_to_peers 0' && return 0
    sleep 0.2
  done
  echo "flowd on port $1 still sends websocket messages to other processes" >&2
}
api() {
  curl -sf -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' \
    -X "$1" "http://127.0.0.1:$BENCH_PORT$2" ${3:+--data-binary "$3"}
}
sql() { psql -X -qAt "host=$BENCH_DATA/pg port=5432 user=flowd dbname=flowd" -c "$1"; }
install_flow() {
  local id
  id=$(python3 -c "import json,sys;print(json.load(open('$1'))['id'])")
  # Staff, teams and providers the flow names must exist before it can be published.
  api POST /api/flows "@$1" | python3 -c '
import json, re, sys
for p in json.load(sys.stdin).get("problems", []):
    m = re.search(r"there is no (\w+) \"([^\"]+)\"", p.get("message", ""))
    if p.get("code") == "missing_reference" and m:
        kind, ident = m.groups()
        path = {"staff": "staff", "team": "teams", "provider": "providers"}[kind]
        body = {"id": ident, "name": ident} if kind != "provider" else \
               {"id": ident, "type": "http", "config": {"url": "http://127.0.0.1:9/"}}
        print(path, json.dumps(body))' | while read -r path body; do
    api POST "/api/$path" "$body" >/dev/null
  done
  api POST "/api/flows/$id/publish" >/dev/null
  api POST "/api/flows/$id/activate" >/dev/null
}
flowd_rss_kb() { awk '/VmRSS/{print $2}' "/proc/$BENCH_PID/status"; }
flowd_hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$BENCH_PID/status"; }
flowd_cpu_ticks() { awk '{print $14+$15}' "/proc/$BENCH_PID/stat"; }
# Waits (at most $1 seconds, default 120) until no run is running or waiting.
runs_settle() {
  for _ in $(seq $((${1:-120} * 2))); do
    [ "$(sql "SELECT count(*) FROM runs WHERE status IN ('running','waiting')")" = 0 ] && return
    sleep 0.5
  done
}
# CPU ticks of the embedded cluster: its postmaster and every process under it (backends,
# WAL writer, checkpointer), as long as they live.
pg_cpu_ticks() {
  local pm
  pm=$(head -1 "$BENCH_DATA/pg/postmaster.pid")
  # shellcheck disable=SC2046
  cat "/proc/$pm/stat" $(pgrep -P "$pm" | sed 's|.*|/proc/&/stat|') 2>/dev/null |
    awk '{s += $14 + $15} END {print s}'
}
# The machine's CPU ticks, as "busy idle" (idle includes waiting for I/O).
machine_ticks() {
  awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat
}
# Prints where the CPU went between two samples "flowd pg busy idle" for n events.
cpu_per_event() {
  local n=$3 hz
  hz=$(getconf CLK_TCK)
  read -r f0 p0 b0 i0 <<<"$1"
  read -r f1 p1 b1 i1 <<<"$2"
  awk -v f=$((f1 - f0)) -v p=$((p1 - p0)) -v b=$((b1 - b0)) -v i=$((i1 - i0)) -v n="$n" \
      -v hz="$hz" 'BEGIN {
    n = n > 0 ? n : 1
    printf "cpu_us_per_event flowd=%.0f postgres=%.0f machine=%.0f machine_idle_pct=%.0f\n",
           f * 1e6 / hz / n, p * 1e6 / hz / n, b * 1e6 / hz / n, 100 * i / (b + i)
  }'
}
cpu_sample() { echo "$(flowd_cpu_ticks) $(pg_cpu_ticks) $(machine_ticks)"; }

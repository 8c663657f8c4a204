#!/usr/bin/env bash
# scaleout_bench: N flowd processes on one PostgreSQL. The first runs the embedded cluster;
# the others use it through FLOWD_DB. The load generator drives every process at once (its
# connections split evenly). Prints accepted events/s and completed runs/s with 1, 2 and 3
# processes; then kills one of three under load and checks that every event that got 202
# still has exactly one finished run.
#
#   bench/scaleout_bench.sh [SECONDS] [CONNS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-48}
. bench/lib.sh
export FLOWD_LEASE_MS=3000
bench_start
install_flow bench/flows/three_node.json
db="host=$BENCH_DATA/pg port=5432 user=flowd dbname=flowd"
ports=("$BENCH_PORT")
pids=("$BENCH_PID")
more() {
  local port=$((BENCH_PORT + ${#ports[@]}))
  FLOWD_DB="$db" FLOWD_LISTEN=127.0.0.1:$port FLOWD_DATA=$BENCH_DATA/p$port \
    FLOWD_ADMIN_TOKEN=$BENCH_TOKEN FLOWD_LOG=warn FLOWD_RATE_LIMIT=off FLOWD_RATE_LIMIT_EVENTS=off \
    ./build/flowd 2>"$BENCH_DATA/p$port.log" &
  pids+=($!)
  ports+=("$port")
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && { wait_steady "$port"; return; }
    sleep 0.2
  done
}
load() { # prefix -> sum of events/s over every process
  local out=() i=0
  for p in "${ports[@]}"; do
    ./build/loadgen -p "$p" -t "$BENCH_TOKEN" -c $((conns / ${#ports[@]})) -d "$secs" \
      -x "$1$i" > "$BENCH_DATA/load$i" &
    out+=($!)
    i=$((i + 1))
  done
  wait "${out[@]}" || true
  cat "$BENCH_DATA"/load* | tr ' ' '\n' | awk -F= '$1=="events_per_s"{s+=$2} $1=="errors"{e+=$2} END{printf "events_per_s=%d errors=%d", s, e}'
  rm -f "$BENCH_DATA"/load*
}
for n in 1 2 3; do
  while [ ${#ports[@]} -lt "$n" ]; do more; done
  sql "TRUNCATE runs, steps" >/dev/null
  echo "processes=$n $(load "P$n")"
  runs_settle
  echo "processes=$n $(sql "SELECT format('runs=%s runs_per_s=%s', count(*), round(count(*) / greatest(extract(epoch FROM max(r.finished_at) - min(e.at)), 0.001))) FROM runs r JOIN events e ON e.id = r.event_id")"
done
# Kill one of three under load.
sql "TRUNCATE runs, steps" >/dev/null
before=$(sql "SELECT coalesce(max(id), 0) FROM events")
(sleep $((secs / 2)); kill -9 "${pids[2]}") &
echo "kill_one $(load K)"
runs_settle
sql "SELECT format('kill_one events=%s runs=%s finished=%s events_without_exactly_one_run=%s',
       (SELECT count(*) FROM events WHERE id > $before AND type = 'order.created'),
       (SELECT count(*) FROM runs), (SELECT count(*) FROM runs WHERE status = 'succeeded'),
       (SELECT count(*) FROM events e WHERE e.id > $before AND e.type = 'order.created'
          AND (SELECT count(*) FROM runs r WHERE r.event_id = e.id) <> 1))"
kill "${pids[@]:1}" 2>/dev/null || true

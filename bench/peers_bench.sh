#!/usr/bin/env bash
# peers_bench: the same "POST order -> switch on source -> set owner -> respond" flow on flowd
# and on Node-RED, side by side, with the same load generator and settings, and the ratios.
# Node-RED is installed from the npm registry into bench/.cache (not committed) on first use.
# Node-RED keeps nothing durable; flowd commits every event before its 202 and every step of
# every run. flowd's figure for "respond" is the 202 (the run finishes after it; its
# completed runs/s are printed too).
#
#   bench/peers_bench.sh [SECONDS] [CONNS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
cache=bench/.cache/node-red
if [ ! -x "$cache/node_modules/.bin/node-red" ]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --loglevel=error node-red@4 >/dev/null
fi
. bench/lib.sh
bench_start
install_flow bench/flows/three_node.json

nr_port=$((BENCH_PORT + 1))
nr_dir=$(mktemp -d /tmp/nodered-bench-XXXXXX)
cp bench/peers/node-red-flows.json "$nr_dir/flows.json"
NR_PORT=$nr_port NR_FLOWS=$nr_dir/flows.json NR_USERDIR=$nr_dir \
  "$cache/node_modules/.bin/node-red" --settings bench/peers/node-red-settings.js \
  >"$nr_dir/node-red.log" 2>&1 &
nr_pid=$!
trap 'kill $nr_pid $BENCH_PID 2>/dev/null; wait $nr_pid $BENCH_PID 2>/dev/null; rm -rf "$nr_dir" "$BENCH_DATA"' EXIT
for _ in $(seq 150); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
         -d '{"data":{"source":"website"}}' "http://127.0.0.1:$nr_port/orders" || true)
  [ "$code" = 200 ] && break
  sleep 0.2
done

nr=$(./build/loadgen -p "$nr_port" -t "" -P /orders -e 200 -c "$conns" -d "$secs" -x N)
echo "node-red $nr"
fl=$(./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -d "$secs" -x F)
echo "flowd    $fl"
for _ in $(seq 120); do
  [ "$(sql "SELECT count(*) FROM runs WHERE status IN ('running','waiting')")" = 0 ] && break
  sleep 0.5
done
echo "flowd    $(sql "SELECT format('runs=%s runs_per_s=%s', count(*), round(count(*) / greatest(extract(epoch FROM max(r.finished_at) - min(e.at)), 0.001))) FROM runs r JOIN events e ON e.id = r.event_id")"
get() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
python3 - "$(get "$fl" events_per_s)" "$(get "$nr" events_per_s)" \
  "$(get "$fl" accept_p99_ms)" "$(get "$nr" accept_p99_ms)" <<'PY'
import sys
f, n, fp, np_ = map(float, sys.argv[1:])
print(f"ratio flowd/node-red throughput={f / n:.2f} p99_latency={fp / np_:.2f}")
PY

#!/usr/bin/env bash
# exec_bench: end-to-end executor benchmark on this machine, PostgreSQL on the same machine.
# Builds a release flowd, starts it on a fresh embedded cluster, installs a flow, and drives
# POST /api/events with bench/loadgen. Prints accepted events/s (loadgen), runs completed/s
# and p50/p99 from event stored to run finished (from the database), and flowd's RSS and CPU.
#
#   bench/exec_bench.sh [FLOW_JSON] [SECONDS] [RATE (0 = as fast as accepted)] [CONNS] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
flow=${1:-bench/flows/three_node.json}
secs=${2:-10}
rate=${3:-0}
conns=${4:-32}
batch=${5:-1}
./scripts/setup >/dev/null
cmake --build build --target loadgen >/dev/null
data=$(mktemp -d /tmp/flowd-bench-XXXXXX)
chmod 755 "$data"
port=$((20000 + RANDOM % 20000))
token=bench-token
FLOWD_LISTEN=127.0.0.1:$port FLOWD_DATA=$data FLOWD_ADMIN_TOKEN=$token FLOWD_LOG=warn \
  FLOWD_DB_POOL=${FLOWD_DB_POOL:-4} ./build/flowd 2>"$data/flowd.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -X "$1" \
          "http://127.0.0.1:$port$2" ${3:+--data-binary "$3"}; }
id=$(python3 -c "import json,sys;print(json.load(open('$flow'))['id'])")
api POST /api/flows "@$flow" >/dev/null
api POST "/api/flows/$id/publish" >/dev/null
api POST "/api/flows/$id/activate" >/dev/null

cpu0=$(awk '{print $14+$15}' /proc/$pid/stat)
./build/loadgen -p "$port" -t "$token" -c "$conns" -r "$rate" -d "$secs" -b "$batch"
# Let the runs still under way finish.
psql_() { psql -X -qAt "host=$data/pg port=5432 user=flowd dbname=flowd" -c "$1"; }
for _ in $(seq 120); do
  left=$(psql_ "SELECT count(*) FROM runs WHERE status IN ('running','waiting')")
  [ "$left" = 0 ] && break
  sleep 0.5
done
cpu1=$(awk '{print $14+$15}' /proc/$pid/stat)
rss=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
psql_ "SELECT format('runs=%s succeeded=%s runs_per_s=%s e2e_p50_ms=%s e2e_p99_ms=%s e2e_max_ms=%s',
         count(*), count(*) FILTER (WHERE r.status = 'succeeded'),
         round(count(*) / greatest(extract(epoch FROM max(r.finished_at) - min(e.at)), 0.001)),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - e.at)) * 1000)::numeric, 2),
         round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - e.at)) * 1000)::numeric, 2),
         round((max(extract(epoch FROM r.finished_at - e.at)) * 1000)::numeric, 2))
       FROM runs r JOIN events e ON e.id = r.event_id"
echo "flowd_peak_rss_kb=$rss flowd_cpu_s=$(( (cpu1 - cpu0) / $(getconf CLK_TCK) ))"

#!/usr/bin/env bash
# exec_bench: end-to-end executor benchmark on this machine, PostgreSQL on the same machine.
# Builds a release flowd, starts it on a fresh embedded cluster, installs a flow, and drives
# POST /api/events with bench/loadgen. Prints accepted events/s (loadgen), runs completed/s
# and p50/p99 from event stored to run finished (from the database), and flowd's RSS and CPU.
# cpu_us_per_event: CPU per accepted event while the load ran, of flowd, of PostgreSQL (all
# the cluster's processes) and of the whole machine, and how idle the machine's cores were.
#
#   bench/exec_bench.sh [FLOW_JSON] [SECONDS] [RATE (0 = as fast as accepted)] [CONNS] [BATCH]
# FLOW_JSON "none" installs no flow: the intake alone (events stored, no run started).
# BENCH_HISTORY_DAYS=N first makes the partitions N days of history leave (bench/lib.sh).
# BENCH_SINK=1 starts a local HTTP sink (tests/tools/http_sink.py) and puts its port where the
# flow says __SINK_PORT__ (bench/flows/ten_node.json: branch, join, webhook).
set -euo pipefail
cd "$(dirname "$0")/.."
flow=${1:-bench/flows/three_node.json}
secs=${2:-10}
rate=${3:-0}
conns=${4:-32}
batch=${5:-1}
. bench/lib.sh
bench_start
if [ "${BENCH_SINK:-0}" = 1 ]; then
  sink_port=$((BENCH_PORT + 7))
  /usr/bin/python3 tests/tools/http_sink.py --port "$sink_port" --log "$BENCH_DATA/sink.log" \
    >/dev/null 2>&1 &
  sink_pid=$!
  trap 'kill $sink_pid $BENCH_PID 2>/dev/null; wait $BENCH_PID 2>/dev/null; rm -rf "$BENCH_DATA"' EXIT
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$sink_port/" && break; sleep 0.1; done
  sed "s/__SINK_PORT__/$sink_port/" "$flow" > "$BENCH_DATA/flow.json"
  flow=$BENCH_DATA/flow.json
fi
[ "$flow" = none ] || install_flow "$flow"

cpu0=$(flowd_cpu_ticks)
s0=$(cpu_sample)
out=$(./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -r "$rate" -d "$secs" \
        -b "$batch")
s1=$(cpu_sample)
echo "$out"
cpu_per_event "$s0" "$s1" "$(sed -n 's/.*accepted_events=\([0-9]*\).*/\1/p' <<<"$out")"
# Let the runs still under way finish.
runs_settle 60
cpu1=$(flowd_cpu_ticks)
rss=$(flowd_hwm_kb)
sql "SELECT format('runs=%s succeeded=%s runs_per_s=%s e2e_p50_ms=%s e2e_p99_ms=%s e2e_max_ms=%s',
         count(*), count(*) FILTER (WHERE r.status = 'succeeded'),
         round(count(*) / greatest(extract(epoch FROM max(r.finished_at) - min(e.at)), 0.001)),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - e.at)) * 1000)::numeric, 2),
         round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - e.at)) * 1000)::numeric, 2),
         round((max(extract(epoch FROM r.finished_at - e.at)) * 1000)::numeric, 2))
       FROM runs r JOIN events e ON e.id = r.event_id"
echo "flowd_peak_rss_kb=$rss flowd_cpu_s=$(( (cpu1 - cpu0) / $(getconf CLK_TCK) ))"

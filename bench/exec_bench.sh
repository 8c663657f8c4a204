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
. bench/lib.sh
bench_start
install_flow "$flow"

cpu0=$(flowd_cpu_ticks)
./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -r "$rate" -d "$secs" -b "$batch"
# Let the runs still under way finish.
for _ in $(seq 120); do
  left=$(sql "SELECT count(*) FROM runs WHERE status IN ('running','waiting')")
  [ "$left" = 0 ] && break
  sleep 0.5
done
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

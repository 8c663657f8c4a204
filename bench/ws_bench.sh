#!/usr/bin/env bash
# ws_bench: the executor under load with and without N websocket clients (default 1,000: K=10
# watch the flow under load, the rest are connected and idle), from bench/ws_watch.c.
#
#   bench/ws_bench.sh [N] [K] [SECONDS] [CONNS] [ROUNDS] [BATCH] [RATE]
#
# BATCH: events per request (default 1). RATE: requests per second (default 0: as fast as
# they are accepted); 5000 with BATCH 1 is the rate the websocket issue names.
# On one flowd it alternates loadgen runs without and with the clients, ROUNDS times (default
# 2), and ends with one more run without: on a shared machine, and with a database that grows
# from run to run, one pair of runs says little; the interleaved runs average both out. The
# clients connect before each "with" run and leave after it. Prints every run (executor
# events/s, flowd's CPU), each round's watcher line (node finished -> message received), then
# a summary: mean events/s without and with, their ratio, latency percentiles over every
# round, flowd's memory per connected client (measured first, before any load), the watcher
# process's CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
k=${2:-10}
secs=${3:-10}
conns=${4:-32}
rounds=${5:-2}
batch=${6:-1}
rate=${7:-0}
. bench/lib.sh
bench_start
cmake --build build --target ws_watch >/dev/null
wpid=
trap 'kill $wpid $BENCH_PID 2>/dev/null; wait $BENCH_PID 2>/dev/null; rm -rf "$BENCH_DATA"' EXIT
install_flow bench/flows/three_node.json
tck=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
lag_max() {
  curl -sf -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$BENCH_PORT/metrics" |
    awk '/^flowd_loop_lag_max_seconds/{printf "%.0f", $2 * 1000}'
}
# One loadgen run (event ids prefixed $1, so that every run creates new orders); prints its
# line with flowd's CPU over it and appends its events/s to $BENCH_DATA/eps.$2.
load() {
  local c0 c1 line
  c0=$(ticks "$BENCH_PID")
  line=$(./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -r "$rate" -d "$secs" \
         -b "$batch" -x "$1")
  c1=$(ticks "$BENCH_PID")
  echo "$line" | sed -E 's/.*events_per_s=([0-9]+).*/\1/' >> "$BENCH_DATA/eps.$2"
  echo "$line flowd_cpu_core=$(awk "BEGIN{printf \"%.2f\", ($c1 - $c0) / $tck / $secs}")"
}

# Starts the clients (their log: $1); returns once every one has its subscription.
watchers() {
  ./build/ws_watch -p "$BENCH_PORT" -t "$BENCH_TOKEN" -f bench_three -n "$n" -k "$k" \
    -d $((secs + 120)) ${2:+-o "$2"} > "$1" &
  wpid=$!
  for _ in $(seq 600); do
    grep -q connected "$1" && break
    kill -0 "$wpid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q connected "$1" || { echo "watchers did not connect" >&2; exit 1; }
}

# Memory first, on a flowd that has done nothing yet: later, memory freed by the runs is
# reused for connections and RSS would not show them.
sleep 1
rss0=$(flowd_rss_kb)
watchers "$BENCH_DATA/watchers.mem.log"
sleep 1
rss1=$(flowd_rss_kb)
kill -TERM "$wpid"
wait "$wpid" || true
wpid=

wticks=0
for r in $(seq "$rounds"); do
  echo "without $(load "A$r" without)"
  log=$BENCH_DATA/watchers.$r.log
  watchers "$log" "$BENCH_DATA/lat.$r"
  sleep 1
  w0=$(ticks "$wpid")
  echo "with    $(load "B$r" with) loop_lag_max_ms_so_far=$(lag_max)"
  sleep 1 # the last runs' messages
  wticks=$((wticks + $(ticks "$wpid") - w0))
  kill -TERM "$wpid"
  wait "$wpid" || true
  wpid=
  grep -v connected "$log"
done
echo "without $(load C without)"

mean() { awk '{s += $1} END {printf "%.0f", s / NR}' "$BENCH_DATA/eps.$1"; }
wo=$(mean without) wi=$(mean with)
echo "summary events_per_s_without=$wo with=$wi change=$(awk "BEGIN{printf \"%+.1f%%\", ($wi - $wo) * 100 / $wo}")"
sort -n "$BENCH_DATA"/lat.* | awk '{a[NR] = $1} END {
  if (!NR) { print "summary node_finished_msgs=0"; exit }
  printf "summary node_finished_msgs=%d p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f p999_ms=%.1f max_ms=%.1f\n",
    NR, a[int(NR * 0.5) + 1], a[int(NR * 0.9) + 1], a[int(NR * 0.99) + 1], a[int(NR * 0.999) + 1], a[NR] }'
echo "summary flowd_rss_kb_before=$rss0 after_connect=$rss1" \
  "per_client_kb=$(awk "BEGIN{printf \"%.1f\", ($rss1 - $rss0) / $n}")" \
  "watcher_process_cpu_core=$(awk "BEGIN{printf \"%.2f\", $wticks / $tck / ($secs + 1) / $rounds}")"

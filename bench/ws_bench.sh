#!/usr/bin/env bash
# ws_bench: the executor under load with and without N websocket watchers (default 1,000:
# K=10 watch the flow under load, the rest are connected and idle). Prints executor
# throughput both ways, the watchers' p50/p99 from node finished to message received, and
# flowd's memory per connected client.
#
#   bench/ws_bench.sh [N] [K] [SECONDS] [CONNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
k=${2:-10}
secs=${3:-10}
conns=${4:-32}
. bench/lib.sh
bench_start
install_flow bench/flows/three_node.json
echo "without $(./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -d "$secs" -x A)"
rss0=$(flowd_rss_kb)
/usr/bin/python3 bench/ws_watchers.py "$BENCH_PORT" "$BENCH_TOKEN" bench_three "$n" "$k" \
  $((secs + 8)) > "$BENCH_DATA/watchers.log" &
wpid=$!
for _ in $(seq 600); do grep -q connected "$BENCH_DATA/watchers.log" && break; sleep 0.1; done
rss1=$(flowd_rss_kb)
sleep 2
echo "with    $(./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -d "$secs" -x B)"
wait $wpid
cat "$BENCH_DATA/watchers.log"
echo "flowd_rss_kb_before=$rss0 after_connect=$rss1 per_client_kb=$(( (rss1 - rss0) / n ))"

#!/usr/bin/env bash
# flows_bench: event intake with many active flows of which few match. Measures accepted
# events/s with M active flows that never match (other event types) plus 10 that match
# every order, against the same with only the 10. Matching is an index look-up on the event
# type, so the figures should be alike.
#
#   bench/flows_bench.sh [M (default 10000)] [SECONDS] [CONNS]
set -euo pipefail
cd "$(dirname "$0")/.."
m=${1:-10000}
secs=${2:-10}
conns=${3:-32}
. bench/lib.sh
bench_start
for i in $(seq 1 10); do
  sed "s/\"bench_three\"/\"bench_match_$i\"/" bench/flows/three_node.json > "$BENCH_DATA/f$i.json"
  install_flow "$BENCH_DATA/f$i.json"
done
# Runs still under way when a load ends (each event starts 10) finish before the next load:
# their segments would otherwise find their runs truncated, fall back to committing one by
# one, and slow the next load down ~10x.
run() {
  runs_settle
  sql "TRUNCATE runs, steps" >/dev/null
  ./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -d "$secs" -x "$1" | sed "s/^/$2 /"
}
run A "flows=10"
# M more active flows through the flows API's own statements, each listening to its own
# event type (publish and activate as the API does: flowd_index_triggers builds the index).
sql "INSERT INTO flows (id, name, draft, active_version)
     SELECT 'many_' || g, 'many ' || g, d, 1 FROM generate_series(1, $m) g,
       LATERAL (SELECT jsonb_build_object('id', 'many_' || g, 'name', 'many ' || g,
         'nodes', jsonb_build_array(
           jsonb_build_object('id', 't', 'type', 'trigger.event', 'config', jsonb_build_object('type', 'other' || g || '.happened')),
           jsonb_build_object('id', 's', 'type', 'set', 'config', jsonb_build_object('values', jsonb_build_object('x', 1)))),
         'edges', jsonb_build_array(jsonb_build_object('from', 't', 'to', 's'))) d) x;
     INSERT INTO flow_versions (flow_id, version, doc, revision) SELECT id, 1, draft, 1 FROM flows WHERE id LIKE 'many_%';
     SELECT flowd_index_triggers(id) FROM flows WHERE id LIKE 'many_%';" >/dev/null
echo "active_flows=$(sql "SELECT count(*) FROM flows WHERE active_version IS NOT NULL") triggers=$(sql "SELECT count(*) FROM flow_triggers")"
run B "flows=$((m + 10))"

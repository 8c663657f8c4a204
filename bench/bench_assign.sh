#!/usr/bin/env bash
# bench_assign: assignment decisions per second, end to end, PostgreSQL on the same machine.
# 1,000 staff, 200 of them on page p_bench, 50 online (all on p_bench). A flow assigns every
# new lead round-robin among the online staff of p_bench (action.assign: one query for the
# candidates, one atomic upsert for the turn, the owner change through the record path).
# bench/loadgen posts lead.created events as fast as they are accepted. Prints decisions/s
# (assign steps finished over the time they took), the assign step's latency p50/p99, and
# how evenly the 50 were served (max - min leads per staff member).
#
#   bench/bench_assign.sh [SECONDS] [CONNS]      (BUILD=build-dir, default build)
#
# BASELINE=1 runs the same flow with action.update_record setting a fixed owner instead of
# action.assign: the difference is what picking costs on top of the executor.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-16}
build=${BUILD:-build}
cmake --build "$build" --target flowd loadgen >/dev/null
data=$(mktemp -d /tmp/flowd-bench-assign-XXXXXX)
chmod 755 "$data"
port=$((20000 + RANDOM % 20000))
token=bench-token
FLOWD_LISTEN=127.0.0.1:$port FLOWD_DATA=$data FLOWD_ADMIN_TOKEN=$token FLOWD_LOG=warn \
  FLOWD_DB_POOL=${FLOWD_DB_POOL:-4} "$build/flowd" 2>"$data/flowd.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
psql_() { psql -X -qAt "host=$data/pg port=5432 user=flowd dbname=flowd" -c "$1"; }
api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -X "$1" \
          "http://127.0.0.1:$port$2" ${3:+--data-binary "$3"} >/dev/null; }

psql_ "INSERT INTO staff (id, name, roles, pages)
       SELECT 's_' || lpad(i::text, 4, '0'), 'Staff ' || i, '{sales}',
              CASE WHEN i <= 200 THEN '{p_bench}'::text[] ELSE '{p_other}'::text[] END
       FROM generate_series(1, 1000) i;
       INSERT INTO staff_presence (staff_id, online, api_online)
       SELECT id, n <= 50, n <= 50
       FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM staff) s;"
node='{"id":"a","type":"action.assign","config":{"target":"lead","strategy":"round_robin",
       "candidates":{"page":"p_bench","online":true}}}'
port_name=assigned
if [ "${BASELINE:-0}" = 1 ]; then
  node='{"id":"a","type":"action.update_record","config":{"target":"lead",
         "set":{"owner_id":"s_0001"}}}'
  port_name=out
fi
flow='{"id":"bench_assign","name":"Bench: round robin among online staff of a page","nodes":[
  {"id":"t","type":"trigger.record","config":{"kind":"lead","on":"created"}},'"$node"'],
  "edges":[{"from":"t","to":"a"}]}'
api POST /api/flows "$flow"
api POST /api/flows/bench_assign/publish
api POST /api/flows/bench_assign/activate

"$build/loadgen" -p "$port" -t "$token" -c "$conns" -r 0 -d "$secs" -k lead
for _ in $(seq 240); do
  left=$(psql_ "SELECT count(*) FROM runs WHERE status IN ('running','waiting')")
  [ "$left" = 0 ] && break
  sleep 0.5
done
psql_ "SELECT format('assign_decisions=%s decisions_per_s=%s step_p50_ms=%s step_p99_ms=%s',
         count(*), round(count(*) / greatest(extract(epoch FROM max(finished_at) - min(started_at)), 0.001)),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) * 1000)::numeric, 2),
         round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) * 1000)::numeric, 2))
       FROM steps WHERE node_id = 'a' AND port = '$port_name'"
psql_ "SELECT format('staff_served=%s leads_per_staff_min=%s max=%s unassigned=%s',
         count(*), min(n), max(n), (SELECT count(*) FROM records WHERE kind = 'lead' AND owner_id IS NULL))
       FROM (SELECT owner_id, count(*) AS n FROM records WHERE kind = 'lead' AND owner_id IS NOT NULL
             GROUP BY owner_id) c"

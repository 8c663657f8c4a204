#!/usr/bin/env bash
# intake_call_bench: what one call of the set-based intake (flowd_intake_json) costs
# PostgreSQL, by the number of events in the call and of partitions of history. A release
# flowd on a fresh embedded cluster installs the 3-node flow (so each event starts a run),
# then is stopped (SIGSTOP) while pgbench calls the intake from one connection with
# synchronous_commit off (no WAL flush in the figure). PARTITIONS extra one-day partitions of
# events, runs and steps are made first (a 30-day retention with one partition per day, as
# before schema/012, kept ~40). Prints pgbench's average latency per call.
#
# FUNC=flowd_intake_set with FLOWD_BIN set to a flowd from before schema/013 measures the
# intake as it was then (its answer built as jsonb).
#
#   bench/intake_call_bench.sh [EVENTS per call, default "1 12"] [PARTITIONS, default 0] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1 12}
parts=${2:-0}
secs=${3:-4}
. bench/lib.sh
bench_start
install_flow bench/flows/three_node.json
if [ "$parts" -gt 0 ]; then
  sql "SELECT flowd_ensure_day(d, 1) FROM generate_series(
         (SELECT max(day_to) FROM history_periods),
         (SELECT max(day_to) FROM history_periods) + $parts - 1) d" >/dev/null
fi
echo "partitions of runs: $(sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'runs'::regclass")"
kill -STOP "$BENCH_PID" # flowd claims nothing while pgbench runs
trap 'kill -CONT $BENCH_PID 2>/dev/null; kill $BENCH_PID 2>/dev/null; wait $BENCH_PID 2>/dev/null; rm -rf "$BENCH_DATA"' EXIT
for n in $events; do
  cat > "$BENCH_DATA/call$n.sql" <<SQL
SELECT ${FUNC:-flowd_intake_json}((SELECT jsonb_agg(jsonb_build_object(
  'type', 'order.created', 'data',
  jsonb_build_object('id', 'o' || md5(random()::text), 'source', 'website', 'amount', 5,
  'customer', jsonb_build_object('id', 'c' || md5(random()::text), 'name', 'K'))))
  FROM generate_series(1, $n)), 'bench', NULL, 0, 8, 30000);
SQL
  ms=$(PGOPTIONS="-c synchronous_commit=off" /usr/lib/postgresql/15/bin/pgbench -n -M prepared \
    -c 1 -T "$secs" -f "$BENCH_DATA/call$n.sql" \
    "host=$BENCH_DATA/pg port=5432 user=flowd dbname=flowd" 2>&1 |
    sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p')
  echo "function=${FUNC:-flowd_intake_json} events_per_call=$n partitions=$parts call_ms=$ms"
done

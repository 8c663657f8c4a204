#!/usr/bin/env bash
# delays_bench: N runs waiting in delays (default 100,000). Every order carries the time its
# delay ends: the first LEAD seconds after the start (after all are posted), the rest spread
# evenly over SPREAD seconds (0: all at one instant, the worst case). flowd holds N waiting
# runs at once, then fires them. Prints flowd's RSS while they wait (waiting runs live in
# PostgreSQL, not in memory) and how late each fired: the delay step's finish minus its own
# due time, p50/p99/max.
#
#   bench/delays_bench.sh [N] [LEAD_SECONDS] [SPREAD_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
lead=${2:-90}
spread=${3:-120}
. bench/lib.sh
bench_start
install_flow bench/flows/delay.json
fire_at=$(date -u -d "+$lead seconds" +%Y-%m-%dT%H:%M:%SZ)
python3 - "$BENCH_PORT" "$BENCH_TOKEN" "$n" "$fire_at" "$spread" <<'PY'
import datetime, http.client, json, sys
port, token, n, fire, spread = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
t0 = datetime.datetime.strptime(fire, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
def due(i):
    t = t0 + datetime.timedelta(seconds=spread * i / n)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
for start in range(0, n, 500):
    evs = [{"type": "order.created", "data": {"id": f"D{i}", "fire_at": due(i)}}
           for i in range(start, min(n, start + 500))]
    c.request("POST", "/api/events", json.dumps(evs), h)
    r = c.getresponse(); r.read()
    if r.status != 202:
        sys.exit(f"POST failed: {r.status}")
PY
posted=$(date +%s)
for _ in $(seq 600); do
  w=$(sql "SELECT count(*) FROM runs WHERE status = 'waiting'")
  [ "$w" -ge "$n" ] && break
  sleep 0.5
done
echo "delays waiting=$w posted_in_s=$(( posted - $(date -u -d "$fire_at" +%s) + lead )) rss_waiting_kb=$(flowd_rss_kb)"
now=$(date +%s); due=$(date -u -d "$fire_at" +%s)
[ "$due" -gt "$now" ] || echo "warning: the delays fell due before all were waiting; raise LEAD_SECONDS" >&2
runs_settle 600
sql "SELECT format('delays spread_s=$spread fired=%s late_p50_ms=%s late_p99_ms=%s late_max_ms=%s',
       count(*),
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - (s.output->>'until')::timestamptz)) * 1000)::numeric),
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - (s.output->>'until')::timestamptz)) * 1000)::numeric),
       round((max(extract(epoch FROM s.finished_at - (s.output->>'until')::timestamptz)) * 1000)::numeric))
     FROM steps s WHERE s.node_id = 'd' AND s.status = 'succeeded'"
echo "flowd_peak_rss_kb=$(flowd_hwm_kb)"

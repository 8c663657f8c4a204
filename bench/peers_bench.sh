#!/usr/bin/env bash
# peers_bench: the same "POST order -> switch on source -> set owner -> respond" flow on flowd,
# on Node-RED and on n8n, side by side, with the same load generator and settings, and the
# ratios. Node-RED and n8n are installed from the npm registry into bench/.cache (not
# committed) on first use and reused afterwards (n8n: ~2.3 GB, a few minutes).
# Node-RED keeps nothing durable. n8n runs with its defaults: SQLite in its data folder, and
# every production execution saved with its full run data (EXECUTIONS_DATA_SAVE_ON_SUCCESS
# and _ON_ERROR default to "all"; pruned after 14 days or 10,000 executions); it answers from
# its "Respond to Webhook" node, before the execution's final save. Set those variables
# (e.g. EXECUTIONS_DATA_SAVE_ON_SUCCESS=none) in the environment to measure other settings;
# the script prints what was in effect. flowd commits every event before its 202 and every
# step of every run. flowd's figure for "respond" is the 202 (the run finishes after it; its
# completed runs/s are printed too).
# Peers are measured one after the other (Node-RED, n8n, flowd); n8n is stopped before flowd
# is measured. If n8n cannot be installed or started, the script says why and goes on
# without it (PEERS_N8N=0 skips it).
#
#   bench/peers_bench.sh [SECONDS] [CONNS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
echo "load before: $(uptime)"
cache=bench/.cache/node-red
if [ ! -x "$cache/node_modules/.bin/node-red" ]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --loglevel=error node-red@4 >/dev/null
fi

# n8n: 2.8.4 is the newest release whose engines still accept Node 20 (">=20.19 <= 24.x";
# 2.10.0 needs Node >= 22.16). n8n-nodes-base depends on xlsx as a tarball on
# cdn.sheetjs.com, which is not the npm registry; the override takes xlsx 0.18.5 from the
# registry instead (used only by the spreadsheet nodes, not by this flow).
n8n_version=2.8.4
n8n_cache=bench/.cache/n8n
n8n_bin=$n8n_cache/node_modules/.bin/n8n
n8n_skip=
if [ "${PEERS_N8N:-1}" = 0 ]; then
  n8n_skip="PEERS_N8N=0"
elif ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
                process.exit((a === 20 && b >= 19) || (a > 20 && a <= 24) ? 0 : 1)'; then
  n8n_skip="n8n $n8n_version needs Node >=20.19 <=24.x; this is Node $(node --version)"
elif [ ! -x "$n8n_bin" ] ||
     [ "$(node -p "require('./$n8n_cache/node_modules/n8n/package.json').version" 2>/dev/null)" \
       != "$n8n_version" ]; then
  mkdir -p "$n8n_cache"
  cat >"$n8n_cache/package.json" <<EOF
{ "private": true, "dependencies": { "n8n": "$n8n_version" }, "overrides": { "xlsx": "0.18.5" } }
EOF
  echo "installing n8n $n8n_version into $n8n_cache (large; once)" >&2
  t0=$SECONDS
  if npm install --prefix "$n8n_cache" --no-audit --no-fund --loglevel=error \
       >"$n8n_cache/install.log" 2>&1; then
    echo "n8n installed in $((SECONDS - t0)) s, $(du -sh "$n8n_cache" | cut -f1)" >&2
  else
    n8n_skip="npm install n8n@$n8n_version failed: $({ grep -m3 'npm error' "$n8n_cache/install.log" ||
      tail -3 "$n8n_cache/install.log"; } | tr '\n' ' ')"
  fi
fi

. bench/lib.sh
bench_start
install_flow bench/flows/three_node.json

nr_port=$((BENCH_PORT + 1))
n8n_port=$((BENCH_PORT + 2))
nr_dir=$(mktemp -d /tmp/nodered-bench-XXXXXX)
n8n_dir=$(mktemp -d /tmp/n8n-bench-XXXXXX)
nr_pid=
n8n_pid=
cleanup() {
  kill $nr_pid $n8n_pid $BENCH_PID 2>/dev/null || true
  wait $nr_pid $n8n_pid $BENCH_PID 2>/dev/null || true
  rm -rf "$nr_dir" "$n8n_dir" "$BENCH_DATA"
}
trap cleanup EXIT

# n8n's defaults, but its data folder, loopback ports, and nothing that calls home.
n8n_env=(N8N_USER_FOLDER="$n8n_dir" N8N_PORT="$n8n_port" N8N_LISTEN_ADDRESS=127.0.0.1
         N8N_RUNNERS_BROKER_PORT=$((BENCH_PORT + 3)) N8N_DIAGNOSTICS_ENABLED=false
         N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_TEMPLATES_ENABLED=false
         N8N_PERSONALIZATION_ENABLED=false N8N_HIRING_BANNER_ENABLED=false N8N_LOG_LEVEL=warn)
if [ -z "$n8n_skip" ]; then
  # Import the workflow and publish it (n8n 2.x; 1.x had update:workflow --active=true).
  if ! env "${n8n_env[@]}" "$n8n_bin" import:workflow --input=bench/peers/n8n-workflow.json \
         >"$n8n_dir/import.log" 2>&1 ||
     ! env "${n8n_env[@]}" "$n8n_bin" publish:workflow --id=peersOrderFlow01 \
         >>"$n8n_dir/import.log" 2>&1; then
    n8n_skip="importing the workflow failed: $(tail -3 "$n8n_dir/import.log" | tr '\n' ' ')"
  fi
fi

cp bench/peers/node-red-flows.json "$nr_dir/flows.json"
NR_PORT=$nr_port NR_FLOWS=$nr_dir/flows.json NR_USERDIR=$nr_dir \
  "$cache/node_modules/.bin/node-red" --settings bench/peers/node-red-settings.js \
  >"$nr_dir/node-red.log" 2>&1 &
nr_pid=$!
if [ -z "$n8n_skip" ]; then
  env "${n8n_env[@]}" "$n8n_bin" start >"$n8n_dir/n8n.log" 2>&1 &
  n8n_pid=$!
fi

# Waits until a peer's endpoint answers 200; prints one response per source.
ready() {
  local code
  for _ in $(seq "$2"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
           -d '{"data":{"source":"website"}}' "$1" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}
show() {
  local s
  for s in website facebook; do
    echo "$2 check: $(curl -s -w ' -> %{http_code}' -X POST -H 'Content-Type: application/json' \
      -d "{\"type\":\"order.created\",\"data\":{\"id\":\"check-$s\",\"source\":\"$s\"}}" "$1")"
  done
}
ready "http://127.0.0.1:$nr_port/orders" 150 || true
show "http://127.0.0.1:$nr_port/orders" node-red
if [ -z "$n8n_skip" ]; then
  if ready "http://127.0.0.1:$n8n_port/webhook/order" 300; then
    show "http://127.0.0.1:$n8n_port/webhook/order" n8n
  else
    n8n_skip="n8n did not answer on /webhook/order within 60 s: $(tail -3 "$n8n_dir/n8n.log" |
      tr '\n' ' ')"
  fi
fi

nr=$(./build/loadgen -p "$nr_port" -t "" -P /orders -e 200 -c "$conns" -d "$secs" -x N)
echo "node-red $nr"
n8=
if [ -z "$n8n_skip" ]; then
  n8=$(./build/loadgen -p "$n8n_port" -t "" -P /webhook/order -e 200 -c "$conns" -d "$secs" -x E)
  echo "n8n      $n8"
  # Let it finish the executions it answered (the last saves come after the responses), then
  # stop it so it is idle while flowd runs.
  for _ in $(seq 60); do
    [ "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
          "SELECT count(*) FROM execution_entity WHERE status IN (\"new\", \"running\")"
        ).fetchone()[0])' "$n8n_dir/.n8n/database.sqlite" 2>/dev/null || echo 0)" = 0 ] && break
    sleep 0.5
  done
  kill "$n8n_pid"
  wait "$n8n_pid" 2>/dev/null || true
  n8n_pid=
  echo "n8n      version=$n8n_version" \
    "save_on_success=${EXECUTIONS_DATA_SAVE_ON_SUCCESS:-all(default)}" \
    "save_on_error=${EXECUTIONS_DATA_SAVE_ON_ERROR:-all(default)}" \
    "$(python3 - "$n8n_dir/.n8n/database.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n, ok = c.execute("SELECT count(*), count(*) FILTER (WHERE status = 'success') "
                  "FROM execution_entity").fetchone()
b = c.execute("SELECT coalesce(sum(length(data) + length(workflowData)), 0) "
              "FROM execution_data").fetchone()[0]
print(f"executions_saved={n} success={ok} execution_data_bytes_per_execution={b // max(n, 1)}")
PY
)"
else
  echo "n8n      skipped: $n8n_skip"
fi
fl=$(./build/loadgen -p "$BENCH_PORT" -t "$BENCH_TOKEN" -c "$conns" -d "$secs" -x F)
echo "flowd    $fl"
runs_settle 60
echo "flowd    $(sql "SELECT format('runs=%s runs_per_s=%s', count(*), round(count(*) / greatest(extract(epoch FROM max(r.finished_at) - min(e.at)), 0.001))) FROM runs r JOIN events e ON e.id = r.event_id")"
echo "load after: $(uptime)"
python3 - "$fl" "$nr" "$n8" <<'PY'
import sys
def parse(line):
    d = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    return {k: float(d[k]) for k in ("events_per_s", "accept_p50_ms", "accept_p99_ms")} if d else None
f, peers = parse(sys.argv[1]), [("node-red", parse(sys.argv[2])), ("n8n", parse(sys.argv[3]))]
print(f"{'':9}{'req/s':>8}{'p50_ms':>9}{'p99_ms':>9}")
for name, r in [("flowd", f)] + peers:
    if r:
        print(f"{name:9}{r['events_per_s']:8.0f}{r['accept_p50_ms']:9.2f}{r['accept_p99_ms']:9.2f}")
for name, r in peers:
    if r:
        print(f"ratio flowd/{name} throughput={f['events_per_s'] / r['events_per_s']:.2f} "
              f"p50_latency={f['accept_p50_ms'] / r['accept_p50_ms']:.2f} "
              f"p99_latency={f['accept_p99_ms'] / r['accept_p99_ms']:.2f}")
PY

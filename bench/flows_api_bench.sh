#!/usr/bin/env bash
# flows_api_bench: requests per second of the flows API with wrk (50 connections): reading a
# flow (GET /api/flows/{id}: the draft is validated on every read), validating a document
# (POST /api/flows/validate) and saving drafts (PUT with the current revision, so each save
# is a real write; conflicts count as non-2xx).
#
#   bench/flows_api_bench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
. bench/lib.sh
bench_start
api POST /api/flows "@bench/flows/three_node.json" >/dev/null
u="http://127.0.0.1:$BENCH_PORT"
lua=$(mktemp /tmp/wrk-XXXXXX.lua)
trap 'rm -f "$lua"; kill $BENCH_PID 2>/dev/null; wait $BENCH_PID 2>/dev/null; rm -rf "$BENCH_DATA"' EXIT
report() { awk -v what="$1" '/Requests\/sec/{rps=$2} /Latency/{lat=$2} /Non-2xx/{bad=$NF}
  END{printf "flows_api %s requests_per_s=%s avg_latency=%s non_2xx=%s\n", what, rps, lat, bad+0}'; }
wrk -t2 -c50 -d"${secs}s" -H "Authorization: Bearer $BENCH_TOKEN" "$u/api/flows/bench_three" | report get
body=$(python3 -c "import json;print(json.dumps(open('bench/flows/three_node.json').read()))")
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.body = $body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $BENCH_TOKEN"
LUA
wrk -t2 -c50 -d"${secs}s" -s "$lua" "$u/api/flows/validate" | report validate
# Saves: one connection per flow, each PUT based on the revision its previous save returned.
for i in $(seq 1 20); do
  sed "s/\"bench_three\"/\"bench_save_$i\"/" bench/flows/three_node.json > "$BENCH_DATA/s$i.json"
  api POST /api/flows "@$BENCH_DATA/s$i.json" >/dev/null
done
cat > "$lua" <<LUA
local doc = $body
local rev = {}
local n = 0
setup = function(thread) n = n + 1; thread:set("me", n) end
init = function() rev = {} end
request = function()
  local id = "bench_save_" .. ((me - 1) % 20 + 1)
  local body = '{"revision":' .. (rev[id] or 1) .. ',"flow":' .. doc:gsub('"bench_three"', '"' .. id .. '"') .. '}'
  return wrk.format("PUT", "/api/flows/" .. id, {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer $BENCH_TOKEN"}, body)
end
response = function(status, headers, body)
  local id, r = body:match('"id":"([^"]+)".-"revision":(%d+)')
  if id and r then rev[id] = tonumber(r) end
end
LUA
wrk -t2 -c2 -d"${secs}s" -s "$lua" "$u" | report save

#!/usr/bin/env bash
# HTTP benchmark (issue 5): availability queries and booking creation under concurrent load
# (wrk, CONNS connections), requests/s and p99 latency, beside a raw libmicrohttpd server with the
# same threading answering a fixed body, measured in the same run. With LABSHARE_TEST_PG (run.sh)
# the server runs on a PostgreSQL database of that cluster.
. "$(dirname "$0")/../integration/lib.sh"

CONNS=${BENCH_CONNS:-32}
DUR=${BENCH_HTTP_S:-10}
BBIN=$ROOT/build/bench

start_broker
start_server
export API TOKEN
( cd "$ROOT/tests/integration" && python3 -c '
from api import admin, seed
seed(admin())' ) >/dev/null || fail "seeding failed"
# wrk prints "Requests/sec: N" and, with --latency, the 99% line
wrk_run() { # NAME ARGS...
    local name=$1; shift
    wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "$@" >"$T/$name.wrk" 2>&1 || fail "wrk $name failed"
    rps=$(awk '/Requests\/sec/ {print $2}' "$T/$name.wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$T/$name.wrk")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$T/$name.wrk")
}
cat >"$T/avail.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
book_lua() { # the booking script, its slots shifted by BOOK_SHIFT quarter hours
cat >"$T/book.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local base = os.time() + 86400 + ${BOOK_SHIFT:-0} * 900
local threads = 0
function setup(thread)
    -- each thread books its own run of slots: 100000 quarter hours (about 3 years) apart
    threads = threads + 1
    thread:set("offset", threads * 100000)
end
request = function()
    n = n + 1
    local s = base + (offset + n) * 900
    local body = string.format('{"instrument":"icp-ms-01","start":"%s","end":"%s"}',
        os.date("!%Y-%m-%dT%H:%M:%SZ", s), os.date("!%Y-%m-%dT%H:%M:%SZ", s + 900))
    return wrk.format(nil, "/api/v1/bookings", nil, body)
end
LUA
}
BOOK_SHIFT=0 book_lua
engine=SQLite
[ -z "${LABSHARE_TEST_PG:-}" ] || engine=PostgreSQL
echo "== HTTP on $engine: $CONNS connections, ${DUR} s each, 2 wrk threads"
wrk_run avail -s "$T/avail.lua" "$API/api/v1/instruments/icp-ms-01/availability"
a_rps=$rps a_p99=$p99 a_bad=${non2xx:-0}
wrk_run book -s "$T/book.lua" "$API/api/v1/bookings"
b_rps=$rps b_p99=$p99 b_bad=${non2xx:-0}
created=$(sdb "SELECT count(*) FROM bookings")
# the same with a long history: 100,000 earlier (completed) bookings of the instrument, one an
# hour back from now, before booking slots further on (issue 15: within 10 % of the first run)
HISTORY=${BENCH_HISTORY:-100000}
now_ms=$(( $(date +%s) * 1000 ))
sdb "INSERT INTO bookings(instrument, user_id, project, start_ms, end_ms, status, created_by,
     created_at) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $HISTORY)
     SELECT 'icp-ms-01', 1, 'history', $now_ms - CAST(x AS BIGINT) * 3600000,
     $now_ms - CAST(x AS BIGINT) * 3600000 + 1800000,
     'completed', 1, $now_ms FROM c" >/dev/null || fail "cannot write the booking history"
# the planner's statistics of the grown tables, as autovacuum would gather them soon after
sdb "ANALYZE" >/dev/null || fail "cannot analyze"
BOOK_SHIFT=50000 book_lua
wrk_run book_history -s "$T/book.lua" "$API/api/v1/bookings"
h_rps=$rps h_p99=$p99 h_bad=${non2xx:-0}
RAW_PORT=$(free_port)
start raw "$BBIN/bench_raw_http" "$RAW_PORT" 4 $((DUR + 5))
wait_for 5 port_open "$RAW_PORT" || fail "raw server did not start"
wrk_run raw "http://127.0.0.1:$RAW_PORT/"
r_rps=$rps r_p99=$p99
printf '  %-40s %10s req/s  p99 %8s  (%s non-2xx)\n' "availability query (GET, week)" "$a_rps" "$a_p99" "$a_bad"
printf '  %-40s %10s req/s  p99 %8s  (%s non-2xx; %s bookings stored)\n' "booking create (POST, durable, audited)" "$b_rps" "$b_p99" "$b_bad" "$created"
printf '  %-40s %10s req/s  p99 %8s  (%s non-2xx)\n' "booking create, $HISTORY earlier bookings" "$h_rps" "$h_p99" "$h_bad"
printf '  %-40s %10s req/s  p99 %8s\n' "raw libmicrohttpd, fixed body" "$r_rps" "$r_p99"
python3 -c "print('  ratio to raw: availability %.3f, booking create %.3f; booking create with the history / without: %.2f' % ($a_rps / $r_rps, $b_rps / $r_rps, $h_rps / $b_rps))"
stop server

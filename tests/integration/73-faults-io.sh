#!/usr/bin/env bash
# Injected I/O faults (issue 13) with libfiu (Debian fiu-utils): the server and the gateway run
# under fiu-run, and fiu-ctrl makes their writes (pwrite, the call SQLite writes pages and the
# WAL with) and fsyncs fail while readings flow and requests come. The server's HTTP writes fail
# cleanly (a JSON 5xx, nothing half-done) and no batch is acked whose commit failed; the gateway
# keeps what it could not store and refuses nothing it had; when the fault stops, everything
# recovers: every seq 1..N the gateway took is stored exactly once, the outbox drains, both
# databases pass PRAGMA integrity_check and the audit chain verifies.
# serial (tests/run.sh runs it alone): it builds the plain programs and injects faults
. "$(dirname "$0")/lib.sh"

command -v fiu-run >/dev/null || fail "fiu-run is not installed (make deps installs fiu-utils)"
export TMPDIR=$T # fiu-run's control pipes live here

# libfiu's preloaded wrappers (malloc among them) and ASan's runtime cannot share a process: under
# a sanitizer build (CI), the two programs run here are plain builds of the same sources
FIU_BIN=$BIN
if [[ "$(ldd "$BIN/labshare-server")" == *libasan* ]]; then
    make -C "$ROOT" --no-print-directory BUILD=build/plain SANITIZE= -j2 \
        build/plain/bin/labshare-server build/plain/bin/labshare-gateway >"$T/plain.log" 2>&1 ||
        fail "plain build: $(tail -5 "$T/plain.log")"
    FIU_BIN=$ROOT/build/plain/bin
fi

start_broker
HTTP_PORT=$(free_port)
server_ini
sed -i "/^\[server\]/a web_root = $ROOT/build/web" "$T/server.ini"
start server fiu-run -x "$FIU_BIN/labshare-server" -c "$T/server.ini"
API=http://127.0.0.1:$HTTP_PORT
wait_for 10 curl -sf "$API/healthz" || fail "server did not start under fiu-run"
TOKEN=$("$BIN/labshare-server" -c "$T/server.ini" admin-token) || fail "admin-token failed"
register_gateway gw-io
bind_instruments gw-io m1
port=$(free_port)
start sim "$BIN/labshare-meter-sim" --modbus-tcp "127.0.0.1:$port" --instrument m1 --seed 7
wait_for 10 port_open "$port" || fail "simulator did not start"
gateway_ini "$T/gw.ini" gw-io "heartbeat_s = 1" "batch_max = 5" "ack_timeout_s = 2"
cat >>"$T/gw.ini" <<CONF
[modbus:m1]
tcp = 127.0.0.1:$port
poll_ms = 100
timeout_ms = 100
CONF
start gateway fiu-run -x "$FIU_BIN/labshare-gateway" -c "$T/gw.ini"
wait_for 15 have_readings m1 5 || fail "no readings before the faults"
spid=$PID_server
gpid=$(pgrep -f "labshare-gateway -c $T/gw.ini" | head -1)
[ -n "$gpid" ] || fail "no gateway pid"
org=$(api "/api/v1/orgs?limit=1" | json 'j["items"][0]["id"]')

# 1. the server's writes fail
fiu-ctrl -c "enable name=posix/io/rw/pwrite" -c "enable name=posix/io/sync/fsync" "$spid" ||
    fail "fiu-ctrl on the server"
sleep 3
acked() { sdb "SELECT coalesce(max(upto), 0) FROM gateway_acks WHERE gateway = 'gw-io'"; }
ack_during=$(acked)
code=$(status POST /api/v1/orgs -H "Authorization: Bearer $TOKEN" -d '{"name": "Written in a fault", "type": "university"}')
[ "${code:0:1}" = 5 ] || fail "a write during the fault answered $code: $(cat "$T/last-body")"
json 'j["error"] and j["message"]' <"$T/last-body" >/dev/null || fail "not a JSON error: $(cat "$T/last-body")"
sleep 3
[ "$(acked)" = "$ack_during" ] || fail "acks advanced while commits failed ($ack_during -> $(acked))"
kill -0 "$spid" || fail "the server died of its I/O errors"
hz=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
[ "$hz" = 200 ] || [ "$hz" = 503 ] || fail "healthz answered $hz during the fault"
pass "server I/O errors: a write answers $code with a JSON error, no batch is acked, the server lives (healthz $hz)"
fiu-ctrl -c "disable name=posix/io/rw/pwrite" -c "disable name=posix/io/sync/fsync" "$spid"
moved() { [ "$(acked)" -gt "$ack_during" ]; }
wait_for 30 moved || fail "acks did not resume after the fault ($(acked))"
[ "$(status POST /api/v1/orgs -H "Authorization: Bearer $TOKEN" -d '{"name": "After the fault", "type": "university"}')" = 201 ] ||
    fail "writes did not recover: $(cat "$T/last-body")"
[ "$(api "/api/v1/orgs?limit=100" | json 'sum(o["name"] == "Written in a fault" for o in j["items"])')" = 0 ] ||
    fail "the write that failed is there"
pass "the server recovers when the fault stops: acks resume, writes work, the failed write left nothing"

# 1b. allocation failures in the server (0.2 % of mallocs) under 200 writes: each answer
#     is a 201 for a change that is there, or an error for one that is not; the audit chain holds
ok201=0
for i in $(seq 1 200); do
    [ $i = 1 ] && fiu-ctrl -c "enable_random name=libc/mm/malloc,probability=0.002" "$spid"
    c=$(curl -s -o "$T/m.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -X POST \
        -d "{\"name\": \"under pressure $i\", \"type\": \"university\"}" "$API/api/v1/orgs")
    [ "$c" = 201 ] && ok201=$((ok201 + 1))
done
fiu-ctrl -c "disable name=libc/mm/malloc" "$spid"
kill -0 "$spid" || fail "the server died of allocation failures"
there=$(sdb "SELECT count(*) FROM orgs WHERE name LIKE 'under pressure %'")
[ "$ok201" -gt 30 ] && [ "$ok201" -lt 200 ] || fail "$ok201 of 200 succeeded: the faults did not bite or bit everything"
# exactly the 201s are there, by the names sent: a body that jansson parsed while an allocation
# failed is refused, not acted on with a name cut short (labshare/json_guard.h)
[ "$there" = "$ok201" ] || fail "$ok201 writes answered 201 but $there are there by name"
[ "$(api /api/v1/audit-log/verify | json 'j["ok"]')" = True ] || fail "audit chain after allocation failures: $(api /api/v1/audit-log/verify)"
[ "$(status POST /api/v1/orgs -H "Authorization: Bearer $TOKEN" -d '{"name": "After the pressure", "type": "university"}')" = 201 ] ||
    fail "writes did not recover after allocation failures: $(cat "$T/last-body")"
pass "allocation failures: $ok201 of 200 writes answered 201 ($there found by name), the audit chain verifies, writes recover"

# 2. the gateway's outbox writes fail
fiu-ctrl -c "enable name=posix/io/rw/pwrite" "$gpid" || fail "fiu-ctrl on the gateway"
sleep 3
kill -0 "$gpid" || fail "the gateway died of its I/O errors"
fiu-ctrl -c "disable name=posix/io/rw/pwrite" "$gpid"
sleep 2
pass "gateway outbox I/O errors: the gateway lives and goes on"
# ... and 0.2 % of its allocations fail for a few seconds
fiu-ctrl -c "enable_random name=libc/mm/malloc,probability=0.002" "$gpid" || fail "fiu-ctrl malloc"
sleep 4
fiu-ctrl -c "disable name=libc/mm/malloc" "$gpid"
kill -0 "$gpid" || fail "the gateway died of allocation failures"
pass "gateway allocation failures: the gateway lives and goes on"

# 3. a few more readings, then drain and check exactly once, and both databases intact
n_now=$(count_readings m1)
more() { [ "$(count_readings m1)" -ge $((n_now + 5)) ]; }
wait_for 20 more || fail "readings did not flow again after the gateway's fault"
kill9 sim
drain "$T/gw-io.db"
kill -TERM "$gpid"
wait_for 10 bash -c "! kill -0 $gpid 2>/dev/null" || fail "gateway did not stop"
exactly_once gw-io "$T/gw-io.db"
[ "$LAST" -gt 15 ] || fail "too few readings ($LAST)"
pass "every seq 1..$LAST stored exactly once through the faults"
[ "$(api /api/v1/audit-log/verify | json 'j["ok"]')" = True ] || fail "audit chain: $(api /api/v1/audit-log/verify)"
stop server
[ "$(sdb 'PRAGMA integrity_check')" = ok ] || fail "server database damaged"
[ "$(sqlite3 "$T/gw-io.db" 'PRAGMA integrity_check')" = ok ] || fail "outbox damaged"
pass "after the faults: PRAGMA integrity_check ok on both databases, the audit chain verifies"
echo "$CHECKS checks passed"
